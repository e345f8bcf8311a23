"""A tube's box at any source time (tubes are sampled at the analysis rate; the synopsis shows every frame)."""

from __future__ import annotations

import numpy as np

from vsearch.records import Tube


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
