"""Object cut-outs: each tube's pixels at each shown frame, with its own feathered mask, non-matching
neighbours cut away; spilled to a temporary file (a busy hour is 1-2 GB of crops).

The source is decoded once, front to back (`cut_crops`): every tube shown at a frame is cut from that one
decoded image. Soft masks are cached: a tube's mask is the same from one output frame to the next while its
box keeps its size (and always for an ellipse or a full-box mask), and feathering is the costly part.
"""

from __future__ import annotations

import math
import mmap
import tempfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from vsearch.indexers import masks as mask_rle
from vsearch.records import Tube
from vsearch.synopsis.background import (FramePixels, SourceClip, boxes_to_output, iter_nearest_frames,
                                        output_scale)
from vsearch.synopsis.paths import Box, TubePath

MASK_CACHE = 4096  # soft masks kept (each a few kB)
RAM_BYTES = 3 << 30  # crops kept in memory before spilling to a temporary file


class CropStore:
    """Crops (object pixels BGR + soft alpha, stored one after the other: the compositor reads both without
    splitting channels): kept in memory up to `ram_bytes`, then spilled to an anonymous temporary file (a
    busy hour is 1-2 GB of crops; a day of it would not fit). In memory, storing and reading a crop costs
    about a microsecond; through the file, 15-40 (page cache, faults)."""

    def __init__(self, ram_bytes: int = RAM_BYTES, spill_path: Path | None = None) -> None:
        self._ram: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._ram_left = ram_bytes
        # spill_path: a named file, for a store filled in another process (`from_file`)
        self._f = open(spill_path, "w+b") if spill_path is not None else tempfile.TemporaryFile()
        self._pos = 0
        self.index: dict[tuple[int, int], tuple[int, int, int, int, int, float, Box]] = {}
        self._mm: np.ndarray | None = None

    @classmethod
    def from_file(cls, path: Path, index: dict[tuple[int, int], tuple]) -> CropStore:
        """A read-only store over the spill file and index of a store filled elsewhere (all spilled)."""
        store = cls(ram_bytes=0)
        store._f.close()
        store._f = open(path, "rb")
        store._pos = path.stat().st_size
        store.index = index
        return store

    def flush(self) -> None:
        self._f.flush()

    def put(self, key: tuple[int, int], x0: int, y0: int, bgr: np.ndarray, alpha: np.ndarray, pts_s: float,
            box: Box) -> None:
        """Store the (h, w, 3) pixels and (h, w) alpha of a crop whose top-left corner is at (x0, y0)."""
        h, w = alpha.shape
        if 4 * h * w <= self._ram_left:
            self._ram_left -= 4 * h * w
            self._ram[key] = (np.ascontiguousarray(bgr, np.uint8), np.ascontiguousarray(alpha, np.uint8))
            self.index[key] = (-1, h, w, x0, y0, pts_s, box)
            return
        for part in (bgr, alpha):
            self._f.write(memoryview(np.ascontiguousarray(part, np.uint8)).cast("B"))
        self.index[key] = (self._pos, h, w, x0, y0, pts_s, box)
        self._pos += 4 * h * w

    def get(self, key: tuple[int, int]) -> tuple[int, int, np.ndarray, np.ndarray, float, Box] | None:
        """(x0, y0, BGR pixels, alpha, source pts, object box in output pixels) or None when not stored."""
        if key not in self.index:
            return None
        off, h, w, x0, y0, pts, box = self.index[key]
        if off < 0:
            bgr, alpha = self._ram[key]
            return x0, y0, bgr, alpha, pts, box
        if self._mm is None:
            self._f.flush()
            # a plain array over the mapping: slicing an np.memmap costs ~10x more per crop
            self._mm = np.frombuffer(mmap.mmap(self._f.fileno(), 0, access=mmap.ACCESS_READ), np.uint8)
        n = h * w
        return (x0, y0, self._mm[off:off + 3 * n].reshape(h, w, 3), self._mm[off + 3 * n:off + 4 * n].reshape(h, w),
                pts, box)

    def close(self) -> None:
        self._ram.clear()
        self._mm = None  # the mapping goes with its last view
        self._f.close()


def _mask_pixels(rle: str, bw: int, bh: int) -> np.ndarray:
    """Float32 (bh, bw) foreground mask (0..1) from an RLE mask, or an ellipse inscribed in the box when the
    sample has none (bridged by the tracker)."""
    if rle:
        m = mask_rle.decode(rle).astype(np.float32)
        return cv2.resize(m, (bw, bh), interpolation=cv2.INTER_LINEAR) if m.size else np.ones((bh, bw), np.float32)
    yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
    return ((((xx - (bw - 1) / 2) / (bw / 2)) ** 2 + ((yy - (bh - 1) / 2) / (bh / 2)) ** 2) <= 1.0).astype(np.float32)


@lru_cache(maxsize=MASK_CACHE)
def soft_mask(rle: str, bw: int, bh: int, x: int, y: int, rw: int, rh: int,
              feather_px: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha uint8, core bool) of a (rh, rw) crop region holding the (bh, bw) mask with its top-left corner
    at (x, y) of the region: alpha is feathered over `feather_px`, core is the hard mask (>= 0.5). Both are
    read-only (shared by the cache)."""
    hard = np.zeros((rh, rw), np.float32)
    m = _mask_pixels(rle, bw, bh)
    sx0, sy0 = max(0, -x), max(0, -y)
    dx0, dy0 = max(0, x), max(0, y)
    w = min(bw - sx0, rw - dx0)
    h = min(bh - sy0, rh - dy0)
    if w > 0 and h > 0:
        hard[dy0:dy0 + h, dx0:dx0 + w] = m[sy0:sy0 + h, sx0:sx0 + w]
    alpha = hard
    if feather_px > 0:
        blurred = cv2.GaussianBlur(hard, (0, 0), feather_px / 2, borderType=cv2.BORDER_CONSTANT)
        alpha = np.clip(np.maximum(blurred * 2, hard), 0, 1)
    a8, core = np.round(alpha * 255).astype(np.uint8), hard >= 0.5
    a8.flags.writeable = core.flags.writeable = False
    return a8, core


class Others:
    """Non-matching tubes of one clip, for fast 'which are present at time t' look-ups."""

    def __init__(self, tubes: Sequence[Tube]):
        self.tubes = list(tubes)
        self.paths = [TubePath(t) for t in self.tubes]
        self.first = np.array([t.first_pts_s for t in self.tubes], np.float64)
        self.last = np.array([t.last_pts_s for t in self.tubes], np.float64)

    def boxes_at(self, pts_s: float, margin_s: float = 0.0) -> list[Box]:
        if not self.tubes:
            return []
        idx = np.flatnonzero((self.first - margin_s <= pts_s) & (pts_s <= self.last + margin_s))
        return [self.paths[i].at(pts_s)[0] for i in idx]


def non_matching(clip: SourceClip, matching_ids: set[str]) -> Others:
    return Others([t for t in clip.all_tubes or () if t.tube_id not in matching_ids])


def make_crop(frame: FramePixels, tube: Tube, path: TubePath, scale: float, pts_s: float, feather_px: int,
              others: Others) -> tuple[int, int, np.ndarray, np.ndarray, Box] | None:
    """(x0, y0, BGR pixels, soft alpha, box in output pixels) of `tube` (`path`: its `TubePath`) in `frame`
    at `pts_s`; `scale`: output pixels per analysis pixel (`output_scale`). Plain floats throughout: this
    runs once per object-frame."""
    out_h, out_w = frame.shape
    (ax0, ay0, ax1, ay1), near = path.at(pts_s)
    box = (ax0 * scale, ay0 * scale, ax1 * scale, ay1 * scale)
    pad = int(math.ceil(1.5 * feather_px)) + 1  # the soft edge fades out within 1.5 feather widths
    region = (max(0, math.floor(box[0]) - pad), max(0, math.floor(box[1]) - pad),
              min(out_w, math.ceil(box[2]) + pad), min(out_h, math.ceil(box[3]) + pad))
    if region[2] <= region[0] or region[3] <= region[1]:
        return None
    bw, bh = max(1, round(box[2] - box[0])), max(1, round(box[3] - box[1]))
    rle = tube.masks_rle[near] if tube.masks_rle else ""
    alpha, core = soft_mask(rle, bw, bh, round(box[0]) - region[0], round(box[1]) - region[1],
                            region[2] - region[0], region[3] - region[1], feather_px)
    near_boxes = others.boxes_at(pts_s, 0.5)
    if near_boxes:
        alpha = alpha.copy()
        for ob in np.array(near_boxes, np.float64).reshape(-1, 4) * scale:
            x0, y0 = int(np.floor(ob[0])) - feather_px - region[0], int(np.floor(ob[1])) - feather_px - region[1]
            x1, y1 = int(np.ceil(ob[2])) + feather_px - region[0], int(np.ceil(ob[3])) + feather_px - region[1]
            sl = (slice(max(0, y0), max(0, y1)), slice(max(0, x0), max(0, x1)))
            alpha[sl] = np.where(core[sl], alpha[sl], 0)
    return region[0], region[1], frame.region(*region), alpha, box


def cut_crops(clip: SourceClip, tubes: Sequence[Tube], shown_pts: Sequence[np.ndarray], out_size: tuple[int, int],
              feather_px: int, others: Others, store: CropStore, tick: Callable[[], None]) -> None:
    """Cut every tube of `clip` at each source time it is shown (`shown_pts[i]` for `tubes[i]`) into `store`
    under key (i, k), in one front-to-back decode of the source."""
    reqs = sorted((float(p), i, k) for i, pts in enumerate(shown_pts) for k, p in enumerate(pts))
    if not reqs:
        return
    out_w, out_h = out_size
    scale = output_scale(clip, out_w)
    paths = {i: TubePath(tubes[i]) for i in {i for _, i, _ in reqs}}
    last_id, img = None, None
    # one decoding thread: the cutting runs beside the planner on two cores, and FFmpeg's frame threads cost
    # a quarter more CPU for the same frames (1 h busy: ~7 vs ~10 s)
    for ri, q, frame in iter_nearest_frames(clip.path, [p for p, _, _ in reqs], threads=False):
        if id(frame) != last_id:
            img = FramePixels(frame, out_w, out_h)
            last_id = id(frame)
        _, i, k = reqs[ri]
        crop = make_crop(img, tubes[i], paths[i], scale, q, feather_px, others)
        if crop is not None:
            store.put((i, k), *crop[:4], q, crop[4])
        tick()
