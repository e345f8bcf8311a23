"""Motion gating (`--gate motion`): the cue, the gate's padding rules, and gated vs ungated indexing on real decoded
synthetic video whose objects appear after long empty stretches (real LanceDB, real coverage reports)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

import synth
from conftest import vsearch_cli
from vsearch.catalogue.store import Store
from vsearch.indexers.motion_gate import NO_MOTION, MotionCue, MotionGate, MotionGateConfig
from vsearch.indexing.control import StopControl
from vsearch.indexing.job import run_index
from vsearch.indexing.onefile import index_file
from vsearch.indexing.options import IndexOptions
from vsearch.indexing.stages import build_stages
from vsearch.indexing.sources import SourceSpec
from vsearch.query.engine import run_query
from vsearch.query.spec import QuerySpec
from vsearch.records import Frame

UTC = dt.timezone.utc
DURATION_S = 60.0
# (start, end) of each object: a near car, a person-sized one, a small far one; empty stretches between them
OBJECTS = [(15.0, 21.0, (60, 34)), (38.0, 43.0, (22, 40)), (52.0, 56.0, (12, 8))]


def _sparse(path: Path) -> synth.SynthVideo:
    objs = [synth.SynthObject(k, colour, [(a, 10, 50 + 40 * k), (b, 310, 50 + 40 * k)], size)
            for k, ((a, b, size), colour) in enumerate(zip(OBJECTS, ("red", "white", "blue")))]
    # CRF 28 (NVR-like quality): the synthetic sensor noise is quantised away, as in real idle footage
    return synth.write_video(synth.SynthVideo(path, 320, 180, 10, DURATION_S, objs), extra_args=("-crf", "28"))


@pytest.fixture(scope="module")
def sparse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sparse(tmp_path_factory.mktemp("gate") / "sparse.mp4").path


def _frame(k: int, image: np.ndarray, fps: float = 5.0) -> Frame:
    return Frame(index=k, pts_s=k / fps, image=image, scale=1.0)


# -- the cue ---------------------------------------------------------------------------------------------------


def test_cue_follows_motion_not_exposure() -> None:
    bg = synth.background(640, 360)
    cue = MotionCue(MotionGateConfig())
    assert not cue.moving(_frame(0, bg))  # nothing to compare with yet (the gate analyses the head anyway)
    assert not cue.moving(_frame(1, bg))
    brighter = np.clip(bg.astype(np.float32) * 1.35, 0, 255).astype(np.uint8)  # iris / gain / daylight
    assert not cue.moving(_frame(2, brighter))
    assert not cue.moving(_frame(3, brighter))
    for k, x in enumerate((300, 330, 360), start=4):  # a 16x12 px object at 640 px: 4x3 px in the 160-px cue
        img = brighter.copy()
        img[200:212, x:x + 16] = (245, 245, 245)
        assert cue.moving(_frame(k, img)) == (k > 4)  # from its second changed frame on (one alone is a pulse)
    for k in range(7, 12):  # it stopped: it still differs from the frame 1 s ago (lag_s) for a second
        cue.moving(_frame(k, img))
    assert not any(cue.moving(_frame(k, img)) for k in range(12, 15))


def test_cue_ignores_a_fade_and_a_shimmering_patch() -> None:
    bg = synth.background(640, 360).astype(np.float32)
    rng = np.random.default_rng(0)
    cue = MotionCue(MotionGateConfig())
    moving = []
    for k in range(100):  # 20 s: the picture fades up and loses contrast; one patch shimmers all along
        img = (bg - 110.0) * (1.0 - 0.004 * k) + 80.0 + 0.5 * k
        img[40:80, 40:120] += rng.normal(0.0, 12.0, (40, 80, 1))  # a bright road in the sun, leaves
        moving.append(cue.moving(_frame(k, np.clip(img, 0, 255).astype(np.uint8))))
    assert not any(moving[25:]), [k for k, m in enumerate(moving) if m]  # quiet once its noise is learnt


# -- the gate's rules (the cue scripted: which frames move) ----------------------------------------------------


class _Scripted(MotionCue):
    def __init__(self, moving_s: set[float]) -> None:
        self.moving_s = moving_s

    def moving(self, frame: Frame) -> bool:
        return round(frame.pts_s, 6) in self.moving_s


def _spans(gaps: list) -> list[tuple[float, float]]:  # noqa: ANN001 - Gap records
    return [(round(g.start_s, 6), round(g.end_s, 6)) for g in gaps]


def _gate(moving_s: set[float], n: int, fps: float = 5.0, **cfg: float) -> tuple[list[float], MotionGate]:
    gate = MotionGate(MotionGateConfig(**cfg), end_s=n / fps)
    gate.cue = _Scripted({round(t, 6) for t in moving_s})
    img = np.zeros((4, 4, 3), np.uint8)
    kept = [f.pts_s for f in gate.filter(_frame(k, img, fps) for k in range(n))]
    return kept, gate


def test_gate_pads_before_and_after_motion_and_records_what_it_skipped() -> None:
    kept, gate = _gate({20.0}, 200)  # 40 s at 5 fps, motion in one frame at 20 s
    want = [k / 5 for k in range(200) if k / 5 < 1.0 or 17.0 <= k / 5 <= 23.0]
    assert kept == pytest.approx(want)
    assert _spans(gate.skipped) == [(1.0, 17.0), (23.2, 40.0)]
    assert all(g.reason == NO_MOTION for g in gate.skipped)
    assert gate.frames_skipped == 200 - len(kept) and gate.frames_seen == 200


def test_short_idle_stretches_are_analysed() -> None:
    kept, gate = _gate({10.0, 19.0}, 150)  # idle between the paddings: 13-16 s (3 s < min_idle_s 4 s)
    assert _spans(gate.skipped) == [(1.0, 7.0), (22.2, 30.0)]
    assert all(7.0 - 1e-9 <= t <= 22.0 + 1e-9 for t in kept if t >= 1.0)
    assert len([t for t in kept if 7.0 <= t <= 22.0]) == 76  # every frame of 7-22 s
    kept, gate = _gate(set(), 20)  # a 4-s file without motion: the head, then a short tail analysed too
    assert len(kept) == 20 and gate.skipped == []


def test_the_gate_analyses_on_while_the_tracker_holds_a_track() -> None:
    """An object that stopped moving: no motion any more, but its track is open until it leaves at 30 s."""
    gate = MotionGate(MotionGateConfig(), end_s=60.0)
    gate.cue = _Scripted({20.0})
    seen: list[float] = []
    gate.busy = lambda: bool(seen) and 20.0 <= seen[-1] < 30.0
    img = np.zeros((4, 4, 3), np.uint8)
    for f in gate.filter(_frame(k, img) for k in range(300)):
        seen.append(f.pts_s)
    assert _spans(gate.skipped) == [(1.0, 17.0), (33.2, 60.0)]  # analysed to 3 s after the track ended


def test_skipped_between_clips_to_a_checkpoint() -> None:
    _, gate = _gate({20.0}, 200)
    assert _spans(gate.skipped_between(10.0, 30.0)) == [(10.0, 17.0), (23.2, 30.0)]


# -- gated vs ungated indexing ---------------------------------------------------------------------------------


def _mean_iou(a: np.ndarray, b: np.ndarray) -> float:
    lo, hi = np.maximum(a[:, :2], b[:, :2]), np.minimum(a[:, 2:], b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], axis=1)  # noqa: E731
    return float(np.mean(inter / (area(a) + area(b) - inter)))


def _index(path: Path, gate: str, tmp_path: Path):  # noqa: ANN202 - FileOutcome
    opts = IndexOptions(store=tmp_path / "store", detector="motion", models_dir=tmp_path / "no-models", gate=gate)
    stages, _, _ = build_stages(opts)
    spec = SourceSpec(path, camera="cam", start=dt.datetime(2026, 11, 20, 13, tzinfo=UTC), start_origin="option")
    return index_file(spec, opts, {}, "job", "{}", stages)


def test_gated_indexing_finds_the_tubes_of_ungated_indexing(sparse: Path, tmp_path: Path) -> None:
    off = _index(sparse, "off", tmp_path)
    on = _index(sparse, "motion", tmp_path)
    assert off.status == on.status == "ok", (off.message, on.message)
    assert off.result is not None and on.result is not None and off.row is not None and on.row is not None
    assert len(off.result.tubes) == len(OBJECTS)
    assert len(on.result.tubes) == len(off.result.tubes)
    for a, b in zip(off.result.tubes, on.result.tubes):  # same frames inside the analysed spans: same tubes
        assert list(b.pts_s) == list(a.pts_s)
        # boxes of the motion-only detector: its background relearnt over the 3 s of padding after each skip
        assert _mean_iou(a.boxes_xyxy, b.boxes_xyxy) > 0.8
    assert on.row.frames_sampled < 0.7 * off.row.frames_sampled  # analysed: 0-1, 12-24, 35-60 s
    assert on.row.frames_decoded == off.row.frames_decoded  # decoded once, as ungated
    skipped = [(g.start_s, g.end_s) for g in on.row.gaps]
    assert {g.reason for g in on.row.gaps} == {NO_MOTION} and off.row.gaps_json == "[]"
    for a, b, _ in OBJECTS:  # nothing skipped while an object is in view, nor within 2 s of it
        assert not any(s < b + 2.0 and e > a - 2.0 for s, e in skipped), (a, b, skipped)
    assert sum(e - s for s, e in skipped) > 20.0  # the rest (22 s) skipped
    assert any("motion gate" in w for w in on.result.warnings)


def test_skipped_stretches_appear_in_every_searchs_coverage(sparse: Path, tmp_path: Path) -> None:
    store = tmp_path / "s"
    report = run_index([sparse], IndexOptions(store=store, detector="motion", gate="motion", camera="cam",
                                              start="2026-11-20T14:00:00+01:00"))
    assert report.counts["ok"] == 1
    cov = run_query(Store(store), QuerySpec()).coverage
    skipped = [g for g in cov.gaps if g["reason"] == NO_MOTION]
    assert skipped and all(g["camera"] == "cam" for g in skipped)
    assert skipped[0]["from_utc"] == "2026-11-20T13:00:01+00:00"  # after the always-analysed first second
    assert [r.status for r in Store(store).sources()] == ["ok"]
    listed = json.loads(vsearch_cli("sources", "--store", str(store), "--json").stdout)[0]
    assert listed["status"] == "ok" and any(g["reason"] == NO_MOTION for g in listed["gaps"])


def test_a_gated_job_stopped_inside_the_file_resumes_with_the_same_tubes(sparse: Path, tmp_path: Path) -> None:
    ref = run_index([sparse], IndexOptions(store=tmp_path / "ref", detector="motion", gate="motion", camera="cam",
                                           start="2026-11-20T14:00:00+01:00", chunk_s=3600.0))
    assert ref.counts["ok"] == 1
    opts = IndexOptions(store=tmp_path / "s", detector="motion", gate="motion", camera="cam",
                        start="2026-11-20T14:00:00+01:00", chunk_s=10.0)
    deadline = dt.datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    readings = iter([deadline - dt.timedelta(seconds=1)] * 5)  # plan, file, boundaries 10, 20, 30 s: go on
    control = StopControl(deadline_utc=deadline, clock=lambda: next(readings, deadline))
    first = run_index([sparse], opts, control=control)
    assert first.files[0]["status"] == "stopped" and "t = 40.0 s" in first.files[0]["message"]
    row = Store(tmp_path / "s").sources()[0]
    assert any(g.reason == NO_MOTION and g.end_s <= 40.0 for g in row.gaps)  # the committed part's skips
    again = run_index([sparse], opts)
    assert again.files[0]["status"] == "ok"
    got, want = Store(tmp_path / "s"), Store(tmp_path / "ref")
    a = {r["tube_id"]: (r["frame_index"], r["boxes_xyxy"]) for r in want.tubes_arrow().to_pylist()}
    b = {r["tube_id"]: (r["frame_index"], r["boxes_xyxy"]) for r in got.tubes_arrow().to_pylist()}
    assert a == b and len(a) == len(OBJECTS)
    gaps = sorted((g.start_s, g.end_s) for g in got.sources()[0].gaps)
    assert all(g.reason == NO_MOTION for g in got.sources()[0].gaps)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(gaps, gaps[1:]))  # no stretch recorded twice
    for a_s, b_s, _ in OBJECTS:
        assert not any(s < b_s + 2.0 and e > a_s - 2.0 for s, e in gaps)


def test_bad_gate_is_one_clear_line(sparse: Path, tmp_path: Path) -> None:
    r = vsearch_cli("index", str(sparse), "--gate", "sometimes", "--store", str(tmp_path / "s"))
    assert r.returncode != 0 and "--gate must be one of auto, off, motion, packets" in r.stderr
    assert "Traceback" not in r.stderr
