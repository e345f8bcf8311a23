"""TubeStage end to end on real decoded synthetic video: exact tube count, colours, directions, times,
crossings, a parked object and a 30-s stop; oracle (ground-truth) and motion detectors."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import synth

from vsearch.catalogue.tube_rows import attributes_as_dict
from vsearch.indexers import masks as mask_rle
from vsearch.indexers.base import FrameContext, SourceResult
from vsearch.indexers.decode import DecodeOptions, open_decode, probe
from vsearch.indexers.detect import MotionDetector
from vsearch.indexers.tubes import TubeConfig, TubeStage
from vsearch.records import CLASSES, Detections, Frame, SourceRef

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


class OracleDetector:
    """Ground-truth boxes of a synthetic video (track ids removed), as a weight-free detector."""

    name = "ground-truth"
    degraded = True

    def __init__(self, video: synth.SynthVideo) -> None:
        self.video = video

    def detect(self, frame: Frame) -> Detections:
        return replace(synth.gt_detections(self.video, frame), track_ids=None)

    def reset(self) -> None:
        """Stateless: nothing to forget between sources."""


def run_stage(video: synth.SynthVideo, detector, config: TubeConfig | None = None,  # noqa: ANN001
              fps: float | None = None) -> tuple[SourceResult, TubeStage, list[FrameContext]]:
    info = probe(video.path)
    frames = open_decode(video.path, info, DecodeOptions(fps=fps or video.fps, width_px=video.width))
    source = SourceRef("c0ffee" * 10 + "abcd", str(video.path), "cam-1", T0, info, float(fps or video.fps),
                       *frames.analysis_size)
    stage = TubeStage(detector, config=config)
    stage.begin(source)
    ctxs = []
    for f in frames:
        ctx = FrameContext()
        stage.process(f, ctx)
        ctxs.append(ctx)
    result = SourceResult(source)
    stage.end(result)
    return result, stage, ctxs


def match_tubes(result: SourceResult, video: synth.SynthVideo) -> dict[int, object]:
    """GT object id -> the tube whose boxes overlap it most (IoU >= 0.5 on most samples)."""
    out = {}
    for o in video.objects:
        best, best_n = None, 0
        for t in result.tubes:
            n = sum(1 for p, b in zip(t.pts_s, t.boxes_xyxy) if (g := o.box(float(p))) is not None and _iou(b, g) >= 0.5)
            if n > best_n:
                best, best_n = t, n
        if best is not None and best_n >= 0.8 * len(best):
            out[o.obj_id] = best
    return out


def _iou(a, b) -> float:  # noqa: ANN001
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def lanes(tmp_path_factory) -> synth.SynthVideo:  # noqa: ANN001
    return synth.lanes_scene(tmp_path_factory.mktemp("lanes") / "lanes.mp4")


EXPECTED_LANES = {  # object id -> (colour, direction8, class)
    1: ("red", "E", "car"), 2: ("blue", "W", "car"), 3: ("green", "N", "person"), 4: ("orange", "SE", "car"),
}


@pytest.mark.parametrize("kind", ["oracle", "motion"])
def test_n_objects_give_n_tubes_with_colour_direction_times(lanes, kind: str) -> None:  # noqa: ANN001
    det = OracleDetector(lanes) if kind == "oracle" else MotionDetector()
    result, _, _ = run_stage(lanes, det)
    assert len(result.tubes) == len(lanes.objects)
    matched = match_tubes(result, lanes)
    assert sorted(matched) == [1, 2, 3, 4]
    period = 1.0 / lanes.fps
    for o in lanes.objects:
        tube = matched[o.obj_id]
        colour, direction, cls = EXPECTED_LANES[o.obj_id]
        a = attributes_as_dict(tube.attributes)
        assert next(iter(a["colours"])) == colour or (o.lower_colour and colour in list(a["colours"])[:2])
        assert a["direction8"] == direction
        assert tube.class_name == cls and tube.class_source == "geometry"
        assert abs(tube.first_pts_s - o.waypoints[0][0]) <= period + 1e-6
        assert abs(tube.last_pts_s - o.waypoints[-1][0]) <= period + 1e-6
    person = attributes_as_dict(matched[3].attributes)
    assert next(iter(person["upper_colours"])) == "green" and next(iter(person["lower_colours"])) == "black"
    assert person["vertical"] == "up" and person["horizontal"] == "none"
    one, two = attributes_as_dict(matched[1].attributes), attributes_as_dict(matched[2].attributes)
    assert one["entry_edge"] == "left" and one["exit_edge"] == "right"
    assert two["entry_edge"] == "right" and two["exit_edge"] == "left"
    assert one["upper_colours"] == {}


def test_tube_records_are_complete(lanes) -> None:  # noqa: ANN001
    result, stage, ctxs = run_stage(lanes, OracleDetector(lanes))
    src = result.source.source_id
    assert [t.tube_id for t in result.tubes] == [f"{src[:16]}-{i:05d}" for i in range(1, len(result.tubes) + 1)]
    assert result.stage_info["tubes"].startswith("ground-truth+bytetrack")
    for t in result.tubes:
        n = len(t)
        assert t.frame_index.shape == (n,) and t.boxes_xyxy.shape == (n, 4) and len(t.masks_rle) == n
        assert np.all(np.diff(t.pts_s) > 0)
        m = mask_rle.decode(t.masks_rle[n // 2])
        assert m.mean() > 0.9  # oracle masks fill the box
        assert result.thumbnails[t.tube_id][:2] == b"\xff\xd8"
        assert 1 <= len(result.tube_crops[t.tube_id]) <= 4
        a = attributes_as_dict(t.attributes)
        assert abs(sum(a["colours"].values()) - 1.0) < 0.05
        assert a["dwell_s"] == pytest.approx(t.last_pts_s - t.first_pts_s, abs=1e-3)
        assert a["first_seen_utc"] == (T0 + dt.timedelta(seconds=t.first_pts_s)).isoformat()
        assert len(a["path"]) >= 2 and all(0 <= x <= 1 and 0 <= y <= 1 for _, x, y in a["path"])
        assert a["path"][0][0] == pytest.approx(t.first_pts_s, abs=1e-3)
        for key in ("speed_mean_fw_s", "speed_max_px_s", "stationary_max_s", "area_px", "size_px", "models"):
            assert key in a
    assert any(c.tracked is not None and len(c.tracked) > 0 and np.all(c.tracked.track_ids >= 0) for c in ctxs)
    assert stage._acc == {} and stage._tracker.active_count == 0  # nothing left active after end()


def test_tubes_are_finalised_while_footage_runs(lanes) -> None:  # noqa: ANN001
    info = probe(lanes.path)
    frames = open_decode(lanes.path, info, DecodeOptions(fps=lanes.fps, width_px=lanes.width))
    source = SourceRef("f" * 64, str(lanes.path), "c", T0, info, float(lanes.fps), *frames.analysis_size)
    stage = TubeStage(OracleDetector(lanes))
    stage.begin(source)
    for f in frames:
        stage.process(f, FrameContext())
        if f.pts_s > 4.5:  # the person (gone at 3.0 s) must already be a finished tube, its state dropped
            break
    assert [t.class_name for t in stage._tubes] == ["person"]
    assert len(stage._acc) == 3


@pytest.mark.parametrize("make", [synth.crossing_scene, synth.same_line_crossing_scene])
def test_crossing_objects_keep_their_identities(tmp_path: Path, make) -> None:  # noqa: ANN001
    video = make(tmp_path / "cross.mp4")
    result, _, _ = run_stage(video, OracleDetector(video))
    assert len(result.tubes) == len(video.objects)
    matched = match_tubes(result, video)
    assert sorted(matched) == [o.obj_id for o in video.objects]
    for o in video.objects:  # every sample of the tube lies on its own object: no swap at the crossing
        t = matched[o.obj_id]
        assert all(_iou(b, o.box(float(p))) > 0.7 for p, b in zip(t.pts_s, t.boxes_xyxy))


def test_same_line_crossing_with_motion_detector(tmp_path: Path) -> None:
    video = synth.same_line_crossing_scene(tmp_path / "cross.mp4")
    result, _, _ = run_stage(video, MotionDetector())
    assert len(result.tubes) == 2
    by_dir = {a["direction8"]: a for a in (attributes_as_dict(t.attributes) for t in result.tubes)}
    assert next(iter(by_dir["E"]["upper_colours"])) == "yellow" and next(iter(by_dir["E"]["lower_colours"])) == "blue"
    assert next(iter(by_dir["W"]["upper_colours"])) == "pink" and next(iter(by_dir["W"]["lower_colours"])) == "black"


@pytest.mark.parametrize("kind", ["oracle", "motion"])
def test_parked_object_gives_no_tube(tmp_path: Path, kind: str) -> None:
    video = synth.parked_scene(tmp_path / "parked.mp4")
    result, _, _ = run_stage(video, OracleDetector(video) if kind == "oracle" else MotionDetector())
    assert len(result.tubes) == 1
    assert next(iter(attributes_as_dict(result.tubes[0].attributes)["colours"])) == "green"
    kept, _, _ = run_stage(video, OracleDetector(video), TubeConfig(drop_static=False)) if kind == "oracle" else (None, 0, 0)
    if kept is not None:  # the option really is what drops it
        assert len(kept.tubes) == 2


@pytest.mark.parametrize("kind", ["oracle", "motion"])
def test_person_stopping_30_s_is_one_tube_with_a_30_s_stationary_period(tmp_path: Path, kind: str) -> None:
    video = synth.stop_scene(tmp_path / "stop.mp4")
    result, _, _ = run_stage(video, OracleDetector(video) if kind == "oracle" else MotionDetector())
    assert len(result.tubes) == 1
    a = attributes_as_dict(result.tubes[0].attributes)
    assert a["stationary_max_s"] == pytest.approx(30.0, abs=1.0)
    assert a["stationary_total_s"] == pytest.approx(30.0, abs=1.5)
    assert np.all(np.diff(result.tubes[0].pts_s) < 0.5)  # frames lost while standing still are bridged (score 0)
    assert a["direction8"] == "E" and result.tubes[0].class_name == "person"
    assert next(iter(a["upper_colours"])) == "red" and next(iter(a["lower_colours"])) == "blue"


def test_detect_on_activity_skips_idle_frames(lanes) -> None:  # noqa: ANN001
    class Model(OracleDetector):  # a non-degraded detector (the option is for model detectors)
        degraded = False
        name = "oracle-model"

        def detect(self, frame: Frame) -> Detections:
            d = super().detect(frame)
            return replace(d, class_ids=np.where(d.boxes_xyxy[:, 3] - d.boxes_xyxy[:, 1] > 40, CLASSES.index("person"),
                                                 CLASSES.index("car")).astype(np.int16))

    full, st_full, _ = run_stage(lanes, Model(lanes))
    gated, st_gated, _ = run_stage(lanes, Model(lanes), TubeConfig(detect_on_activity=True))
    assert st_gated.frames_detected < st_full.frames_detected
    assert len(gated.tubes) == len(full.tubes) == 4
    assert sorted(t.class_name for t in gated.tubes) == ["car", "car", "car", "person"]
    assert all(t.class_source == "oracle-model" for t in gated.tubes)
