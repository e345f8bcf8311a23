"""Activity gating: the packet-size pre-scan, span decoding, and gated vs ungated indexing (real decoded video)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

import synth
from vsearch.errors import UsageError
from vsearch.indexers.activity import NO_ACTIVITY, ActivityConfig, active_mask, scan_activity, spans_from_mask
from vsearch.indexers.decode import DecodeOptions, open_decode, probe
from vsearch.indexing.onefile import index_file
from vsearch.indexing.options import IndexOptions
from vsearch.indexing.stages import build_stages
from vsearch.indexing.sources import SourceSpec

DURATION_S = 30.0
OBJ_T = (10.0, 20.0)  # the object is in the middle third only
FPS = 10


def _middle_third(path: Path) -> synth.SynthVideo:
    obj = synth.SynthObject(1, "red", [(OBJ_T[0], 10, 90), (OBJ_T[1], 310, 90)], (96, 64))  # a near car: a clear signal
    # CRF 28 (NVR-like quality): the synthetic sensor noise is quantised away, as in real idle footage
    return synth.write_video(synth.SynthVideo(path, 320, 180, FPS, DURATION_S, [obj]), extra_args=("-crf", "28"))


def _busy(path: Path) -> synth.SynthVideo:
    objs = [synth.SynthObject(1, "red", [(0.0, 20, 60), (6.0, 300, 60)], (40, 28)),
            synth.SynthObject(2, "blue", [(0.0, 300, 130), (6.0, 20, 130)], (40, 28))]
    return synth.write_video(synth.SynthVideo(path, 320, 180, FPS, 6.0, objs))


@pytest.fixture(scope="module")
def middle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _middle_third(tmp_path_factory.mktemp("act") / "middle.mp4").path


def _covered(spans: tuple[tuple[float, float], ...], a: float, b: float) -> bool:
    return any(s <= a and b <= e for s, e in spans)


def test_prescan_finds_the_active_middle(middle: Path) -> None:
    cfg = ActivityConfig()
    scan = scan_activity(middle, probe(middle), cfg)
    assert scan.gated, scan.reason
    # the object's whole time is decoded, with at least a few seconds of padding around it
    assert _covered(scan.spans, OBJ_T[0] - 2.0, OBJ_T[1] + 2.0), scan.spans
    # ... and the empty thirds are skipped (apart from the always-decoded head and the padding)
    assert _covered(scan.idle, cfg.head_s + 0.5, OBJ_T[0] - cfg.pad_s - 0.5), scan.idle
    assert _covered(scan.idle, OBJ_T[1] + cfg.pad_s + 0.5, DURATION_S), scan.idle
    assert not any(a < OBJ_T[1] and b > OBJ_T[0] for a, b in scan.idle)
    assert 0.3 < scan.active_fraction < 0.7


def test_busy_file_is_not_gated(tmp_path: Path) -> None:
    path = _busy(tmp_path / "busy.mp4").path
    info = probe(path)
    scan = scan_activity(path, info)
    assert not scan.gated and scan.idle == ()
    assert scan.spans == ((info.start_pts_s, info.start_pts_s + info.duration_s),)


def test_keyframe_spikes_are_not_activity() -> None:
    fps = 10.0
    sizes = np.full(300, 400.0)
    keys = np.zeros(300, bool)
    keys[::20] = True
    sizes[keys] = 40_000.0  # keyframes every 2 s
    sizes[150:170] = 6_000.0  # one real event at 15-17 s
    mask, idle, thr, reason = active_mask(sizes, keys, fps, ActivityConfig())
    assert mask is not None, reason
    assert set(np.flatnonzero(mask)) <= set(range(148, 172))
    assert mask[155:165].all() and idle == pytest.approx(400.0)
    spans = spans_from_mask(np.arange(300) / fps, mask, 0.0, 30.0, 0.1, ActivityConfig())
    assert spans[0] == (0.0, 1.0) and spans[1][0] <= 12.0 and spans[1][1] >= 20.0 and len(spans) == 2


def test_no_contrast_means_no_gating() -> None:
    rng = np.random.default_rng(0)
    sizes = rng.uniform(9000, 12000, 500)  # a constant-bitrate stream: sizes say nothing about motion
    mask, _, _, reason = active_mask(sizes, np.zeros(500, bool), 25.0, ActivityConfig())
    assert mask is None and reason.startswith("no contrast")


def test_span_decoding_yields_exactly_the_full_decodes_frames(middle: Path) -> None:
    info = probe(middle)
    full = {f.pts_s: f.image for f in open_decode(middle, info, DecodeOptions(fps=5, width_px=320))}
    spans = ((2.05, 4.0), (11.3, 15.0))
    for backend in ("ffmpeg", "pyav"):
        run = open_decode(middle, info, DecodeOptions(fps=5, width_px=320, backend=backend, spans=spans))
        got = {f.pts_s: f.image for f in run}
        bins = {k for k in full if any(np.floor(a * 5 + 1e-6) <= np.floor(k * 5 + 1e-6) < np.ceil(b * 5)
                                       for a, b in spans)}
        assert set(got) == bins, backend
        assert run.gaps == [], backend  # skipped stretches are not gaps
        if backend == "ffmpeg":
            assert all(np.array_equal(full[k], got[k]) for k in got)
            assert run.frames_decoded < DURATION_S * FPS / 2  # only the spans were decoded


@pytest.mark.parametrize("spans", [((3.0, 2.0),), ((1.0, 5.0), (4.0, 6.0))])
def test_bad_spans_raise(spans: tuple[tuple[float, float], ...]) -> None:
    with pytest.raises(UsageError):
        DecodeOptions(spans=spans)
    DecodeOptions(spans=((1.0, 2.0), (2.0, 3.0)))


def _index(path: Path, gate: str, tmp_path: Path):  # noqa: ANN202 - FileOutcome
    opts = IndexOptions(store=tmp_path / "store", detector="motion", models_dir=tmp_path / "no-models",
                        gate=gate, camera="cam", start="2026-11-20T14:00:00+01:00")
    stages, _, _ = build_stages(opts)
    spec = SourceSpec(path, camera="cam", start=dt.datetime(2026, 11, 20, 13, tzinfo=dt.timezone.utc),
                      start_origin="option")
    return index_file(spec, opts, {}, "job", "{}", stages)


def test_gated_indexing_keeps_every_tube(middle: Path, tmp_path: Path) -> None:
    off = _index(middle, "off", tmp_path)
    on = _index(middle, "packets", tmp_path)
    assert off.status == on.status == "ok"
    assert off.result is not None and on.result is not None
    assert off.result.tubes, "the synthetic object must make a tube"
    assert len(on.result.tubes) == len(off.result.tubes)
    for a, b in zip(off.result.tubes, on.result.tubes):
        assert abs(a.first_pts_s - b.first_pts_s) <= 0.2 + 1e-6  # one sample at 5 fps
        assert abs(a.last_pts_s - b.last_pts_s) <= 0.2 + 1e-6
    assert on.row is not None and off.row is not None
    assert on.row.frames_sampled < off.row.frames_sampled * 0.75
    # idle stretches are listed with the gaps (coverage names them) but do not make the file partial
    assert {g.reason for g in on.row.gaps} == {NO_ACTIVITY} and off.row.gaps_json == "[]"
    assert any(a <= OBJ_T[0] - 9.0 and b >= OBJ_T[0] - 4.0 for a, b in ((g.start_s, g.end_s) for g in on.row.gaps))
    assert any("idle stretch" in w for w in on.result.warnings)
    assert not any("idle stretch" in w for w in off.result.warnings)


def test_file_without_idle_stretch_is_fully_decoded(tmp_path: Path) -> None:
    path = _busy(tmp_path / "busy.mp4").path
    off = _index(path, "off", tmp_path)
    on = _index(path, "packets", tmp_path)
    assert on.row is not None and off.row is not None
    assert on.row.frames_sampled == off.row.frames_sampled
    assert on.row.frames_decoded == off.row.frames_decoded
    assert on.result is not None and not any("idle stretch" in w for w in on.result.warnings)


def test_bad_gate_option_raises() -> None:
    with pytest.raises(UsageError, match="--gate must be one of"):
        IndexOptions(gate="sometimes")
    IndexOptions(gate="packets")
