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


# size classes and cell shapes tried by the space bound (see lower_bound_frames); each gives a valid bound
SIZE_RATIOS = (1.25, 1.6, 2.0)
CELL_SHAPES = ("square", "wide", "tall")
MIN_CELL_SHARE = 0.2  # cells thinner than this share of the class's box are not tried (too weak, too many)


def _cell_factors(ratio: float, shape: str) -> tuple[float, float]:
    """Cell size (fx, fy), as shares of the class's smallest width and height, small enough that two boxes of
    one size class whose centres share a cell always collide: (1 - fx) * (1 - fy) >= kappa (see
    lower_bound_frames; 1 % of margin against rounding)."""
    kappa = 1.01 * 2 * COLLISION_IOU * ratio ** 2 / (1 + COLLISION_IOU)
    stretch = {"square": 1.0, "wide": 1.6, "tall": 1 / 1.6}[shape]
    return 1 - np.sqrt(kappa) / stretch, 1 - np.sqrt(kappa) * stretch


def _cell_demands(boxes: Sequence[np.ndarray], ratio: float, fx: float, fy: float) -> np.ndarray:
    """For each (size class, cell): the demand G = max over thresholds P, Q of (object-frames there of the
    objects that reach the cell at least P frames after they appear and leave it at least Q frames before
    they go; at least one such object) + P + Q. A synopsis of L frames has at least G - L colliding
    object-frames in that cell."""
    item = np.concatenate([np.full(len(b), i) for i, b in enumerate(boxes)])
    k = np.concatenate([np.arange(len(b)) for b in boxes])
    n = np.array([len(b) for b in boxes])[item]
    b = np.concatenate(boxes)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    ok = (w > 0) & (h > 0)  # an empty box overlaps nothing
    item, k, n, b, w, h = item[ok], k[ok], n[ok], b[ok], w[ok], h[ok]
    if not len(item):
        return np.zeros(0)
    gw = np.floor(np.log(w) / np.log(ratio) + 1e-9)
    gh = np.floor(np.log(h) / np.log(ratio) + 1e-9)
    cell_w, cell_h = fx * ratio ** gw, fy * ratio ** gh  # of the class's smallest box
    cx = np.floor((b[:, 0] + b[:, 2]) / 2 / cell_w)
    cy = np.floor((b[:, 1] + b[:, 3]) / 2 / cell_h)
    key = np.zeros(len(b), np.int64)
    for part in (gw, gh, cx, cy):  # one integer per (class, cell), in mixed radix
        v = part.astype(np.int64) - int(part.min())
        key = key * (int(v.max()) + 1) + v
    _, cell = np.unique(key, return_inverse=True)
    visit, vinv = np.unique(cell * (int(item.max()) + 1) + item, return_inverse=True)  # (cell, object) pairs
    vinv = vinv.ravel()
    load = np.bincount(vinv)
    pre = np.full(len(visit), np.iinfo(np.int64).max)
    np.minimum.at(pre, vinv, k)
    post = np.full(len(visit), np.iinfo(np.int64).max)
    np.minimum.at(post, vinv, n - 1 - k)
    vcell = visit // (int(item.max()) + 1)
    first = np.concatenate(([0], np.flatnonzero(np.diff(vcell)) + 1))
    size = np.diff(np.append(first, len(vcell)))
    demands = [(load + pre + post)[first[size == 1]].astype(np.float64)]  # cells one object visits
    for a, m in zip(first[size > 1], size[size > 1]):
        ld, pr, po = load[a:a + m], pre[a:a + m], post[a:a + m]
        # frames[p, q]: object-frames of the objects with pre >= pre[p] and post >= post[q]
        frames = ((pr[:, None] >= pr[None, :]) * ld[:, None]).T.astype(np.float64) @ (po[:, None] >= po[None, :])
        demands.append(np.array([np.where(frames > 0, frames + pr[:, None] + po[None, :], 0).max()]))  # S not empty
    return np.concatenate(demands)


def _smallest_length(demands: np.ndarray, allowed: float) -> int:
    """Smallest L >= 0 with sum over cells of max(0, G - L) <= allowed."""
    g = np.sort(demands)[::-1]
    lo, hi = 0, int(np.ceil(g[0])) if len(g) else 0
    while lo < hi:
        mid = (lo + hi) // 2
        if float(np.clip(g - mid, 0, None).sum()) <= allowed:
            hi = mid
        else:
            lo = mid + 1
    return lo


def lower_bound_frames(boxes: Sequence[np.ndarray], max_collision: float, max_on_screen: int | None = None) -> int:
    """A lower bound on the length (frames) of any synopsis that keeps every object whole, shifted in time
    only, with at most a `max_collision` share of object-frames colliding (box IoU > COLLISION_IOU).

    The strongest of:

    (1) the longest object;

    (2) with at most `max_on_screen` objects at once, total object-frames / max_on_screen;

    (3) space. Put each object-frame in a size class (width in [W, rW), height in [H, rH) for r in
    SIZE_RATIOS, W and H powers of r) and, within its class, in a cell of fx W x fy H by its box centre.
    Two boxes of one class whose centres share a cell collide. Proof: their centres are d < fx W apart
    across, so they overlap across by min(w1, w2, (w1 + w2) / 2 - d) > (1 - fx) W (each width is >= W),
    and likewise by more than (1 - fy) H down; the overlap I > kWH with k = (1 - fx)(1 - fy); each area
    is under r^2 WH, so the union is under 2 r^2 WH - I and IoU > k / (2 r^2 - k) >= COLLISION_IOU when
    k >= kappa = 2 COLLISION_IOU r^2 / (1 + COLLISION_IOU) (`_cell_factors`). Hence in any synopsis frame
    at most one object-frame of a (class, cell) escapes collision. Now take, for that cell, thresholds P
    and Q and the objects that reach the cell at least P frames after appearing and leave it at least Q
    frames before going (at least one such object). An object starts at frame >= 0 and ends before frame
    L, so all their frames in the cell fall in frames P .. L-1-Q of the synopsis: at most L - P - Q of
    them escape, and at least load + P + Q - L collide. Maximising over P, Q gives the cell's demand G
    (`_cell_demands`): collided >= max(0, G - L). Object-frames of different cells or classes are
    different object-frames, so the sum over cells is a lower bound on the colliding object-frames; a plan
    within the budget has sum max(0, G - L) <= max_collision * total, and since the sum only falls as L
    grows, the smallest such L is a lower bound. It holds for objects of any sizes (pairs of different
    classes are simply not counted) and is taken as the best over a few class ratios and cell shapes, each
    valid. It cannot see objects of different sizes, or farther apart than a cell, crossing: the planner
    has to avoid those too, so on traffic crossing in every direction the bound stays far below any plan.
    """
    if not boxes:
        return 0
    boxes = [np.asarray(b, np.float64).reshape(-1, 4) for b in boxes]
    total = sum(len(b) for b in boxes)
    bound = max(len(b) for b in boxes)
    if max_on_screen:
        bound = max(bound, -(-total // max_on_screen))
    allowed = max_collision * total
    for ratio in SIZE_RATIOS:
        for shape in CELL_SHAPES:
            fx, fy = _cell_factors(ratio, shape)
            if min(fx, fy) >= MIN_CELL_SHARE:
                bound = max(bound, _smallest_length(_cell_demands(boxes, ratio, fx, fy), allowed))
    return bound
