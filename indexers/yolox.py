"""YOLOX output decoding (weight-free helpers): the letterbox input, the anchor grid decode and greedy NMS.

Used by the YOLOX-Nano detector (`vsearch.indexers.detect.YoloxNano`) and the fine vehicle type head.
"""

from __future__ import annotations

import cv2
import numpy as np

from vsearch.errors import ModelError

YOLOX_INPUT = 416
YOLOX_STRIDES = (8, 16, 32)


def _yolox_grids(size: int = YOLOX_INPUT) -> tuple[np.ndarray, np.ndarray]:
    """(A, 2) grid cell x, y and (A,) stride for every anchor, in the network's output order."""
    grids, strides = [], []
    for s in YOLOX_STRIDES:
        n = size // s
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        grids.append(np.stack([xs.ravel(), ys.ravel()], 1))
        strides.append(np.full(n * n, s))
    return np.concatenate(grids).astype(np.float32), np.concatenate(strides).astype(np.float32)


def letterbox_scale(h: int, w: int, size: int = YOLOX_INPUT) -> float:
    """The factor `letterbox` scales an h x w image by."""
    return min(size / h, size / w)


def letterbox(img: np.ndarray, size: int = YOLOX_INPUT, pad: int = 114) -> tuple[np.ndarray, float]:
    """Resize keeping aspect ratio into the top-left of a size×size canvas of `pad`; returns (canvas, scale)."""
    h, w = img.shape[:2]
    r = letterbox_scale(h, w, size)
    nh, nw = int(round(h * r)), int(round(w * r))
    canvas = np.full((size, size, 3), pad, np.uint8)
    canvas[:nh, :nw] = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return canvas, r


def decode_yolox(pred: np.ndarray, scale: float, conf_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YOLOX raw output (A, 85) -> (boxes xyxy in original pixels, scores, COCO class ids), before NMS."""
    grid, stride = _yolox_grids()
    if len(pred) != len(grid):
        raise ModelError(f"YOLOX output has {len(pred)} anchors, expected {len(grid)} for a {YOLOX_INPUT} input")
    cls = pred[:, 5:].argmax(1)
    score = pred[:, 4] * pred[np.arange(len(pred)), 5 + cls]
    keep = score >= conf_threshold
    p, g, s = pred[keep], grid[keep], stride[keep, None]
    xy = (p[:, :2] + g) * s
    wh = np.exp(np.minimum(p[:, 2:4], 10.0)) * s
    boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1) / scale
    return boxes.astype(np.float32), score[keep].astype(np.float32), cls[keep]


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS; indices of kept boxes, best first."""
    order = np.argsort(-scores, kind="stable")
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept = []
    while len(order):
        i = order[0]
        kept.append(i)
        rest = order[1:]
        ix = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        iy = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = ix * iy
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(kept, np.int64)


__all__ = ["YOLOX_INPUT", "YOLOX_STRIDES", "decode_yolox", "letterbox", "letterbox_scale", "nms"]
