"""Which garment, object or thing each colour of a query describes (`attach_colours`), part of the free-text parser
(`vsearch.query.text`).

French puts a colour after its noun, English before it; commas, conjunctions and clothing prepositions ("in red")
decide the rest. A colour may describe a garment (its part), the whole object, a carried or unmeasured thing (only
reported), or a person's hair or skin (refused). A colour that is also the name of a substance ("sand", "rouille")
and has no noun, colour or clothing word next to it is that substance, not a colour (`substances_as_words`).
"""

from __future__ import annotations

from dataclasses import replace

from vsearch.query import vocabulary
from vsearch.query.lexicon import _ARTICLES, _CLOTHING_PREPS, _CONJ, _MODIFIER_KINDS, _NEW_PHRASE, Token, _Unit
from vsearch.query.spec import ColourTerm

_WALL = _CONJ | _CLOTHING_PREPS | _NEW_PHRASE  # grammar words a colour is not carried across to a noun
_THINGS = {"footwear", "object", "ride", "place", "markings"}  # unmeasurable nouns: a colour next to them is theirs
# ("white trainers", "the red door", "red lettering")
_WORN = {"uniform"}  # unmeasurable clothing: its colour is the person's ("a dark blue uniform")
BARE_SHADE = {"dark": "black", "light": "white"}  # the colour a shade alone stands for

_INTENSIFIERS = {"tres", "very", "really", "vraiment", "assez", "plutot", "quite", "rather", "extremely", "hyper"}


def attach_colours(
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
            sides, broken = sides[::-1], broken[::-1]
        near = sides[0][0]
        if broken[0] != broken[1] and 0 <= near < len(units) and units[near].kind == "sensitive":
            out[k] = ("sensitive", None)  # "cheveux bruns, manteau rose": the hair's, not the coat's across the comma
            continue
        out[k] = _colour_target(units, lo, hi, sides, across_break=broken[1] and not broken[0])
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


def _colour_target(units: list[_Unit], lo: int, hi: int, sides: tuple[tuple[int, int], ...],
                   across_break: bool = False) -> tuple[str, object]:
    """`across_break`: the second side is past a comma ("blouson cuir marron, sac banane"): a noun there is tried
    after the first side's noun past its adjectives."""
    inside = range(len(units))
    # 1. a noun right next to the colour (French: after the noun, English: before it)
    for idx, _ in sides[:1] if across_break else sides:
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
    if across_break and sides[1][0] in inside and (outcome := _noun_outcome(units[sides[1][0]])) is not None:
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


def label_alternatives(colours: list[ColourTerm]) -> tuple[ColourTerm, ...]:
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


_SUBSTANCES = {vocabulary.fold(p) for e in vocabulary.entries() if e.kind == "colour" and e.noun for p in e.fr + e.en}
_GARMENT_MODIFIERS = {"material", "pattern", "cut", "brightness"}
_COLOUR_NOUNS = {"couleur", "couleurs", "colour", "colours", "color", "colors", "coloured", "colored", "ton", "tone"}


def substances_as_words(units: list[_Unit], tokens: list[Token]) -> None:
    """A colour that also names a substance or a fruit ("sand", "rouille", "olive") is a colour only next to a noun,
    another colour, a colour word ("couleur sable") or after a clothing word ("en caramel"); anywhere else it is the
    thing itself ("a lorry dropping sand", "perd du sable"): an unknown word, left to the picture search."""
    for k, u in enumerate(units):
        if u.kind != "colour" or " ".join(t.norm for t in tokens[u.start : u.end]) not in _SUBSTANCES:
            continue
        near = [units[j] for j in (k - 1, k + 1) if 0 <= j < len(units)]
        for step in (-1, 1):  # past the material or the cut of a garment ("a caramel leather jacket")
            j = k + step
            while 0 <= j < len(units) and abs(j - k) <= 2 and units[j].kind == "unmeasurable" \
                    and units[j].value in _GARMENT_MODIFIERS:
                j += step
            if 0 <= j < len(units) and j != k + step:
                near.append(units[j])
        if any(_noun_outcome(v) is not None or v.kind in ("colour", "shade")
               or v.kind == "stop" and v.value in _COLOUR_NOUNS | _CLOTHING_PREPS | _CONJ for v in near):
            continue
        before = units[k - 2] if k >= 2 and units[k - 1].kind == "stop" and units[k - 1].value in _ARTICLES else None
        if before is not None and before.kind == "stop" and before.value in _CLOTHING_PREPS:
            continue  # "in a cream (coat)", "vêtu d'un caramel"
        u.kind, u.value, u.bucket = "unknown", tokens[u.start].norm, "unknown"
