"""Decode stage: probe fields, exact sampled pts, backend agreement, image content, damaged and bad files."""

from __future__ import annotations

import datetime as dt
import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from synth import BGR, SynthObject, SynthVideo, write_video  # tests/ is on sys.path (conftest.py)

from vsearch.errors import DecodeError, UsageError
from vsearch.indexers import decode
from vsearch.indexers.decode import BACKENDS, DecodeOptions, analysis_size, open_decode, probe
from vsearch.records import VideoInfo

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
VTEST = SHARED / "footage" / "vtest.avi"

# A red 16x24 box crossing at 500 px/s (20 px per source frame at 25 fps), so a frame decoded one frame
# early or late shows the box 20 px away from where its pts says it is.
RED = SynthObject(1, "red", [(0.0, 30.0, 120.0), (1.2, 630.0, 120.0), (2.4, 30.0, 120.0), (3.6, 630.0, 120.0)],
                  (16, 24))
BLUE = SynthObject(2, "blue", [(0.0, 320.0, 300.0), (4.0, 320.0, 300.0)], (60, 40))  # parked: colour check


def _write(path: Path, fps: int = 25, seconds: float = 4.0, codec: str = "libx264",
           extra: tuple[str, ...] = ()) -> Path:
    write_video(SynthVideo(path, 640, 360, fps, seconds, [RED, BLUE]), codec=codec, extra_args=extra)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("decode")
    return {
        "mp4": _write(d / "c25.mp4", extra=("-metadata", "creation_time=2024-05-06T07:08:09Z")),
        "ntsc": _write(d / "ntsc.mp4", fps=30, extra=("-r", "30000/1001")),
        "mkv": _write(d / "c25.mkv", seconds=6.0),
        "ts": _write(d / "c25.ts", seconds=6.0),
        "avi_mpeg4": _write(d / "c25.avi", codec="mpeg4", extra=("-q:v", "4")),
        "avi_mpeg4_bframes": _write(d / "c25bf.avi", codec="mpeg4", extra=("-q:v", "4", "-bf", "2")),
        "mp4_bframes": _write(d / "c25bf.mp4", extra=("-bf", "3", "-preset", "medium")),
    }


def _decode(path: Path, backend: str = "auto", fps: float = 5.0, width: int = 640) -> tuple[list, decode.DecodeRun]:
    run = open_decode(path, probe(path), DecodeOptions(fps=fps, width_px=width, backend=backend))
    return list(run), run


def _expected_pts(n_frames: int, rate: Fraction, fps: float = 5.0) -> list[Fraction]:
    """The sampling rule evaluated in exact arithmetic on frame k at k / rate."""
    out, last = [], None
    for k in range(n_frames):
        b = math.floor(Fraction(k) / rate * Fraction(fps))
        if last is None or b > last:
            out.append(Fraction(k) / rate)
            last = b
    return out


def _red_centroid_x(img: np.ndarray, scale: float) -> float | None:
    """x of the red box's centre in source pixels, or None when it is not visible."""
    b, g, r = (img[..., i].astype(int) for i in range(3))
    want = BGR["red"]
    mask = (abs(b - want[0]) < 40) & (abs(g - want[1]) < 40) & (abs(r - want[2]) < 40)
    if mask.sum() < 10:
        return None
    return float(np.nonzero(mask)[1].mean() + 0.5) * scale


# ----------------------------------------------------------------------------------------------- probe


def test_probe_fields(clips: dict[str, Path]) -> None:
    info = probe(clips["mp4"])
    assert isinstance(info, VideoInfo)
    assert info.codec == "h264" and "mp4" in info.container
    assert (info.width_px, info.height_px) == (640, 360)
    assert info.fps == Fraction(25) and isinstance(info.fps, Fraction)
    assert info.duration_s == pytest.approx(4.0, abs=1e-6)
    assert info.start_pts_s == 0.0
    assert info.frame_count == 100
    assert info.creation_time == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    assert info.creation_time.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2018-04-19T22:46:00.000000Z", dt.datetime(2018, 4, 19, 22, 46, tzinfo=dt.timezone.utc)),
    ("2024-05-06T09:08:09+02:00", dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)),
    ("2024-05-06 07:08:09", dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)),  # naive: UTC by convention
    ("yesterday", None),
    ("", None),
])
def test_creation_time_parsing(raw: str, expected: dt.datetime | None) -> None:
    parsed = decode._parse_creation_time(raw)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is dt.timezone.utc


def test_probe_other_containers(clips: dict[str, Path]) -> None:
    ts = probe(clips["ts"])
    assert ts.container == "mpegts" and ts.fps == Fraction(25) and ts.creation_time is None
    assert ts.start_pts_s > 0  # mpeg-ts starts at an offset; times stay on the stream's own clock
    assert ts.duration_s == pytest.approx(6.0, abs=0.05)
    mkv = probe(clips["mkv"])
    assert mkv.container.startswith("matroska") and mkv.duration_s == pytest.approx(6.0, abs=0.05)
    avi = probe(clips["avi_mpeg4"])
    assert (avi.container, avi.codec, avi.frame_count) == ("avi", "mpeg4", 100)


@pytest.mark.parametrize(("src", "width", "expected"), [
    ((1280, 720), 640, (640, 360)),
    ((1920, 1080), 640, (640, 360)),
    ((768, 576), 640, (640, 480)),
    ((320, 240), 640, (320, 240)),  # never upscaled
    ((641, 361), 1000, (640, 360)),  # even, not upscaled
    ((720, 576), 333, (332, 266)),  # odd request made even, aspect kept
])
def test_analysis_size(src: tuple[int, int], width: int, expected: tuple[int, int]) -> None:
    info = VideoInfo("mp4", "h264", src[0], src[1], Fraction(25), 1.0, 0.0, None, 25)
    w, h = analysis_size(info, width)
    assert (w, h) == expected and w % 2 == 0 and h % 2 == 0 and w <= src[0]


@pytest.mark.parametrize("kwargs", [{"fps": 0}, {"fps": -1.0}, {"width_px": 0}, {"backend": "opencv"}])
def test_bad_options_raise(kwargs: dict) -> None:
    with pytest.raises(UsageError):
        DecodeOptions(**kwargs)
    DecodeOptions()  # the defaults are valid


# ----------------------------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_pts_at_5fps_from_25fps(clips: dict[str, Path], backend: str) -> None:
    frames, run = _decode(clips["mp4"], backend)
    assert run.backend == backend
    assert len(frames) == 20 and run.frames_sampled == 20 and run.frames_decoded == 100
    for k, f in enumerate(frames):
        assert f.index == k
        assert abs(f.pts_s - k * 0.2) < 1e-9
        assert f.image.shape == (360, 640, 3) and f.image.dtype == np.uint8
        assert f.scale == 1.0
    assert run.gaps == [] and run.last_pts_s == pytest.approx(3.96, abs=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_exact_pts_from_ntsc_rate(clips: dict[str, Path], backend: str) -> None:
    info = probe(clips["ntsc"])
    assert info.fps == Fraction(30000, 1001)
    frames, run = _decode(clips["ntsc"], backend)
    assert info.frame_count == run.frames_decoded == 120
    expected = _expected_pts(120, Fraction(30000, 1001))
    assert len(frames) == len(expected) == 20
    for f, e in zip(frames, expected):
        k = f.pts_s * 30000 / 1001  # a whole number of source frame periods
        assert abs(k - round(k)) < 1e-9
        assert abs(f.pts_s - float(e)) < 1e-9


def test_slow_source_gets_every_frame(clips: dict[str, Path]) -> None:
    frames, run = _decode(clips["mp4"], "pyav", fps=30.0)
    assert len(frames) == run.frames_decoded == 100


@pytest.mark.parametrize("clip", ["mp4", "ntsc", "mkv", "ts", "avi_mpeg4", "mp4_bframes", "avi_mpeg4_bframes"])
def test_backends_select_same_pts(clips: dict[str, Path], clip: str) -> None:
    backends = [b for b in BACKENDS if not (b == "decord" and clip == "avi_mpeg4_bframes")]
    pts = {b: [f.pts_s for f in _decode(clips[clip], b)[0]] for b in backends}
    ref = pts["pyav"]
    assert len(ref) >= 20
    for b in backends:
        assert pts[b] == ref, f"{b} selected different frames than pyav on {clip}"


def test_decord_refuses_broken_timestamps(clips: dict[str, Path]) -> None:
    """decord's own timestamps are wrong on AVI with B-frames: it must refuse, not mislabel frames."""
    with pytest.raises(DecodeError, match="decord"):
        _decode(clips["avi_mpeg4_bframes"], "decord")


def test_auto_falls_back_when_default_cannot_open(clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "DEFAULT_BACKEND", "decord")
    frames, run = _decode(clips["avi_mpeg4_bframes"], "auto")
    assert run.backend != "decord" and run.fallbacks and run.fallbacks[0].startswith("decord:")
    assert len(frames) == 20


@pytest.mark.parametrize("backend", BACKENDS)
def test_image_content_at_known_position(clips: dict[str, Path], backend: str) -> None:
    """Known object colour at its known position, in frames resized to 320 px (scale 2)."""
    frames, _ = _decode(clips["mp4"], backend, width=320)
    assert frames[0].image.shape == (180, 320, 3) and frames[0].scale == 2.0
    checked = 0
    for f in frames:
        x, y = BLUE.position(f.pts_s)
        b, g, r = f.image[int(y / f.scale), int(x / f.scale)].astype(int)
        assert abs(b - BGR["blue"][0]) < 30 and abs(g - BGR["blue"][1]) < 30 and abs(r - BGR["blue"][2]) < 30
        red_x = RED.position(f.pts_s)
        seen = _red_centroid_x(f.image, f.scale)
        if red_x is not None and 40 < red_x[0] < 620 and seen is not None:
            assert seen == pytest.approx(red_x[0], abs=6), f"frame at {f.pts_s} s shows the box elsewhere"
            checked += 1
    assert checked >= 12


def test_iterating_twice_is_an_error(clips: dict[str, Path]) -> None:
    run = open_decode(clips["mp4"], probe(clips["mp4"]), DecodeOptions(backend="pyav"))
    assert len(list(run)) == 20
    with pytest.raises(RuntimeError):
        list(run)


@pytest.mark.parametrize("backend", ["ffmpeg", "pyav"])
def test_stopping_early_releases_the_decoder(clips: dict[str, Path], backend: str) -> None:
    run = open_decode(clips["mkv"], probe(clips["mkv"]), DecodeOptions(backend=backend))
    it = iter(run)
    assert [next(it).index for _ in range(3)] == [0, 1, 2]
    it.close()
    assert run.frames_sampled == 3


# ----------------------------------------------------------------------------------------------- damaged files


def _cut(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def _corrupt_middle(src: Path, dst: Path, lo: float = 0.4, hi: float = 0.5) -> Path:
    data = bytearray(src.read_bytes())
    a, b = int(len(data) * lo), int(len(data) * hi)
    data[a:b] = np.random.default_rng(7).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize("backend", BACKENDS)
def test_truncated_mkv_gives_readable_part_and_tail_gap(clips: dict[str, Path], tmp_path: Path, backend: str) -> None:
    path = _cut(clips["mkv"], tmp_path / "cut.mkv", 0.6)
    info = probe(path)
    assert info.duration_s == pytest.approx(6.0, abs=0.05)  # the header still declares the whole clip
    frames, run = _decode(path, backend)
    assert 0.4 * 6.0 < run.last_pts_s < 0.8 * 6.0
    assert frames and frames[-1].pts_s <= run.last_pts_s
    tail = run.gaps[-1]
    assert tail.reason.startswith("unreadable tail")
    assert tail.start_s == run.last_pts_s and tail.end_s == pytest.approx(6.0, abs=0.05)


@pytest.mark.parametrize("backend", ["ffmpeg", "pyav"])
def test_mid_file_corruption_gives_gap_and_continues(clips: dict[str, Path], tmp_path: Path, backend: str) -> None:
    path = _corrupt_middle(clips["ts"], tmp_path / "bad.ts")
    info = probe(path)
    end = info.start_pts_s + 6.0
    frames, run = _decode(path, backend)
    assert run.gaps, "a corrupt span must be recorded"
    g = run.gaps[0]
    assert info.start_pts_s + 1.0 < g.start_s < g.end_s < end - 1.0
    assert run.last_pts_s == pytest.approx(end - 0.04, abs=1e-6)  # decoding went on to the end
    assert frames[-1].pts_s > g.end_s
    assert all(b.pts_s > a.pts_s for a, b in zip(frames, frames[1:]))


def test_mid_file_corruption_in_mp4(clips: dict[str, Path], tmp_path: Path) -> None:
    path = _corrupt_middle(clips["mp4_bframes"], tmp_path / "bad.mp4")
    frames, run = _decode(path, "auto")
    assert run.gaps and run.last_pts_s == pytest.approx(3.96, abs=1e-6)
    assert all(b.pts_s > a.pts_s for a, b in zip(frames, frames[1:]))


# ----------------------------------------------------------------------------------------------- bad files


def _assert_one_line_naming(err: pytest.ExceptionInfo, path: Path, words: str) -> None:
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and words in msg


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(DecodeError) as err:
        probe(path)
    _assert_one_line_naming(err, path, "empty file")


def test_text_file_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("camera 3 export log\nnothing to see\n")
    with pytest.raises(DecodeError) as err:
        probe(path)
    _assert_one_line_naming(err, path, "not a video file")


@pytest.mark.parametrize("name", ["noise.mp4", "noise.bin"])
def test_random_bytes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    with pytest.raises(DecodeError) as err:
        probe(path)
    _assert_one_line_naming(err, path, "")
    assert "not a video file" in str(err.value) or "unreadable" in str(err.value)


def test_audio_only_file_is_not_a_video(tmp_path: Path) -> None:
    import subprocess

    import imageio_ffmpeg

    path = tmp_path / "audio.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1", "-c:a", "aac", str(path)], check=True)
    with pytest.raises(DecodeError) as err:
        probe(path)
    _assert_one_line_naming(err, path, "no video stream")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.mp4"
    with pytest.raises(DecodeError) as err:
        probe(path)
    _assert_one_line_naming(err, path, "cannot read")


# ----------------------------------------------------------------------------------------------- real footage


@pytest.fixture(scope="module")
def vtest() -> Path:
    if not VTEST.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared footage missing in CI: {VTEST}")
        pytest.skip(f"shared footage not present: {VTEST}")
    return VTEST


def test_vtest_avi(vtest: Path) -> None:
    info = probe(vtest)
    assert (info.container, info.codec, info.width_px, info.height_px) == ("avi", "msmpeg4", 768, 576)
    assert info.fps == Fraction(10) and info.frame_count == 795 and info.duration_s == pytest.approx(79.5)
    pts = {}
    for backend in ("ffmpeg", "pyav"):
        frames, run = _decode(vtest, backend)
        assert run.frames_decoded == 795 and run.gaps == [] and run.last_pts_s == pytest.approx(79.4)
        assert run.analysis_size == (640, 480) and frames[0].scale == pytest.approx(1.2)
        pts[backend] = [f.pts_s for f in frames]
    assert pts["ffmpeg"] == pts["pyav"]
    assert len(pts["pyav"]) == 398 and all(abs(p - 0.2 * k) < 1e-9 for k, p in enumerate(pts["pyav"]))
