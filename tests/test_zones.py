"""Zone geometry: point-in-polygon, entered / crossed (with direction) / stayed on tube paths."""

from __future__ import annotations

import numpy as np
import pytest

from vsearch.query.zones import (
    Line,
    Polygon,
    contains,
    crossed,
    crossings,
    entered,
    ground_points,
    time_inside_s,
    zone_test,
)

SQUARE = Polygon(((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)))
# a concave "U": the notch x in (0.4, 0.6), y < 0.6 is outside
U_SHAPE = Polygon(((0.2, 0.2), (0.4, 0.2), (0.4, 0.6), (0.6, 0.6), (0.6, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8)))
VERTICAL = Line(((0.5, 0.0), (0.5, 1.0)))  # drawn top to bottom: its right-hand side on screen is x < 0.5


@pytest.mark.parametrize(
    ("poly", "point", "inside"),
    [
        (SQUARE, (0.5, 0.5), True),
        (SQUARE, (0.1, 0.5), False),
        (SQUARE, (0.5, 0.9), False),
        (SQUARE, (0.74, 0.26), True),
        (U_SHAPE, (0.3, 0.5), True),
        (U_SHAPE, (0.5, 0.4), False),  # inside the notch
        (U_SHAPE, (0.5, 0.7), True),
        (U_SHAPE, (0.7, 0.3), True),
    ],
)
def test_contains(poly: Polygon, point: tuple[float, float], inside: bool) -> None:
    assert contains(np.array([point]), poly).tolist() == [inside]


def test_contains_is_vectorised_and_matches_a_grid_count() -> None:
    xs, ys = np.meshgrid(np.linspace(0.005, 0.995, 100), np.linspace(0.005, 0.995, 100))
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1)
    inside = contains(pts, U_SHAPE)
    assert inside.shape == (10000,)
    # area of the U = 0.6*0.6 - 0.2*0.4 = 0.28 -> about 2800 of 10000 grid cells
    assert abs(int(inside.sum()) - 2800) <= 60


def test_entered() -> None:
    path = np.array([[0.0, 0.5], [0.2, 0.5], [0.4, 0.5], [0.6, 0.5]])
    assert entered(path, SQUARE)
    assert entered(path, SQUARE, from_outside=True)
    outside = np.array([[0.0, 0.1], [0.9, 0.1]])
    assert not entered(outside, SQUARE)
    starts_inside = np.array([[0.5, 0.5], [0.9, 0.5]])
    assert entered(starts_inside, SQUARE)
    assert not entered(starts_inside, SQUARE, from_outside=True)


def test_entered_u_shape_notch_is_not_inside() -> None:
    through_notch = np.array([[0.5, 0.0], [0.5, 0.3], [0.5, 0.55]])
    assert not entered(through_notch, U_SHAPE)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ([[0.2, 0.5], [0.8, 0.5]], (True, -1)),  # left to right on screen = from the line's right to its left
        ([[0.8, 0.5], [0.2, 0.5]], (True, 1)),
        ([[0.2, 0.5], [0.4, 0.5]], (False, 0)),  # never reaches the line
        ([[0.2, 0.5], [0.5, 0.5], [0.2, 0.6]], (False, 0)),  # touches and goes back
        ([[0.2, 0.5], [0.5, 0.5], [0.8, 0.6]], (True, -1)),  # through a point on the line
    ],
)
def test_crossed_with_direction(path: list[list[float]], expected: tuple[bool, int]) -> None:
    assert crossed(np.array(path), VERTICAL) == expected


def test_crossed_only_within_the_segment() -> None:
    short = Line(((0.5, 0.0), (0.5, 0.4)))
    below = np.array([[0.2, 0.8], [0.8, 0.8]])
    assert crossed(below, short) == (False, 0)
    assert crossed(np.array([[0.2, 0.2], [0.8, 0.2]]), short)[0]


def test_crossings_lists_every_crossing() -> None:
    zigzag = np.array([[0.2, 0.5], [0.8, 0.5], [0.2, 0.6], [0.8, 0.7]])
    assert crossings(zigzag, VERTICAL).tolist() == [-1, 1, -1]
    assert crossings(np.array([[0.2, 0.5]]), VERTICAL).tolist() == []


def test_time_inside_is_the_longest_continuous_stay() -> None:
    times = np.arange(10, dtype=np.float64)  # one sample per second
    inside = np.array([0, 1, 1, 0, 1, 1, 1, 1, 0, 1], bool)
    pts = np.where(inside[:, None], [[0.5, 0.5]], [[0.05, 0.05]])
    assert time_inside_s(times, pts, SQUARE) == 3.0  # samples 4..7
    assert time_inside_s(times, np.full((10, 2), 0.05), SQUARE) == 0.0
    assert zone_test("stayed", SQUARE, times, pts, 3.0)
    assert not zone_test("stayed", SQUARE, times, pts, 3.5)


def test_time_inside_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="times"):
        time_inside_s(np.arange(3.0), np.full((4, 2), 0.5), SQUARE)


def test_ground_points_and_pixel_polygon_agree() -> None:
    boxes = np.array([[300, 100, 340, 200], [10, 10, 20, 20]], np.float32)  # analysis 640x360
    pts = ground_points(boxes, 640, 360)
    np.testing.assert_allclose(pts[0], [320 / 640, 200 / 360])
    # the same zone given in source pixels of a 1920x1080 source
    pixel_zone = Polygon(((480, 270), (1440, 270), (1440, 810), (480, 810)), normalised=False)
    norm = pixel_zone.normalised_for(1920, 1080)
    assert norm.normalised
    np.testing.assert_allclose(norm.as_array(), SQUARE.as_array())
    assert contains(pts, norm).tolist() == [True, False]
    with pytest.raises(ValueError, match="normalised_for"):
        contains(pts, pixel_zone)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (((0, 0), (1, 0)), "at least 3"),
        (((0, 0), (1, 1), (1, 0), (0, 1)), "intersects itself"),  # bow tie
        (((0, 0), (0.5, 0.5), (1, 1)), "zero area"),
        (((0, 0), (0, 0), (1, 1)), "repeats"),
        (((0, 0), (1.5, 0), (1, 1)), "within"),
        (((0, 0), (float("nan"), 0), (1, 1)), "finite"),
    ],
)
def test_bad_polygons(points: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Polygon(points)


def test_line_validation_and_zone_test_modes() -> None:
    with pytest.raises(ValueError, match="same"):
        Line(((0.5, 0.5), (0.5, 0.5)))
    path, times = np.array([[0.2, 0.5], [0.8, 0.5]]), np.array([0.0, 1.0])
    assert zone_test("crossed", VERTICAL, times, path)
    assert zone_test("entered", SQUARE, times, np.array([[0.5, 0.5], [0.9, 0.9]]))
    with pytest.raises(ValueError, match="Line"):
        zone_test("crossed", SQUARE, times, path)
    with pytest.raises(ValueError, match="mode"):
        zone_test("hovered", SQUARE, times, path)
