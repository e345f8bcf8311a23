"""The structured search query: `QuerySpec` and its term records.

`QuerySpec` is what both the free-text parser (`vsearch.query.text`) and the command-line options
(`vsearch.query.options`) produce; `merge` combines them (options extend set-like terms and override single
values).

Times: absolute bounds are timezone-aware datetimes. A clock time with no day ("après 14h", `--from 14:00`
without `--date`) is a *time-of-day* filter in the local timezone (`tz`, default Europe/Paris), applied to
every day; a window whose start is after its end wraps midnight (22:00 -> 06:00).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, fields, replace
from typing import Literal

import numpy as np

from vsearch.errors import QueryError
from vsearch.records import CLASSES
from vsearch.query.clock import DEFAULT_TZ, get_tz, localise
from vsearch.query.zones import Line, Polygon, zone_test


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
ITEM_ATTRIBUTES = {  # item -> the stored probabilities that measure it (`models.<key>`); the best one counts
    "bag": ("has_bag", "coco_handbag"),  # person-attribute model; YOLOX-Nano handbag on the best crops
    "backpack": ("has_backpack", "coco_backpack"),
    "hat": ("has_hat",),
    "coat": ("has_coat_jacket",),
    "long_sleeves": ("has_longsleeves",),
    "long_trousers": ("has_longpants",),
    "suitcase": ("has_suitcase",),  # YOLOX-Nano (indexers/carried.py)
    "umbrella": ("has_umbrella",),
    "pushchair": ("has_pushchair",),  # no producer yet: not measurable
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
    # soft colours of one part joined by "or" ("black or navy coat") share a label: they are one term, matched by
    # the best of them, not each wanted at once; "" = a term of its own
    either: str = ""

    def __post_init__(self) -> None:
        if self.name not in COLOURS:
            raise ValueError(f"colour {self.name!r} is not one of {COLOURS}")
        if self.part not in PARTS:
            raise ValueError(f"part {self.part!r} is not one of {PARTS}")
        if self.shade is not None and self.shade not in SHADES:
            raise ValueError(f"shade {self.shade!r} is not one of {SHADES}")

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "part": self.part, "shade": self.shade, "hard": self.hard, "either": self.either}


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
    # typing slips read as a vocabulary word ("jaket → jacket"), reported so a reader sees what was searched;
    # wording, like `phrase`, so kept out of equality (a typo does not change the query)
    read_as: tuple[str, ...] = field(default=(), compare=False)
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
        colours = sorted(set(self.colours), key=lambda c: (PARTS.index(c.part), c.name, c.shade or "", c.hard, c.either))
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
        reporting = ("tz", "language", "limit", "unknown_words", "read_as", "ignored_sensitive", "phrase",
                     "unmeasurable", "strict")
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
            "read_as": list(self.read_as),
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
            elif f.name in ("colours", "cameras", "zones", "unknown_words", "read_as", "unmeasurable",
                            "ignored_sensitive"):
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


def _check_time_order(spec: QuerySpec) -> None:
    if spec.time_from is not None and spec.time_to is not None and spec.time_from > spec.time_to:
        raise QueryError(
            f"--from {spec.time_from.isoformat()} is after --to {spec.time_to.isoformat()}; swap them"
        )
