"""Placement of object tubes in synopsis time (Pritch, Rav-Acha & Peleg, PAMI 2008, simplified).

Every tube is kept whole (no activity loss) and shifted in time only. A greedy pass in chronological order
places each tube at the start offset that minimises

    collision   overlap of its box volume with the tubes already placed (space-time, on a coarse grid),
  + order       one unit per already-placed tube that would be shown after it although it happened before,
  + position    distance from its "time-lapse" slot (its relative position in the source span),

so objects share the screen where they do not overlap and keep roughly their real order. Pure numpy, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vsearch.records import Tube

GRID_COLS = 32  # planning grid: 32 cells across, rows in proportion to the frame
PLAN_STEP_S = 0.5  # planning time step
W_COLLISION = 1.0
W_ORDER = 0.25
W_POSITION = 10.0


def interp_boxes(tube: Tube, pts_s: np.ndarray) -> np.ndarray:
    """Boxes (N, 4) in analysis pixels at arbitrary source times, linearly interpolated between samples
    (clamped to the first/last sample outside the tube's span)."""
    pts = np.asarray(pts_s, np.float64)
    src_t = np.asarray(tube.pts_s, np.float64)
    boxes = np.asarray(tube.boxes_xyxy, np.float64)
    if len(src_t) == 1:
        return np.repeat(boxes[:1], len(pts), axis=0)
    return np.stack([np.interp(pts, src_t, boxes[:, c]) for c in range(4)], axis=1)


def interp_box(tube: Tube, pts_s: float) -> np.ndarray:
    """One box (4,) float64 in analysis pixels at source time `pts_s` (fast scalar form of `interp_boxes`)."""
    src_t = tube.pts_s
    i = int(np.searchsorted(src_t, pts_s))
    if i <= 0:
        return tube.boxes_xyxy[0].astype(np.float64)
    if i >= len(src_t):
        return tube.boxes_xyxy[-1].astype(np.float64)
    t0, t1 = float(src_t[i - 1]), float(src_t[i])
    w = (pts_s - t0) / (t1 - t0) if t1 > t0 else 0.0
    return tube.boxes_xyxy[i - 1].astype(np.float64) * (1 - w) + tube.boxes_xyxy[i].astype(np.float64) * w


def nearest_sample(tube: Tube, pts_s: float) -> int:
    """Index of the tube sample nearest in time to `pts_s`."""
    src_t = np.asarray(tube.pts_s, np.float64)
    i = int(np.searchsorted(src_t, pts_s))
    if i <= 0:
        return 0
    if i >= len(src_t):
        return len(src_t) - 1
    return i if src_t[i] - pts_s < pts_s - src_t[i - 1] else i - 1


@dataclass(frozen=True)
class PlanItem:
    """One tube as the planner sees it: its length in output frames, its boxes in output pixels at each
    of those frames, and its real start time (seconds on one clock shared by all items)."""

    key: str
    order_s: float
    boxes_out: np.ndarray  # (n_frames, 4) float, output pixels

    @property
    def n_frames(self) -> int:
        return len(self.boxes_out)


@dataclass(frozen=True)
class Plan:
    start_frame: dict[str, int]  # key -> first synopsis frame
    n_frames: int  # synopsis length in frames
    target_frames: int  # length the planner aimed for (from density / max duration)
    max_duration_met: bool  # False when the longest tube alone exceeds max_duration_s
    disorder: float  # share of pairs shown out of their real order


def target_length_frames(items: list[PlanItem], fps: float, density: float,
                         max_duration_s: float | None) -> tuple[int, bool]:
    """Synopsis length aimed for: total object time / density, at least the longest tube, at most
    `max_duration_s` (unless the longest tube alone is longer: then that tube's length, and False)."""
    if density <= 0:
        raise ValueError(f"density must be > 0, got {density}")
    longest = max(it.n_frames for it in items)
    total = sum(it.n_frames for it in items)
    target = max(longest, int(np.ceil(total / density)))
    met = True
    if max_duration_s is not None:
        cap = int(np.floor(max_duration_s * fps))
        if longest > cap:
            met = False
        target = max(longest, min(target, cap))
    return target, met


def _coverage(boxes: np.ndarray, width: int, height: int, cols: int, rows: int) -> np.ndarray:
    """(N, rows*cols) fraction of each grid cell covered by each box (exact for axis-aligned boxes)."""
    cw, ch = width / cols, height / rows
    xe = np.arange(cols + 1) * cw
    ye = np.arange(rows + 1) * ch
    ox = np.clip(np.minimum(boxes[:, 2:3], xe[None, 1:]) - np.maximum(boxes[:, 0:1], xe[None, :-1]), 0, None) / cw
    oy = np.clip(np.minimum(boxes[:, 3:4], ye[None, 1:]) - np.maximum(boxes[:, 1:2], ye[None, :-1]), 0, None) / ch
    return (oy[:, :, None] * ox[:, None, :]).reshape(len(boxes), rows * cols)


def plan_placement(items: list[PlanItem], *, fps: float, width_px: int, height_px: int, density: float,
                   max_duration_s: float | None) -> Plan:
    """Choose a start frame for every item (all items kept, whole). Deterministic for a given input."""
    if not items:
        return Plan({}, 0, 0, True, 0.0)
    target, met = target_length_frames(items, fps, density, max_duration_s)
    step = max(1, int(round(PLAN_STEP_S * fps)))
    cols = GRID_COLS
    rows = max(1, int(round(GRID_COLS * height_px / width_px)))
    order = sorted(items, key=lambda it: (it.order_s, it.key))
    t0, t1 = order[0].order_s, order[-1].order_s
    span = max(t1 - t0, 1e-9)
    target_steps = -(-target // step)
    max_len_steps = max(-(-it.n_frames // step) for it in items)
    occ = np.zeros((target_steps + max_len_steps + 1, rows * cols), np.float32)
    starts: dict[str, int] = {}
    placed_steps: list[int] = []
    for it in order:
        m = _coverage(it.boxes_out[::step].astype(np.float64), width_px, height_px, cols, rows).astype(np.float32)
        d_steps = len(m)
        n_cand = max(1, -(-(target - it.n_frames + 1) // step))
        cost = np.zeros(n_cand, np.float64)
        for j in range(d_steps):  # a box covers few grid cells: correlate over those only
            nz = np.flatnonzero(m[j])
            cost += occ[j:j + n_cand, nz] @ m[j, nz]
        cost *= W_COLLISION / max(float(m.sum()), 1e-6)
        if placed_steps:
            ps = np.sort(np.asarray(placed_steps))
            later = len(ps) - np.searchsorted(ps, np.arange(n_cand), side="right")
            cost += W_ORDER * later
        slot = (it.order_s - t0) / span * (n_cand - 1)
        cost += W_POSITION * np.abs(np.arange(n_cand) - slot) / max(n_cand - 1, 1)
        s = int(np.argmin(cost))
        occ[s:s + d_steps] += m
        placed_steps.append(s)
        starts[it.key] = s * step
    n_frames = max(starts[it.key] + it.n_frames for it in items)
    return Plan(starts, n_frames, target, met, disorder_share(items, starts))


def disorder_share(items: list[PlanItem], start_frame: dict[str, int]) -> float:
    """Share of pairs with different real start times that the synopsis shows in the reverse order."""
    t = np.array([it.order_s for it in items])
    s = np.array([start_frame[it.key] for it in items])
    dt = np.sign(t[:, None] - t[None, :])
    ds = np.sign(s[:, None] - s[None, :])
    pairs = int(np.count_nonzero(np.triu(dt != 0, 1)))
    reversed_ = int(np.count_nonzero(np.triu(dt * ds < 0, 1)))
    return reversed_ / pairs if pairs else 0.0
