"""Object cut-outs: each tube's pixels at each shown frame, with its own feathered mask, non-matching
neighbours cut away; spilled to a temporary file (a busy hour is 1-2 GB of crops)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import cv2
import numpy as np

from vsearch.indexers import masks as mask_rle
from vsearch.records import Tube
from vsearch.synopsis.background import SourceClip, boxes_to_output
from vsearch.synopsis.paths import interp_box, nearest_sample


class CropStore:
    """BGRA crops (object pixels + soft alpha) spilled to an anonymous temporary file."""

    def __init__(self) -> None:
        self._f = tempfile.TemporaryFile()
        self._pos = 0
        self.index: dict[tuple[int, int], tuple[int, int, int, int, int, float, np.ndarray]] = {}
        self._mm: np.memmap | None = None

    def put(self, key: tuple[int, int], x0: int, y0: int, bgra: np.ndarray, pts_s: float, box: np.ndarray) -> None:
        data = np.ascontiguousarray(bgra, np.uint8).tobytes()
        self._f.write(data)
        self.index[key] = (self._pos, bgra.shape[0], bgra.shape[1], x0, y0, pts_s, box)
        self._pos += len(data)

    def get(self, key: tuple[int, int]) -> tuple[int, int, np.ndarray, float, np.ndarray] | None:
        """(x0, y0, BGRA crop, source pts, object box in output pixels) or None when not stored."""
        if key not in self.index:
            return None
        if self._mm is None:
            self._f.flush()
            self._mm = np.memmap(self._f, np.uint8, "r") if self._pos else np.zeros(0, np.uint8)
        off, h, w, x0, y0, pts, box = self.index[key]
        return x0, y0, self._mm[off:off + h * w * 4].reshape(h, w, 4), pts, box

    def close(self) -> None:
        self._mm = None
        self._f.close()


def hard_mask(tube: Tube, pts_s: float, box: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """Float32 foreground mask (0..1) of `tube` at `pts_s` drawn into `region` (x0, y0, x1, y1), output px."""
    rx0, ry0, rx1, ry1 = region
    out = np.zeros((ry1 - ry0, rx1 - rx0), np.float32)
    bx0, by0 = int(round(box[0])), int(round(box[1]))
    bw, bh = max(1, int(round(box[2] - box[0]))), max(1, int(round(box[3] - box[1])))
    rle = tube.masks_rle[nearest_sample(tube, pts_s)] if tube.masks_rle else ""
    if rle:
        m = mask_rle.decode(rle).astype(np.float32)
        m = cv2.resize(m, (bw, bh), interpolation=cv2.INTER_LINEAR) if m.size else np.ones((bh, bw), np.float32)
    else:
        # no mask for this sample (bridged by the tracker): an ellipse inscribed in the box
        yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
        m = ((((xx - (bw - 1) / 2) / (bw / 2)) ** 2 + ((yy - (bh - 1) / 2) / (bh / 2)) ** 2) <= 1.0).astype(np.float32)
    x, y = bx0 - rx0, by0 - ry0
    sx0, sy0 = max(0, -x), max(0, -y)
    dx0, dy0 = max(0, x), max(0, y)
    w = min(bw - sx0, out.shape[1] - dx0)
    h = min(bh - sy0, out.shape[0] - dy0)
    if w > 0 and h > 0:
        out[dy0:dy0 + h, dx0:dx0 + w] = m[sy0:sy0 + h, sx0:sx0 + w]
    return out


class Others:
    """Non-matching tubes of one clip, for fast 'which are present at time t' look-ups."""

    def __init__(self, tubes: Sequence[Tube]):
        self.tubes = list(tubes)
        self.first = np.array([t.first_pts_s for t in self.tubes], np.float64)
        self.last = np.array([t.last_pts_s for t in self.tubes], np.float64)

    def boxes_at(self, pts_s: float, margin_s: float = 0.0) -> list[np.ndarray]:
        idx = np.flatnonzero((self.first - margin_s <= pts_s) & (pts_s <= self.last + margin_s))
        return [interp_box(self.tubes[i], pts_s) for i in idx]


def non_matching(clip: SourceClip, matching_ids: set[str]) -> Others:
    return Others([t for t in clip.all_tubes or () if t.tube_id not in matching_ids])


def make_crop(frame: np.ndarray, tube: Tube, clip: SourceClip, pts_s: float, feather_px: int,
               others: Others) -> tuple[int, int, np.ndarray, np.ndarray] | None:
    """(x0, y0, BGRA crop with soft alpha, box in output pixels) of `tube` in `frame` at `pts_s`."""
    out_h, out_w = frame.shape[:2]
    box = boxes_to_output(interp_box(tube, pts_s), clip, out_w)
    pad = int(np.ceil(1.5 * feather_px)) + 1  # the soft edge fades out within 1.5 feather widths
    region = (max(0, int(np.floor(box[0])) - pad), max(0, int(np.floor(box[1])) - pad),
              min(out_w, int(np.ceil(box[2])) + pad), min(out_h, int(np.ceil(box[3])) + pad))
    if region[2] <= region[0] or region[3] <= region[1]:
        return None
    hard = hard_mask(tube, pts_s, box, region)
    alpha = hard
    if feather_px > 0:
        blurred = cv2.GaussianBlur(hard, (0, 0), feather_px / 2, borderType=cv2.BORDER_CONSTANT)
        alpha = np.clip(np.maximum(blurred * 2, hard), 0, 1)
    for ob in boxes_to_output(np.array(others.boxes_at(pts_s, 0.5)).reshape(-1, 4), clip, out_w):
        x0, y0 = int(np.floor(ob[0])) - feather_px - region[0], int(np.floor(ob[1])) - feather_px - region[1]
        x1, y1 = int(np.ceil(ob[2])) + feather_px - region[0], int(np.ceil(ob[3])) + feather_px - region[1]
        sl = (slice(max(0, y0), max(0, y1)), slice(max(0, x0), max(0, x1)))
        alpha[sl] = np.where(hard[sl] >= 0.5, alpha[sl], 0)
    bgra = np.empty((region[3] - region[1], region[2] - region[0], 4), np.uint8)
    bgra[..., :3] = frame[region[1]:region[3], region[0]:region[2]]
    bgra[..., 3] = np.round(alpha * 255).astype(np.uint8)
    return region[0], region[1], bgra, box

