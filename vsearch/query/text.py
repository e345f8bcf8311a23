"""Model-free French/English query text -> `QuerySpec`.

Pipeline: tokenise (accents folded for matching, original spelling kept for reporting) -> match units left to
right, longest first (camera names, time and duration expressions, then the lexicon of multi-word and single
words) -> negation -> attach colours and shades to the nearest garment or object -> build the spec.

Every token lands in exactly one bucket: "mapped" (it set a term), "stop" (grammar word), "sensitive" (refused
for legal reasons, reported in `ignored_sensitive`) or "unknown" (reported in `unknown_words` and passed on
as `free_text` for CLIP). Nothing is dropped silently; `analyse()` exposes the buckets.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Literal

from vsearch.query import vocabulary
from vsearch.query.spec import (
    DEFAULT_TZ,
    ColourTerm,
    QueryOptions,
    QuerySpec,
    get_tz,
    parse_clock,
    parse_date_option,
    spec_from_options,
    tz_name,
)
from vsearch.query.vocabulary import fold

Bucket = Literal["mapped", "unmeasurable", "stop", "sensitive", "unknown"]
AROUND_MIN = 15  # "vers 14h" / "around 2pm" / "à 14h" = 13:45 to 14:15
PERIODS = {  # time-of-day windows of day-part words; None = until midnight
    "morning": (dt.time(6), dt.time(12)),
    "afternoon": (dt.time(12), dt.time(18)),
    "evening": (dt.time(18), None),
    "night": (dt.time(22), dt.time(6)),
}


@dataclass(frozen=True)
class Token:
    text: str  # as typed
    norm: str  # lower-case, accents folded
    start: int  # character offsets in the query text
    end: int


_TOKEN_RE = re.compile(r"[^\W_]+(?:[-'’:/.][^\W_]+)*['’]?")
_ELISION_RE = re.compile(r"^(l|d|s|n|j|c|m|t|qu|jusqu|lorsqu|puisqu)'(.+)$")


def tokenise(text: str) -> list[Token]:
    """Word tokens (punctuation and symbols are separators); French elisions split off ("l'entrée" -> l' entrée)."""
    tokens = []
    for m in _TOKEN_RE.finditer(text):
        raw, norm = m.group(), fold(m.group())
        if "/" in norm and not re.fullmatch(r"[\d/]+", norm):  # "red/white": two words and a separator
            pos = m.start()
            for n, part in enumerate(raw.split("/")):
                if n:
                    tokens.append(Token("/", "/", pos - 1, pos))
                tokens.append(Token(part, fold(part), pos, pos + len(part)))
                pos += len(part) + 1
            continue
        e = _ELISION_RE.match(norm)
        if e and norm not in _LEXICON_NORM_WORDS:
            cut = len(e[1]) + 1
            tokens.append(Token(raw[:cut], norm[:cut], m.start(), m.start() + cut))
            tokens.append(Token(raw[cut:], norm[cut:], m.start() + cut, m.end()))
        else:
            tokens.append(Token(raw, norm, m.start(), m.end()))
    return tokens


# ---------------------------------------------------------------------------------------------------------------
# Lexicon: phrase (folded, tokenised) -> (kind, value, language). Language "both" gives no language cue.

Entry = tuple[str, object, str]
_LEXICON: dict[tuple[str, ...], Entry] = {}
_EXACT: dict[tuple[str, ...], Entry] = {}  # keyed on lower-case text WITH accents, tried first
_LEXICON_NORM_WORDS: set[str] = {"aujourd'hui", "quelqu'un", "o'clock"}


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(m.group() for m in _TOKEN_RE.finditer(fold(phrase)))


def _add(kind: str, value: object, fr: str = "", en: str = "", sep: str = " ") -> None:
    """Add FR and EN words (or `sep`-separated phrases); one in both lists is language-neutral."""
    fr_set = {p.strip() for p in fr.split(sep) if p.strip()}
    en_set = {p.strip() for p in en.split(sep) if p.strip()}
    for phrase in fr_set | en_set:
        lang = "both" if phrase in fr_set and phrase in en_set else "fr" if phrase in fr_set else "en"
        key = _key(phrase)
        # elided forms stay whole in lexicon keys only when the tokeniser keeps them whole
        split: list[str] = []
        for word in key:
            e = _ELISION_RE.match(word)
            if e and word not in _LEXICON_NORM_WORDS:
                split += [word[: len(e[1]) + 1], word[len(e[1]) + 1 :]]
            else:
                split.append(word)
        _LEXICON[tuple(split)] = (kind, value, lang)


for _entry in vocabulary.entries():
    if _entry.exact:  # accents decide: keyed on the lower-case text as typed
        for _phrase in _entry.fr + _entry.en:
            _EXACT[tuple(_phrase.lower().split())] = (_entry.kind, _entry.value, "fr" if _phrase in _entry.fr else "en")
    else:
        _add(_entry.kind, _entry.value, ",".join(_entry.fr), ",".join(_entry.en), sep=",")
_LEXICON[("/",)] = ("stop", None, "both")  # "red/white": the tokeniser's separator, a conjunction

_CLOTHING_PREPS = {"en", "in", "wearing", "portant", "porte", "habille", "habillee", "habilles", "habillees",
                   "vetu", "vetue", "vetus", "vetues", "dressed"}
_ARTICLES = {"un", "une", "le", "la", "les", "l'", "des", "du", "de", "d'", "a", "an", "the", "some", "ce", "cette",
             "ces"}
_CONJ = {"et", "and", "ou", "or", "/"}
_MAX_PHRASE = max(len(k) for k in _LEXICON)
_NOUN_KINDS = {"class", "rider", "garment", "item", "person_sensitive"}
_CONTENT_KINDS = {"class", "rider", "outfit", "colour", "shade", "garment", "item", "direction", "motion", "stationary", "time",
                  "day", "weekday", "period", "dayperiod", "date", "duration", "camera", "unmeasurable"}
_MODIFIER_KINDS = {"unknown", "unmeasurable"}  # may stand between a colour and its noun ("blue double-decker bus")


# ---------------------------------------------------------------------------------------------------------------
# Matching


@dataclass
class _Unit:
    kind: str
    value: object
    start: int  # token span [start, end)
    end: int
    lang: str = "both"
    bucket: Bucket = "mapped"


_DURATION_PREFIXES = [_key(p) for p in ("plus de", "au moins", "pendant", "durant", "more than", "at least", "over",
                                        "for", "longer than", "plus longtemps que")]
_DURATION_UNIT = {"s": 1, "sec": 1, "secs": 1, "seconde": 1, "secondes": 1, "second": 1, "seconds": 1,
                  "min": 60, "mins": 60, "mn": 60, "minute": 60, "minutes": 60}
_DURATION_HOURS = {"h": 3600, "heure": 3600, "heures": 3600, "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600}
_CLOCK_SUFFIX = {"h", "heure", "heures", "pm", "am", "p.m", "a.m", "o'clock"}
_NUM_RE = re.compile(r"^\d+(?:[.,]\d+)?$")
_RANGE_START = {"entre": "fr", "between": "en", "de": "fr", "from": "en"}
_RANGE_JOIN = {"et": "fr", "and": "en", "a": "fr", "to": "en", "until": "en", "till": "en", "-": "both"}
_AFTER = {("apres",): "fr", ("after",): "en", ("depuis",): "fr", ("since",): "en", ("a", "partir", "de"): "fr",
          ("from",): "en", ("des",): "fr", ("passe",): "fr", ("later", "than"): "en"}
_BEFORE = {("avant",): "fr", ("before",): "en", ("jusqu'", "a"): "fr", ("until",): "en", ("till",): "en",
           ("up", "to"): "en", ("earlier", "than"): "en"}
_AROUND = {("vers",): "fr", ("around",): "en", ("about",): "en", ("environ",): "fr", ("a",): "fr", ("at",): "en",
           ("aux", "alentours", "de"): "fr", ("autour", "de"): "fr"}


@dataclass
class _Clock:
    time: dt.time
    n: int  # tokens used
    suffix: str | None  # "pm", "am", "h" or None for a bare hour
    lang: str


def _clock_at(tokens: list[Token], i: int, *, bare: bool = False) -> _Clock | None:
    if i >= len(tokens):
        return None
    norm = tokens[i].norm
    nxt = tokens[i + 1].norm if i + 1 < len(tokens) else ""
    try:
        if nxt in ("am", "pm", "a.m", "p.m") and not norm.endswith(("am", "pm", "a.m", "p.m")):
            t = parse_clock(norm + nxt)
            return None if t is None else _Clock(t, 2, nxt.replace(".", ""), "en")
        if norm.isdigit() and len(norm) <= 2 and nxt in _CLOCK_SUFFIX:
            t = parse_clock(norm + nxt)
            suffix = "pm" if nxt.startswith("p") else "am" if nxt.startswith("a") else "h"
            return None if t is None else _Clock(t, 2, suffix, "fr" if suffix == "h" and nxt != "o'clock" else "en")
        t = parse_clock(norm, bare_hour=bare)
    except ValueError:
        return None
    if t is None:
        return None
    if norm in ("midi", "minuit", "noon", "midnight"):
        return _Clock(t, 1, "h", "fr" if norm in ("midi", "minuit") else "en")
    suffix = "pm" if norm.endswith(("pm", "p.m")) else "am" if norm.endswith(("am", "a.m")) else None
    if suffix is None and ("h" in norm or ":" in norm):
        suffix = "h"
    lang = "en" if suffix in ("am", "pm") else "fr" if "h" in norm else "both"
    return _Clock(t, 1, suffix, lang)


def _inherit(first: _Clock, second: _Clock) -> dt.time:
    """A bare first hour of a range takes the am/pm of the second ("between 2 and 3pm")."""
    if first.suffix is not None or second.suffix not in ("am", "pm"):
        return first.time
    pm = dt.time((first.time.hour % 12) + 12, first.time.minute)
    return pm if second.suffix == "pm" and pm <= second.time else first.time


def _starts_with(tokens: list[Token], i: int, words: tuple[str, ...]) -> bool:
    return tuple(t.norm for t in tokens[i : i + len(words)]) == words


def _match_time(tokens: list[Token], i: int) -> _Unit | None:
    """Clock expressions: ranges, after/before/around X, a bare clock, and dates."""
    norm = tokens[i].norm
    # "14h-15h30" in one token
    if "-" in norm and not norm.startswith("-"):
        a, _, b = norm.partition("-")
        try:
            ta, tb = parse_clock(a, bare_hour=True), parse_clock(b)
        except ValueError:
            ta = tb = None
        if ta is not None and tb is not None:
            return _Unit("time", (ta, tb), i, i + 1, "both")
    date = _date_token(norm)
    if date is not None:
        return _Unit("date", date, i, i + 1, "both")
    if norm in _RANGE_START:
        first = _clock_at(tokens, i + 1, bare=True)
        if first is not None:
            j = i + 1 + first.n
            if j < len(tokens) and tokens[j].norm in _RANGE_JOIN:
                second = _clock_at(tokens, j + 1)
                if second is not None and (first.suffix is not None or second.suffix is not None):
                    lang = _RANGE_START[norm]
                    return _Unit("time", (_inherit(first, second), second.time), i, j + 1 + second.n, lang)
    for table, kind in ((_AFTER, "after"), (_BEFORE, "before"), (_AROUND, "around")):
        for words, lang in table.items():
            if _starts_with(tokens, i, words):
                clock = _clock_at(tokens, i + len(words))
                if clock is not None:
                    return _Unit("time", _window(kind, clock.time), i, i + len(words) + clock.n, lang)
    clock = _clock_at(tokens, i)
    if clock is not None and clock.suffix is not None:
        return _Unit("time", _window("around", clock.time), i, i + clock.n, clock.lang)
    return None


def _window(kind: str, t: dt.time) -> tuple[dt.time | None, dt.time | None]:
    if kind == "after":
        return (t, None)
    if kind == "before":
        return (None, t)
    base = dt.datetime.combine(dt.date(2000, 1, 2), t)
    delta = dt.timedelta(minutes=AROUND_MIN)
    return ((base - delta).time(), (base + delta).time())


def _date_token(norm: str) -> dt.date | tuple[int, int] | None:
    """ISO or dd/mm/yyyy -> date; dd/mm -> (day, month), resolved against `now` later."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}", norm):
        try:
            return parse_date_option(norm)
        except ValueError:
            return None
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})", norm)
    if m and 1 <= int(m[1]) <= 31 and 1 <= int(m[2]) <= 12:
        return (int(m[1]), int(m[2]))
    return None


def _match_duration(tokens: list[Token], i: int, *, prefixed: bool) -> _Unit | None:
    j, lang = i, "both"
    if prefixed:
        for words in _DURATION_PREFIXES:
            if _starts_with(tokens, i, words):
                j = i + len(words)
                lang = "en" if words[0] in ("more", "at", "over", "for", "longer") else "fr"
                break
        else:
            return None
    if j >= len(tokens):
        return None
    units = dict(_DURATION_UNIT, **(_DURATION_HOURS if prefixed else {}))
    norm = tokens[j].norm
    m = re.fullmatch(r"(\d+(?:[.,]\d+)?)([a-z]+)", norm)
    if m and m[2] in units:
        return _Unit("duration", float(m[1].replace(",", ".")) * units[m[2]], i, j + 1, lang)
    if _NUM_RE.match(norm) and j + 1 < len(tokens) and tokens[j + 1].norm in units:
        seconds = float(norm.replace(",", ".")) * units[tokens[j + 1].norm]
        return _Unit("duration", seconds, i, j + 2, lang)
    return None


def _match_lexicon(tokens: list[Token], i: int) -> _Unit | None:
    for n in range(min(_MAX_PHRASE, len(tokens) - i), 0, -1):
        exact = tuple(t.text.lower().replace("’", "'") for t in tokens[i : i + n])
        entry = _EXACT.get(exact) or _LEXICON.get(tuple(t.norm for t in tokens[i : i + n]))
        if entry is not None:
            kind, value, lang = entry
            return _Unit(kind, value, i, i + n, lang)
    return None


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
            or _match_duration(tokens, i, prefixed=True)
            or _match_time(tokens, i)
            or _match_duration(tokens, i, prefixed=False)
            or _match_lexicon(tokens, i)
            or _Unit("unknown", None, i, i + 1, "both", "unknown")
        )
        units.append(unit)
        i = unit.end
    return units


# ---------------------------------------------------------------------------------------------------------------
# Context rules


def _apply_negation(units: list[_Unit]) -> None:
    """A content term within 3 units after a negation is not applied (negation is not supported): reported."""
    last_neg = -10
    for k, u in enumerate(units):
        if u.kind == "negation":
            last_neg = k
        elif u.kind in _CONTENT_KINDS and k - last_neg <= 3:
            u.kind, u.bucket = "unknown", "unknown"


def _resolve_short(units: list[_Unit], tokens: list[Token]) -> None:
    """"short": body height before a person word ("a short man"), otherwise the garment ("en short")."""
    for k, u in enumerate(units):
        if u.kind == "sensitive" and _norm(u, tokens) == "short":
            nxt = units[k + 1] if k + 1 < len(units) else None
            is_person = nxt is not None and (
                nxt.kind == "person_sensitive" or (nxt.kind == "class" and nxt.value[0] == frozenset({"person"}))
            )
            if not is_person:
                u.kind, u.value, u.lang = "garment", ("lower", None), "both"


def _attach_colours(
    units: list[_Unit], tokens: list[Token], phrase_lang: str
) -> tuple[dict[int, tuple[str, object]], dict[int, int]]:
    """Decide what each colour describes -> ({colour index: (outcome, detail)}, {colour index: shade index}).

    outcome: "part" (detail = "any"/"upper"/"lower"), "clothing" (worn colour, part any, implies a person),
    "item" (colour of a carried item: not an attribute, reported), "sensitive" (describes a person: skin/hair),
    "free" (nothing to attach to: part any, provisional).
    """
    shades: dict[int, int] = {}  # colour index -> shade index
    taken: set[int] = set()
    colour_idx = [k for k, u in enumerate(units) if u.kind == "colour"]
    for k in colour_idx:
        order = (1, -1) if units[k].lang == "fr" else (-1, 1)
        for step in order:
            s = k + step
            if 0 <= s < len(units) and units[s].kind == "shade" and s not in taken:
                shades[k] = s
                taken.add(s)
                break
    out: dict[int, tuple[str, object]] = {}
    for k in colour_idx:
        lo, hi = min(k, shades.get(k, k)), max(k, shades.get(k, k))
        left_first = units[k].lang == "fr" or (units[k].lang == "both" and phrase_lang == "fr")
        sides = ((lo - 1, -1), (hi + 1, 1)) if left_first else ((hi + 1, 1), (lo - 1, -1))
        out[k] = _colour_target(units, lo, hi, sides)
    # coordination: "rouge et noire", "a red and white top" share one target
    provisional = ("free", "nominal")
    changed = True
    while changed:
        changed = False
        for a in colour_idx:
            for b in colour_idx:
                if a == b or out[b][0] not in provisional or out[a][0] in provisional:
                    continue
                gap = units[min(a, b) + 1 : max(a, b)]
                joined = [u for u in gap if u.kind == "stop" and u.value in _CONJ]
                if joined and all(u.kind in ("shade", "stop") for u in gap) and len(gap) <= 3:
                    out[b] = out[a]
                    changed = True
    for k in colour_idx:
        if out[k][0] == "nominal":
            out[k] = ("sensitive", None)
    return out, shades


def _norm(u: _Unit, tokens: list[Token]) -> str:
    return " ".join(t.norm for t in tokens[u.start : u.end])


def _noun_outcome(u: _Unit) -> tuple[str, object] | None:
    if u.kind == "garment":
        return ("part", u.value[0])  # type: ignore[index]
    if u.kind == "class":
        return ("sensitive", None) if u.value[0] == frozenset({"person"}) else ("part", "any")  # type: ignore[index]
    if u.kind == "rider":
        return ("part", "any")  # worn by the rider, seen on the whole object
    if u.kind == "item":
        return ("item", None)
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
    #     "et"/"and" nor across "in"/"en" (a worn colour: "man in red" does not describe the man)
    for idx, step in sides:
        walked, modifiers = 0, 0
        while idx in inside and walked < 3 and (units[idx].kind in _MODIFIER_KINDS or (
                units[idx].kind == "stop" and units[idx].value not in _CONJ | _CLOTHING_PREPS)):
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
    # 4. "en rouge", "in red", "wearing black": a worn colour
    if prev is not None and prev.kind == "stop" and prev.value in _CLOTHING_PREPS:
        return ("clothing", None)
    # 5. a noun up to 3 grammar words away ("voiture de couleur rouge"), not across "et"/"and"
    for idx, step in sides:
        walked = 0
        while idx in inside and units[idx].kind == "stop" and units[idx].value not in _CONJ | _CLOTHING_PREPS \
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
    _resolve_short(units, tokens)
    _apply_negation(units)
    langs = {u.lang for u in units if u.bucket != "unknown" and u.kind not in ("unknown", "negation")} - {"both"}
    language = None if not tokens else "mixed" if len(langs) == 2 else langs.pop() if langs else None
    colour_outcomes, shade_of = _attach_colours(units, tokens, language or "en")

    found: dict[str, object] = {}
    classes: set[str] = set()
    colours: list[ColourTerm] = []
    items: set[str] = set()
    vehicle_types: set[str] = set()
    motion: set[str] = set()
    cameras_found: list[str] = []
    wants_person = False
    day: dt.date | None = None
    period: str | None = None
    clock: tuple[dt.time | None, dt.time | None] | None = None

    def conflict(u: _Unit) -> None:
        u.bucket = "unknown"

    for k, u in enumerate(units):
        if u.kind == "stop":
            u.bucket = "stop"
        elif u.kind in ("sensitive", "person_sensitive"):
            u.bucket = "sensitive"
        elif u.kind in ("unknown", "negation"):
            u.bucket = "unknown"
        elif u.kind == "class":
            wanted, vtype = u.value  # type: ignore[misc]
            classes |= wanted
            if vtype:
                vehicle_types.add(vtype)
        elif u.kind in ("rider", "outfit"):
            pass  # only decides what a colour next to it describes
        elif u.kind == "unmeasurable":
            u.bucket = "unmeasurable"
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
            elif outcome == "outfit":
                colours += [ColourTerm(name, "upper", shade), ColourTerm(name, "lower", shade)]  # type: ignore[arg-type]
                wants_person = True
            else:
                part = detail if outcome == "part" else "any"
                colours.append(ColourTerm(name, part, shade))  # type: ignore[arg-type]
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
    if not classes and wants_person:
        classes = {"person"}

    tod_from, tod_to = _time_of_day(period, clock)
    buckets: list[Bucket] = ["unknown"] * len(tokens)
    for u in units:
        for i in range(u.start, u.end):
            buckets[i] = u.bucket
    unknown = tuple(tokens[i].text for i in range(len(tokens)) if buckets[i] == "unknown")
    unmeasurable = tuple(_phrase_texts(units, tokens, "unmeasurable"))
    sensitive = tuple(tokens[i].text for i in range(len(tokens)) if buckets[i] == "sensitive")
    spec = QuerySpec(
        classes=frozenset(classes),
        colours=tuple(colours),
        direction=found.get("direction"),  # type: ignore[arg-type]
        cameras=tuple(cameras_found),
        time_of_day_from=tod_from,
        time_of_day_to=tod_to,
        tz=tz_name(zone),
        min_dwell_s=found.get("min_dwell_s"),  # type: ignore[arg-type]
        stationary=bool(found.get("stationary", False)),
        items=frozenset(items),
        vehicle_types=frozenset(vehicle_types),
        motion=frozenset(motion),
        unmeasurable=unmeasurable,
        free_text=" ".join(unknown),
        phrase=" ".join(tokens[i].text for i in range(len(tokens)) if buckets[i] != "sensitive"),
        unknown_words=unknown,
        ignored_sensitive=sensitive,
        language=language,
    )
    if day is not None:
        if spec.time_of_day_from is None and spec.time_of_day_to is None:
            spec = replace(spec, time_of_day_from=dt.time(0, 0))
        spec = spec.resolve_date(day)
    return Analysis(tuple(tokens), tuple(buckets), spec)


def _phrase_texts(units: list[_Unit], tokens: list[Token], bucket: Bucket) -> list[str]:
    """The words of each unit in `bucket`, as typed ("à rayures", "red" of "red bag")."""
    return [" ".join(t.text for t in tokens[u.start:u.end]) for u in units if u.bucket == bucket]


def _day_of(u: _Unit, today: dt.date) -> tuple[dt.date | None, str | None]:
    if u.kind == "day":
        return today + dt.timedelta(days=u.value), None  # type: ignore[arg-type]
    if u.kind == "dayperiod":
        offset, period = u.value  # type: ignore[misc]
        return today + dt.timedelta(days=offset), period
    if u.kind == "weekday":
        return today - dt.timedelta(days=(today.weekday() - u.value) % 7), None  # type: ignore[operator]
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
    period: str | None, clock: tuple[dt.time | None, dt.time | None] | None
) -> tuple[dt.time | None, dt.time | None]:
    """Clock bounds win over the day part's bounds ("ce matin après 10h" = 10:00-12:00)."""
    p_from, p_to = PERIODS[period] if period else (None, None)
    c_from, c_to = clock or (None, None)
    return c_from or p_from, c_to or p_to


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
