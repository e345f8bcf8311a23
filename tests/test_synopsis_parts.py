"""Synopsis rendering parts that were rewritten for speed: frame conversion, alpha blending, cached soft
masks and the crop store. Each fast path is checked against the plain computation it replaces."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

import synth
from vsearch.synopsis.background import FramePixels, frame_bgr
from vsearch.synopsis.compose import paste, paste_core
from vsearch.synopsis.crops import CropStore, soft_mask


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory) -> Path:
    return synth.crossing_scene(tmp_path_factory.mktemp("parts") / "cross.mp4", 1.5, 10).path  # 640x360


def _frame(path: Path, fmt: str | None = None) -> av.VideoFrame:
    """A frame with the three objects on it (1 s in)."""
    with av.open(str(path)) as c:
        frame = [f for f in c.decode(c.streams.video[0])][10]
        return frame.reformat(format=fmt) if fmt else frame


def test_frame_bgr_matches_libswscale_on_plain_420(clip_path):
    frame = _frame(clip_path)
    assert frame.format.name == "yuv420p"
    fast = frame_bgr(frame, 640, 360).astype(np.int16)
    ref = frame.to_ndarray(format="bgr24", width=640, height=360).astype(np.int16)
    assert fast.shape == ref.shape == (360, 640, 3)
    assert np.abs(fast - ref).max() <= 3 and np.abs(fast - ref).mean() < 1.5  # same BT.601 maths, rounding
    small = frame_bgr(frame, 320, 180).astype(np.int16)  # downscaled output
    ref_small = frame.to_ndarray(format="bgr24", width=320, height=180).astype(np.int16)
    assert small.shape == (180, 320, 3) and np.abs(small - ref_small).mean() < 3


@pytest.mark.parametrize("fmt", ["yuvj420p", "yuv444p", "rgb24"])
def test_frame_bgr_leaves_other_formats_to_libswscale(clip_path, fmt):
    frame = _frame(clip_path, fmt)
    assert np.array_equal(frame_bgr(frame, 320, 180), frame.to_ndarray(format="bgr24", width=320, height=180))


def test_frame_pixels_regions_are_the_whole_frame_conversion_bit_for_bit(clip_path):
    frame = _frame(clip_path)
    whole = frame_bgr(frame, 640, 360)
    pixels = FramePixels(frame, 640, 360)
    rng = np.random.default_rng(3)
    rects = [(0, 0, 640, 360), (0, 0, 1, 1), (639, 359, 640, 360), (101, 51, 172, 100)]  # odd and even edges
    rects += [(int(x0), int(y0), int(x0 + w), int(y0 + h)) for x0, y0, w, h in zip(
        rng.integers(0, 600, 200), rng.integers(0, 320, 200), rng.integers(1, 41, 200), rng.integers(1, 41, 200))]
    for x0, y0, x1, y1 in rects:
        assert np.array_equal(pixels.region(x0, y0, x1, y1), whole[y0:y1, x0:x1]), (x0, y0, x1, y1)
    small = FramePixels(frame, 320, 180)  # not at output size: the frame is converted whole
    assert np.array_equal(small.region(3, 5, 40, 41), frame_bgr(frame, 320, 180)[5:41, 3:40])


def test_paste_is_exact_rounded_alpha_blend():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    bgra = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    bgra[0, :, 3], bgra[1, :, 3] = 0, 255  # fully transparent and fully opaque rows
    expected = frame.copy()
    a = bgra[..., 3:4].astype(np.int64)
    roi = expected[5:25, 7:37].astype(np.int64)
    expected[5:25, 7:37] = np.floor((bgra[..., :3] * a + roi * (255 - a)) / 255 + 0.5).astype(np.uint8)
    out = frame.copy()
    paste(out, 7, 5, bgra[..., :3], bgra[..., 3])
    assert np.array_equal(out, expected)
    assert np.array_equal(out[5, 7:37], frame[5, 7:37]) and np.array_equal(out[6, 7:37], bgra[1, :, :3])
    assert np.array_equal(out[:5], frame[:5]) and np.array_equal(out[:, :7], frame[:, :7])  # nothing outside


def test_paste_core_copies_exactly_the_opaque_pixels_in_place():
    rng = np.random.default_rng(4)
    frame = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    bgra = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    bgra[..., 3] = np.where(rng.random((20, 30)) < 0.5, 255, bgra[..., 3])
    expected = frame.copy()
    opaque = bgra[..., 3] == 255
    expected[5:25, 7:37][opaque] = bgra[..., :3][opaque]
    out = frame.copy()
    paste_core(out, 7, 5, bgra[..., :3].copy(), bgra[..., 3].copy())
    assert np.array_equal(out, expected) and not np.array_equal(out, frame)


def test_soft_mask_is_cached_read_only_and_feathered():
    alpha, core = soft_mask("", 10, 6, 7, 7, 24, 20, 4)  # ellipse (no mask), 10x6 at (7, 7) of a 24x20 region
    again = soft_mask("", 10, 6, 7, 7, 24, 20, 4)
    assert again[0] is alpha  # cached
    with pytest.raises(ValueError):
        alpha[0, 0] = 1
    assert alpha.shape == core.shape == (20, 24) and alpha.dtype == np.uint8
    assert np.all(alpha[core] == 255) and alpha[10, 12] == 255  # the object itself is opaque
    assert alpha[0, 0] == 0 and 0 < alpha[10, 5] < 255  # far corner clear, a soft edge beside the object
    assert not core[:7].any() and not core[13:].any()


def test_crop_store_keeps_crops_in_memory_then_spills_to_a_file():
    rng = np.random.default_rng(2)
    crops = [rng.integers(0, 256, (h, w, 4), dtype=np.uint8) for h, w in ((5, 7), (9, 3), (4, 4), (6, 6))]
    store = CropStore(ram_bytes=crops[0].nbytes + crops[1].nbytes)  # the last two go to the file
    try:
        for k, c in enumerate(crops):
            store.put((k, 0), k, 2 * k, c[..., :3], c[..., 3], 0.5 * k, (k, k, k + 1, k + 1))
        assert store.get((9, 9)) is None
        for k, c in enumerate(crops):
            x0, y0, bgr, alpha, pts, box = store.get((k, 0))
            assert (x0, y0, pts) == (k, 2 * k, 0.5 * k)
            assert np.array_equal(bgr, c[..., :3]) and np.array_equal(alpha, c[..., 3])
            assert np.array_equal(box, [k, k, k + 1, k + 1])
        assert store.index[(2, 0)][0] == 0 and store.index[(0, 0)][0] == -1  # spilled / in memory
    finally:
        store.close()


def test_tube_path_interpolates_like_numpy_and_finds_the_nearest_sample():
    from vsearch.records import Tube
    from vsearch.synopsis.paths import TubePath, interp_boxes

    pts = np.array([1.0, 1.2, 1.4, 1.4, 2.0])  # a repeated time: no division by zero
    boxes = np.array([[0, 0, 10, 10], [2, 1, 12, 11], [4, 2, 14, 12], [4, 2, 14, 12], [10, 5, 30, 25]], np.float32)
    tube = Tube(tube_id="t", source_id="s", camera="c", track_no=1, frame_index=np.arange(5), pts_s=pts,
                boxes_xyxy=boxes, scores=np.ones(5, np.float32), masks_rle=("",) * 5, class_name="car",
                class_source="geometry")
    path = TubePath(tube)
    times = [0.5, 1.0, 1.05, 1.1, 1.31, 1.4, 1.7, 1.71, 2.0, 2.5]
    for q in times:
        box, near = path.at(q)
        assert np.allclose(box, interp_boxes(tube, np.array([q]))[0], atol=1e-9), q
        assert near == int(np.argmin(np.abs(pts - q))) or abs(pts[near] - q) == np.abs(pts - q).min(), q
        w = 0.0 if q <= 1.0 else (q - pts[0]) / (pts[1] - pts[0]) if q < 1.2 else None  # the first gap, exactly
        if w is not None:
            assert box == tuple(float(a) * (1 - w) + float(b) * w for a, b in zip(boxes[0], boxes[1]))


def test_encoder_that_fails_raises_a_clear_error_and_does_not_hang(tmp_path):
    from fractions import Fraction

    from vsearch.synopsis.writers import EncodeError, Encoder

    odd = np.zeros((36, 63, 3), np.uint8)
    with pytest.raises(EncodeError, match="ffmpeg"):
        with Encoder(tmp_path / "x.mp4", 63, 36, Fraction(10), crf=23) as enc:  # x264 refuses an odd width
            for _ in range(200):  # more than the queue holds: the feeder must drain a dead pipe
                enc.write(odd)
    assert not (tmp_path / "x.mp4").exists() and not list(tmp_path.iterdir())
    with Encoder(tmp_path / "ok.mp4", 64, 36, Fraction(10), crf=23) as enc:
        for _ in range(30):
            enc.write(np.zeros((36, 64, 3), np.uint8))
    assert (tmp_path / "ok.mp4").stat().st_size > 0
