"""A tube's box at any source time (tubes are sampled at the analysis rate; the synopsis shows every frame)."""

from __future__ import annotations

from bisect import bisect_left

import numpy as np

from vsearch.records import Tube

Box = tuple[float, float, float, float]


def interp_boxes(tube: Tube, pts_s: np.ndarray) -> np.ndarray:
    """Boxes (N, 4) in analysis pixels at arbitrary source times, linearly interpolated between samples
    (clamped to the first/last sample outside the tube's span)."""
    pts = np.asarray(pts_s, np.float64)
    src_t = np.asarray(tube.pts_s, np.float64)
    boxes = np.asarray(tube.boxes_xyxy, np.float64)
    if len(src_t) == 1:
        return np.repeat(boxes[:1], len(pts), axis=0)
    return np.stack([np.interp(pts, src_t, boxes[:, c]) for c in range(4)], axis=1)


class TubePath:
    """A tube's samples as plain Python floats, for look-ups one time at a time: cutting a busy hour's crops
    asks for 176 000 boxes, and numpy's per-call overhead on 4-element arrays was most of each one's cost.
    Python floats are IEEE doubles, so the boxes are those numpy would give on float64, bit for bit."""

    def __init__(self, tube: Tube):
        self.pts_s: list[float] = np.asarray(tube.pts_s, np.float64).tolist()
        self.boxes: list[Box] = [tuple(b) for b in np.asarray(tube.boxes_xyxy, np.float64).tolist()]

    def at(self, pts_s: float) -> tuple[Box, int]:
        """(box in analysis pixels, index of the sample nearest in time) at source time `pts_s`: linear
        between samples, the first/last sample outside the tube's span."""
        src_t = self.pts_s
        i = bisect_left(src_t, pts_s)
        if i <= 0:
            return self.boxes[0], 0
        if i >= len(src_t):
            return self.boxes[-1], len(src_t) - 1
        t0, t1 = src_t[i - 1], src_t[i]
        w = (pts_s - t0) / (t1 - t0) if t1 > t0 else 0.0
        (a0, a1, a2, a3), (b0, b1, b2, b3) = self.boxes[i - 1], self.boxes[i]
        box = (a0 * (1 - w) + b0 * w, a1 * (1 - w) + b1 * w, a2 * (1 - w) + b2 * w, a3 * (1 - w) + b3 * w)
        return box, (i if t1 - pts_s < pts_s - t0 else i - 1)


def interp_box(tube: Tube, pts_s: float) -> np.ndarray:
    """One box (4,) float64 in analysis pixels at source time `pts_s` (see `TubePath.at`)."""
    return np.array(TubePath(tube).at(float(pts_s))[0], np.float64)
