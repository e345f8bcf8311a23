"""Placement of object tubes in synopsis time: the shortest synopsis within a collision budget.

After Pritch, Rav-Acha & Peleg (PAMI 2008), simplified. Every tube is kept whole and shifted in time only;
its boxes (its real path through the frame) travel with it, so objects that never share pixels can play
together. For a candidate length L, a greedy pass in real-time order places each tube at the start that
minimises

    collision   its frames that would overlap the tubes already placed (space-time, on a grid finer than
                the objects), plus the overlapped area as a tie-break,
  + order       a small cost per already-placed (earlier) tube that would be shown after it,
  + position    distance from its time-lapse slot (its relative position in the source span),

never putting more than `max_on_screen` objects on screen. One refining pass re-places every tube given all
the others; then a local search re-places only the tubes that still collide, most colliding first, pass
after pass until none moves (a move is kept only when it lowers the moved tube's colliding steps). On busy
crossing traffic the greedy pass leaves collisions spread thinly over most tubes: the local search is what
brings the length down (1 h busy synthetic: 883 s -> 523 s at the same budget). The order cost is kept
small: with 30 objects on screen, a move of a few seconds reverses many pairs, and a heavier weight kept
tubes on colliding spots to save a little disorder. With `PlanLimits.by_direction` the time-lapse slots
put each heading in its own stretch of the synopsis (`_slots`): on two-way traffic most collisions are
crossings of objects going opposite ways, and those mostly vanish (1 h busy: 523 s -> 413 s), at the cost
of the order between headings. The plan's collision rate is then measured
exactly (box IoU, `collisions.collision_rate`); the shortest L whose plan stays within `max_collision` is
found by a growing then bisecting search, starting from `collisions.lower_bound_frames`. Chronology is
therefore soft: the disorder is reported, not enforced. Pure numpy, no I/O; deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsearch.synopsis.collisions import COLLISION_IOU, collision_rate, lower_bound_frames

PLAN_STEP_S = 0.5  # planning time step
GROW = 1.5  # length search: factor between tries until one fits, then bisection
TOLERANCE = 0.05  # ... down to this relative gap
# a tube starts within this much of its time-lapse slot (keeps long synopses roughly chronological and the
# search cheap): the larger of a minimum and a share of the synopsis length
WINDOW_MIN_S = 60.0
WINDOW_SHARE = 0.15
W_COLLISION = 1.0  # per colliding planning step
W_OVERLAP = 0.1  # per unit of overlapped share of the object's own area (tie-break)
W_ORDER = 0.02  # per earlier tube shown later
REFINE_ROUNDS = 1  # passes that re-place each tube given all the others
LOCAL_ROUNDS = 12  # then at most this many passes that re-place only the tubes still colliding
# a trial length is given up when its greedy pass already finds this many times the collision budget
# (at least GIVE_UP_MIN_SHARE of the object-frames) colliding: the search then tries a longer one
GIVE_UP = 4.0
GIVE_UP_MIN_SHARE = 0.01
W_POSITION = 1.0  # at the far end of the candidate range from the time-lapse slot
# an object overlapped on more than this share of its own area collides (equal boxes: IoU > COLLISION_IOU)
OVERLAP_SHARE = 2 * COLLISION_IOU / (1 + COLLISION_IOU)


@dataclass(frozen=True)
class PlanItem:
    """One tube as the planner sees it: its box in output pixels at each of its synopsis frames, and its
    real start time (seconds on one clock shared by all items)."""

    key: str
    order_s: float
    boxes_out: np.ndarray  # (n_frames, 4) float, output pixels

    @property
    def n_frames(self) -> int:
        return len(self.boxes_out)


@dataclass(frozen=True)
class PlanLimits:
    max_collision: float = 0.05  # share of object-frames allowed to collide
    max_duration_s: float | None = None  # cap on the length; may force collisions above max_collision
    max_on_screen: int | None = None  # most objects on screen at once
    # show the objects heading the same way together, one heading after the other (see _headings): far
    # fewer crossings, hence a shorter synopsis on two-way traffic, at the cost of chronology
    by_direction: bool = False


@dataclass(frozen=True)
class Plan:
    start_frame: dict[str, int]  # key -> first synopsis frame
    n_frames: int  # synopsis length in frames
    lower_bound_frames: int  # no plan within the limits can be shorter (see collisions.lower_bound_frames)
    collision_rate: float  # share of object-frames colliding, measured on every frame
    max_collision_met: bool
    max_duration_met: bool  # False when the longest tube alone exceeds max_duration_s
    disorder: float  # share of pairs shown out of their real order


def _grid(items: list[PlanItem], width_px: int, height_px: int) -> tuple[int, int]:
    """Planning grid (cols, rows): cells about half the median object size, 16 to 64 across."""
    allb = np.concatenate([it.boxes_out for it in items])
    size = float(np.median(np.minimum(allb[:, 2] - allb[:, 0], allb[:, 3] - allb[:, 1])))
    cols = int(np.clip(round(width_px / max(size / 2, 1.0)), 16, 64))
    return cols, max(1, int(round(cols * height_px / width_px)))


def _headings(items: list[PlanItem]) -> list[int]:
    """Each item's heading: 0-3 for a net move east, south, west, north (the nearest of the four), 4 for
    an object that ends less than its own size from where it started (it stays about in place)."""
    out = []
    for it in items:
        b = it.boxes_out
        (dx, dy) = (b[-1, 0] + b[-1, 2] - b[0, 0] - b[0, 2]) / 2, (b[-1, 1] + b[-1, 3] - b[0, 1] - b[0, 3]) / 2
        size = float(np.median(np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])))
        out.append(4 if np.hypot(dx, dy) < size else int(np.round(np.arctan2(dy, dx) / (np.pi / 2))) % 4)
    return out


def _slots(items: list[PlanItem], by_direction: bool) -> tuple[list[PlanItem], list[float]]:
    """The items in planning order and each one's time-lapse slot (0..1: where in the synopsis it would
    start if the synopsis were the source played faster). Plain: real-time order, the slot its share of the
    source span. By direction: heading after heading (in the order of each heading's first object), each
    heading given a share of the synopsis in proportion to its object-frames, real-time order within it."""
    heading = _headings(items) if by_direction else [0] * len(items)
    first: dict[int, float] = {}
    frames: dict[int, int] = {}
    for h, it in zip(heading, items):
        first[h] = min(first.get(h, np.inf), it.order_s)
        frames[h] = frames.get(h, 0) + it.n_frames
    rank = {h: r for r, h in enumerate(sorted(first, key=lambda h: (first[h], h)))}
    begin, total, at = {}, sum(frames.values()), 0
    for h in sorted(rank, key=rank.get):
        begin[h], at = at / total, at + frames[h]
    pairs = sorted(zip(heading, items), key=lambda p: (rank[p[0]], p[1].order_s, p[1].key))
    span = {h: (min(it.order_s for g, it in pairs if g == h), max(it.order_s for g, it in pairs if g == h))
            for h in rank}
    rel = [begin[h] + frames[h] / total * (it.order_s - span[h][0]) / max(span[h][1] - span[h][0], 1e-9)
           for h, it in pairs]
    return [it for _, it in pairs], rel


def _coverage(boxes: np.ndarray, width: int, height: int, cols: int, rows: int) -> np.ndarray:
    """(N, rows*cols) fraction of each grid cell covered by each box (exact for axis-aligned boxes)."""
    cw, ch = width / cols, height / rows
    xe = np.arange(cols + 1) * cw
    ye = np.arange(rows + 1) * ch
    ox = np.clip(np.minimum(boxes[:, 2:3], xe[None, 1:]) - np.maximum(boxes[:, 0:1], xe[None, :-1]), 0, None) / cw
    oy = np.clip(np.minimum(boxes[:, 3:4], ye[None, 1:]) - np.maximum(boxes[:, 1:2], ye[None, :-1]), 0, None) / ch
    return (oy[:, :, None] * ox[:, None, :]).reshape(len(boxes), rows * cols)


class _Packer:
    """Greedy placement for a given length; the per-step grid coverage of every item is computed once."""

    def __init__(self, items: list[PlanItem], fps: float, width_px: int, height_px: int,
                 max_on_screen: int | None, by_direction: bool = False):
        self.items, self.rel = _slots(items, by_direction)
        self.step = max(1, int(round(PLAN_STEP_S * fps)))
        self.max_on_screen = max_on_screen
        cols, rows = _grid(items, width_px, height_px)
        self.cells = cols * rows
        self.cover: list[list[tuple[np.ndarray, np.ndarray]]] = []
        self.area: list[np.ndarray] = []
        self.flat: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.own: list[np.ndarray] = []  # per step, the overlap a tube has with itself (see _hits_at)
        for it in self.items:
            m = _coverage(it.boxes_out[::self.step].astype(np.float64), width_px, height_px, cols, rows)
            nz = [np.flatnonzero(row) for row in m]
            self.cover.append([(z, row[z].astype(np.float32)) for z, row in zip(nz, m)])
            # the same as flat (cell, step, share) arrays, for adding/removing a tube in one operation
            self.flat.append((np.concatenate(nz), np.repeat(np.arange(len(nz)), [len(z) for z in nz]),
                              np.concatenate([row[z] for z, row in zip(nz, m)]).astype(np.float32)))
            self.area.append(np.maximum(m.sum(axis=1), 1e-6))
            self.own.append(np.array([float(v @ v) for _, v in self.cover[-1]]))

    def place(self, length: int, give_up_frames: float | None = None) -> dict[str, int] | None:
        """Start frames (multiples of the step) for a synopsis of `length` frames; None when the
        on-screen limit cannot be kept, or when the greedy pass already finds more than `give_up_frames`
        colliding object-frames (the length is hopeless: the refining passes are not worth their time).
        A greedy pass in real-time order, then `REFINE_ROUNDS` passes that move each tube, in turn, to its
        best start given all the others."""
        step = self.step
        n_steps = -(-length // step)
        max_d = max(len(c) for c in self.cover)
        self._occ = np.zeros((self.cells, n_steps + max_d + 1), np.float32)  # cell x step: rows contiguous
        self._count = np.zeros(n_steps + max_d + 1, np.int32)
        self._window = max(int(WINDOW_MIN_S / PLAN_STEP_S), int(WINDOW_SHARE * n_steps))
        start = np.full(len(self.items), -1, np.int64)  # in steps; -1: not placed yet
        colliding = 0.0  # object-frames the greedy pass found colliding (the placed tube's side only)
        for rnd in range(1 + REFINE_ROUNDS):
            for i in range(len(self.items)):
                if rnd:
                    self._add(i, int(start[i]), -1)
                earlier, later = np.sort(start[:i]), np.sort(start[i + 1:][start[i + 1:] >= 0])
                got = self._best(i, length, earlier, later)
                if got is None:
                    return None
                s, hits = got
                if not rnd:
                    colliding += hits * step
                    if give_up_frames is not None and colliding > give_up_frames:
                        return None
                start[i] = s
                self._add(i, s, +1)
        self._settle(start, length)
        return {it.key: int(s) * step for it, s in zip(self.items, start)}

    def _settle(self, start: np.ndarray, length: int) -> None:
        """Local search: re-place each tube that still collides (most colliding first) at its best start
        given all the others, pass after pass, until a pass moves none or LOCAL_ROUNDS is reached. A move
        never raises the moved tube's own colliding steps, so the total falls or stays."""
        for _ in range(LOCAL_ROUNDS):
            hits = np.array([self._hits_at(i, int(s)) for i, s in enumerate(start)])
            moved = 0
            for i in np.lexsort((np.arange(len(hits)), -hits))[:int(np.count_nonzero(hits))]:
                self._add(i, int(start[i]), -1)
                earlier, later = np.sort(start[:i]), np.sort(start[i + 1:])
                got = self._best(i, length, earlier, later)
                s = int(start[i]) if got is None or got[1] >= hits[i] else got[0]
                moved += s != start[i]
                start[i] = s
                self._add(i, s, +1)
            if not moved:
                return

    def _hits_at(self, i: int, s: int) -> int:
        """Colliding planning steps of placed tube i at start step s, against the others in the grid."""
        ov = self._overlaps(i, s, 1)[:, 0] - self.own[i]  # less its own share
        return int(np.count_nonzero(ov > OVERLAP_SHARE * self.area[i]))

    def _overlaps(self, i: int, a: int, n_cand: int) -> np.ndarray:
        """(steps of tube i, n_cand): how much of the grid the others cover under each of its planning steps,
        weighted by its own coverage, when it starts at step a, a + 1, ... a + n_cand - 1."""
        out = np.empty((len(self.cover[i]), n_cand), np.float64)
        for j, (nz, v) in enumerate(self.cover[i]):  # a small matrix product per step: faster than one gather
            out[j] = v @ self._occ[nz, a + j:a + j + n_cand]
        return out

    def _add(self, i: int, s: int, sign: int) -> None:
        cells, steps, share = self.flat[i]  # each (cell, step) once: a plain fancy-indexed add is exact
        self._occ[cells, s + steps] += sign * share
        self._count[s:s + len(self.cover[i])] += sign

    def _best(self, i: int, length: int, earlier: np.ndarray, later: np.ndarray) -> tuple[int, float] | None:
        """Best start step for item i given the others in the grid (`earlier`/`later`: sorted starts of the
        tubes before / after it in planning order), and its colliding planning steps there."""
        it, cover, area = self.items[i], self.cover[i], self.area[i]
        d = len(cover)
        n_all = max(1, (length - it.n_frames) // self.step + 1)
        slot = self.rel[i] * (n_all - 1)
        a = int(max(0, np.floor(slot - self._window)))
        b = int(min(n_all, np.ceil(slot + self._window) + 1))
        n_cand = b - a
        ov = self._overlaps(i, a, n_cand)
        hits = np.count_nonzero(ov > OVERLAP_SHARE * area[:, None], axis=0).astype(np.float64)
        over = (ov / area[:, None]).sum(axis=0)
        cand = np.arange(a, b)
        cost = W_COLLISION * hits + W_OVERLAP * over / d
        reversed_ = (len(earlier) - np.searchsorted(earlier, cand, side="right")) + np.searchsorted(later, cand)
        cost += W_ORDER * reversed_
        cost += W_POSITION * np.abs(cand - slot) / max(n_all - 1, 1)
        if self.max_on_screen is not None:
            busy = np.lib.stride_tricks.sliding_window_view(self._count[a:b + d - 1], d).max(axis=1)
            cost[busy >= self.max_on_screen] = np.inf
        k = int(np.argmin(cost))
        return (a + k, float(hits[k])) if np.isfinite(cost[k]) else None

    def rate(self, starts: dict[str, int], length: int, every: int) -> float:
        keys = [it.key for it in self.items]
        return collision_rate([it.boxes_out for it in self.items], [starts[k] for k in keys], length, every)


def plan_placement(items: list[PlanItem], *, fps: float, width_px: int, height_px: int,
                   limits: PlanLimits = PlanLimits()) -> Plan:
    """The shortest plan found whose collision rate is within `limits.max_collision` (all items kept,
    whole), capped at `limits.max_duration_s`. Deterministic for a given input."""
    if not items:
        return Plan({}, 0, 0, 0.0, True, True, 0.0)
    if not 0 <= limits.max_collision <= 1:
        raise ValueError(f"max_collision must be in [0, 1], got {limits.max_collision}")
    if limits.max_on_screen is not None and limits.max_on_screen < 1:
        raise ValueError(f"max_on_screen must be >= 1, got {limits.max_on_screen}")
    packer = _Packer(items, fps, width_px, height_px, limits.max_on_screen, limits.by_direction)
    longest = max(it.n_frames for it in items)
    bound = lower_bound_frames([it.boxes_out for it in items], limits.max_collision, limits.max_on_screen)
    cap = None if limits.max_duration_s is None else max(longest, int(np.floor(limits.max_duration_s * fps)))
    duration_met = limits.max_duration_s is None or longest <= limits.max_duration_s * fps

    tried: dict[int, tuple[dict[str, int] | None, float]] = {}
    total = sum(it.n_frames for it in items)
    give_up = GIVE_UP * max(limits.max_collision, GIVE_UP_MIN_SHARE) * total
    given_up: set[int] = set()

    def attempt(length: int) -> bool:
        if length not in tried:
            starts = packer.place(length, give_up)
            if starts is None:
                given_up.add(length)
            tried[length] = (starts, 1.0 if starts is None else packer.rate(starts, length, packer.step))
        starts, rate = tried[length]
        return starts is not None and rate <= limits.max_collision

    lo = max(longest, bound)
    if cap is not None and lo >= cap:
        good = cap
    else:
        hi, enough = lo, 2 * sum(it.n_frames for it in items)  # one after the other always fits
        while not attempt(hi) and (cap is None or hi < cap) and hi < enough:
            lo = hi + 1
            hi = int(np.ceil(hi * GROW)) + packer.step
            if cap is not None:
                hi = min(hi, cap)
        good = hi
        while lo < good and good - lo > max(packer.step, TOLERANCE * good):
            mid = (lo + good) // 2
            if attempt(mid):
                good = mid
            else:
                lo = mid + 1
    attempt(good)
    if good in given_up:  # the cap: no length fits, this one is what we deliver, planned in full
        tried[good] = (packer.place(good), 1.0)
    starts = tried[good][0]
    if starts is None:  # only when the cap leaves no room for the on-screen limit: ignore that limit
        starts = _Packer(items, fps, width_px, height_px, None, limits.by_direction).place(good)
        assert starts is not None
    n_frames = max(starts[it.key] + it.n_frames for it in items)
    rate = packer.rate(starts, n_frames, 1)
    for _ in range(3):  # planned on every step, measured on every frame: a little longer when that differs
        if rate <= limits.max_collision or (cap is not None and good >= cap):
            break
        good = int(np.ceil(good * (1 + TOLERANCE))) + packer.step
        good = good if cap is None else min(good, cap)
        if attempt(good) or tried[good][0] is not None:
            starts = tried[good][0]
            n_frames = max(starts[it.key] + it.n_frames for it in items)
            rate = packer.rate(starts, n_frames, 1)
    return Plan(starts, n_frames, bound, rate, rate <= limits.max_collision, duration_met,
                disorder_share(items, starts))


def disorder_share(items: list[PlanItem], start_frame: dict[str, int]) -> float:
    """Share of pairs with different real start times that the synopsis shows in the reverse order."""
    t = np.array([it.order_s for it in items])
    s = np.array([start_frame[it.key] for it in items])
    dt = np.sign(t[:, None] - t[None, :])
    ds = np.sign(s[:, None] - s[None, :])
    pairs = int(np.count_nonzero(np.triu(dt != 0, 1)))
    reversed_ = int(np.count_nonzero(np.triu(dt * ds < 0, 1)))
    return reversed_ / pairs if pairs else 0.0
