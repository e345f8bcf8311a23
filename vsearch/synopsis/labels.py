"""Object labels burnt into the synopsis: the real local time (HH:MM:SS) next to each object.

A label is placed, frame by frame, at the first free spot among positions around its object (above, below,
beside, then further away with a leader line back to the object): free means overlapping no other label and
no pasted object's box, and inside the frame (a label is never clipped). An object keeps the spot it had in
the previous frame while that stays free, so labels do not jump. When no spot is free the least covered one
is looked for anywhere in the frame (`_free_far`, nearest the object first, with a leader line); only when the
frame has no room at all is the least covered spot used, and the frame counts in `label_overlaps`. With many objects on screen each label and its leader line
take the object's own colour, so the eye can pair them. Text height is at least `MIN_TEXT_SHARE` of the frame
height (and `MIN_TEXT_PX`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

LABEL_COLOUR = (255, 255, 255)
OUTLINE_COLOUR = (0, 0, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX
MIN_TEXT_SHARE = 0.022  # text height / frame height (16 px at 720p)
MIN_TEXT_PX = 9
CROWDED = 5  # more objects on screen than this: labels in per-object colours
FAR = 1000  # spot numbers from here on: a place on the frame-wide grid of `_far_rect`, away from the object
# bright colours that read on a dark outline (BGR)
PALETTE = ((255, 255, 255), (80, 220, 255), (255, 200, 80), (120, 255, 120), (255, 140, 255), (80, 160, 255),
           (255, 255, 120), (180, 180, 255))


@dataclass(frozen=True)
class LabelStyle:
    scale: float
    thick: int
    text_h_px: int  # cap height of the digits
    margin_px: int  # outline + breathing room around the text, inside the label rectangle


def label_style(out_h: int) -> LabelStyle:
    target = max(MIN_TEXT_PX, MIN_TEXT_SHARE * out_h)
    (_, h1), _ = cv2.getTextSize("0", FONT, 1.0, 1)
    scale = target / h1
    thick = max(1, int(round(scale * 1.6)))
    (_, h), _ = cv2.getTextSize("0", FONT, scale, thick)
    return LabelStyle(scale, thick, h, thick + 1)


def label_size(text: str, style: LabelStyle) -> tuple[int, int]:
    """(width, height) of the label rectangle of `text`, outline included."""
    (tw, th), base = _text_size(text, style.scale, style.thick)
    return tw + 2 * style.margin_px, th + base + 2 * style.margin_px


@lru_cache(maxsize=8192)
def _text_size(text: str, scale: float, thick: int) -> tuple[tuple[int, int], int]:
    """cv2.getTextSize, cached: a label's text stays the same for a second of its object's time."""
    return cv2.getTextSize(text, FONT, scale, thick)


@lru_cache(maxsize=256)
def _spot_coefficients(w: int, h: int, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate label corners as linear forms: x = Cx @ (x0, x1, 1), y = Cy @ (y0, y1, 1) of the box."""
    cx = (0.5, 0.5, -w / 2)  # label centred on the box
    xs = [(1, 0, 0), (1, 0, 0), (0, 1, -w), (0, 1, -w), (0, 1, gap), (1, 0, -gap - w), (0, 1, gap), (1, 0, -gap - w)]
    ys = [(1, 0, -gap - h), (0, 1, gap), (1, 0, -gap - h), (0, 1, gap), (1, 0, 0), (1, 0, 0), (0, 1, -h), (0, 1, -h)]
    for k in (1, 2, 3, 4):  # further away: a leader line joins label and object
        d = gap + k * (h + gap)
        xs += [cx, cx, (0, 1, d), (1, 0, -d - w), (0, 1, d), (1, 0, -d - w), (0, 1, d), (1, 0, -d - w)]
        ys += [(1, 0, -d - h), (0, 1, d), (1, 0, 0), (1, 0, 0), (1, 0, -d - h), (1, 0, -d - h), (0, 1, d), (0, 1, d)]
    return np.array(xs, np.float64), np.array(ys, np.float64)


def _candidates(box: np.ndarray, w: int, h: int, frame_w: int, frame_h: int, gap: int) -> np.ndarray:
    """(K, 4) label rectangles around `box`, nearest first, each shifted inside the frame."""
    cxm, cym = _spot_coefficients(w, h, gap)
    x = np.clip(np.round(cxm @ (box[0], box[2], 1.0)), 0, max(0, frame_w - w))
    y = np.clip(np.round(cym @ (box[1], box[3], 1.0)), 0, max(0, frame_h - h))
    return np.stack([x, y, x + w, y + h], axis=1)


@lru_cache(maxsize=256)
def _spot_floats(w: int, h: int, gap: int) -> tuple[tuple[tuple[float, float, float], ...], ...]:
    """`_spot_coefficients` as plain floats: (Cx rows, Cy rows)."""
    cxm, cym = _spot_coefficients(w, h, gap)
    return tuple(map(tuple, cxm.tolist())), tuple(map(tuple, cym.tolist()))


def _spot_rect(box: Sequence[float], w: int, h: int, frame_w: int, frame_h: int, gap: int,
               spot: int) -> tuple[float, float, float, float]:
    """Candidate `spot` of `_candidates` (or, from `FAR` on, of `_far_rect`), in plain floats (the per-frame
    fast path)."""
    if spot >= FAR:
        return _far_rect(spot, w, h, frame_w, frame_h)
    cxs, cys = _spot_floats(w, h, gap)
    (ax, bx, c), (ay, by, d) = cxs[spot], cys[spot]
    x = min(max(round(ax * box[0] + bx * box[2] + c), 0), max(0, frame_w - w))
    y = min(max(round(ay * box[1] + by * box[3] + d), 0), max(0, frame_h - h))
    return float(x), float(y), float(x + w), float(y + h)


def _grid_step(frame_h: int) -> int:
    """Cell side (px) of the frame-wide grid where a label goes when no spot near its object is free."""
    return max(2, frame_h // 90)


def _far_rect(spot: int, w: int, h: int, frame_w: int, frame_h: int) -> tuple[float, float, float, float]:
    """The label rectangle of far spot `spot` (>= FAR): its top-left corner on a grid cell corner."""
    step = _grid_step(frame_h)
    row, col = divmod(spot - FAR, -(-frame_w // step))
    x, y = min(col * step, max(0, frame_w - w)), min(row * step, max(0, frame_h - h))
    return float(x), float(y), float(x + w), float(y + h)


def _free_far(box: Sequence[float], w: int, h: int, obstacles: np.ndarray, frame_w: int, frame_h: int) -> int | None:
    """The far spot nearest `box` whose label (w, h) meets none of `obstacles` (M, 4), or None.

    Obstacles are drawn on a grid of `_grid_step` px cells, every cell they touch taken (so a window of free
    cells is free for certain), and one integral image gives each label-sized window's count of taken cells."""
    step = _grid_step(frame_h)
    rows, cols = -(-frame_h // step), -(-frame_w // step)
    if w > frame_w or h > frame_h:
        return None
    taken = np.zeros((rows, cols), np.uint8)
    for x0, y0, x1, y1 in obstacles.tolist():
        taken[max(0, int(y0 // step)):max(0, -int(-y1 // step)), max(0, int(x0 // step)):max(0, -int(-x1 // step))] = 1
    total = cv2.integral(taken)  # (rows + 1, cols + 1)
    cw, ch = -(-w // step), -(-h // step)  # cells a label spans from a cell corner
    last_c, last_r = (frame_w - w) // step, (frame_h - h) // step  # corners that keep it inside the frame
    r = np.arange(last_r + 1)[:, None]
    c = np.arange(last_c + 1)[None, :]
    r1, c1 = np.minimum(r + ch, rows), np.minimum(c + cw, cols)
    count = total[r1, c1] - total[r, c1] - total[r1, c] + total[r, c]
    free_r, free_c = np.nonzero(count == 0)
    if len(free_r) == 0:
        return None
    d2 = ((free_c * step + w / 2 - (box[0] + box[2]) / 2) ** 2 + (free_r * step + h / 2 - (box[1] + box[3]) / 2) ** 2)
    k = int(np.argmin(d2))  # ties: the first in row order (deterministic)
    return FAR + int(free_r[k]) * cols + int(free_c[k])


def _meet_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) whether rectangle a[i] shares some area with b[j] (NaN rows meet nothing)."""
    return ((np.minimum(a[:, None, 2], b[None, :, 2]) > np.maximum(a[:, None, 0], b[None, :, 0]))
            & (np.minimum(a[:, None, 3], b[None, :, 3]) > np.maximum(a[:, None, 1], b[None, :, 1])))


def _meets_any(rect: tuple[float, float, float, float], others: np.ndarray) -> bool:
    """Whether `rect` shares some area with one of `others` (M, 4)."""
    x0, y0, x1, y1 = rect
    return bool(((np.minimum(others[:, 2], x1) > np.maximum(others[:, 0], x0))
                 & (np.minimum(others[:, 3], y1) > np.maximum(others[:, 1], y0))).any())


def _overlap_area(rects: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(K,) total area of each rectangle covered by `others` (M, 4)."""
    if len(others) == 0:
        return np.zeros(len(rects))
    ix = np.clip(np.minimum(rects[:, None, 2], others[None, :, 2]) - np.maximum(rects[:, None, 0], others[None, :, 0]),
                 0, None)
    iy = np.clip(np.minimum(rects[:, None, 3], others[None, :, 3]) - np.maximum(rects[:, None, 1], others[None, :, 1]),
                 0, None)
    return (ix * iy).sum(axis=1)


@dataclass(frozen=True)
class PlacedLabel:
    rect: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), output pixels
    spot: int  # index of the candidate position used (kept from frame to frame while free)
    leader: bool  # the label is away from its object: a line joins them
    overlaps: bool  # no free spot: it overlaps another label or an object


def place_labels(boxes: np.ndarray, sizes: Sequence[tuple[int, int]], frame_w: int, frame_h: int,
                 previous: Sequence[int | None] = (), gap: int = 2) -> list[PlacedLabel]:
    """Label rectangles for objects with `boxes` (N, 4) and label `sizes`, placed in order.

    `previous[i]` is the spot object i used in the previous frame (None: new), tried first."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = len(boxes)
    obstacles = np.concatenate([boxes, np.zeros((n, 4))])  # the objects, then the labels placed so far
    # the usual case is that every label keeps last frame's spot: those spots are checked against the
    # objects and each other in two matrix operations, and only labels that move are checked one by one
    rows = boxes.tolist()
    kept_rects = [None if i >= len(previous) or previous[i] is None else
                  _spot_rect(rows[i], w, h, frame_w, frame_h, gap, previous[i]) for i, (w, h) in enumerate(sizes)]
    kept = np.array([r if r is not None else (np.nan,) * 4 for r in kept_rects], np.float64).reshape(-1, 4)
    meets_object = _meet_matrix(kept, boxes).any(axis=1)
    meets_kept = _meet_matrix(kept, kept)
    as_kept = np.zeros(n, bool)  # labels placed so far at their kept spot
    moved: list[int] = []  # ... and those placed elsewhere
    out = []
    for i, (box, (w, h)) in enumerate(zip(rows, sizes)):  # box: plain floats (cheaper arithmetic below)
        now = obstacles[:n + i]
        prev, rect_kept = previous[i] if i < len(previous) else None, kept_rects[i]
        if (rect_kept is not None and prev < FAR and not meets_object[i] and not (meets_kept[i, :i] & as_kept[:i]).any()
                and not (moved and _meets_any(rect_kept, obstacles[[n + j for j in moved]]))):
            k, bad, rect = prev, False, rect_kept  # the spot of the previous frame is still free
            as_kept[i] = True
        else:
            cand = _candidates(box, w, h, frame_w, frame_h, gap)
            reach = (cand[:, 0].min(), cand[:, 1].min(), cand[:, 2].max(), cand[:, 3].max())
            close = ((now[:, 0] < reach[2]) & (now[:, 2] > reach[0]) & (now[:, 1] < reach[3])
                     & (now[:, 3] > reach[1]))  # only what a candidate can touch (crowded frames)
            cover = _overlap_area(cand, now[close])
            free = np.flatnonzero(cover <= 0)
            if len(free):
                k, bad, rect = int(free[0]), False, cand[free[0]]
            elif prev is not None and prev >= FAR and not _meets_any(rect_kept, now):
                k, bad, rect = prev, False, rect_kept  # still no room near it: the far spot it had stays
            else:
                far = _free_far(box, w, h, now, frame_w, frame_h)
                if far is not None:
                    k, bad, rect = far, False, _far_rect(far, w, h, frame_w, frame_h)
                else:  # no room anywhere: the least covered spot near the object
                    k, bad = int(np.argmin(cover)), True
                    rect = cand[k]
            moved.append(i)
        obstacles[n + i] = rect
        # adjacent: within `gap` + 1 px of the box (else a leader line is drawn)
        adjacent = k < 8 and (rect[0] <= box[2] + gap + 1 and rect[2] >= box[0] - gap - 1
                              and rect[1] <= box[3] + gap + 1 and rect[3] >= box[1] - gap - 1)
        out.append(PlacedLabel((int(rect[0]), int(rect[1]), int(rect[2]), int(rect[3])), k, not adjacent, bad))
    return out


def draw_placed(img: np.ndarray, text: str, box: Sequence[float], label: PlacedLabel, style: LabelStyle,
                colour: tuple[int, int, int] = LABEL_COLOUR) -> None:
    """Draw `text` in its rectangle (dark outline), and a leader line to the object when it is away."""
    x0, y0, x1, y1 = label.rect
    if label.leader:  # from the object point nearest the label to the label point nearest that
        bx = float(np.clip((x0 + x1) / 2, box[0], box[2]))
        by = float(np.clip((y0 + y1) / 2, box[1], box[3]))
        a = (int(np.clip(round(bx), x0, x1 - 1)), int(np.clip(round(by), y0, y1 - 1)))
        b = (int(round(bx)), int(round(by)))
        cv2.line(img, a, b, OUTLINE_COLOUR, 3, cv2.LINE_AA)
        cv2.line(img, a, b, colour, 1, cv2.LINE_AA)
    (_, th), _ = _text_size(text, style.scale, style.thick)
    org = (x0 + style.margin_px, y0 + style.margin_px + th)
    cv2.putText(img, text, org, FONT, style.scale, OUTLINE_COLOUR, style.thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, FONT, style.scale, colour, style.thick, cv2.LINE_AA)


def draw_text_at(img: np.ndarray, text: str, x0: int, y0: int) -> None:
    """A label with its top-left corner at (x0, y0) (the passages' timestamp)."""
    style = label_style(img.shape[0])
    w, h = label_size(text, style)
    draw_placed(img, text, (x0, y0, x0, y0), PlacedLabel((x0, y0, x0 + w, y0 + h), 0, False, False), style)


def label_colour(index: int, crowded: bool) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)] if crowded else LABEL_COLOUR
