"""The structured search query, and the parsing of `vsearch search` option values.

`QuerySpec` is what both the free-text parser (`vsearch.query.text`) and the command-line options produce;
`merge` combines them (options extend set-like terms and override single values). Every parse error is a
`QueryError` whose message names the option at fault and says what a good value looks like; the CLI turns it
into a one-line message and exit code 2.

Times: absolute bounds are timezone-aware datetimes. A clock time with no day ("après 14h", `--from 14:00`
without `--date`) is a *time-of-day* filter in the local timezone (`tz`, default Europe/Paris), applied to
every day; a window whose start is after its end wraps midnight (22:00 -> 06:00).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from vsearch.errors import QueryError
from vsearch.records import CLASSES
from vsearch.query import vocabulary
from vsearch.query.vocabulary import fold
from vsearch.query.zones import Line, Polygon, zone_test

DEFAULT_TZ = "Europe/Paris"

Part = Literal["any", "upper", "lower", "head"]
Shade = Literal["light", "dark"]
ZoneMode = Literal["entered", "crossed", "stayed"]
SpeedUnit = Literal["fw/s", "px/s"]

PARTS = ("any", "upper", "lower", "head")  # "head": headwear colour (attribute `head_colours`)
SHADES = ("light", "dark")
ZONE_MODES = ("entered", "crossed", "stayed")
# Canonical colour names: the palette used by tests/synth.py and the garment colour sampler. The vehicle
# attribute model says "gray"; matchers map it to "grey".
COLOURS = ("white", "black", "grey", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")
DIRECTIONS = ("left", "right", "up", "down", "N", "NE", "E", "SE", "S", "SW", "W", "NW")
# Carried items / clothing kinds -> key under the tube attributes' `models` that holds its probability. The first
# six are written by the person-attributes model; the others have no producer yet: they are "not measurable"
# for every tube until an indexer writes that key (see vsearch/query/vocabulary.toml).
ITEM_ATTRIBUTES = {
    "bag": "has_bag",
    "backpack": "has_backpack",
    "hat": "has_hat",
    "coat": "has_coat_jacket",
    "long_sleeves": "has_longsleeves",
    "long_trousers": "has_longpants",
    "suitcase": "has_suitcase",
    "umbrella": "has_umbrella",
    "pushchair": "has_pushchair",
}
ITEMS = tuple(ITEM_ATTRIBUTES)
# Fine vehicle types (the vehicle-attributes model's `type` output, or a detector class of that name).
VEHICLE_TYPES = ("car", "van", "bus", "truck")
# Camera-relative motion: box growing / shrinking over the tube, entering / leaving through a frame edge.
MOTIONS = ("towards", "away", "entering", "leaving")

LEGAL_NOTICE = (
    "Words about sex, age, origin, religion, hair, face or body are never used for matching "
    "(no biometric or sensitive inference): {words}"
)

# Compass abbreviations accepted by --direction (codes, not words: the words are in vocabulary.toml)
_COMPASS_CODES = {"n": "N", "s": "S", "e": "E", "w": "W", "o": "W", "ne": "NE", "nw": "NW", "no": "NW", "se": "SE",
                  "sw": "SW", "so": "SW"}


# ---------------------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class ColourTerm:
    """A colour wanted on the whole object ("any"), the upper or the lower garment, optionally light/dark."""

    name: str
    part: Part = "any"
    shade: Shade | None = None
    # True: a filter (from --colour/--upper/--lower); False: soft evidence that ranks (from the query text)
    hard: bool = False

    def __post_init__(self) -> None:
        if self.name not in COLOURS:
            raise ValueError(f"colour {self.name!r} is not one of {COLOURS}")
        if self.part not in PARTS:
            raise ValueError(f"part {self.part!r} is not one of {PARTS}")
        if self.shade is not None and self.shade not in SHADES:
            raise ValueError(f"shade {self.shade!r} is not one of {SHADES}")

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "part": self.part, "shade": self.shade, "hard": self.hard}


@dataclass(frozen=True)
class ZoneTerm:
    """A zone condition: "entered" or "stayed" (>= `min_s` seconds in one go) a Polygon, or "crossed" a Line."""

    shape: Polygon | Line
    mode: ZoneMode = "entered"
    min_s: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ZONE_MODES:
            raise ValueError(f"zone mode {self.mode!r} is not one of {ZONE_MODES}")
        if (self.mode == "crossed") != isinstance(self.shape, Line):
            raise ValueError("'crossed' takes a 2-point line; 'entered' and 'stayed' take a polygon")
        if not (self.min_s >= 0 and math.isfinite(self.min_s)):
            raise ValueError(f"min_s must be a finite number >= 0, got {self.min_s}")

    def matches(self, times_s: np.ndarray, ground_points: np.ndarray, width_px: int, height_px: int) -> bool:
        """Test a tube path: `ground_points` normalised (see `vsearch.query.zones.ground_points`); the frame size is
        the *source* size, used only when the zone was given in pixels."""
        shape = self.shape.normalised_for(width_px, height_px)
        return zone_test(self.mode, shape, times_s, ground_points, self.min_s)

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "points": [list(p) for p in self.shape.points],
            "normalised": self.shape.normalised,
            "min_s": self.min_s,
        }


@dataclass(frozen=True)
class SpeedTerm:
    """A speed bound: `fw/s` = frame widths per second (camera-independent), `px/s` = source pixels per second."""

    value: float
    unit: SpeedUnit = "fw/s"

    def __post_init__(self) -> None:
        if self.unit not in ("fw/s", "px/s"):
            raise ValueError(f"speed unit {self.unit!r} is not fw/s or px/s")
        if not (self.value >= 0 and math.isfinite(self.value)):
            raise ValueError(f"speed must be a finite number >= 0, got {self.value}")

    def frame_widths_per_s(self, width_px: int) -> float:
        return self.value if self.unit == "fw/s" else self.value / width_px

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "unit": self.unit}


def _iso(value: dt.datetime | dt.time | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True)
class QuerySpec:
    """One search, fully structured. Empty / None fields do not constrain.

    Semantics for the search engine: different fields are ANDed; classes are alternatives; colour terms on the
    same part are alternatives, different parts are ANDed; items, zones and cameras: every item and zone must
    hold, any listed camera. `free_text` (unmapped words) and `phrase` (the whole text minus sensitive words)
    are for CLIP scoring when weights exist. `ignored_sensitive` lists words refused for legal reasons.
    """

    classes: frozenset[str] = frozenset()
    colours: tuple[ColourTerm, ...] = ()
    direction: str | None = None
    cameras: tuple[str, ...] = ()
    time_from: dt.datetime | None = None
    time_to: dt.datetime | None = None
    time_of_day_from: dt.time | None = None
    time_of_day_to: dt.time | None = None  # None with a `from`: until the end of the day
    tz: str = DEFAULT_TZ  # local timezone of time-of-day filters
    zones: tuple[ZoneTerm, ...] = ()
    min_dwell_s: float | None = None  # minimum time the object is in view (first to last sample)
    min_speed: SpeedTerm | None = None
    max_speed: SpeedTerm | None = None
    stationary: bool = False
    items: frozenset[str] = frozenset()
    vehicle_types: frozenset[str] = frozenset()  # soft: fine vehicle type wanted (van, bus, truck, car)
    motion: frozenset[str] = frozenset()  # soft: camera-relative motion (towards, away, entering, leaving)
    strict: bool = False  # every soft term must be matched (else they only rank)
    like: str | None = None  # a reference image path or "tube:<tube_id>"
    free_text: str = ""
    # the whole text minus sensitive words, for CLIP; kept out of equality and to_dict (which are the
    # structured query, the same whatever the wording)
    phrase: str = field(default="", compare=False)
    unknown_words: tuple[str, ...] = ()
    unmeasurable: tuple[str, ...] = ()  # words understood but measured by no stored attribute ("striped")
    ignored_sensitive: tuple[str, ...] = ()
    language: str | None = None  # "fr", "en", "mixed"; None when there was no text
    limit: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", frozenset(self.classes))
        object.__setattr__(self, "items", frozenset(self.items))
        object.__setattr__(self, "vehicle_types", frozenset(self.vehicle_types))
        object.__setattr__(self, "motion", frozenset(self.motion))
        for name, allowed in (("vehicle_types", VEHICLE_TYPES), ("motion", MOTIONS)):
            bad = getattr(self, name) - set(allowed)
            if bad:
                raise ValueError(f"unknown {name} {sorted(bad)}; use {allowed}")
        bad = self.classes - set(CLASSES)
        if bad:
            raise ValueError(f"unknown classes {sorted(bad)}; use {CLASSES}")
        bad = self.items - set(ITEMS)
        if bad:
            raise ValueError(f"unknown items {sorted(bad)}; use {ITEMS}")
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise ValueError(f"direction {self.direction!r} is not one of {DIRECTIONS}")
        for name in ("time_from", "time_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be >= 1, got {self.limit}")
        # canonical order, so equal queries compare (and serialise) equal
        colours = sorted(set(self.colours), key=lambda c: (PARTS.index(c.part), c.name, c.shade or "", c.hard))
        object.__setattr__(self, "colours", tuple(colours))
        object.__setattr__(self, "cameras", tuple(sorted(set(self.cameras))))
        object.__setattr__(self, "zones", tuple(dict.fromkeys(self.zones)))
        object.__setattr__(self, "unknown_words", tuple(self.unknown_words))
        object.__setattr__(self, "unmeasurable", tuple(dict.fromkeys(self.unmeasurable)))
        object.__setattr__(self, "ignored_sensitive", tuple(dict.fromkeys(self.ignored_sensitive)))

    def tzinfo(self) -> dt.tzinfo:
        """The local timezone of the time-of-day filter."""
        return get_tz(self.tz)

    @property
    def legal_notice(self) -> str | None:
        """The sentence to show when some words were refused, else None."""
        if not self.ignored_sensitive:
            return None
        return LEGAL_NOTICE.format(words=", ".join(self.ignored_sensitive))

    def has_constraints(self) -> bool:
        """False when nothing would restrict the search (no filter, no text, no reference)."""
        reporting = ("tz", "language", "limit", "unknown_words", "ignored_sensitive", "phrase", "unmeasurable",
                     "strict")
        return any(getattr(self, f.name) != f.default for f in fields(self) if f.name not in reporting)

    def to_dict(self) -> dict[str, object]:
        """JSON-able dict with keys and values in a canonical order."""
        return {
            "classes": sorted(self.classes),
            "colours": [c.to_dict() for c in self.colours],
            "direction": self.direction,
            "cameras": list(self.cameras),
            "time_from": _iso(self.time_from),
            "time_to": _iso(self.time_to),
            "time_of_day_from": _iso(self.time_of_day_from),
            "time_of_day_to": _iso(self.time_of_day_to),
            "tz": self.tz,
            "zones": [z.to_dict() for z in self.zones],
            "min_dwell_s": self.min_dwell_s,
            "min_speed": None if self.min_speed is None else self.min_speed.to_dict(),
            "max_speed": None if self.max_speed is None else self.max_speed.to_dict(),
            "stationary": self.stationary,
            "items": sorted(self.items),
            "vehicle_types": sorted(self.vehicle_types),
            "motion": sorted(self.motion),
            "strict": self.strict,
            "like": self.like,
            "free_text": self.free_text,
            "unknown_words": list(self.unknown_words),
            "unmeasurable": list(self.unmeasurable),
            "ignored_sensitive": list(self.ignored_sensitive),
            "legal_notice": self.legal_notice,
            "language": self.language,
            "limit": self.limit,
        }

    def merge(self, other: QuerySpec) -> QuerySpec:
        """`self` (usually from the text) combined with `other` (usually from the options).

        Set-like terms (classes, colours, cameras, zones, items, words) are extended; single values (direction,
        times, speeds, dwell, like, limit, tz) are overridden by `other` where it sets them.
        """
        changes: dict[str, object] = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name in ("classes", "items", "vehicle_types", "motion"):
                changes[f.name] = mine | theirs
            elif f.name in ("colours", "cameras", "zones", "unknown_words", "unmeasurable", "ignored_sensitive"):
                changes[f.name] = mine + theirs
            elif f.name in ("free_text", "phrase"):
                changes[f.name] = " ".join(s for s in (mine, theirs) if s)
            elif f.name in ("stationary", "strict"):
                changes[f.name] = mine or theirs
            elif f.name == "language":
                changes[f.name] = mine if theirs is None else theirs if mine is None or mine == theirs else "mixed"
            elif f.name == "tz":
                changes[f.name] = theirs if theirs != DEFAULT_TZ else mine
            else:
                changes[f.name] = mine if theirs is None else theirs
        merged = replace(self, **changes)
        _check_time_order(merged)
        return merged

    def resolve_date(self, date: dt.date) -> QuerySpec:
        """Turn a time-of-day window into absolute bounds on `date` (local `tz`); a wrapping window ends the
        next day. Absolute bounds already set are kept (they win over the time of day)."""
        if self.time_of_day_from is None and self.time_of_day_to is None:
            return self
        zone = get_tz(self.tz)
        start_t = self.time_of_day_from or dt.time(0, 0)
        start = localise(dt.datetime.combine(date, start_t), zone, "--date", latest=False)
        if self.time_of_day_to is None:
            midnight = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0, 0))
            end = localise(midnight, zone, "--date", latest=False)
        else:
            end_day = date if self.time_of_day_to > start_t else date + dt.timedelta(days=1)
            end = localise(dt.datetime.combine(end_day, self.time_of_day_to), zone, "--date", latest=True)
        resolved = replace(
            self,
            time_from=self.time_from or start,
            time_to=self.time_to or end,
            time_of_day_from=None,
            time_of_day_to=None,
        )
        _check_time_order(resolved)
        return resolved

    def overlaps_time(self, start: dt.datetime, end: dt.datetime) -> bool:
        """True when an object seen from `start` to `end` (aware datetimes) meets the time constraints."""
        if self.time_from is not None and end < self.time_from:
            return False
        if self.time_to is not None and start > self.time_to:
            return False
        if self.time_of_day_from is None and self.time_of_day_to is None:
            return True
        zone = get_tz(self.tz)
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        t0 = self.time_of_day_from or dt.time(0, 0)
        t1 = self.time_of_day_to
        day = local_start.date() - dt.timedelta(days=1)
        while day <= local_end.date():
            w0 = dt.datetime.combine(day, t0, zone)
            if t1 is None:
                w1 = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), zone)
            else:
                w1 = dt.datetime.combine(day if t1 > t0 else day + dt.timedelta(days=1), t1, zone)
            if local_start <= w1 and local_end >= w0:
                return True
            day += dt.timedelta(days=1)
        return False


# ---------------------------------------------------------------------------------------------------------------
# Option parsing


def get_tz(tz: str | dt.tzinfo | None) -> dt.tzinfo:
    """A tzinfo from a name ("Europe/Paris"), a tzinfo, or None (the default, Europe/Paris)."""
    if isinstance(tz, dt.tzinfo):
        return tz
    name = tz or DEFAULT_TZ
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise QueryError(f"timezone {name!r} is unknown; use an IANA name such as Europe/Paris") from e


def tz_name(tz: str | dt.tzinfo | None) -> str:
    zone = get_tz(tz)
    return getattr(zone, "key", None) or str(zone)


def localise(naive: dt.datetime, zone: dt.tzinfo, option: str, *, latest: bool) -> dt.datetime:
    """Attach `zone` to a local wall time. A time skipped by a DST change is an error; a repeated one takes its
    first occurrence, or its second with `latest=True` (so an end bound covers both)."""
    aware = naive.replace(tzinfo=zone, fold=1 if latest else 0)
    round_trip = aware.astimezone(dt.UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None, fold=0) != naive.replace(fold=0):
        raise QueryError(
            f"{option}: {naive:%Y-%m-%d %H:%M} does not exist in {tz_name(zone)} (clocks moved forward); "
            "give a time outside the DST change or an explicit UTC offset"
        )
    return aware


_CLOCK_RE = re.compile(
    r"^(?P<h>\d{1,2})(?:(?P<sep>[:h.])(?P<m>\d{2})?(?::(?P<s>\d{2}))?)?\s*(?P<ampm>[ap]\.?m\.?)?$"
)
_NAMED_CLOCK = {"midi": dt.time(12), "noon": dt.time(12), "minuit": dt.time(0), "midnight": dt.time(0)}


def parse_clock(value: str, *, bare_hour: bool = False) -> dt.time | None:
    """A clock time ("14:00", "14h", "14h05", "2pm", "2:05 pm", "midi"), or None if `value` is not one.

    A bare number ("14") is an hour only with `bare_hour=True`. Out-of-range values raise ValueError.
    """
    text = fold(value).replace(" ", "").replace("heures", "h").replace("heure", "h").replace("o'clock", "h")
    if text in _NAMED_CLOCK:
        return _NAMED_CLOCK[text]
    m = _CLOCK_RE.match(text)
    if m is None:
        return None
    if m["sep"] is None and m["ampm"] is None and not bare_hour:
        return None
    if m["sep"] in (":", ".") and m["m"] is None:
        return None
    hour, minute, second = int(m["h"]), int(m["m"] or 0), int(m["s"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            raise ValueError(f"{value!r}: an am/pm hour goes from 1 to 12")
        hour = hour % 12 + (12 if m["ampm"].startswith("p") else 0)
    if hour == 24 and minute == 0 and second == 0:
        hour = 0
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise ValueError(f"{value!r} is not a valid time of day")
    return dt.time(hour, minute, second)


def parse_date_option(value: str, *, option: str = "--date") -> dt.date:
    """A day: "2024-05-03" (ISO) or "03/05/2024" (French day/month/year)."""
    text = value.strip()
    try:
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
            day, month, year = (int(p) for p in text.split("/"))
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise QueryError(f"{option} {value!r} is not a date; use YYYY-MM-DD (e.g. 2024-05-03) or DD/MM/YYYY") from e


def parse_time_option(
    value: str, date: dt.date | str | None = None, tz: str | dt.tzinfo | None = DEFAULT_TZ, *, option: str = "--from"
) -> dt.datetime:
    """An absolute, timezone-aware time from an option value.

    Accepts ISO-8601 with or without offset ("2024-05-03T14:00", "2024-05-03 14:00:00+02:00", "...Z"), a day
    alone ("2024-05-03": its start for --from, the next midnight for --to), or a clock time ("14:00", "14h",
    "14h05", "2pm") on `date`. A naive value is local time in `tz`. Errors name `option`.
    """
    zone = get_tz(tz)
    latest = option == "--to"
    hint = "use ISO-8601 (2024-05-03T14:00, optionally with +02:00) or a time such as 14:00 / 14h05 with --date"
    text = value.strip()
    if not text:
        raise QueryError(f"{option} is empty; {hint}")
    try:
        clock = parse_clock(text)
    except ValueError as e:
        raise QueryError(f"{option} {value!r}: {e}; {hint}") from e
    if clock is not None:
        if date is None:
            raise QueryError(f"{option} {value!r} is a time of day; give --date YYYY-MM-DD or a full ISO-8601 time")
        day = parse_date_option(date) if isinstance(date, str) else date
        return localise(dt.datetime.combine(day, clock), zone, option, latest=latest)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = parse_date_option(text, option=option)
        if latest:
            day += dt.timedelta(days=1)
        return localise(dt.datetime.combine(day, dt.time(0, 0)), zone, option, latest=False)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise QueryError(f"{option} {value!r} is not a time; {hint}") from e
    if parsed.tzinfo is None:
        return localise(parsed, zone, option, latest=latest)
    return parsed


def _parse_points(value: str | Iterable[Iterable[float]], option: str) -> tuple[tuple[float, float], ...]:
    hint = 'give "x1,y1 x2,y2 x3,y3 ..." (0-1 fractions of the frame, or source pixels) or a JSON list [[x,y],...]'
    if not isinstance(value, str):
        raw: object = [list(p) for p in value]
    elif value.strip().startswith("["):
        try:
            raw = json.loads(value)
        except json.JSONDecodeError as e:
            raise QueryError(f"{option} {value!r} is not valid JSON; {hint}") from e
    else:
        cleaned = re.sub(r"\s*,\s*", ",", value.strip().replace("(", " ").replace(")", " "))
        parts = [p for p in re.split(r"[\s;]+", cleaned) if p]
        raw = [p.split(",") for p in parts]
    points = []
    if not isinstance(raw, list):
        raise QueryError(f"{option} {value!r}: {hint}")
    for item in raw:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise QueryError(f"{option} {value!r}: every point needs exactly two numbers; {hint}")
        try:
            x, y = float(item[0]), float(item[1])
        except (TypeError, ValueError) as e:
            raise QueryError(f"{option} {value!r}: {item!r} is not a pair of numbers; {hint}") from e
        if not (math.isfinite(x) and math.isfinite(y)) or x < 0 or y < 0:
            raise QueryError(f"{option} {value!r}: coordinates must be finite and >= 0")
        points.append((x, y))
    return tuple(points)


def _is_normalised(points: tuple[tuple[float, float], ...]) -> bool:
    return all(x <= 1 and y <= 1 for x, y in points)


def parse_polygon(value: str | Iterable[Iterable[float]], *, option: str = "--zone") -> Polygon:
    """A polygon from "x1,y1 x2,y2 x3,y3 ..." or a JSON list; all coordinates <= 1 -> normalised, else pixels."""
    points = _parse_points(value, option)
    if len(points) < 3:
        extra = " (a 2-point value is a line: use crossed:x1,y1 x2,y2)" if len(points) == 2 else ""
        raise QueryError(f"{option} {value!r}: a zone needs at least 3 points, got {len(points)}{extra}")
    try:
        return Polygon(points, normalised=_is_normalised(points))
    except ValueError as e:
        raise QueryError(f"{option} {value!r}: {e}") from e


def parse_line(value: str | Iterable[Iterable[float]], *, option: str = "--zone") -> Line:
    """A directed line "x1,y1 x2,y2" (normalised when all coordinates <= 1, else pixels)."""
    points = _parse_points(value, option)
    if len(points) != 2:
        raise QueryError(f"{option} {value!r}: a crossing line needs exactly 2 points, got {len(points)}")
    try:
        return Line((points[0], points[1]), normalised=_is_normalised(points))
    except ValueError as e:
        raise QueryError(f"{option} {value!r}: {e}") from e


_ZONE_RE = re.compile(
    r"^\s*(?P<mode>entered|crossed|stayed)\s*(?:(?:>=|≥|=)?\s*(?P<n>\d+(?:\.\d+)?)\s*s?)?\s*:(?P<points>.*)$",
    re.IGNORECASE,
)


def parse_zone(value: str, *, option: str = "--zone") -> ZoneTerm:
    """A zone condition: "entered:POINTS", "crossed:X1,Y1 X2,Y2", "stayed>=30:POINTS", or bare POINTS
    (3+ points: entered; 2 points: crossed)."""
    m = _ZONE_RE.match(value)
    if m is None:
        if re.match(r"^\s*[a-zA-Z]", value):
            raise QueryError(
                f"{option} {value!r}: start with entered:, crossed: or stayed>=SECONDS: followed by the points"
            )
        points = _parse_points(value, option)
        if len(points) == 2:
            return ZoneTerm(parse_line(value, option=option), "crossed")
        return ZoneTerm(parse_polygon(value, option=option), "entered")
    mode, seconds, rest = m["mode"].lower(), m["n"], m["points"]
    if mode == "crossed":
        if seconds is not None:
            raise QueryError(f"{option} {value!r}: 'crossed' takes no duration")
        return ZoneTerm(parse_line(rest, option=option), "crossed")
    if mode == "stayed":
        if seconds is None:
            raise QueryError(f"{option} {value!r}: say how long, e.g. stayed>=30:POINTS")
        return ZoneTerm(parse_polygon(rest, option=option), "stayed", float(seconds))
    if seconds is not None:
        raise QueryError(f"{option} {value!r}: 'entered' takes no duration (use stayed>=N)")
    return ZoneTerm(parse_polygon(rest, option=option), "entered")


def parse_direction(value: str, *, option: str = "--direction") -> str:
    """A direction: left/right/up/down (on screen) or a compass point N..NW (needs the camera's orientation);
    French words are accepted (gauche, droite, nord-est...)."""
    key = fold(value.strip()).replace(" ", "-")
    key = re.sub(r"^(vers-la-|vers-le-|vers-l'|to-the-|heading-|going-|direction-)", "", key)
    if key.upper() in DIRECTIONS:
        return key.upper() if len(key) <= 2 else key
    if key in _COMPASS_CODES:
        return _COMPASS_CODES[key]
    named = {w.replace(" ", "-"): d for w, d in vocabulary.words("direction").items()}
    for candidate in (key, key.replace("ward", "").rstrip("s")):
        if candidate in named:
            return named[candidate]  # type: ignore[return-value]
    raise QueryError(f"{option} {value!r} is not a direction; use left, right, up, down or N, NE, E, SE, S, SW, W, NW")


def parse_colour(value: str, part: Part = "any", *, option: str = "--colour") -> ColourTerm:
    """A colour with optional shade, in English or French: "red", "dark blue", "bleu foncé", "navy", "beige"."""
    text = " ".join(fold(value.strip()).replace("-", " ").split())
    colour_words = vocabulary.words("colour")
    shade_words = vocabulary.words("shade")
    names: list[tuple[str, Shade | None]] = []
    shade: Shade | None = None
    if text in colour_words:  # a phrase of the vocabulary ("bleu marine", "navy blue")
        names = [colour_words[text]]  # type: ignore[list-item]
    else:
        for word in text.split():
            if word in shade_words:
                shade = shade_words[word]  # type: ignore[assignment]
            elif word in colour_words:
                names.append(colour_words[word])  # type: ignore[arg-type]
            else:
                names = []
                break
    if len(names) != 1:
        raise QueryError(
            f"{option} {value!r} is not a colour; use one of {', '.join(COLOURS)}, optionally with light/dark"
        )
    name, implied = names[0]
    return ColourTerm(name, part, shade or implied)


def parse_class(value: str, *, option: str = "--class") -> frozenset[str]:
    """Object classes from a class name or a FR/EN synonym ("voiture" -> car, "vehicle" -> car/truck/bus/moto)."""
    key = fold(value.strip())
    if key in CLASSES:
        return frozenset((key,))
    named = vocabulary.words("class")
    for candidate in (key, key.replace("-", " "), key.replace(" ", "-")):
        if candidate in named:
            return named[candidate][0]  # type: ignore[index]
    raise QueryError(f"{option} {value!r} is not a class; use one of {', '.join(CLASSES)}")


def parse_duration(value: str | float, *, option: str = "--min-dwell") -> float:
    """Seconds from "30", "30s", "2min", "1h", "1m30s"."""
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = fold(value.strip()).replace(" ", "")
        m = re.fullmatch(r"(?:(\d+(?:[.,]\d+)?)h)?(?:(\d+(?:[.,]\d+)?)(?:m|min|mn))?(?:(\d+(?:[.,]\d+)?)s?)?", text)
        if not text or m is None:
            raise QueryError(f"{option} {value!r} is not a duration; use seconds (30, 30s) or 2min, 1h")
        h, mi, s = (float(g.replace(",", ".")) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    if not (seconds >= 0 and math.isfinite(seconds)):
        raise QueryError(f"{option} {value!r} must be a duration >= 0")
    return seconds


def parse_speed(value: str | float, *, option: str = "--min-speed") -> SpeedTerm:
    """A speed: "0.2" or "0.2fw/s" (frame widths per second), "120px/s" (source pixels per second)."""
    text = str(value).strip().lower().replace(" ", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?|\.\d+)(fw/s|px/s)?", text)
    if m is None:
        raise QueryError(f"{option} {value!r} is not a speed; use e.g. 0.2 or 0.2fw/s (frame widths/s) or 120px/s")
    return SpeedTerm(float(m[1]), m[2] or "fw/s")  # type: ignore[arg-type]


def check_cameras(names: Iterable[str], known: Collection[str], *, option: str = "--camera") -> tuple[str, ...]:
    """`names` unchanged if all are known cameras (any when `known` is empty), else a QueryError naming them."""
    names = tuple(names)
    if known:
        missing = [n for n in names if n not in known]
        if missing:
            raise QueryError(
                f"{option} {', '.join(repr(n) for n in missing)}: no such camera in the index; "
                f"known cameras: {', '.join(sorted(known))}"
            )
    return names


def _check_time_order(spec: QuerySpec) -> None:
    if spec.time_from is not None and spec.time_to is not None and spec.time_from > spec.time_to:
        raise QueryError(
            f"--from {spec.time_from.isoformat()} is after --to {spec.time_to.isoformat()}; swap them"
        )


@dataclass(frozen=True)
class QueryOptions:
    """The raw values of the `vsearch search` options (strings as typed), before parsing."""

    classes: tuple[str, ...] = ()
    colours: tuple[str, ...] = ()
    upper: tuple[str, ...] = ()
    lower: tuple[str, ...] = ()
    direction: str | None = None
    cameras: tuple[str, ...] = ()
    time_from: str | None = None
    time_to: str | None = None
    date: str | None = None
    zones: tuple[str, ...] = ()
    min_dwell: str | None = None
    min_speed: str | None = None
    max_speed: str | None = None
    like: str | None = None
    limit: int | None = None
    strict: bool = False


def _time_bound(value: str, option: str, date: dt.date | None, zone: dt.tzinfo) -> dt.datetime | dt.time:
    """An absolute time, or a time of day when `value` is a clock time and no --date was given."""
    try:
        clock = parse_clock(value)
    except ValueError as e:
        raise QueryError(f"{option} {value!r}: {e}") from e
    if clock is not None and date is None:
        return clock
    return parse_time_option(value, date, zone, option=option)


def spec_from_options(
    opts: QueryOptions, *, tz: str | dt.tzinfo | None = DEFAULT_TZ, known_cameras: Collection[str] = ()
) -> QuerySpec:
    """Parse every option value into a QuerySpec; the first bad value raises a QueryError naming its option."""
    zone = get_tz(tz)
    date = parse_date_option(opts.date) if opts.date else None
    classes: frozenset[str] = frozenset()
    for value in opts.classes:
        classes |= parse_class(value)
    colours = [parse_colour(v, "any", option="--colour") for v in opts.colours]
    colours += [parse_colour(v, "upper", option="--upper") for v in opts.upper]
    colours += [parse_colour(v, "lower", option="--lower") for v in opts.lower]
    colours = [replace(c, hard=True) for c in colours]  # explicit options filter; text words only rank
    bounds: dict[str, dt.datetime | dt.time | None] = {"from": None, "to": None}
    for key, value in (("from", opts.time_from), ("to", opts.time_to)):
        if value is not None:
            bounds[key] = _time_bound(value, f"--{key}", date, zone)
    absolute = {k: v for k, v in bounds.items() if isinstance(v, dt.datetime)}
    clock = {k: v for k, v in bounds.items() if isinstance(v, dt.time)}
    if opts.like is not None:
        _check_like(opts.like)
    if opts.limit is not None and (isinstance(opts.limit, bool) or int(opts.limit) < 1):
        raise QueryError(f"--limit {opts.limit!r} must be a whole number >= 1")
    min_speed = parse_speed(opts.min_speed, option="--min-speed") if opts.min_speed is not None else None
    max_speed = parse_speed(opts.max_speed, option="--max-speed") if opts.max_speed is not None else None
    if min_speed and max_speed and min_speed.unit == max_speed.unit and min_speed.value > max_speed.value:
        raise QueryError(f"--min-speed {opts.min_speed} is above --max-speed {opts.max_speed}")
    spec = QuerySpec(
        classes=classes,
        colours=tuple(colours),
        direction=parse_direction(opts.direction) if opts.direction is not None else None,
        cameras=check_cameras(opts.cameras, known_cameras),
        time_from=absolute.get("from"),
        time_to=absolute.get("to"),
        time_of_day_from=clock.get("from"),
        time_of_day_to=clock.get("to"),
        tz=tz_name(zone),
        zones=tuple(parse_zone(v) for v in opts.zones),
        min_dwell_s=parse_duration(opts.min_dwell) if opts.min_dwell is not None else None,
        min_speed=min_speed,
        max_speed=max_speed,
        like=opts.like,
        limit=None if opts.limit is None else int(opts.limit),
        strict=bool(opts.strict),
    )
    _check_time_order(spec)
    if date is not None:
        spec = spec.resolve_date(date)
    return spec


def _check_like(value: str) -> None:
    if value.startswith("tube:"):
        if not value[5:].strip():
            raise QueryError("--like 'tube:' needs a tube id, e.g. --like tube:3f2a9c0d1e2b4a5c-00012")
        return
    if not Path(value).is_file():
        raise QueryError(f"--like {value!r}: no such image file; give an image path or tube:ID")
