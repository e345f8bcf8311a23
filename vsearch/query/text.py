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
from vsearch.query.colours import attach_colours, label_alternatives, substances_as_words
from vsearch.query.lexicon import Bucket, Token, _match_lexicon, _starts_with, _Unit, tokenise
from vsearch.query.context import (apply_negation, resolve_ages, resolve_along, resolve_body_words,
                                   resolve_camera_numbers, resolve_counts, resolve_destinations, resolve_jogging,
                                   resolve_left_as_leaving, resolve_motion_verbs, resolve_period_parts, resolve_plates,
                                   resolve_right_and_left_words, resolve_sides, resolve_suspect_things,
                                   resolve_vehicle_parts, resolve_worn_on_back, riders)
from vsearch.query.spelling import correct, correct_phrase
from vsearch.query.timewords import _match_ago, _match_duration, _match_recent, _match_time

_PERSON_THINGS = {"ride", "uniform"}  # say the object is a person ("someone on an e-scooter", "in uniform")
NOON = dt.time(12)
# what a rider or driver word says when no vehicle is named ("a Deliveroo rider": a two-wheeler)
RIDER_CLASSES = {"rider": {"bicycle", "motorbike"}, "driver": {"car", "truck", "bus", "motorbike"}}
PERIODS = {  # time-of-day windows of day-part words; None = until midnight
    "morning": (dt.time(6), dt.time(12)),
    "afternoon": (dt.time(12), dt.time(18)),
    "evening": (dt.time(18), None),
    "night": (dt.time(22), dt.time(6)),
    "day": (dt.time(7), dt.time(21)),  # the daytime: "en fin de journée" is its second half, 14:00-21:00
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
        phrase = correct_phrase(tuple(t.norm for t in tokens[i : i + 6]))  # "twards the camera"
        if phrase is None:
            return None
        kind, value, lang = phrase[1]
        return _Unit(kind, value, i, i + len(phrase[0]), lang, read_as=" ".join(phrase[0]))
    kind, value, lang = found[1]
    return _Unit(kind, value, i, i + 1, lang, read_as=found[0])


_CLAUSE_MARKS = ",;.:!?"


def _clause_breaks(tokens: list[Token], text: str, marks: str = _CLAUSE_MARKS) -> set[int]:
    """Indices of the tokens followed by a comma or another clause mark ("no bag, grey hoodie")."""
    return {i for i in range(len(tokens) - 1)
            if any(c in marks for c in text[tokens[i].end : tokens[i + 1].start])}


def _norm(u: _Unit, tokens: list[Token]) -> str:
    return " ".join(t.norm for t in tokens[u.start : u.end])


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
    substances_as_words(units, tokens)
    langs = {u.lang for u in units if u.bucket != "unknown" and u.kind not in ("unknown", "negation")} - {"both"}
    language = None if not tokens else "mixed" if len(langs) == 2 else langs.pop() if langs else None
    # a colon binds a label to its value ("jacket: red"): only commas and full stops part a colour from a noun
    colour_outcomes, shade_of, either_run = attach_colours(units, tokens, language or "en",
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
            if clash_day and period == "night" and p is None and d == day + dt.timedelta(days=1):
                u.bucket = "stop"  # "la nuit de jeudi à vendredi": the night that starts on the first day
            elif clash_day or (period is not None and p is not None and p != period):
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
        colours=label_alternatives(colours),
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
    if isinstance(value, tuple):  # dd/mm without a year (or "the 19th": no month): the latest such day up to today
        day, month = value
        months = [(today.year, month)] if month else [(today.year, today.month)]
        months += [(today.year - 1, month)] if month else [(today.year - (today.month == 1), (today.month - 2) % 12 + 1)]
        for year, mon in months:
            try:
                candidate = dt.date(year, mon, day)
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
