"""Context rules of the query parser: words whose meaning depends on the words around them.

Each rule takes the matched units of `vsearch.query.text` (left to right) and re-reads some of them in place:
negated terms are reported, not applied; "short", size words and French "type" depend on the noun they go with;
setting-off and arriving verbs are motion only when nothing more precise follows; people named with a
two-wheeler are its riders.
"""

from __future__ import annotations

from vsearch.query.lexicon import _CONJ, _CONTENT_KINDS, _Unit

TWO_WHEELERS = {"bicycle", "motorbike"}


def apply_negation(units: list[_Unit]) -> None:
    """A content term within 3 units after a negation is not applied (negation is not supported): reported."""
    last_neg = -10
    for k, u in enumerate(units):
        if u.kind == "negation":
            last_neg = k
        elif u.kind in _CONTENT_KINDS and k - last_neg <= 3:
            u.kind, u.bucket = "unknown", "unknown"


def _is_person(u: _Unit) -> bool:
    person_class = u.kind == "class" and u.value[0] == frozenset({"person"})  # type: ignore[index]
    return u.kind == "person_sensitive" or person_class


def _is_thing(u: _Unit) -> bool:
    """A noun that is not a person: a vehicle or bike class, a garment, a carried item."""
    return u.kind in ("garment", "item", "make") or (u.kind == "class" and not _is_person(u))


_COUNTABLE = {"un", "une", "le", "ce", "cet", "les", "des", "ces", "quel", "quelques"}  # "un type" = a guy


def resolve_body_words(units: list[_Unit]) -> None:
    """Words whose meaning depends on the noun they go with.

    "short": body height before a person word ("a short man"), otherwise the garment ("en short"). A size word
    ("petit", "big") describes the body next to a person ("un grand type") and a thing otherwise ("petite
    citadine", "big red lorry": understood, not measured). French "type": a guy after an article, a number or a
    body word ("un type", "deux types", "grand type"), otherwise "of the kind" ("de type Transit")."""
    for k, u in enumerate(units):
        if u.kind == "sensitive" and u.value == "short":
            nxt = units[k + 1] if k + 1 < len(units) else None
            if nxt is None or not _is_person(nxt):
                u.kind, u.value, u.lang = "garment", ("lower", None), "both"
        elif u.kind == "sensitive" and u.value == "size":
            j = k + 1
            while j < len(units) and units[j].kind in ("colour", "shade", "unmeasurable", "sensitive"):
                j += 1  # "petite citadine blanche", "small white hatchback", "big tall guy"
            if j < len(units) and _is_thing(units[j]):
                u.kind, u.value, u.bucket = "unmeasurable", "size", "unmeasurable"
        elif u.kind == "stop" and u.value in ("type", "types") and k:
            prev = units[k - 1]
            if (prev.kind == "stop" and prev.value in _COUNTABLE) or prev.kind == "sensitive" or (
                    prev.kind == "unmeasurable" and prev.value == "count"):
                u.kind, u.lang = "person_sensitive", "fr"


def riders(units: list[_Unit]) -> bool:
    """People named with a two-wheeler and no other vehicle ("person on a bike", "moto avec deux personnes") ride
    it: they are inside its box, so only the two-wheeler is wanted. Not when a conjunction lists them as two
    kinds of object ("pedestrians and cyclists")."""
    people = [k for k, u in enumerate(units) if u.kind == "class" and _is_person(u)]
    bikes = [k for k, u in enumerate(units) if u.kind == "class" and not _is_person(u)]
    if not people or not bikes or any(not units[k].value[0] <= TWO_WHEELERS for k in bikes):  # type: ignore[index]
        return False
    return not any(u.kind == "stop" and u.value in _CONJ for u in units[min(people + bikes) : max(people + bikes)])


def resolve_motion_verbs(units: list[_Unit]) -> None:
    """A verb of setting off or arriving ("part", "arrive", "sets off") is "leaving" / "entering" on its own, and
    only says the object moves when a direction or another motion follows it within 3 words ("qui part vers la
    gauche", "qui arrive vers la caméra")."""
    for k, u in enumerate(units):
        if u.kind != "motion_verb":
            continue
        ahead = [v for v in units[k + 1 : k + 4] if v.kind != "stop"][:1]
        if ahead and ahead[0].kind in ("direction", "motion"):
            u.kind, u.value, u.bucket = "stop", _STOP_VERB, "stop"
        else:
            u.kind = "motion"


_STOP_VERB = "<verb>"  # the value of a motion verb read as a grammar word (no term)
