"""One pass over all the crops of a frame (`crops_colour_counts`) gives, bit for bit, the counts of the per-crop
path it replaced, on real decoded video and on a busy synthetic frame."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import synth

from vsearch.indexers.colours import (
    N_CODES,
    PERSON_PARTS,
    _codes,
    _lab,
    _skin_like,
    crops_colour_counts,
    scene_cast,
    shrink_crop,
)


def lab_per_pixel(bgr_pixels: np.ndarray) -> np.ndarray:
    """The CIELAB conversion as it was (colours._lab at d826bf4): a column of pixels, OpenCV's scalar path."""
    px = np.asarray(bgr_pixels, np.uint8).reshape(-1, 1, 3)
    return cv2.cvtColor(px.astype(np.float32) / 255.0, cv2.COLOR_BGR2LAB).reshape(-1, 3)


def per_crop_reference(crop_bgr: np.ndarray, mask: np.ndarray | None, person: bool, max_side: int = 48,
                       cast_ref: tuple[float, float] = (0.0, 0.0)) -> dict[str, np.ndarray]:
    """The per-crop path as it was before the batched one (colours.py at d826bf4), kept only as the reference."""
    h, w = crop_bgr.shape[:2]
    parts = ("any", *PERSON_PARTS) if person else ("any",)
    if h == 0 or w == 0:
        return {p: np.zeros(N_CODES) for p in parts}
    crop_bgr, mask = shrink_crop(crop_bgr, mask, max_side)
    lab = lab_per_pixel(crop_bgr)
    idx = _codes(lab, cast_ref).reshape(crop_bgr.shape[:2])
    fg = np.ones(idx.shape, bool) if mask is None else mask
    out = {"any": np.bincount(idx[fg], minlength=N_CODES).astype(np.float64)}
    if person:
        rows = np.arange(idx.shape[0])[:, None] / max(idx.shape[0], 1)
        for part, (lo, hi) in PERSON_PARTS.items():
            sel = fg & (rows >= lo) & (rows < hi)
            if part == "head":
                sel &= ~_skin_like(lab).reshape(idx.shape)
            out[part] = np.bincount(idx[sel], minlength=N_CODES).astype(np.float64)
    return out


def test_the_one_row_conversion_gives_the_per_pixel_floats_for_every_colour() -> None:
    """`_lab` converts its pixels as one row (OpenCV's vector path); for every one of the 2^24 BGR colours its
    floats equal, bit for bit, those of the column-of-pixels conversion the stored colours were made with."""
    v = np.arange(1 << 24, dtype=np.uint32)
    for lo in range(0, 1 << 24, 1 << 22):
        part = v[lo:lo + (1 << 22)]
        px = np.stack([(part >> 16) & 255, (part >> 8) & 255, part & 255], axis=1).astype(np.uint8)
        assert np.array_equal(_lab(px).view(np.uint32), lab_per_pixel(px).view(np.uint32))
    assert _lab(np.zeros((0, 3), np.uint8)).shape == (0, 3)


def boxes_and_masks(img: np.ndarray, rng: np.random.Generator, n: int) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """`n` person-like boxes over the frame (some cut by its edges, some under 48 px so not shrunk, one empty,
    one a single pixel), with no mask, an elliptic mask or a ragged foreground mask."""
    h, w = img.shape[:2]
    out: list[tuple[np.ndarray, np.ndarray | None]] = [(img[5:5, 7:30], None), (img[40:41, 50:51], None)]
    for k in range(n):
        bw, bh = int(rng.integers(6, 90)), int(rng.integers(10, 240))
        x0, y0 = int(rng.integers(-bw // 2, w - bw // 2)), int(rng.integers(-bh // 2, h - bh // 2))
        crop = img[max(0, y0):min(h, y0 + bh), max(0, x0):min(w, x0 + bw)]
        ch, cw = crop.shape[:2]
        yy, xx = np.mgrid[0:ch, 0:cw]
        ellipse = ((xx + 0.5 - cw / 2) / (cw / 2)) ** 2 + ((yy + 0.5 - ch / 2) / (ch / 2)) ** 2 <= 1.0
        mask = (None, ellipse, rng.random((ch, cw)) < 0.6)[k % 3]
        out.append((crop, mask))
    return out


def assert_same_as_per_crop(img: np.ndarray, crops: list[tuple[np.ndarray, np.ndarray | None]]) -> int:
    cast = scene_cast(img)
    n_px = 0
    for person in (True, False):
        got = crops_colour_counts(crops, person=person, cast_ref=cast)
        assert len(got) == len(crops)
        for (crop, mask), counts in zip(crops, got):
            ref = per_crop_reference(crop, mask, person, cast_ref=cast)
            assert counts.keys() == ref.keys()
            for part in ref:
                assert counts[part].dtype == np.float64 and np.array_equal(counts[part], ref[part]), part
            n_px += int(ref["any"].sum())
    return n_px


def test_batched_colour_counts_equal_per_crop_on_decoded_video(sample_clip: Path) -> None:
    rng = np.random.default_rng(15)
    n_px = 0
    with av.open(str(sample_clip)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i > 240:
                break
            if i % 40 == 0:  # 7 frames across 10 s of the PETS clip, 8-12 boxes each
                img = f.to_ndarray(format="bgr24")
                n_px += assert_same_as_per_crop(img, boxes_and_masks(img, rng, int(rng.integers(8, 13))))
    assert n_px > 50_000  # the comparison really counted pixels


def test_batched_colour_counts_equal_per_crop_on_a_busy_synthetic_frame() -> None:
    """Thirty two-tone persons in every palette colour, with skin-toned heads and sensor noise, on a textured
    background: every code, tone, cast and the head's skin rule are exercised."""
    rng = np.random.default_rng(3)
    names = sorted(synth.BGR)
    objects = []
    for k in range(30):
        at = (0.0, float(rng.uniform(0, 640)), float(rng.uniform(0, 360)))
        size = (int(rng.integers(12, 40)), int(rng.integers(40, 130)))
        objects.append(synth.SynthObject(k, names[k % len(names)], [at, at], size,
                                         lower_colour=names[(3 * k + 1) % len(names)], kind="person"))
    img = synth.render_frame(synth.background(640, 360, seed=3), objects, 0.0, rng)
    crops = []
    for o in objects:
        x0, y0, x1, y1 = (int(round(v)) for v in o.box(0.0))
        x0, y0 = max(0, x0), max(0, y0)
        img[y0:y0 + 4, x0:x1] = (60, 90, 140)  # a face-coloured head
        crops.append((img[y0:y1, x0:x1], None))
    assert assert_same_as_per_crop(img, crops) > 20_000
    with pytest.raises(ValueError):  # a mask that does not fit its crop is refused, not silently misread
        crops_colour_counts([(img[:10, :10], np.ones((9, 10), bool))], person=True)
