"""Collisions between pasted objects, and how short a synopsis can be.

An object-frame *collides* when its box overlaps the box of another object pasted in the same synopsis frame
with an intersection-over-union above `COLLISION_IOU`. The collision rate is the share of object-frames that
collide; it is what `--max-collision` bounds. Pure numpy, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

COLLISION_IOU = 0.05  # boxes overlapping by more than this IoU collide (two people side by side do not)


def pairwise_iou(boxes: np.ndarray) -> np.ndarray:
    """(N, N) IoU of N boxes (x0, y0, x1, y1); the diagonal is 0."""
    b = np.asarray(boxes, np.float64)
    ix = np.clip(np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area[:, None] + area[None, :] - inter
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    np.fill_diagonal(iou, 0.0)
    return iou


def frame_boxes(boxes: Sequence[np.ndarray], starts: Sequence[int], n_frames: int,
                every: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """For synopsis frames 0, every, 2*every, ... < n_frames: (item indices, boxes (k, 4)) on screen."""
    items = np.concatenate([np.full(len(b), i) for i, b in enumerate(boxes)]) if boxes else np.zeros(0, int)
    local = np.concatenate([np.arange(len(b)) for b in boxes]) if boxes else np.zeros(0, int)
    frame = local + np.asarray(starts, np.int64)[items] if len(items) else local
    keep = frame % every == 0
    items, local, frame = items[keep], local[keep], frame[keep]
    order = np.lexsort((items, frame))
    items, local, frame = items[order], local[order], frame[order]
    cuts = np.searchsorted(frame, np.arange(0, n_frames, every))
    cuts = np.append(cuts, len(frame))
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        idx = items[a:b]
        out.append((idx, np.stack([boxes[i][k] for i, k in zip(idx, local[a:b])]) if b > a else np.zeros((0, 4))))
    return out


def collision_rate(boxes: Sequence[np.ndarray], starts: Sequence[int], n_frames: int, every: int = 1) -> float:
    """Share of object-frames (sampled every `every` synopsis frames) whose box collides with another's.

    `boxes[i]` holds item i's box at each of its frames (output pixels), `starts[i]` its first synopsis frame.
    """
    total = hit = 0
    for _, b in frame_boxes(boxes, starts, n_frames, every):
        total += len(b)
        if len(b) > 1:
            hit += int(np.count_nonzero((pairwise_iou(b) > COLLISION_IOU).any(axis=1)))
    return hit / total if total else 0.0


def lower_bound_frames(boxes: Sequence[np.ndarray], max_collision: float, max_on_screen: int | None = None) -> int:
    """A lower bound on the length (frames) of any synopsis that keeps every object whole and at most a
    `max_collision` share of object-frames colliding.

    Three arguments, the strongest wins: (1) the longest object; (2) with at most `max_on_screen` objects at
    once, total object-frames / max_on_screen; (3) space: split the frame into cells half the median object
    size; two objects of similar size whose box centres share a cell overlap with IoU >= 1/7 > COLLISION_IOU,
    so in each frame at most one non-colliding object has its centre in a cell. A cell that holds centres
    for `load` object-frames then forces `load - L` colliding object-frames in a synopsis of L frames, and
    those summed over all cells may not exceed max_collision * total. (3) is exact for objects of similar
    size, an estimate otherwise (a small object inside a big one's box can have a lower IoU).
    """
    if not boxes:
        return 0
    total = sum(len(b) for b in boxes)
    bound = max(len(b) for b in boxes)
    if max_on_screen:
        bound = max(bound, -(-total // max_on_screen))
    allb = np.concatenate([np.asarray(b, np.float64) for b in boxes])
    w = np.median(allb[:, 2] - allb[:, 0]) / 2
    h = np.median(allb[:, 3] - allb[:, 1]) / 2
    if w <= 0 or h <= 0:
        return bound
    cx = np.floor((allb[:, 0] + allb[:, 2]) / 2 / w).astype(np.int64)
    cy = np.floor((allb[:, 1] + allb[:, 3]) / 2 / h).astype(np.int64)
    cx -= cx.min()
    cy -= cy.min()
    load = np.sort(np.bincount(cy * (cx.max() + 1) + cx))[::-1].astype(np.int64)
    allowed = max_collision * total

    def excess(length: int) -> float:
        return float(np.clip(load - length, 0, None).sum())

    lo, hi = 0, int(load[0])  # excess(hi) == 0
    while lo < hi:
        mid = (lo + hi) // 2
        if excess(mid) <= allowed:
            hi = mid
        else:
            lo = mid + 1
    return max(bound, lo)
