"""Colours under another camera's light: white balance before colours are named, and tinted black-and-white.

Under a street lamp (a 3200 K cast) a white car read orange and a grey pavement brown; under a blue dusk grey
coats read blue. Now the light's colour is estimated from the scene's brightest surfaces and removed before the
palette is read (beyond a dead band, up to a cap). A black-and-white camera whose picture has a tint (infrared
through an encoder that gives its greys a green or blue cast) had chroma, so its greys were read as colours: now
one hue everywhere counts as black-and-white."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tomllib
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest

import synth
from conftest import REPO, index_motion_only, shared_path
from vsearch.catalogue.store import Store
from vsearch.catalogue.tube_rows import record_to_tube
from vsearch.indexers.colours import (
    PALETTE,
    _to_linear,
    _to_srgb,
    balance_lut,
    crop_colour_counts,
    fractions_from_counts,
    is_monochrome,
    light_estimate,
    palette_counts,
    palette_of,
)

WARM = "colortemperature=temperature=3200"  # tungsten / sodium street lamps
IR_TINT = "hue=s=0,colorchannelmixer=rr=0.8:bb=0.9"  # an infrared picture with a green tint


def _cast(bgr: np.ndarray, gains_bgr: tuple[float, float, float]) -> np.ndarray:
    """The picture under a coloured light: a gain per channel in linear RGB (von Kries)."""
    lin = _to_linear(bgr.astype(np.float64) / 255.0) * np.array(gains_bgr)
    return np.round(_to_srgb(np.clip(lin, 0, 1)) * 255).astype(np.uint8)


def _scene() -> np.ndarray:
    """A neutral street: grey pavement, a white van, a red car, a blue coat, a black bag."""
    img = np.full((120, 160, 3), 118, np.uint8)
    img[10:40, 10:60] = (235, 235, 235)  # white
    img[10:40, 90:140] = (40, 40, 200)  # red
    img[60:100, 10:40] = (200, 90, 30)  # blue
    img[60:100, 60:80] = (25, 25, 25)  # black
    return img


def _named(img: np.ndarray, lut: np.ndarray | None, y0: int, y1: int, x0: int, x1: int) -> dict[str, float]:
    return fractions_from_counts(palette_of(crop_colour_counts(img[y0:y1, x0:x1], None, False, lut=lut)["any"]))


@pytest.mark.parametrize("gains", [(0.35, 0.7, 1.0), (1.0, 0.8, 0.6)], ids=["warm", "cool"])
def test_colours_under_a_coloured_light_are_read_as_under_white_light(gains: tuple[float, float, float]) -> None:
    img = _cast(_scene(), gains)
    lut = balance_lut(light_estimate(img))
    assert lut is not None
    assert max(_named(img, None, 10, 40, 10, 60), key=_named(img, None, 10, 40, 10, 60).get) != "white"  # before
    assert _named(img, lut, 10, 40, 10, 60) == {"white": 1.0}
    assert _named(img, lut, 45, 55, 0, 160) == {"grey": 1.0}
    assert _named(img, lut, 10, 40, 90, 140) == {"red": 1.0}
    assert _named(img, lut, 60, 100, 10, 40) == {"blue": 1.0}
    assert _named(img, lut, 60, 100, 60, 80) == {"black": 1.0}


def test_a_well_balanced_camera_is_read_exactly_as_recorded() -> None:
    img = _scene()
    assert balance_lut(light_estimate(img)) is None  # within the dead band: nothing corrected
    slight = _cast(img, (1.0, 0.98, 0.96))  # the slight cast daylight and auto white balance leave
    assert balance_lut(light_estimate(slight)) is None
    assert light_estimate(np.zeros((50, 50, 3), np.uint8) + 255) is None  # all clipped: nothing to say


def test_a_genuinely_coloured_scene_is_not_bleached() -> None:
    """A yellow wall filling the picture is not a yellow light: at most `WB_MAX_CHROMA` is removed."""
    wall = np.zeros((80, 80, 3), np.uint8) + np.array((40, 210, 230), np.uint8)
    wall[30:50, 30:50] = (40, 40, 200)
    lut = balance_lut(light_estimate(wall))
    assert lut is not None
    assert _named(wall, lut, 0, 20, 0, 80) == {"yellow": 1.0}


def test_a_coloured_surface_is_not_taken_for_a_coloured_light() -> None:
    """A light tints the brightest surfaces and the scene as a whole; one coloured surface tints only one of them:
    a beige facade as the brightest thing of a grey street, or green grass around a white van, is no cast."""
    facade = _scene()
    facade[0:8] = (170, 215, 240)  # beige, brighter than anything else
    assert balance_lut(light_estimate(facade)) is None
    grass = np.zeros((120, 160, 3), np.uint8) + np.array((40, 140, 60), np.uint8)
    grass[10:40, 10:60] = (235, 235, 235)
    assert balance_lut(light_estimate(grass)) is None
    assert _named(grass, None, 10, 40, 10, 60) == {"white": 1.0}


def test_a_tinted_black_and_white_frame_counts_as_black_and_white() -> None:
    grey = np.repeat(_scene().mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    for tint in ((0.9, 1.0, 0.8), (1.0, 0.9, 0.8), (0.8, 0.85, 1.0)):  # green, blue, sepia
        tinted = np.round(grey * np.array(tint)).astype(np.uint8)
        assert is_monochrome(tinted)
    assert not is_monochrome(_scene())
    two_tone = np.repeat(grey, 1, axis=0)
    two_tone[:60] = np.round(two_tone[:60] * np.array((0.8, 0.85, 1.0))).astype(np.uint8)
    two_tone[60:] = np.round(two_tone[60:] * np.array((1.0, 0.9, 0.8))).astype(np.uint8)
    assert not is_monochrome(two_tone)  # warm and cool halves: two hues, colour


# --- real decoded video ---


def _ffmpeg(src: Path, dst: Path, vf: str, seconds: float) -> Path:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(src), "-t", str(seconds),
                    "-vf", vf, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p",
                    str(dst)], check=True)
    return dst


def _frames_at(path: Path, times_s: list[float]) -> list[np.ndarray]:
    out, want = [], sorted(times_s)
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            if want and float(f.pts * f.time_base) >= want[0] - 1e-6:
                out.append(f.to_ndarray(format="bgr24"))
                want.pop(0)
            if not want:
                break
    return out


def test_vtest_under_a_street_lamp_cast_keeps_its_colours(tmp_path: Path) -> None:
    """The red-jacket person of vtest.avi still reads red, its grey and white surroundings stay achromatic, and
    the pavement does not turn orange or brown: as in the original picture."""
    labels = tomllib.loads((REPO / "bench" / "retrieval_set.toml").read_text(encoding="utf-8"))["objects"]
    samples = labels["vtest-red-jacket-a"]["samples"]
    src = REPO / "sample_clips" / "vtest.avi"
    warm = _ffmpeg(src, tmp_path / "vtest-warm.mp4", WARM, 55.0)
    times = [s[0] for s in samples]
    for frame_orig, frame_warm, (_, x0, y0, x1, y1) in zip(_frames_at(src, times), _frames_at(warm, times), samples):
        lut = balance_lut(light_estimate(frame_warm))
        upper = slice(int(y0 + 0.12 * (y1 - y0)), int(y0 + 0.5 * (y1 - y0))), slice(int(x0), int(x1))
        ground = slice(400, None), slice(None)  # the pavement in the lower third
        for region in (upper, ground):
            orig, cast = (_shares(f[region]) for f in (frame_orig, frame_warm))
            balanced = _shares(_balanced(frame_warm[region], lut))
            assert cast["orange"] + cast["brown"] > orig["orange"] + orig["brown"] + 0.2  # the cast alone (main)
            assert balanced["orange"] + balanced["brown"] < orig["orange"] + orig["brown"] + 0.1, (orig, balanced)
            assert balanced["red"] >= 0.8 * orig["red"], (orig, balanced)
            achromatic = ("black", "grey", "white")
            assert sum(balanced[c] for c in achromatic) > 0.7 * sum(orig[c] for c in achromatic), (orig, balanced)


def _shares(bgr: np.ndarray) -> dict[str, float]:
    return {c: 0.0 for c in PALETTE} | fractions_from_counts(palette_counts(bgr), 0)


def _balanced(bgr: np.ndarray, lut: np.ndarray | None) -> np.ndarray:
    """The pixels as the palette reads them after the white balance (8-bit again, for `palette_counts`)."""
    return bgr if lut is None else np.round(lut[bgr, np.arange(3)] * 255).astype(np.uint8)


def test_a_tinted_infrared_copy_of_vtest_is_black_and_white(tmp_path: Path) -> None:
    tinted = _ffmpeg(REPO / "sample_clips" / "vtest.avi", tmp_path / "vtest-ir.mp4", IR_TINT, 20.0)
    with av.open(str(tinted)) as c:
        frames = [f.to_ndarray(format="bgr24") for i, f in enumerate(c.decode(video=0)) if i % 25 == 0]
    assert len(frames) >= 8 and all(is_monochrome(f) for f in frames)
    assert float(np.abs(frames[0].astype(int) - frames[0].mean(axis=2, keepdims=True)).max()) >= 5  # it is tinted


def test_a_pale_scene_under_a_street_lamp_is_not_taken_for_a_tinted_black_and_white_one(tmp_path: Path) -> None:
    """The palest colour footage (the grey car park) under a warm light leans to one hue almost everywhere; its
    few coloured things (a red car, markings) still make it colour, in every frame."""
    warm = _ffmpeg(shared_path("footage", "intel", "car-detection.mp4"), tmp_path / "car-warm.mp4", WARM, 30.0)
    with av.open(str(warm)) as c:
        frames = [f.to_ndarray(format="bgr24") for i, f in enumerate(c.decode(video=0)) if i % 10 == 0]
    assert len(frames) > 30 and not any(is_monochrome(f) for f in frames)


START = dt.datetime(2026, 11, 20, 21, 0, tzinfo=dt.timezone.utc)


def test_an_indexed_clip_under_a_street_lamp_stores_white_as_white(tmp_path: Path) -> None:
    """End to end: a white car, a red car and a grey car filmed under a warm light, indexed: stored as white,
    red and grey (before: the white car was stored orange or yellow)."""
    size = (56, 30)
    objs = [synth.SynthObject(1, "white", [(0.5, 30, 40), (5.5, 610, 40)], size),
            synth.SynthObject(2, "red", [(0.5, 610, 150), (5.5, 30, 150)], size),
            synth.SynthObject(3, "blue", [(0.5, 30, 280), (5.5, 610, 280)], size)]
    video = synth.SynthVideo(tmp_path / "footage" / "cam1.mp4", 640, 360, 10, 6.5, objs)
    clip = synth.write_video(video, extra_args=("-vf", WARM)).path
    clip.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": START.isoformat()}))
    index_motion_only(clip.parent, tmp_path / "store")
    tubes = [record_to_tube(r) for r in Store(tmp_path / "store", create=False).tubes_arrow().to_pylist()]
    by_row = {min((40, 150, 280), key=lambda v: abs(v - float(np.mean(t.boxes_xyxy[:, [1, 3]])))): t for t in tubes}
    assert len(tubes) == 3 and set(by_row) == {40, 150, 280}
    top = {y: max(dict(t.attributes.appearance.colours.pairs()).items(), key=lambda kv: kv[1])[0]
           for y, t in by_row.items()}
    assert top == {40: "white", 150: "red", 280: "blue"}
