"""Parsing the values of the `vsearch search` options (and synopsis, export, count) into a `QuerySpec`.

Every parse error is a `QueryError` whose message names the option at fault and says what a good value looks
like; the CLI turns it into a one-line message and exit code 2. Options are filters: a colour given with
--colour/--upper/--lower is hard, where the same word in the query text only ranks.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from vsearch.errors import QueryError
from vsearch.query import vocabulary
from vsearch.query.clock import DEFAULT_TZ, get_tz, parse_clock, parse_date_option, parse_time_option, tz_name
from vsearch.records import CLASSES
from vsearch.query.spec import (COLOURS, DIRECTIONS, ColourTerm, Part, QuerySpec, Shade,
                                SpeedTerm, ZoneTerm, _check_time_order)
from vsearch.query.vocabulary import fold
from vsearch.query.zones import Line, Polygon

# Compass abbreviations accepted by --direction (codes, not words: the words are in vocabulary.toml)
_COMPASS_CODES = {"n": "N", "s": "S", "e": "E", "w": "W", "o": "W", "ne": "NE", "nw": "NW", "no": "NW", "se": "SE",
                  "sw": "SW", "so": "SW"}


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
