"""Compositing of synopsis frames: background plate, object cut-outs in real-time order, labels on top.

Every pasted object is recorded per frame (box, exact source time of the pixels shown, label rectangle):
that is the click-to-source map.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from vsearch.synopsis.crops import CropStore
from vsearch.synopsis.labels import CROWDED, draw_placed, label_colour, label_size, label_style, place_labels


@dataclass(frozen=True)
class FrameObject:
    """One object on one synopsis frame."""

    tube: int  # index of the tube in the synopsis
    box: tuple[float, float, float, float]  # output pixels
    source_pts_s: float  # presentation time, in its source file, of the frame its pixels come from
    label: tuple[int, int, int, int] | None  # label rectangle (x0, y0, x1, y1), output pixels


@dataclass(frozen=True)
class Composed:
    frames: tuple[tuple[FrameObject, ...], ...]  # per synopsis frame
    label_overlaps: int  # frames where a label overlaps another label or a pasted object


def paste(frame: np.ndarray, x0: int, y0: int, bgr: np.ndarray, alpha: np.ndarray) -> None:
    """Alpha-blend a cut-out (pixels `bgr`, alpha `alpha`) into `frame` in place: round((fg * a + bg *
    (255 - a)) / 255) in exact integer arithmetic (deterministic). The division by 255 is done with shifts,
    y = x + 128, (y + (y >> 8)) >> 8, which equals (x + 127) // 255 for every x up to 255 * 255 and is twice
    as fast. The products are OpenCV's (exact in 16 bits): on crops of a few thousand pixels numpy's
    broadcast of the alpha over three channels cost twice as much."""
    h, w = alpha.shape
    roi = frame[y0:y0 + h, x0:x0 + w]
    a = cv2.cvtColor(alpha, cv2.COLOR_GRAY2BGR)
    x = cv2.multiply(bgr, a, dtype=cv2.CV_16U)
    x += cv2.multiply(roi, cv2.bitwise_not(a), dtype=cv2.CV_16U)
    x += 128
    x += x >> 8
    x >>= 8
    roi[:] = x


def paste_core(frame: np.ndarray, x0: int, y0: int, bgr: np.ndarray, alpha: np.ndarray) -> None:
    """Copy the fully opaque pixels of a cut-out (the object itself) into `frame`."""
    h, w = alpha.shape
    roi = frame[y0:y0 + h, x0:x0 + w]  # a view: OpenCV writes into it (same size and type)
    cv2.copyTo(bgr, cv2.compare(alpha, 255, cv2.CMP_EQ), roi)


def _overlapping(crops: list[tuple[int, int, np.ndarray, np.ndarray]]) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """The crops whose rectangle meets another's (only those can have been veiled by a later paste)."""
    if len(crops) < 2:
        return []
    r = np.array([(x0, y0, x0 + a.shape[1], y0 + a.shape[0]) for x0, y0, _, a in crops])
    meet = ((r[:, None, 0] < r[None, :, 2]) & (r[None, :, 0] < r[:, None, 2])
            & (r[:, None, 1] < r[None, :, 3]) & (r[None, :, 1] < r[:, None, 3]))
    np.fill_diagonal(meet, False)
    return [c for c, m in zip(crops, meet.any(axis=1)) if m]


def compose(n_out: int, starts: Sequence[int], lengths: Sequence[int], store: CropStore,
            background: Callable[[int], np.ndarray], label_text: Callable[[int, float], str] | None,
            write: Callable[[np.ndarray], None], tick: Callable[[], None]) -> Composed:
    """Write synopsis frames 0..n_out-1; tube i is on screen from `starts[i]` for `lengths[i]` frames and
    its crop for its k-th frame is `store.get((i, k))`. `label_text(i, source_pts_s)` gives its label."""
    order = sorted(range(len(starts)), key=lambda i: starts[i])
    frames: list[tuple[FrameObject, ...]] = []
    spot: dict[int, int] = {}
    overlaps = nxt = 0
    active: list[int] = []
    style = None
    for s in range(n_out):
        while nxt < len(order) and starts[order[nxt]] <= s:
            active.append(order[nxt])
            nxt += 1
        active = sorted(i for i in active if s < starts[i] + lengths[i])  # z-order: real time
        frame = background(s).copy()
        style = style or label_style(frame.shape[0])
        shown, crops = [], []
        for i in active:
            got = store.get((i, s - starts[i]))
            if got is not None:
                x0, y0, bgr, alpha, q, box = got
                paste(frame, x0, y0, bgr, alpha)
                shown.append((i, q, box))
                crops.append((x0, y0, bgr, alpha))
        for x0, y0, bgr, alpha in _overlapping(crops):  # a neighbour's soft edge must not veil an object
            paste_core(frame, x0, y0, bgr, alpha)
        rects: list[tuple[int, int, int, int] | None] = [None] * len(shown)
        if label_text is not None and shown:
            texts = [label_text(i, q) for i, q, _ in shown]
            boxes = np.array([b for _, _, b in shown], np.float64)
            placed = place_labels(boxes, [label_size(t, style) for t in texts], frame.shape[1], frame.shape[0],
                                  [spot.get(i) for i, _, _ in shown])
            crowded = len(shown) > CROWDED
            for (i, _, box), text, lab in zip(shown, texts, placed):
                draw_placed(frame, text, box, lab, style, label_colour(i, crowded))
                spot[i] = lab.spot
            rects = [lab.rect for lab in placed]
            overlaps += any(lab.overlaps for lab in placed)
        frames.append(tuple(FrameObject(i, box, float(q), rect)  # box: a tuple of floats (`make_crop`)
                            for (i, q, box), rect in zip(shown, rects)))
        write(frame)
        tick()
    return Composed(tuple(frames), overlaps)
