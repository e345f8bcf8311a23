"""QuerySpec and the parsing of `vsearch search` option values (times, zones, directions, colours...)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from vsearch.errors import QueryError, UsageError
from vsearch.query.clock import parse_clock, parse_time_option
from vsearch.query.options import (
    QueryOptions,
    check_cameras,
    parse_class,
    parse_colour,
    parse_direction,
    parse_duration,
    parse_line,
    parse_polygon,
    parse_speed,
    parse_zone,
    spec_from_options,
)
from vsearch.query.spec import ColourTerm, QuerySpec, SpeedTerm, ZoneTerm
from vsearch.query.zones import Line, Polygon

PARIS = ZoneInfo("Europe/Paris")
DAY = dt.date(2024, 5, 3)


# --- times ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("14:00", dt.datetime(2024, 5, 3, 14, 0, tzinfo=PARIS)),
        ("14h", dt.datetime(2024, 5, 3, 14, 0, tzinfo=PARIS)),
        ("14h05", dt.datetime(2024, 5, 3, 14, 5, tzinfo=PARIS)),
        ("9:30:15", dt.datetime(2024, 5, 3, 9, 30, 15, tzinfo=PARIS)),
        ("2pm", dt.datetime(2024, 5, 3, 14, 0, tzinfo=PARIS)),
        ("12am", dt.datetime(2024, 5, 3, 0, 0, tzinfo=PARIS)),
        ("2024-05-01T08:15", dt.datetime(2024, 5, 1, 8, 15, tzinfo=PARIS)),
        ("2024-05-01 08:15:00", dt.datetime(2024, 5, 1, 8, 15, tzinfo=PARIS)),
        ("2024-05-01T08:15:00+00:00", dt.datetime(2024, 5, 1, 8, 15, tzinfo=dt.UTC)),
        ("2024-05-01T08:15:00Z", dt.datetime(2024, 5, 1, 8, 15, tzinfo=dt.UTC)),
        ("2024-05-01", dt.datetime(2024, 5, 1, 0, 0, tzinfo=PARIS)),
    ],
)
def test_parse_time_option_good(value: str, expected: dt.datetime) -> None:
    got = parse_time_option(value, DAY, "Europe/Paris", option="--from")
    assert got == expected
    assert got.utcoffset() == expected.utcoffset()


def test_date_alone_as_to_is_the_end_of_that_day() -> None:
    assert parse_time_option("2024-05-01", None, option="--to") == dt.datetime(2024, 5, 2, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("value", "date", "message"),
    [
        ("25:00", DAY, "--from"),
        ("14h75", DAY, "--from"),
        ("13pm", DAY, "--from"),
        ("tomorrow-ish", DAY, "--from"),
        ("", DAY, "--from"),
        ("2024-13-01T10:00", DAY, "--from"),
        ("14:00", None, "--date"),  # a clock time needs a day
        ("2024-03-31T02:30", None, "does not exist"),  # skipped by the spring DST change in Paris
    ],
)
def test_parse_time_option_bad(value: str, date: dt.date | None, message: str) -> None:
    with pytest.raises(QueryError, match=message) as info:
        parse_time_option(value, date, "Europe/Paris", option="--from")
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_ambiguous_autumn_time_covers_both_occurrences() -> None:
    start = parse_time_option("2024-10-27T02:30", None, option="--from")
    end = parse_time_option("2024-10-27T02:30", None, option="--to")
    utc = dt.UTC
    assert end.astimezone(utc) - start.astimezone(utc) == dt.timedelta(hours=1)  # same-zone "-" ignores fold


def test_unknown_timezone_is_a_query_error() -> None:
    with pytest.raises(QueryError, match="Mars/Olympus"):
        parse_time_option("2024-05-01T10:00", None, "Mars/Olympus")


def test_parse_clock_only_accepts_clock_forms() -> None:
    assert parse_clock("14") is None
    assert parse_clock("14", bare_hour=True) == dt.time(14)
    assert parse_clock("midi") == dt.time(12)
    assert parse_clock("2:05 p.m.") == dt.time(14, 5)
    assert parse_clock("14:") is None


# --- zones ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised", "n"),
    [
        ("0.1,0.1 0.9,0.1 0.9,0.9 0.1,0.9", True, 4),
        ("0.1, 0.1; 0.9, 0.1; 0.5, 0.9", True, 3),
        ("(0.1,0.1) (0.9,0.1) (0.5,0.9)", True, 3),
        ("[[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]", True, 3),
        ("100,100 1800,100 1800,1000 100,1000", False, 4),
        ("0,0 1,0 1,1", True, 3),
    ],
)
def test_parse_polygon_good(value: str, normalised: bool, n: int) -> None:
    poly = parse_polygon(value)
    assert isinstance(poly, Polygon)
    assert poly.normalised is normalised
    assert len(poly.points) == n


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0.1,0.1 0.9,0.9", "a 2-point value is a line"),
        ("0.1,0.1", "at least 3"),
        ("0,0 1,1 1,0 0,1", "intersects itself"),
        ("a,b c,d e,f", "not a pair of numbers"),
        ("0.1,0.1,0.2 0.3,0.3 0.4,0.1", "two numbers"),
        ("[[0.1, 0.1], [0.9", "JSON"),
        ("-1,0 1,0 1,1", ">= 0"),
    ],
)
def test_parse_polygon_bad(value: str, message: str) -> None:
    with pytest.raises(QueryError, match=message) as info:
        parse_polygon(value)
    assert str(info.value).startswith("--zone")


def test_parse_line() -> None:
    line = parse_line("0.5,0 0.5,1")
    assert isinstance(line, Line) and line.normalised
    with pytest.raises(QueryError, match="exactly 2"):
        parse_line("0,0 1,0 1,1")


@pytest.mark.parametrize(
    ("value", "mode", "min_s", "shape"),
    [
        ("entered:0.1,0.1 0.9,0.1 0.5,0.9", "entered", 0.0, Polygon),
        ("crossed:0.5,0 0.5,1", "crossed", 0.0, Line),
        ("stayed>=30:0.1,0.1 0.9,0.1 0.5,0.9", "stayed", 30.0, Polygon),
        ("stayed≥12.5s:0.1,0.1 0.9,0.1 0.5,0.9", "stayed", 12.5, Polygon),
        ("0.1,0.1 0.9,0.1 0.5,0.9", "entered", 0.0, Polygon),
        ("0.5,0 0.5,1", "crossed", 0.0, Line),
    ],
)
def test_parse_zone(value: str, mode: str, min_s: float, shape: type) -> None:
    zone = parse_zone(value)
    assert (zone.mode, zone.min_s) == (mode, min_s)
    assert isinstance(zone.shape, shape)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("stayed:0.1,0.1 0.9,0.1 0.5,0.9", "how long"),
        ("crossed:0.1,0.1 0.9,0.1 0.5,0.9", "exactly 2"),
        ("entered>=5:0.1,0.1 0.9,0.1 0.5,0.9", "no duration"),
        ("hovered:0.1,0.1 0.9,0.1 0.5,0.9", "entered:, crossed: or stayed"),
    ],
)
def test_parse_zone_bad(value: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_zone(value)


def test_zone_term_matches_a_pixel_zone_on_a_path() -> None:
    zone = parse_zone("stayed>=2:480,270 1440,270 1440,810 480,810")  # source pixels of a 1920x1080 camera
    times = np.arange(5, dtype=np.float64)
    inside = np.array([[0.5, 0.5]] * 3 + [[0.9, 0.9]] * 2)
    assert zone.matches(times, inside, 1920, 1080)
    assert not zone.matches(times, np.full((5, 2), 0.9), 1920, 1080)


# --- directions, colours, classes, speeds, durations, cameras --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("left", "left"), ("Gauche", "left"), ("vers la droite", "right"), ("to the left", "left"), ("up", "up"),
     ("N", "N"), ("ne", "NE"), ("nord-est", "NE"), ("south west", "SW"), ("westbound", "W"), ("O", "W")],
)
def test_parse_direction(value: str, expected: str) -> None:
    assert parse_direction(value) == expected


def test_parse_direction_bad() -> None:
    with pytest.raises(QueryError, match="--direction 'sideways'"):
        parse_direction("sideways")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("red", ColourTerm("red")),
        ("Rouge", ColourTerm("red")),
        ("blanches", ColourTerm("white")),
        ("gray", ColourTerm("grey")),
        ("dark blue", ColourTerm("blue", shade="dark")),
        ("bleu foncé", ColourTerm("blue", shade="dark")),
        ("bleu marine", ColourTerm("blue", shade="dark")),
        ("navy", ColourTerm("blue", shade="dark")),
        ("light-grey", ColourTerm("grey", shade="light")),
        ("beige", ColourTerm("brown", shade="light")),
    ],
)
def test_parse_colour(value: str, expected: ColourTerm) -> None:
    assert parse_colour(value) == expected


def test_parse_colour_part_and_errors() -> None:
    assert parse_colour("white", "upper", option="--upper") == ColourTerm("white", "upper")
    for bad in ("plaid", "red blue", "dark", ""):
        with pytest.raises(QueryError, match="--lower"):
            parse_colour(bad, "lower", option="--lower")


def test_parse_class() -> None:
    assert parse_class("car") == {"car"}
    # a fine vehicle word accepts every vehicle class (pvb-2002 calls every vehicle "car"); its type only ranks
    assert parse_class("Poids lourd") == {"car", "truck", "bus"}
    assert parse_class("truck") == {"truck"}  # a class name is that class
    assert parse_class("vélo") == {"bicycle"}
    with pytest.raises(QueryError, match="--class 'tank'"):
        parse_class("tank")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.2", SpeedTerm(0.2)), ("0.2fw/s", SpeedTerm(0.2)), ("120 px/s", SpeedTerm(120, "px/s")),
     (".5", SpeedTerm(0.5))],
)
def test_parse_speed(value: str, expected: SpeedTerm) -> None:
    assert parse_speed(value) == expected


def test_speed_units() -> None:
    assert SpeedTerm(192, "px/s").frame_widths_per_s(1920) == pytest.approx(0.1)
    assert SpeedTerm(0.1).frame_widths_per_s(1920) == 0.1
    with pytest.raises(QueryError, match="--max-speed"):
        parse_speed("fast", option="--max-speed")
    with pytest.raises(QueryError, match="--min-speed"):
        parse_speed("-3")


@pytest.mark.parametrize(("value", "seconds"), [("30", 30.0), ("30s", 30.0), ("2min", 120.0), ("1h", 3600.0),
                                                ("1m30s", 90.0), (45, 45.0)])
def test_parse_duration(value: str, seconds: float) -> None:
    assert parse_duration(value) == seconds


def test_parse_duration_bad() -> None:
    with pytest.raises(QueryError, match="--min-dwell 'long'"):
        parse_duration("long")


def test_check_cameras() -> None:
    assert check_cameras(["gate"], {"gate", "hall"}) == ("gate",)
    assert check_cameras(["anything"], ()) == ("anything",)
    with pytest.raises(QueryError, match="--camera 'roof'.*known cameras: gate, hall"):
        check_cameras(["gate", "roof"], {"gate", "hall"})


# --- QuerySpec ----------------------------------------------------------------------------------------------------


def test_spec_from_options_full(tmp_path: Path) -> None:
    ref = tmp_path / "ref.jpg"
    ref.write_bytes(b"\xff\xd8\xff")
    opts = QueryOptions(
        classes=("car", "camion"), colours=("red",), upper=("white",), lower=("dark blue",), direction="gauche",
        cameras=("gate",), time_from="14:00", time_to="15:30", date="2024-05-03",
        zones=("stayed>=10:0.1,0.1 0.9,0.1 0.5,0.9",), min_dwell="5s", min_speed="0.05", max_speed="300px/s",
        like=str(ref), limit=20,
    )
    spec = spec_from_options(opts, known_cameras={"gate", "hall"})
    assert spec.classes == {"car", "truck", "bus"}
    # options are filters: their colours are hard (text colours only rank)
    assert spec.colours == (ColourTerm("red", hard=True), ColourTerm("white", "upper", hard=True),
                            ColourTerm("blue", "lower", "dark", hard=True))
    assert spec.direction == "left"
    assert spec.time_from == dt.datetime(2024, 5, 3, 14, tzinfo=PARIS)
    assert spec.time_to == dt.datetime(2024, 5, 3, 15, 30, tzinfo=PARIS)
    assert spec.time_of_day_from is None
    assert spec.zones[0].mode == "stayed" and spec.zones[0].min_s == 10
    assert (spec.min_dwell_s, spec.min_speed, spec.max_speed) == (5.0, SpeedTerm(0.05), SpeedTerm(300, "px/s"))
    assert spec.limit == 20 and spec.like == str(ref)
    json.dumps(spec.to_dict())  # JSON-able


def test_clock_options_without_date_are_a_time_of_day_filter() -> None:
    spec = spec_from_options(QueryOptions(time_from="22h", time_to="6h"))
    assert (spec.time_from, spec.time_to) == (None, None)
    assert (spec.time_of_day_from, spec.time_of_day_to) == (dt.time(22), dt.time(6))


@pytest.mark.parametrize(
    ("opts", "option"),
    [
        (QueryOptions(time_from="2024-05-03T15:00", time_to="2024-05-03T14:00"), "--from"),
        (QueryOptions(time_from="soon"), "--from"),
        (QueryOptions(time_to="31:00"), "--to"),
        (QueryOptions(date="03-05-2024"), "--date"),
        (QueryOptions(zones=("0.1,0.1 0.2",),), "--zone"),
        (QueryOptions(cameras=("roof",)), "--camera"),
        (QueryOptions(like="tube:"), "--like"),
        (QueryOptions(like="/no/such/file.jpg"), "--like"),
        (QueryOptions(limit=0), "--limit"),
        (QueryOptions(min_speed="2", max_speed="1"), "--min-speed"),
        (QueryOptions(classes=("tank",)), "--class"),
        (QueryOptions(upper=("plaid",)), "--upper"),
    ],
)
def test_spec_from_options_errors_name_the_option(opts: QueryOptions, option: str) -> None:
    with pytest.raises(UsageError) as info:
        spec_from_options(opts, known_cameras={"gate"})
    assert option in str(info.value)
    assert info.value.exit_code == 2


def test_spec_canonical_order_and_to_dict() -> None:
    a = QuerySpec(colours=(ColourTerm("white", "upper"), ColourTerm("red")), cameras=("b", "a", "b"))
    b = QuerySpec(colours=(ColourTerm("red"), ColourTerm("white", "upper")), cameras=("a", "b"))
    assert a == b
    assert a.to_dict() == b.to_dict()
    assert list(a.to_dict())[:3] == ["classes", "colours", "direction"]
    assert a.to_dict()["colours"][0] == {"name": "red", "part": "any", "shade": None, "hard": False,
                                          "either": ""}


def test_spec_validates_its_fields() -> None:
    with pytest.raises(ValueError, match="classes"):
        QuerySpec(classes=frozenset({"tank"}))
    with pytest.raises(ValueError, match="direction"):
        QuerySpec(direction="sideways")
    with pytest.raises(ValueError, match="timezone-aware"):
        QuerySpec(time_from=dt.datetime(2024, 5, 3, 14))
    with pytest.raises(ValueError, match="crossed"):
        ZoneTerm(Polygon(((0, 0), (1, 0), (1, 1))), "crossed")


def test_merge_extends_sets_and_overrides_values() -> None:
    text = QuerySpec(classes=frozenset({"car"}), colours=(ColourTerm("red"),), direction="left",
                     unknown_words=("xyzzy",), free_text="xyzzy", language="fr", stationary=True)
    opts = QuerySpec(classes=frozenset({"truck"}), colours=(ColourTerm("white", "upper"),), direction="right",
                     cameras=("gate",), limit=5)
    merged = text.merge(opts)
    assert merged.classes == {"car", "truck"}
    assert merged.colours == (ColourTerm("red"), ColourTerm("white", "upper"))
    assert merged.direction == "right"
    assert merged.cameras == ("gate",)
    assert merged.stationary and merged.limit == 5 and merged.language == "fr"
    assert merged.unknown_words == ("xyzzy",) and merged.free_text == "xyzzy"
    late = QuerySpec(time_from=dt.datetime(2024, 5, 3, 16, tzinfo=PARIS))
    early = QuerySpec(time_to=dt.datetime(2024, 5, 3, 15, tzinfo=PARIS))
    with pytest.raises(QueryError, match="after"):
        late.merge(early)


def test_resolve_date_and_wrapping_window() -> None:
    spec = QuerySpec(time_of_day_from=dt.time(22), time_of_day_to=dt.time(6)).resolve_date(DAY)
    assert spec.time_from == dt.datetime(2024, 5, 3, 22, tzinfo=PARIS)
    assert spec.time_to == dt.datetime(2024, 5, 4, 6, tzinfo=PARIS)
    after = QuerySpec(time_of_day_from=dt.time(14)).resolve_date(DAY)
    assert after.time_to == dt.datetime(2024, 5, 4, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("tod", "start", "end", "expected"),
    [
        ((dt.time(14), dt.time(15)), (14, 30), (14, 40), True),
        ((dt.time(14), dt.time(15)), (15, 30), (15, 40), False),
        ((dt.time(14), dt.time(15)), (13, 50), (14, 10), True),
        ((dt.time(22), dt.time(6)), (23, 0), (23, 5), True),  # wraps midnight
        ((dt.time(22), dt.time(6)), (5, 0), (5, 5), True),
        ((dt.time(22), dt.time(6)), (12, 0), (12, 5), False),
        ((dt.time(14), None), (20, 0), (20, 5), True),
        ((None, dt.time(9)), (10, 0), (10, 5), False),
    ],
)
def test_overlaps_time_of_day(tod: tuple, start: tuple[int, int], end: tuple[int, int], expected: bool) -> None:
    spec = QuerySpec(time_of_day_from=tod[0], time_of_day_to=tod[1])
    t0 = dt.datetime(2024, 5, 3, *start, tzinfo=PARIS).astimezone(dt.UTC)
    t1 = dt.datetime(2024, 5, 3, *end, tzinfo=PARIS).astimezone(dt.UTC)
    assert spec.overlaps_time(t0, t1) is expected


def test_overlaps_absolute_time() -> None:
    spec = QuerySpec(time_from=dt.datetime(2024, 5, 3, 14, tzinfo=PARIS),
                     time_to=dt.datetime(2024, 5, 3, 15, tzinfo=PARIS))
    assert spec.overlaps_time(dt.datetime(2024, 5, 3, 12, 50, tzinfo=dt.UTC),
                              dt.datetime(2024, 5, 3, 13, 10, tzinfo=dt.UTC))  # 14:50-15:10 Paris
    assert not spec.overlaps_time(dt.datetime(2024, 5, 3, 13, 10, tzinfo=dt.UTC),
                                  dt.datetime(2024, 5, 3, 13, 20, tzinfo=dt.UTC))


def test_has_constraints() -> None:
    assert not QuerySpec().has_constraints()
    assert not QuerySpec(unknown_words=("x",), limit=3).has_constraints()
    assert QuerySpec(free_text="parapluie").has_constraints()
    assert QuerySpec(items=frozenset({"bag"})).has_constraints()
