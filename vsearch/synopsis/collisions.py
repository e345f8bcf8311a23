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


def _cell_bound(boxes: Sequence[np.ndarray], cell_w: float, cell_h: float, allowed: float) -> int:
    """Smallest L with sum over cells of max(0, load - (L - pre - post)) <= allowed (see lower_bound_frames)."""
    cx = [np.floor((b[:, 0] + b[:, 2]) / 2 / cell_w).astype(np.int64) for b in boxes]
    cy = [np.floor((b[:, 1] + b[:, 3]) / 2 / cell_h).astype(np.int64) for b in boxes]
    x0, y0 = min(int(c.min()) for c in cx), min(int(c.min()) for c in cy)
    ncols = max(int(c.max()) for c in cx) - x0 + 1
    cell = [(y - y0) * ncols + (x - x0) for x, y in zip(cx, cy)]
    n_cells = max(int(c.max()) for c in cell) + 1
    load = np.zeros(n_cells, np.int64)
    pre = np.full(n_cells, np.iinfo(np.int64).max)
    post = np.full(n_cells, np.iinfo(np.int64).max)
    for c in cell:
        load += np.bincount(c, minlength=n_cells)
        idx = np.arange(len(c))
        first = np.full(n_cells, np.iinfo(np.int64).max)
        last = np.full(n_cells, -1)
        np.minimum.at(first, c, idx)
        np.maximum.at(last, c, idx)
        seen = last >= 0
        pre[seen] = np.minimum(pre[seen], first[seen])
        post[seen] = np.minimum(post[seen], len(c) - 1 - last[seen])
    used = load > 0
    load, edge = load[used], pre[used] + post[used]

    def excess(length: int) -> float:
        return float(np.clip(load - (length - edge), 0, None).sum())

    lo, hi = 0, int((load + edge).max())  # excess(hi) == 0
    while lo < hi:
        mid = (lo + hi) // 2
        if excess(mid) <= allowed:
            hi = mid
        else:
            lo = mid + 1
    return lo


def lower_bound_frames(boxes: Sequence[np.ndarray], max_collision: float, max_on_screen: int | None = None) -> int:
    """A lower bound on the length (frames) of any synopsis that keeps every object whole, shifted in time
    only, with at most a `max_collision` share of object-frames colliding.

    The strongest of: (1) the longest object; (2) with at most `max_on_screen` objects at once, total
    object-frames / max_on_screen; (3) space: split the frame into cells of 0.8 x 0.5 (or 0.5 x 0.8) times
    the median object width x height. Two objects of similar size whose box centres share such a cell
    overlap with an IoU above COLLISION_IOU, so in each frame at most one non-colliding object has its centre
    in a cell. A cell's centres (`load` object-frames) all fall between the first object's arrival there
    (it has been on screen `pre` frames already) and the last one's departure (it stays `post` frames more),
    so a synopsis of L frames leaves at least `load - (L - pre - post)` of them colliding; summed over all
    cells, that may not exceed max_collision * total. (3) is exact for objects of similar size and an
    estimate otherwise (a small object inside a big one's box can have a lower IoU).
    """
    if not boxes:
        return 0
    boxes = [np.asarray(b, np.float64).reshape(-1, 4) for b in boxes]
    total = sum(len(b) for b in boxes)
    bound = max(len(b) for b in boxes)
    if max_on_screen:
        bound = max(bound, -(-total // max_on_screen))
    allb = np.concatenate(boxes)
    w = float(np.median(allb[:, 2] - allb[:, 0]))
    h = float(np.median(allb[:, 3] - allb[:, 1]))
    if w <= 0 or h <= 0:
        return bound
    allowed = max_collision * total
    for fx, fy in ((0.8, 0.5), (0.5, 0.8)):  # (1 - 0.8) * (1 - 0.5) = 0.1: IoU > 0.1 / 1.9 > COLLISION_IOU
        bound = max(bound, _cell_bound(boxes, fx * w, fy * h, allowed))
    return bound
