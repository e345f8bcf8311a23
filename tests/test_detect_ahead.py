"""The detect stage's look-ahead: the next frame's network runs while this one is tracked, and nothing else changes.

Real decoding, the real pvb-2002 network on OpenVINO, real LanceDB. What must hold: the same tubes (ids, times,
boxes, exactly) with and without look-ahead, with and without the motion gate; a stop at a checkpoint with a frame
in flight commits the checkpoint a run without look-ahead commits, and the rerun gives the uninterrupted tubes; the
motion gate decides exactly as without peeking.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import synth
from conftest import shared_path
from vsearch.catalogue.store import Store
from vsearch.indexers.decode import DecodeOptions, open_decode, probe
from vsearch.indexing.control import StopControl
from vsearch.indexing.gating import FileGate
from vsearch.indexing.job import run_index
from vsearch.indexing.onefile import index_file
from vsearch.indexing.options import IndexOptions
from vsearch.indexing.stages import build_stages
from vsearch.indexing.prefetch import Peekable
from vsearch.indexing.sources import SourceSpec

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def car_clip() -> Path:
    return shared_path("footage", "intel", "car-detection.mp4")  # 30 s, 4 car tubes with pvb-2002


def _opts(store: Path, **kw: object) -> IndexOptions:
    return IndexOptions(store=store, detector="pvb-2002", models_dir=shared_path("models"), camera="cam",
                        start="2026-11-20T10:00:00Z", **kw)  # type: ignore[arg-type]


def _tube_rows(store: Path) -> list[tuple]:
    rows = Store(store).tubes_arrow().to_pylist()
    return sorted((r["tube_id"], r["frame_index"], np.round(np.asarray(r["boxes_xyxy"], float), 4).tolist())
                  for r in rows)


@pytest.mark.parametrize("gate", ["off", "motion"])
def test_the_same_tubes_with_and_without_look_ahead(car_clip: Path, gate: str) -> None:
    spec = SourceSpec(car_clip, camera="cam", start=dt.datetime(2026, 1, 1, tzinfo=UTC), start_origin="option")
    out = {}
    for ahead in (False, True):
        opts = _opts(Path("/nonexistent"), gate=gate, detect_ahead=ahead)
        stages, _, _ = build_stages(opts)
        res = index_file(spec, opts, {}, "job", "{}", stages)
        assert res.result is not None, res.message
        detect = stages[0]
        # on: every frame but the first was started while the one before it was tracked (with the motion gate:
        # not while it holds frames it has not decided on yet); off: none
        started, detected = detect.frames_started_ahead, detect.frames_detected  # type: ignore[attr-defined]
        if not ahead:
            assert started == 0
        else:
            assert started == detected - 1 if gate == "off" else detected // 2 < started < detected
        out[ahead] = ([(t.tube_id, t.pts_s.tolist(), t.boxes_xyxy.tolist(), t.class_name, t.masks_rle, t.attributes)
                       for t in res.result.tubes], res.row.gaps_json if res.row else None)
    assert len(out[True][0]) >= 3
    assert out[True] == out[False]


def test_a_stop_with_a_frame_in_flight_commits_the_same_checkpoint(car_clip: Path, tmp_path: Path) -> None:
    """Deadline at the 20 s boundary of 10 s chunks: the frame at 20 s was started ahead when the job stopped."""
    deadline = dt.datetime(2026, 12, 2, 6, 0, tzinfo=UTC)

    def stop_at_20_s() -> StopControl:  # clock readings: the plan, before the file, boundary 10 s; then past it
        left = [3]

        def clock() -> dt.datetime:
            left[0] -= 1
            return deadline - dt.timedelta(seconds=1) if left[0] >= 0 else deadline
        return StopControl(deadline_utc=deadline, clock=clock)

    rows = {}
    for ahead in (False, True):
        store = tmp_path / f"ahead-{ahead}"
        report = run_index([car_clip], _opts(store, chunk_s=10.0, detect_ahead=ahead), control=stop_at_20_s())
        assert report.files[0]["status"] == "stopped"
        (row,) = Store(store).sources()
        # frames_decoded counts the source frames ffmpeg reports, read from its log while it decodes ahead of the
        # frames taken: a statistic that varies from run to run with or without look-ahead
        ckpt = {k: v for k, v in json.loads(row.checkpoint_json or "{}").items() if k != "frames_decoded"}
        rows[ahead] = (row.status, row.indexed_to_s, ckpt, row.gaps_json, _tube_rows(store))
    assert rows[True][1] == pytest.approx(20.0)
    assert rows[True] == rows[False]

    again = run_index([car_clip], _opts(tmp_path / "ahead-True", chunk_s=10.0))  # resumes, look-ahead on
    assert again.files[0]["status"] == "ok"
    ref = run_index([car_clip], _opts(tmp_path / "ref", chunk_s=10.0, detect_ahead=False))
    assert ref.files[0]["status"] == "ok"
    assert _tube_rows(tmp_path / "ahead-True") == _tube_rows(tmp_path / "ref")
    assert len(_tube_rows(tmp_path / "ref")) >= 3


def test_peeking_does_not_change_what_the_motion_gate_lets_through(tmp_path: Path) -> None:
    """A sparse synthetic clip (objects with empty stretches between): the gate lets the same frames through and
    records the same skipped stretches whether or not the next frame is peeked at after each one; the peeked
    frame is the next one let through except where the gate begins to hold frames back (an idle stretch: one wasted
    network run there, whether the stretch is then skipped or let through)."""
    objs = [synth.SynthObject(k, c, [(a, 10, 60 + 50 * k), (b, 310, 60 + 50 * k)], (30, 24))
            for k, ((a, b), c) in enumerate(zip(((2.0, 7.0), (20.0, 25.0)), ("red", "white")))]
    video = synth.write_video(synth.SynthVideo(tmp_path / "sparse.mp4", 320, 180, 10, 34.0, objs),
                              extra_args=("-crf", "28"))
    info = probe(video.path)

    def through(peek: bool) -> tuple[list[float], list, int]:
        gate = FileGate("motion", video.path, info, end_s=info.duration_s, resume=None,
                        busy=lambda: False)
        frames = gate.frames(open_decode(video.path, info, DecodeOptions(fps=5.0, width_px=320)))
        out, wrong, guess = [], 0, None
        for f in frames:
            if guess is not None and guess.pts_s != f.pts_s:
                wrong += 1
            out.append(f.pts_s)
            guess = gate.upcoming() if peek else None
        return out, gate.skipped(), wrong

    plain, skipped, _ = through(peek=False)
    peeked, skipped_peeked, wrong = through(peek=True)
    assert skipped, "the clip must have idle stretches for this test to mean anything"
    assert peeked == plain and skipped_peeked == skipped
    assert 0 < len(plain) < 34 * 5
    assert len(skipped) <= wrong < len(plain) / 10


def test_peekable_raises_a_decoding_error_where_the_stream_met_it() -> None:
    def stream():  # noqa: ANN202
        yield 1
        yield 2
        raise OSError("corrupt")

    p = Peekable(stream())
    assert next(p) == 1 and p.peek() == 2 and p.peek() == 2 and next(p) == 2
    assert p.peek() is None  # the error is kept for the next() that meets it
    with pytest.raises(OSError, match="corrupt"):
        next(p)
    q = Peekable(iter([7]))
    assert q.peek() == 7 and list(q) == [7] and q.peek() is None


def test_a_frame_started_ahead_for_other_pixels_is_not_used(car_clip: Path) -> None:
    """The look-ahead matches a run to its frame by the frame's pixels (the same image), not by number or time:
    a frame with the same index and time but other pixels gets its own run."""
    from vsearch.indexers.detect import make_detector
    from vsearch.indexers.detect_stage import DetectStage
    from vsearch.indexers.base import FrameContext
    from vsearch.models.resolve import resolve_models

    info = probe(car_clip)
    stage = DetectStage(make_detector("pvb-2002", resolve_models(shared_path("models"))).detector)
    counts = {}
    for f in open_decode(car_clip, info, DecodeOptions()):
        counts.setdefault(len(stage.detector.detect(f).boxes_xyxy) > 0, f)
        if len(counts) == 2:
            break
    a, b = counts[False], counts[True]  # a frame without a car, one with
    stage.begin(None)  # type: ignore[arg-type]
    stage.start_ahead(a)
    impostor = replace(b, index=a.index, pts_s=a.pts_s)  # a's number and time, b's pixels
    ctx = FrameContext()
    stage.process(impostor, ctx)
    assert ctx.detections is not None
    np.testing.assert_array_equal(ctx.detections.detections.boxes_xyxy, stage.detector.detect(b).boxes_xyxy)
    assert len(ctx.detections.detections.boxes_xyxy) > 0


def test_one_detector_thread_gives_the_boxes_of_two(car_clip: Path) -> None:
    """The detector runs on one OpenVINO thread by default (the look-ahead overlaps it with the tracker): its
    boxes are those of the two-thread network it replaced, bit for bit, on real frames with cars."""
    from vsearch.indexers.detect import DEFAULT_THREADS, make_detector
    from vsearch.models.resolve import resolve_models

    models = resolve_models(shared_path("models"))
    one = make_detector("pvb-2002", models).detector
    two = make_detector("pvb-2002", models, threads=2).detector
    assert DEFAULT_THREADS == 1
    n = 0
    for k, f in enumerate(open_decode(car_clip, probe(car_clip), DecodeOptions())):
        if k % 2:
            continue
        a, b = one.detect(f), two.detect(f)
        np.testing.assert_array_equal(a.boxes_xyxy, b.boxes_xyxy)
        np.testing.assert_array_equal(a.scores, b.scores)
        n += len(a.boxes_xyxy)
    assert n >= 20
