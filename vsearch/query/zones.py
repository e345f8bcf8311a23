"""Zone geometry on tube paths: polygons, lines, and the "entered" / "crossed" / "stayed" tests.

Coordinates are normalised to the frame: x in [0, 1] left to right, y in [0, 1] top to bottom (image
convention, y down). Pixel shapes from the user are converted with the *source* frame size
(`Polygon.normalised_for(width_px, height_px)`); tube boxes, which are in analysis pixels, are converted with
the analysis size (`ground_points`). Both then live in the same normalised space.

A tube is tested on its ground points: the bottom-centre of each box (where the object touches the ground),
one per sample. All tests are vectorised numpy; no matplotlib or shapely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]


def _orient(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Cross product (b - a) x (p - a); > 0 when p is on the right of a->b as seen on screen (y down)."""
    return (b[..., 0] - a[..., 0]) * (p[..., 1] - a[..., 1]) - (b[..., 1] - a[..., 1]) * (p[..., 0] - a[..., 0])


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """True when closed segments p1p2 and q1q2 share a point (collinear overlaps included)."""
    a, b, c, d = (np.asarray(v, np.float64) for v in (p1, p2, q1, q2))
    o1, o2, o3, o4 = (float(_orient(*args)) for args in ((a, b, c), (a, b, d), (c, d, a), (c, d, b)))
    if (o1 * o2 < 0) and (o3 * o4 < 0):
        return True

    def on_segment(s: np.ndarray, e: np.ndarray, p: np.ndarray, o: float) -> bool:
        return o == 0 and min(s[0], e[0]) <= p[0] <= max(s[0], e[0]) and min(s[1], e[1]) <= p[1] <= max(s[1], e[1])

    return on_segment(a, b, c, o1) or on_segment(a, b, d, o2) or on_segment(c, d, a, o3) or on_segment(c, d, b, o4)


def _check_points(points: tuple[Point, ...], normalised: bool) -> None:
    arr = np.asarray(points, np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"points must be (x, y) pairs, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("points must be finite numbers")
    if np.any(arr < 0):
        raise ValueError("coordinates must be >= 0")
    if normalised and np.any(arr > 1):
        raise ValueError("normalised coordinates must be within [0, 1]")


@dataclass(frozen=True)
class Polygon:
    """A simple (non self-intersecting) polygon with at least 3 vertices, normalised or in source pixels."""

    points: tuple[Point, ...]
    normalised: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple((float(x), float(y)) for x, y in self.points))
        if len(self.points) < 3:
            raise ValueError(f"a polygon needs at least 3 points, got {len(self.points)}")
        _check_points(self.points, self.normalised)
        n = len(self.points)
        for i in range(n):
            if self.points[i] == self.points[(i + 1) % n]:
                raise ValueError(f"point {i + 1} repeats the next one")
        for i in range(n):
            for j in range(i + 1, n):
                if j == i + 1 or (i == 0 and j == n - 1):
                    continue  # adjacent edges share a vertex by construction
                if _segments_cross(self.points[i], self.points[(i + 1) % n], self.points[j], self.points[(j + 1) % n]):
                    raise ValueError(f"the polygon intersects itself (edge {i + 1} crosses edge {j + 1})")
        if polygon_area(self.as_array()) == 0:
            raise ValueError("the polygon has zero area (all points on one line)")

    def as_array(self) -> np.ndarray:
        return np.asarray(self.points, np.float64)

    def normalised_for(self, width_px: int, height_px: int) -> Polygon:
        """This polygon in normalised coordinates (pixel polygons are divided by the source frame size)."""
        if self.normalised:
            return self
        return Polygon(tuple((x / width_px, y / height_px) for x, y in self.points), normalised=True)


@dataclass(frozen=True)
class Line:
    """A directed segment from `points[0]` to `points[1]`, normalised or in source pixels."""

    points: tuple[Point, Point]
    normalised: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple((float(x), float(y)) for x, y in self.points))
        if len(self.points) != 2:
            raise ValueError(f"a line has exactly 2 points, got {len(self.points)}")
        _check_points(self.points, self.normalised)
        if self.points[0] == self.points[1]:
            raise ValueError("the two points of the line are the same")

    def as_array(self) -> np.ndarray:
        return np.asarray(self.points, np.float64)

    def normalised_for(self, width_px: int, height_px: int) -> Line:
        if self.normalised:
            return self
        (x1, y1), (x2, y2) = self.points
        return Line(((x1 / width_px, y1 / height_px), (x2 / width_px, y2 / height_px)), normalised=True)


def polygon_area(vertices: np.ndarray) -> float:
    """Absolute area of a polygon given as (K, 2) vertices (shoelace formula)."""
    x, y = vertices[:, 0], vertices[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def ground_points(boxes_xyxy: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
    """Normalised bottom-centre (x, y) of each (T, 4) box given in pixels of a `width_px` x `height_px` frame."""
    boxes = np.asarray(boxes_xyxy, np.float64)
    out = np.empty((len(boxes), 2), np.float64)
    out[:, 0] = (boxes[:, 0] + boxes[:, 2]) / 2 / width_px
    out[:, 1] = boxes[:, 3] / height_px
    return out


def _require_normalised(shape: Polygon | Line) -> np.ndarray:
    if not shape.normalised:
        raise ValueError("pixel shape: convert it with .normalised_for(width_px, height_px) before testing tubes")
    return shape.as_array()


def contains(points: np.ndarray, poly: Polygon) -> np.ndarray:
    """(T,) bool: which of the (T, 2) normalised points lie inside `poly` (even-odd ray casting)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    v = _require_normalised(poly)
    x1, y1 = v[:, 0], v[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    px, py = pts[:, 0:1], pts[:, 1:2]  # (T, 1) against (K,) edges
    straddles = (y1 > py) != (y2 > py)  # half-open rule: a vertex on the ray is counted once
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
    hits = straddles & (px < x_cross)
    return (np.count_nonzero(hits, axis=1) % 2) == 1


def entered(points: np.ndarray, poly: Polygon, *, from_outside: bool = False) -> bool:
    """True when the path has at least one ground point inside `poly`.

    With `from_outside=True` the path must also have been seen outside before its first inside sample
    (a tube that is first seen already inside does not count).
    """
    inside = contains(points, poly)
    if not inside.any():
        return False
    if not from_outside:
        return True
    return bool(np.argmax(inside) > 0)


def crossings(points: np.ndarray, line: Line) -> np.ndarray:
    """Signs of every crossing of the segment `line` by the path, in path order.

    +1: the path went from the left side to the right side of the line, looking along the line from its first
    point to its second on screen (image y axis down); -1: the other way. A path that only touches the line
    and goes back does not cross it; one that runs along it counts once, where it leaves to the other side.
    """
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) < 2:
        return np.zeros(0, np.int8)
    ab = _require_normalised(line)
    a, b = ab[0], ab[1]
    side = np.sign(_orient(a, b, pts))  # (T,) -1 / 0 / +1; samples exactly on the line keep the previous side
    off = np.flatnonzero(side != 0)
    if len(off) < 2:
        return np.zeros(0, np.int8)
    i, j = off[:-1], off[1:]  # consecutive off-line samples
    change = side[i] != side[j]
    i, j = i[change], j[change]
    if len(i) == 0:
        return np.zeros(0, np.int8)
    p, q = pts[i], pts[i + 1]
    sp, sq = _orient(a, b, p), _orient(a, b, q)
    direct = j == i + 1  # else the path lands on the line at sample i+1 and leaves it later
    frac = np.where(direct, sp / np.where(direct, sp - sq, 1.0), 1.0)
    hit = p + (q - p) * frac[:, None]
    d = b - a
    u = ((hit - a) @ d) / float(d @ d)  # position of the hit along the line, 0..1 inside the segment
    on_segment = (u >= 0) & (u <= 1)
    signs = side[j].astype(np.int8)
    return signs[on_segment]


def crossed(points: np.ndarray, line: Line) -> tuple[bool, int]:
    """(crossed at least once, sign of the first crossing: +1, -1, or 0 when not crossed). See `crossings`."""
    signs = crossings(points, line)
    if len(signs) == 0:
        return False, 0
    return True, int(signs[0])


def time_inside_s(times_s: np.ndarray, points: np.ndarray, poly: Polygon) -> float:
    """Longest continuous stay inside `poly`, in seconds.

    A stay is a run of consecutive inside samples; its length is the time from its first to its last sample
    (conservative: never longer than what was observed). A single inside sample is a stay of 0 s.
    """
    times = np.asarray(times_s, np.float64).reshape(-1)
    inside = contains(points, poly)
    if len(times) != len(inside):
        raise ValueError(f"{len(times)} times for {len(inside)} points")
    if not inside.any():
        return 0.0
    padded = np.concatenate(([False], inside, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1  # inclusive index of each run's last sample
    return float(np.max(times[ends] - times[starts]))


def zone_test(mode: str, shape: Polygon | Line, times_s: np.ndarray, points: np.ndarray, min_s: float = 0.0) -> bool:
    """One zone condition on a normalised path: "entered", "crossed" (a Line) or "stayed" (>= `min_s`)."""
    if mode == "crossed":
        if not isinstance(shape, Line):
            raise ValueError("'crossed' needs a Line")
        return crossed(points, shape)[0]
    if not isinstance(shape, Polygon):
        raise ValueError(f"'{mode}' needs a Polygon")
    if mode == "entered":
        return entered(points, shape)
    if mode == "stayed":
        return time_inside_s(times_s, points, shape) >= min_s
    raise ValueError(f"unknown zone mode {mode!r}; use entered, crossed or stayed")
