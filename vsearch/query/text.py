"""Model-free French/English query text -> `QuerySpec`.

Pipeline: tokenise (`vsearch.query.lexicon`) -> match units left to right, longest first (camera names, time and
duration expressions of `vsearch.query.timewords`, then the vocabulary's phrases, then typing slips of its words,
`vsearch.query.spelling`) -> context rules (`vsearch.query.context`: body and size words, "jogging", a vehicle's
cab, motion verbs, where an object comes from, negation) -> attach colours and shades to the nearest garment or
object -> build the spec.

Every token lands in exactly one bucket: "mapped" (it set a term), "unmeasurable" (understood, but no stored
attribute measures it: reported in `unmeasurable`), "stop" (grammar word), "sensitive" (refused for legal
reasons, reported in `ignored_sensitive`) or "unknown" (reported in `unknown_words` and passed on as
`free_text` for CLIP). Nothing is dropped silently; `analyse()` exposes the buckets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace

from vsearch.query.clock import DEFAULT_TZ, get_tz, parse_date_option, tz_name
from vsearch.query.options import QueryOptions, spec_from_options
from vsearch.query.spec import ColourTerm, QuerySpec
from vsearch.query.lexicon import (_ARTICLES, _CLOTHING_PREPS, _CONJ, _MODIFIER_KINDS, _NEW_PHRASE, Bucket, Token,
                                   _match_lexicon, _starts_with, _Unit, tokenise)
from vsearch.query.context import (apply_negation, resolve_ages, resolve_along, resolve_body_words,
                                   resolve_camera_numbers, resolve_counts, resolve_destinations, resolve_jogging,
                                   resolve_left_as_leaving, resolve_motion_verbs, resolve_period_parts, resolve_plates,
                                   resolve_right_and_left_words, resolve_sides, resolve_suspect_things,
                                   resolve_vehicle_parts, resolve_worn_on_back, riders)
from vsearch.query.spelling import correct
from vsearch.query.timewords import _match_ago, _match_duration, _match_recent, _match_time

_WALL = _CONJ | _CLOTHING_PREPS | _NEW_PHRASE  # grammar words a colour is not carried across to a noun
_THINGS = {"footwear", "object", "ride", "place"}  # unmeasurable nouns: a colour next to them is theirs ("white
# trainers", "the red door")
_WORN = {"uniform"}  # unmeasurable clothing: its colour is the person's ("a dark blue uniform")
_PERSON_THINGS = {"ride", "uniform"}  # say the object is a person ("someone on an e-scooter", "in uniform")
NOON = dt.time(12)
BARE_SHADE = {"dark": "black", "light": "white"}  # the colour a shade alone stands for
# what a rider or driver word says when no vehicle is named ("a Deliveroo rider": a two-wheeler)
RIDER_CLASSES = {"rider": {"bicycle", "motorbike"}, "driver": {"car", "truck", "bus", "motorbike"}}
PERIODS = {  # time-of-day windows of day-part words; None = until midnight
    "morning": (dt.time(6), dt.time(12)),
    "afternoon": (dt.time(12), dt.time(18)),
    "evening": (dt.time(18), None),
    "night": (dt.time(22), dt.time(6)),
    "midday": (dt.time(11, 30), dt.time(14, 30)),  # lunchtime, l'heure du déjeuner
    "after lunch": (dt.time(12, 30), dt.time(15, 30)),  # après le déjeuner
}



# ---------------------------------------------------------------------------------------------------------------
# Matching


def _match_units(tokens: list[Token], cameras: dict[tuple[str, ...], str]) -> list[_Unit]:
    units: list[_Unit] = []
    i = 0
    camera_keys = sorted(cameras, key=len, reverse=True)
    while i < len(tokens):
        unit = None
        for key in camera_keys:
            if _starts_with(tokens, i, key):
                unit = _Unit("camera", cameras[key], i, i + len(key))
                break
        unit = (
            unit
            or _match_recent(tokens, i)
            or _match_ago(tokens, i)
            or _match_duration(tokens, i, prefixed=True)
            or _match_time(tokens, i)
            or _match_duration(tokens, i, prefixed=False)
            or _match_lexicon(tokens, i)
            or _slip(tokens, i)
            or _Unit("unknown", tokens[i].norm, i, i + 1, "both", "unknown")
        )
        units.append(unit)
        i = unit.end
    return units


def _slip(tokens: list[Token], i: int) -> _Unit | None:
    """A mistyped vocabulary word ("jaket"), read as that word (`vsearch.query.spelling`)."""
    found = correct(tokens[i].norm)
    if found is None:
        return None
    kind, value, lang = found[1]
    return _Unit(kind, value, i, i + 1, lang, read_as=found[0])


_CLAUSE_MARKS = ",;.:!?"


def _clause_breaks(tokens: list[Token], text: str, marks: str = _CLAUSE_MARKS) -> set[int]:
    """Indices of the tokens followed by a comma or another clause mark ("no bag, grey hoodie")."""
    return {i for i in range(len(tokens) - 1)
            if any(c in marks for c in text[tokens[i].end : tokens[i + 1].start])}


# ---------------------------------------------------------------------------------------------------------------
# Colours


_INTENSIFIERS = {"tres", "very", "really", "vraiment", "assez", "plutot", "quite", "rather", "extremely", "hyper"}


def _attach_colours(
    units: list[_Unit], tokens: list[Token], phrase_lang: str, breaks: set[int], hyphens: set[int] = frozenset()
) -> tuple[dict[int, tuple[str, object]], dict[int, int], dict[int, int]]:
    """Decide what each colour describes -> ({colour index: (outcome, detail)}, {colour index: shade index},
    {colour index: first colour of its run of alternatives} (`_alternatives`)).

    outcome: "part" (detail = "any"/"upper"/"lower"), "clothing" (worn colour, part any, implies a person),
    "item" (colour of a carried item: not an attribute, reported), "sensitive" (describes a person: skin/hair),
    "free" (nothing to attach to: part any, provisional). `breaks`: indices of the tokens followed by a comma or
    a full stop: a noun across one is tried after a noun on the other side ("jacket red, trousers black");
    `hyphens`: those followed by a hyphen: colours hyphened into one word ("bluish-grey") always share a target.
    """
    shades: dict[int, int] = {}  # colour index -> shade index
    taken: set[int] = set()
    colour_idx = [k for k, u in enumerate(units) if u.kind == "colour"]
    for k in colour_idx:
        order = (1, -1) if units[k].lang == "fr" else (-1, 1)
        for step in order:
            s = k + step
            if 0 <= s < len(units) and units[s].kind == "stop" and units[s].value in _INTENSIFIERS:
                s += step  # "bleu très foncé"
            if 0 <= s < len(units) and units[s].kind == "shade" and s not in taken:
                shades[k] = s
                taken.add(s)
                break
    # a shade with no colour ("dark tracksuits", "voiture sombre", "light-coloured van") is read as the colour
    # that shade is closest to: one soft term (black / white), attached like any colour
    for s, u in enumerate(units):
        if u.kind == "shade" and s not in taken and _a_light(units, tokens, s):
            u.kind, u.value, u.bucket = "unmeasurable", "object", "unmeasurable"
        elif u.kind == "shade" and s not in taken:
            u.kind, u.value = "colour", (BARE_SHADE[u.value], None)  # type: ignore[index]
    colour_idx = [k for k, u in enumerate(units) if u.kind == "colour"]
    postposed = _colours_after_nouns(units, colour_idx, shades, breaks)
    out: dict[int, tuple[str, object]] = {}
    for k in colour_idx:
        lo, hi = min(k, shades.get(k, k)), max(k, shades.get(k, k))
        left_first = units[k].lang == "fr" or (units[k].lang == "both" and phrase_lang == "fr") or postposed
        sides = ((lo - 1, -1), (hi + 1, 1)) if left_first else ((hi + 1, 1), (lo - 1, -1))
        broken = [units[hi].end - 1 in breaks if step > 0 else idx >= 0 and units[idx].end - 1 in breaks
                  for idx, step in sides]
        if broken[0] and not broken[1]:
            sides = sides[::-1]
        near = sides[0][0]
        if broken[0] != broken[1] and 0 <= near < len(units) and units[near].kind == "sensitive":
            out[k] = ("sensitive", None)  # "cheveux bruns, manteau rose": the hair's, not the coat's across the comma
            continue
        out[k] = _colour_target(units, lo, hi, sides)
    # coordination: "rouge et noire", "a red and white top" share one target; so does a worn colour joined to
    # the next one by the conjunction alone ("in red/white striped top", not "in red and a blue cap")
    provisional = ("free", "nominal", "clothing")
    run_of = _alternatives(units)  # "black, navy or dark grey jacket": the list shares the jacket
    changed = True
    while changed:
        changed = False
        for a in colour_idx:
            for b in colour_idx:
                if a == b or out[b][0] not in provisional or out[a][0] in provisional:
                    continue
                gap = units[min(a, b) + 1 : max(a, b)]
                joined = [u for u in gap if u.kind == "stop" and u.value in _CONJ]
                close = len(gap) <= 3 if out[b][0] != "clothing" else len(gap) == 1
                listed = run_of.get(a) is not None and run_of.get(a) == run_of.get(b)
                # a list with commas only between its first colours: "black, white and turquoise jacket"
                hyphened = abs(a - b) == 1 and units[min(a, b)].end - 1 in hyphens  # "a bluish-grey hoodie"
                adjacent = not gap and (out[b][0] != "clothing" or hyphened)
                if listed or adjacent or (joined and all(u.kind in ("shade", "stop") for u in gap) and close):
                    out[b] = out[a]
                    changed = True
    for k in colour_idx:
        if out[k][0] == "nominal":
            out[k] = ("sensitive", None)
    return out, shades, run_of


def _colours_after_nouns(units: list[_Unit], colour_idx: list[int], shades: dict[int, int], breaks: set[int]) -> bool:
    """True when the phrase writes its colours after their nouns, as in a note or a French order in English words
    ("top white bottoms black", "jacket red trousers black"): its last colour follows a noun and no noun follows
    it. Then a colour between two nouns is the one before it's, not the next one's ("white" of "top white
    bottoms")."""
    if not colour_idx:
        return False
    k = colour_idx[-1]
    lo, hi = min(k, shades.get(k, k)), max(k, shades.get(k, k))
    before = units[lo - 1] if lo >= 1 else None
    after = units[hi + 1] if hi + 1 < len(units) and units[hi].end - 1 not in breaks else None
    return (before is not None and _noun_outcome(before) is not None
            and (after is None or _noun_outcome(after) is None and after.kind not in _MODIFIER_KINDS))


_OR = {"or", "ou"}
# a hedge before a colour offers it as an alternative, like "or": "dark blue, maybe black", "gris, voire noir"
_EITHER = _OR | {"maybe", "possibly", "perhaps", "probably", "peut-etre", "probablement", "voire"}
_NOUN_OR_COLOUR = {"class", "garment", "item", "make", "rider", "vehicle_part", "colour", "shade", "outfit"}


def _a_light(units: list[_Unit], tokens: list[Token], s: int) -> bool:
    """English "a light" / "the light" with no noun after it is a lamp ("a taxi with a light on the roof"), not a
    light colour ("a light van", "the light blue car" keep the shade)."""
    prev = units[s - 1] if s else None
    nxt = units[s + 1] if s + 1 < len(units) else None
    return tokens[units[s].start].norm == "light" and units[s].end - units[s].start == 1 and prev is not None \
        and prev.kind == "stop" and prev.value in ("a", "the", "its", "their") \
        and (nxt is None or nxt.kind not in _NOUN_OR_COLOUR)


def _alternatives(units: list[_Unit]) -> dict[int, int]:
    """{colour index: first colour of its run} for colours given as alternatives: a list of colours with only
    shades, grammar words and commas between them, joined by "or"/"ou", never by "and"/"et" nor "with" ("black, navy or
    dark grey", "noir ou bleu marine"). The witness is unsure of the colour: any one of them will do."""
    colour_idx = [k for k, u in enumerate(units) if u.kind == "colour"]
    runs: list[list[int]] = []
    for a, b in zip(colour_idx, colour_idx[1:]):
        gap = units[a + 1 : b]
        if _hedged_after_noun(units, a, b):
            gap = gap[1:]  # "a dark blue car, maybe black": the car is the first colour's, the second has no noun
        if len(gap) <= 3 and all(u.kind in ("shade", "stop") for u in gap) and \
                not any(u.kind == "stop" and u.value in _WALL - _OR for u in gap):
            if runs and runs[-1][-1] == a:
                runs[-1].append(b)
            else:
                runs.append([a, b])
    out: dict[int, int] = {}
    for run in runs:
        joined = any(u.kind == "stop" and u.value in _EITHER for u in units[run[0] : run[-1]])
        if joined:
            out.update({k: run[0] for k in run})
    return out


def _hedged_after_noun(units: list[_Unit], a: int, b: int) -> bool:
    """English "<colour> <noun>, maybe <colour>" with nothing after the second colour: the hedge offers another
    colour for the same noun ("a dark blue car, maybe black"), not a second object ("red jacket, maybe a black
    cap" names the cap)."""
    noun = a + 1 + (a + 1 < b and units[a + 1].kind == "shade")
    after = units[b + 1] if b + 1 < len(units) else None
    return noun < b and _noun_outcome(units[noun]) is not None and units[noun].kind != "person_sensitive" and \
        any(u.kind == "stop" and u.value in _EITHER for u in units[noun + 1 : b]) and \
        (after is None or _noun_outcome(after) is None)


def _norm(u: _Unit, tokens: list[Token]) -> str:
    return " ".join(t.norm for t in tokens[u.start : u.end])


def _noun_outcome(u: _Unit) -> tuple[str, object] | None:
    if u.kind == "garment":
        return ("part", u.value[0])  # type: ignore[index]
    if u.kind == "class":
        return ("sensitive", None) if u.value[0] == frozenset({"person"}) else ("part", "any")  # type: ignore[index]
    if u.kind in ("rider", "make", "vehicle_part"):
        return ("part", "any")  # worn by the rider, seen on the whole object; a make is a vehicle; its cab is it
    if u.kind == "unmeasurable" and u.value in _WORN:
        return ("part", "any")
    if u.kind == "item" or (u.kind == "unmeasurable" and u.value in _THINGS):
        return ("item", None)  # a carried or worn thing: its colour is reported, not matched
    if u.kind == "person_sensitive":
        return ("sensitive", None)
    return None


def _colour_target(units: list[_Unit], lo: int, hi: int, sides: tuple[tuple[int, int], ...]) -> tuple[str, object]:
    inside = range(len(units))
    # 1. a noun right next to the colour (French: after the noun, English: before it)
    for idx, _ in sides:
        if idx in inside and (outcome := _noun_outcome(units[idx])) is not None:
            return outcome
    # 1b. a noun past adjectives or grammar words ("navy striped jumper", "blouson de cuir noir"), not across
    #     "et"/"and" nor across "in"/"en" (a worn colour: "man in red" does not describe the man); the nearest
    #     noun, even one not measured ("en uniforme genre police, bleu marine": the uniform's, not the person's)
    for idx, step in sides:
        walked, modifiers = 0, 0
        while idx in inside and walked < 3 and _noun_outcome(units[idx]) is None and (
                units[idx].kind in _MODIFIER_KINDS or (units[idx].kind == "stop" and units[idx].value not in _WALL)):
            modifiers += units[idx].kind in _MODIFIER_KINDS
            idx += step
            walked += 1
        if modifiers and idx in inside and (outcome := _noun_outcome(units[idx])) is not None:
            return outcome
    # 2. next to a sensitive word ("jeune noir"): describes a person
    if any(idx in inside and units[idx].kind == "sensitive" for idx, _ in sides):
        return ("sensitive", None)
    # 3. an unknown word where the noun would be ("parapluie jaune", "yellow umbrella"): describes that thing
    first = sides[0][0]
    if first in inside and units[first].kind == "unknown":
        return ("item", None)
    prev = units[lo - 1] if lo - 1 in inside else None
    # 3b. "tout en noir", "all in black": the whole outfit
    if prev is not None and prev.kind == "outfit":
        return ("outfit", None)
    # 4. "en rouge", "in red", "wearing black", "in a yellow (hi-vis)": a worn colour
    after_article = prev is not None and prev.kind == "stop" and prev.value in _ARTICLES
    before = units[lo - 2] if lo - 2 in inside and after_article else prev
    if before is not None and before.kind == "stop" and before.value in _CLOTHING_PREPS:
        return ("clothing", None)
    # 5. a noun up to 3 grammar words away ("voiture de couleur rouge"), not across "et"/"and"
    for idx, step in sides:
        walked = 0
        while idx in inside and units[idx].kind == "stop" and units[idx].value not in _WALL \
                and walked < 3:
            idx += step
            walked += 1
        if walked and idx in inside and (outcome := _noun_outcome(units[idx])) is not None:
            return outcome
    # 6. a colour used as a noun after an article ("un noir", "une blonde") names a person, unless it is
    #    coordinated with a colour that has a noun ("a red and white top"): decided after coordination
    if prev is not None and prev.kind == "stop" and prev.value in _ARTICLES:
        return ("nominal", None)
    return ("free", None)


# ---------------------------------------------------------------------------------------------------------------
# Building the spec


@dataclass(frozen=True)
class Analysis:
    """The parse, token by token: `buckets[i]` is where `tokens[i]` went; `spec` is the result."""

    tokens: tuple[Token, ...]
    buckets: tuple[Bucket, ...]
    spec: QuerySpec


def parse_text(
    text: str, *, now: dt.datetime, tz: str | dt.tzinfo | None = DEFAULT_TZ, cameras: Collection[str] = ()
) -> QuerySpec:
    """Parse a French or English (or mixed) query phrase. `now` (aware) anchors "hier", "today", weekdays;
    `cameras` are the known camera names, matched case- and accent-insensitively."""
    return analyse(text, now=now, tz=tz, cameras=cameras).spec


def analyse(
    text: str, *, now: dt.datetime, tz: str | dt.tzinfo | None = DEFAULT_TZ, cameras: Collection[str] = ()
) -> Analysis:
    """`parse_text` with the per-token buckets (for tests and for explaining a parse to the user)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = get_tz(tz)
    tokens = tokenise(text)
    camera_keys = {tuple(t.norm for t in tokenise(c)): c for c in cameras if tokenise(c)}
    units = _match_units(tokens, camera_keys)
    for u in units:
        if u.kind == "stop":
            u.value = _norm(u, tokens)
    resolve_plates(units, tokens)
    resolve_period_parts(units, tokens)
    resolve_ages(units, tokens)
    resolve_body_words(units)
    resolve_suspect_things(units, tokens)
    resolve_camera_numbers(units)
    resolve_counts(units)
    resolve_jogging(units)
    resolve_vehicle_parts(units)
    resolve_destinations(units, tokens)
    resolve_worn_on_back(units)
    resolve_left_as_leaving(units, tokens)
    resolve_right_and_left_words(units, tokens)
    resolve_along(units, tokens)
    resolve_motion_verbs(units)
    resolve_sides(units)
    apply_negation(units, _clause_breaks(tokens, text))
    langs = {u.lang for u in units if u.bucket != "unknown" and u.kind not in ("unknown", "negation")} - {"both"}
    language = None if not tokens else "mixed" if len(langs) == 2 else langs.pop() if langs else None
    # a colon binds a label to its value ("jacket: red"): only commas and full stops part a colour from a noun
    colour_outcomes, shade_of, either_run = _attach_colours(units, tokens, language or "en",
                                                            _clause_breaks(tokens, text, ",;.!?"),
                                                            _clause_breaks(tokens, text, "-"))

    found: dict[str, object] = {}
    classes: set[str] = set()
    make_classes: set[str] = set()
    colours: list[ColourTerm] = []
    items: set[str] = set()
    vehicle_types: set[str] = set()
    motion: set[str] = set()
    cameras_found: list[str] = []
    wants_person = False
    day: dt.date | None = None
    period: str | None = None
    clock: tuple[dt.time | None, dt.time | None] | None = None

    has_top = any(u.kind == "garment" and u.value[0] == "upper" for u in units)  # type: ignore[index]

    def conflict(u: _Unit) -> None:
        u.bucket = "unknown"

    for k, u in enumerate(units):
        if u.kind == "stop":
            u.bucket = "stop"
        elif u.kind in ("sensitive", "person_sensitive"):
            u.bucket = "sensitive"
            # "man", "femme": refused as words about sex, but they still say the object is a person
            wants_person |= u.kind == "person_sensitive"
        elif u.kind in ("unknown", "negation"):
            u.bucket = "unknown"
        elif u.kind == "class":
            wanted, vtype = u.value  # type: ignore[misc]
            classes |= wanted
            if vtype:
                vehicle_types.add(vtype)
        elif u.kind == "make":  # "a black BMW": a vehicle; the make itself is not measured
            make_classes |= u.value  # type: ignore[arg-type]
            u.bucket = "unmeasurable"
        elif u.kind in ("rider", "outfit", "vehicle_part"):
            pass  # only decides what a colour next to it describes
        elif u.kind == "unmeasurable":
            u.bucket = "unmeasurable"
            wants_person |= u.value in _PERSON_THINGS
        elif u.kind == "motion":
            motion.add(u.value)  # type: ignore[arg-type]
        elif u.kind == "garment":
            part, item = u.value  # type: ignore[misc]
            wants_person = True
            if item:
                items.add(item)
        elif u.kind == "item":
            items.add(u.value)  # type: ignore[arg-type]
            wants_person = True
        elif u.kind == "colour":
            outcome, detail = colour_outcomes[k]
            name, implied = u.value  # type: ignore[misc]
            shade = units[shade_of[k]].value if k in shade_of else implied
            if outcome == "sensitive":
                u.bucket = "sensitive"
            elif outcome == "item":
                u.bucket = "unmeasurable"  # the colour of a carried item: no stored attribute
            elif outcome == "outfit" or (outcome, detail) == ("part", "suit") and not has_top:
                colours += [ColourTerm(name, p, shade) for p in ("upper", "lower")]  # type: ignore[arg-type]
                wants_person = True
            elif (outcome, detail) == ("part", "suit"):  # a tracksuit under a named top: its bottoms show
                colours.append(ColourTerm(name, "lower", shade))  # type: ignore[arg-type]
                wants_person = True
            else:
                part = detail if outcome == "part" else "any"
                colours.append(ColourTerm(name, part, shade, either=str(either_run.get(k, ""))))  # type: ignore[arg-type]
                wants_person |= outcome == "clothing" or part != "any"
        elif u.kind == "shade":
            pass  # resolved with its colour below
        elif u.kind == "direction":
            if "direction" in found and found["direction"] != u.value:
                conflict(u)
            found["direction"] = found.get("direction", u.value)
        elif u.kind == "stationary":
            found["stationary"] = True
        elif u.kind == "camera":
            cameras_found.append(u.value)  # type: ignore[arg-type]
        elif u.kind in ("recent", "ago", "week"):  # "in the last 20 minutes", "an hour ago", "last week"
            if "window" in found:
                conflict(u)
            else:
                found["window"] = _window_before(u, now, zone)
        elif u.kind == "duration":
            if "min_dwell_s" in found:
                conflict(u)
            else:
                found["min_dwell_s"] = u.value
        elif u.kind in ("day", "weekday", "date", "dayperiod"):
            d, p = _day_of(u, now.astimezone(zone).date())
            clash_day = day is not None and d is not None and d != day
            if clash_day or (period is not None and p is not None and p != period):
                conflict(u)
            else:
                day, period = day or d, period or p
        elif u.kind == "period_part":  # "late" of "late morning": narrows the day part (resolve_period_parts)
            if found.setdefault("period_part", u.value) != u.value:
                conflict(u)
        elif u.kind == "period":
            if period is not None and period != u.value:
                conflict(u)
            else:
                period = u.value  # type: ignore[assignment]
        elif u.kind == "time":
            new = u.value  # type: ignore[assignment]
            if clock is None:
                clock = new
            elif (clock[0] is None or new[0] is None) and (clock[1] is None or new[1] is None):
                clock = (clock[0] or new[0], clock[1] or new[1])  # "après 14h ... avant 16h"
            else:
                conflict(u)
    # a shade goes where its colour went; a shade with no colour ("voiture sombre") is reported
    used_shades = {s: k for k, s in shade_of.items()}
    for s, u in enumerate(units):
        if u.kind == "shade":
            u.bucket = units[used_shades[s]].bucket if s in used_shades else "unknown"
    if not classes:  # a vehicle word says more than a make ("voiture de marque BMW" is a car)
        riding = {c for u in units if u.kind == "rider" for c in RIDER_CLASSES[str(u.value)]}
        classes = make_classes or ({"person"} if wants_person else riding)
    if riders(units):
        classes -= {"person"}

    tod_from, tod_to = _time_of_day(period, clock, found.get("period_part"))  # type: ignore[arg-type]
    if day is not None and period == "night" and clock is not None and tod_from is not None and tod_from < NOON \
            and (tod_to is None or tod_to <= NOON):
        day += dt.timedelta(days=1)  # "last night after midnight", "cette nuit vers 2h": the night's second day
    window: tuple[dt.datetime, dt.datetime] | None = found.get("window")  # type: ignore[assignment]
    buckets: list[Bucket] = ["unknown"] * len(tokens)
    for u in units:
        for i in range(u.start, u.end):
            buckets[i] = u.bucket
    unknown = tuple(tokens[i].text for i in range(len(tokens)) if buckets[i] == "unknown")
    unmeasurable = tuple(_phrase_texts(units, tokens, text, "unmeasurable"))
    sensitive = tuple(tokens[i].text for i in range(len(tokens)) if buckets[i] == "sensitive")
    spec = QuerySpec(
        classes=frozenset(classes),
        colours=_label_alternatives(colours),
        direction=found.get("direction"),  # type: ignore[arg-type]
        cameras=tuple(cameras_found),
        time_of_day_from=tod_from,
        time_of_day_to=tod_to,
        tz=tz_name(zone),
        min_dwell_s=found.get("min_dwell_s"),  # type: ignore[arg-type]
        time_from=window[0] if window else None,
        time_to=window[1] if window else None,
        stationary=bool(found.get("stationary", False)),
        items=frozenset(items),
        vehicle_types=frozenset(vehicle_types),
        motion=frozenset(motion),
        unmeasurable=unmeasurable,
        free_text=" ".join(unknown),
        phrase=" ".join(tokens[i].text for i in range(len(tokens)) if buckets[i] != "sensitive"),
        unknown_words=unknown,
        read_as=tuple(f"{tokens[u.start].text} → {u.read_as}" for u in units if u.read_as),
        ignored_sensitive=sensitive,
        language=language,
    )
    if day is not None:
        if spec.time_of_day_from is None and spec.time_of_day_to is None:
            spec = replace(spec, time_of_day_from=dt.time(0, 0))
        spec = spec.resolve_date(day)
    return Analysis(tuple(tokens), tuple(buckets), spec)


def _phrase_texts(units: list[_Unit], tokens: list[Token], text: str, bucket: Bucket) -> list[str]:
    """The words of each unit in `bucket`, as typed ("à rayures", "l'entrée", "red" of "red bag")."""
    return [text[tokens[u.start].start : tokens[u.end - 1].end] for u in units if u.bucket == bucket]


# "an hour ago" said by a witness is an estimate: the window is that moment give or take a quarter of the time said,
# and never less than 15 minutes (20 minutes ago: 35 to 5 minutes ago; two hours ago: 2 h 30 to 1 h 30 ago)
AGO_TOLERANCE_FRACTION = 0.25
AGO_TOLERANCE_MIN_S = 900.0


def _window_before(u: _Unit, now: dt.datetime, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The absolute window of a unit of kind recent (up to now), ago (around a moment before now) or week (a
    calendar week, Monday 00:00 local time, up to now for this week)."""
    if u.kind == "recent":
        return now - dt.timedelta(seconds=float(u.value)), now  # type: ignore[arg-type]
    if u.kind == "ago":
        ago = float(u.value)  # type: ignore[arg-type]
        tol = max(AGO_TOLERANCE_MIN_S, AGO_TOLERANCE_FRACTION * ago)
        return now - dt.timedelta(seconds=ago + tol), min(now, now - dt.timedelta(seconds=ago - tol))
    local = now.astimezone(zone)
    monday = local.date() - dt.timedelta(days=local.weekday()) + dt.timedelta(weeks=int(u.value))  # type: ignore[arg-type]
    start = dt.datetime.combine(monday, dt.time(0, 0), zone)
    end = dt.datetime.combine(monday + dt.timedelta(weeks=1), dt.time(0, 0), zone)
    return start, min(end, now)


def _day_of(u: _Unit, today: dt.date) -> tuple[dt.date | None, str | None]:
    if u.kind == "day":
        return today + dt.timedelta(days=u.value), None  # type: ignore[arg-type]
    if u.kind == "dayperiod":
        offset, period = u.value  # type: ignore[misc]
        return today + dt.timedelta(days=offset), period
    if u.kind == "weekday":
        weekday, before_today = u.value  # type: ignore[misc]
        back = (today.weekday() - weekday) % 7
        return today - dt.timedelta(days=back or (7 if before_today else 0)), None
    value = u.value
    if isinstance(value, tuple):  # dd/mm without a year: the latest such day not after today
        day, month = value
        for year in (today.year, today.year - 1):
            try:
                candidate = dt.date(year, month, day)
            except ValueError:
                continue
            if candidate <= today:
                return candidate, None
        return None, None
    return value, None  # type: ignore[return-value]


def _time_of_day(
    period: str | None, clock: tuple[dt.time | None, dt.time | None] | None, part: str | None = None
) -> tuple[dt.time | None, dt.time | None]:
    """Clock bounds win over the day part's bounds ("ce matin après 10h" = 10:00-12:00); "early"/"late"/"mid"
    (`part`) keep the day part's first, second or middle half ("late morning" = 09:00-12:00)."""
    p_from, p_to = _part_of(PERIODS[period], part) if period else (None, None)
    c_from, c_to = clock or (None, None)
    return c_from or p_from, c_to or p_to


_UNNARROWED = {PERIODS["night"], PERIODS["midday"], PERIODS["after lunch"]}  # already short, or said of the whole night ("late last night")


def _part_of(bounds: tuple[dt.time, dt.time | None], part: str | None) -> tuple[dt.time, dt.time | None]:
    """The first ("early"), second ("late") or middle ("mid") half of a day part; a witness's "late morning" is
    loose, so halves rather than thirds: the window is a hard filter."""
    if part is None or bounds in _UNNARROWED:
        return bounds
    start = bounds[0].hour * 60 + bounds[0].minute
    end = bounds[1].hour * 60 + bounds[1].minute if bounds[1] else 24 * 60
    half = (end - start) // 2
    lo, hi = {"early": (start, start + half), "late": (start + half, end),
              "mid": (start + half // 2, end - half // 2)}[part]
    return dt.time(lo // 60, lo % 60), dt.time(hi // 60, hi % 60) if hi < 24 * 60 else None


def build_query(
    text: str,
    opts: QueryOptions | None = None,
    *,
    now: dt.datetime,
    tz: str | dt.tzinfo | None = DEFAULT_TZ,
    cameras: Collection[str] = (),
) -> QuerySpec:
    """The whole `vsearch search TEXT [options]` query: text parsed, options parsed and merged over it, and a
    time-of-day from the text resolved against `--date` when one is given."""
    opts = opts or QueryOptions()
    spec = parse_text(text, now=now, tz=tz, cameras=cameras) if text.strip() else QuerySpec(tz=tz_name(tz))
    merged = spec.merge(spec_from_options(opts, tz=tz, known_cameras=cameras))
    if opts.date:
        merged = merged.resolve_date(parse_date_option(opts.date))
    return merged


def _label_alternatives(colours: list[ColourTerm]) -> tuple[ColourTerm, ...]:
    """The run number of alternatives becomes a label naming them ("black|dark blue"), so that equal queries
    (the same words in French and English) give equal specs; a run of one colour on a part is a plain term."""
    groups: dict[tuple[str, str], list[ColourTerm]] = {}
    for c in colours:
        if c.either:
            groups.setdefault((c.part, c.either), []).append(c)
    out = []
    for c in colours:
        run = groups.get((c.part, c.either), [])
        label = "|".join(sorted({f"{m.shade + ' ' if m.shade else ''}{m.name}" for m in run})) if len(run) > 1 else ""
        out.append(replace(c, either=label))
    return tuple(out)

