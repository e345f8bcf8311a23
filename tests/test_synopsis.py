"""Synopsis and passages on a synthetic 10-minute video with 12 objects of known colour, path and timing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import synth
from vsearch.synopsis.background import SourceClip, masked_median
from vsearch.synopsis.collisions import pairwise_iou
from vsearch.errors import DecodeError, UsageError
from vsearch.synopsis.passages import PassageOptions, render_passages
from vsearch.synopsis.render import SynopsisOptions, render_synopsis
from vsearch.synopsis.plan import PlanItem, PlanLimits, disorder_share, plan_placement

SID = "5e" * 32
START = dt.datetime(2024, 5, 1, 13, 0, tzinfo=dt.timezone.utc)
OPTS = SynopsisOptions(max_duration_s=60.0)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    video, palette = synth.synopsis_scene(tmp_path_factory.mktemp("synopsis") / "scene.mp4")
    tubes = synth.tubes_from_truth(video, SID, "gate-2")
    clip = SourceClip(SID, video.path, "gate-2", START, 0.0, video.width, video.height, Fraction(video.fps), 1.0,
                      video.duration_s, tuple(tubes))
    matching = [t for t in tubes if t.track_no < 6]
    others = [t for t in tubes if t.track_no >= 6]
    assert len(tubes) == 12 and len(matching) == 6
    return video, palette, clip, matching, others


def truth_colour(scene, tube) -> str:  # noqa: ANN001
    """The ground-truth colour of the object a ground-truth tube was made from (track_no = object id)."""
    return next(o.colour for o in scene[0].objects if o.obj_id == tube.track_no)


@pytest.fixture(scope="module")
def rendered(scene, tmp_path_factory):
    _, _, clip, matching, _ = scene
    out = tmp_path_factory.mktemp("render") / "syn.mp4"
    calls = []
    result = render_synopsis(matching, {SID: clip}, out, OPTS, progress=lambda d, t: calls.append((d, t)))
    return result, decode_all(out), calls


def decode_all(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(c.streams.video[0])]


def colour_blob(img: np.ndarray, bgr, tol: int = 40) -> np.ndarray:
    """Pixels within `tol` (per channel) of `bgr`, eroded 3x3 so thin blended edges do not count."""
    near = np.all(np.abs(img.astype(np.int16) - np.array(bgr, np.int16)) <= tol, axis=2).astype(np.uint8)
    return cv2.erode(near, np.ones((3, 3), np.uint8)).astype(bool)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_synopsis_is_short_and_reports_metrics(rendered, scene):
    result, frames, calls = rendered
    (part,) = result.parts
    assert part.video_path.exists() and part.sidecar_path.exists() and part.vtt_path.exists()
    assert len(frames) == part.frames and len(frames) / float(part.fps) <= 60.0
    assert (frames[0].shape[1], frames[0].shape[0]) == (320, 180)
    m = part.metrics
    assert m.objects == 6 and m.max_duration_met
    assert m.synopsis_duration_s <= 60.0
    assert m.condensation_ratio == pytest.approx(m.source_span_s / m.synopsis_duration_s, rel=1e-3)
    assert m.source_span_s == pytest.approx(470 + 35 - 20, abs=0.5)
    assert m.collision_rate <= m.max_collision == 0.05 and m.max_collision_met
    # six objects on six rows can all play at once: the synopsis is as long as the longest of them
    assert m.lower_bound_s <= m.synopsis_duration_s == pytest.approx(35.2, abs=0.2)
    assert 0.0 <= m.disorder <= 0.5 and m.label_overlaps == 0
    side = json.loads(part.sidecar_path.read_text())
    assert side["metrics"]["condensation_ratio"] == m.condensation_ratio
    assert side["frames"] == part.frames and len(side["tubes"]) == 6
    assert calls and calls[-1][0] == calls[-1][1]  # progress reached its total
    assert part.vtt_path.read_text().startswith("WEBVTT")


def label_rect(side: dict, frame: int, tube_id: str) -> tuple[int, int, int, int]:
    """The label rectangle the sidecar gives for `tube_id` on synopsis frame `frame`."""
    pos = [t["tube_id"] for t in side["tubes"]].index(tube_id)
    (row,) = [o for o in side["frame_objects"][frame] if o[0] == pos]
    return tuple(row[6:10])


def has_text(img: np.ndarray, rect) -> bool:
    """Bright strokes with a dark outline inside `rect` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = rect
    roi = img[y0:y1, x0:x1].astype(np.int16)
    bright = (roi.max(axis=2) >= 190).sum()
    dark = (roi.max(axis=2) <= 60).sum()
    return bright >= 6 and dark >= 6


def test_every_matching_object_is_where_the_source_map_says_with_a_label(rendered, scene):
    result, frames, _ = rendered
    _, palette, _, matching, _ = scene
    part = result.parts[0]
    side = json.loads(part.sidecar_path.read_text())
    colour_of = {t.tube_id: palette[truth_colour(scene, t)] for t in matching}
    for e in part.entries:
        for syn_s, pts_s, box in [e.samples[len(e.samples) * q // 4] for q in (1, 2, 3)]:
            k = int(round(syn_s * float(part.fps)))
            img = frames[k]
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            inside = colour_blob(img, colour_of[e.tube_id])[y0 + 2:y1 - 2, x0 + 2:x1 - 2]
            assert inside.mean() > 0.6, (e.tube_id, syn_s)
            rect = label_rect(side, k, e.tube_id)
            assert 0 <= rect[0] < rect[2] <= part.width_px and 0 <= rect[1] < rect[3] <= part.height_px
            assert has_text(img, rect), f"no label for {e.tube_id} at {syn_s}"


def test_non_matching_objects_never_appear(rendered, scene):
    _, frames, _ = rendered
    _, palette, _, _, others = scene
    for t in others:
        colour = palette[truth_colour(scene, t)]
        hits = [i for i, f in enumerate(frames) if colour_blob(f, colour).any()]
        assert not hits, f"{truth_colour(scene, t)} visible in synopsis frames {hits[:5]}"


def test_source_map_maps_back_to_source_time_and_ground_truth(rendered, scene):
    result, _, _ = rendered
    video, _, _, matching, _ = scene
    part = result.parts[0]
    by_id = {t.tube_id: t for t in matching}
    truth = {o.obj_id: o for o in video.objects}
    for e in part.entries:
        t = by_id[e.tube_id]
        assert e.source_start_pts_s == pytest.approx(t.first_pts_s)
        assert e.wall_start == (START + dt.timedelta(seconds=t.first_pts_s)).isoformat(timespec="milliseconds")
        for syn_s, pts_s, box in e.samples:
            assert e.source_pts_at(syn_s) == pytest.approx(pts_s, abs=1e-3)
            assert box == pytest.approx(truth[t.track_no].box(pts_s), abs=0.01)


def test_render_twice_gives_identical_bytes(rendered, scene, tmp_path):
    result, _, _ = rendered
    _, _, clip, matching, _ = scene
    again = render_synopsis(list(reversed(matching)), {SID: clip}, tmp_path / "syn.mp4", OPTS).parts[0]
    first = result.parts[0]
    assert sha(again.video_path) == sha(first.video_path)
    assert sha(again.sidecar_path) == sha(first.sidecar_path)
    assert sha(again.vtt_path) == sha(first.vtt_path)


def test_crops_cut_in_a_second_process_give_the_same_bytes(rendered, scene, tmp_path, monkeypatch):
    # large jobs cut their crops in a child process while the parent plans; force it on this small scene
    from vsearch.synopsis import cutter
    monkeypatch.setattr(cutter, "CHILD_MIN_CROPS", 0)
    spill = tmp_path / "tmp"  # a folder of its own: another process's leftovers in /tmp are not this test's
    spill.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill))
    first = rendered[0].parts[0]
    _, _, clip, matching, _ = scene
    again = render_synopsis(matching, {SID: clip}, tmp_path / "syn.mp4", OPTS).parts[0]
    assert sha(again.video_path) == sha(first.video_path)
    assert sha(again.sidecar_path) == sha(first.sidecar_path)
    assert not list(spill.glob("vsearch-crops-*"))  # its file is removed


def test_a_decode_error_in_the_crop_process_reaches_the_caller(scene, tmp_path, monkeypatch):
    from vsearch.synopsis import cutter
    monkeypatch.setattr(cutter, "CHILD_MIN_CROPS", 0)
    _, _, clip, matching, _ = scene
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip.path.read_bytes()[:4096])  # truncated: the header only
    tube = matching[0]
    job = cutter.CutJob((replace(clip, path=broken),), (tube,), (np.array([tube.first_pts_s]),), (320, 180), 4)
    with cutter.Cutter(job, lambda: None) as cut:
        assert cut.in_child
        with pytest.raises(DecodeError, match="broken.mp4"):
            cut.wait()


def test_passages_cut_merge_and_mask(scene, tmp_path):
    video, palette, clip, matching, others = scene
    opts = PassageOptions(padding_s=2.0)
    with pytest.raises(UsageError, match="given twice"):
        render_passages(matching[:2] + [matching[1]], {SID: clip}, tmp_path / "bad.mp4", opts)
    (part,) = render_passages(matching[:2], {SID: clip}, tmp_path / "pas.mp4", opts).parts
    spans = [(t.first_pts_s - 2, t.last_pts_s + 2) for t in matching[:2]]
    expected = sum(b - a for a, b in spans)
    frames = decode_all(part.video_path)
    assert len(part.passages) == 2
    assert len(frames) / float(part.fps) == pytest.approx(expected, abs=2 / float(part.fps))
    assert part.passages[1].source_start_pts_s == pytest.approx(spans[1][0])
    for t in others:  # objects 7 and 11 run during the second passage: masked
        colour = palette[truth_colour(scene, t)]
        assert not any(colour_blob(f, colour).any() for f in frames), truth_colour(scene, t)
    for t in matching[:2]:
        seen = sum(colour_blob(f, palette[truth_colour(scene, t)]).any() for f in frames)
        assert seen >= 0.9 * (t.last_pts_s - t.first_pts_s) * float(part.fps)
    # the timestamp is burnt in at the top left
    assert np.all(frames[0][:20, :150] >= 200, axis=2).sum() >= 20


def test_passages_merge_overlapping_spans(scene, tmp_path):
    _, _, clip, matching, _ = scene
    late = matching[1]
    shifted = replace(late, tube_id=late.tube_id + "x", pts_s=late.pts_s - 80.0)
    # matching[0] spans 20-45 s; `shifted` spans 30-57 s: one merged passage 18-59 s
    (part,) = render_passages([matching[0], shifted], {SID: clip}, tmp_path / "m.mp4",
                              PassageOptions(padding_s=2.0)).parts
    assert len(part.passages) == 1
    p = part.passages[0]
    assert (p.source_start_pts_s, p.source_end_pts_s) == pytest.approx((18.0, shifted.last_pts_s + 2.0))


def test_passages_need_all_tubes(scene, tmp_path):
    _, _, clip, matching, _ = scene
    bare = replace(clip, all_tubes=None)
    with pytest.raises(UsageError, match="all tubes"):
        render_passages(matching, {SID: bare}, tmp_path / "p.mp4")


@pytest.mark.parametrize("kwargs", [{"density": 0}, {"max_duration_s": -1}, {"fps": Fraction(0)},
                                    {"feather_px": -1}])
def test_bad_options_raise(kwargs):
    with pytest.raises(UsageError):
        SynopsisOptions(**kwargs)
    SynopsisOptions()  # defaults are valid


def test_unknown_source_and_empty_query_raise(scene, tmp_path):
    _, _, clip, matching, _ = scene
    with pytest.raises(UsageError, match="matched nothing"):
        render_synopsis([], {SID: clip}, tmp_path / "x.mp4")
    with pytest.raises(UsageError, match="not among the clips"):
        render_synopsis(matching, {}, tmp_path / "x.mp4")


def _item(key: str, t: float, n: int, x: float) -> PlanItem:
    boxes = np.tile(np.array([[x, 10, x + 20, 30]], float), (n, 1))
    return PlanItem(key, t, boxes)


def test_planner_keeps_every_tube_whole_even_when_max_duration_cannot_be_met():
    items = [_item("a", 0, 100, 10), _item("b", 5, 30, 10), _item("c", 9, 30, 10)]
    plan = plan_placement(items, fps=10, width_px=200, height_px=100, limits=PlanLimits(max_duration_s=5.0))
    assert not plan.max_duration_met
    assert set(plan.start_frame) == {"a", "b", "c"}
    assert plan.n_frames == max(plan.start_frame[k] + it.n_frames for k, it in zip("abc", items)) == 100


def test_planner_avoids_collisions_and_keeps_order():
    # three identical-path tubes: in 30 frames of room they must not start together
    items = [_item(k, i, 10, 50) for i, k in enumerate("abc")]
    plan = plan_placement(items, fps=10, width_px=200, height_px=100, limits=PlanLimits(max_collision=0.0))
    s = [plan.start_frame[k] for k in "abc"]
    assert s == sorted(s) and len(set(s)) == 3 and min(np.diff(s)) >= 10
    assert plan.disorder == 0.0
    # side by side (no overlap) they can share the screen
    apart = [_item(k, i, 10, 60 * i) for i, k in enumerate("abc")]
    plan2 = plan_placement(apart, fps=10, width_px=200, height_px=100, limits=PlanLimits(max_collision=0.0))
    assert plan2.n_frames == 10


def test_disorder_share():
    items = [_item(k, i, 5, 0) for i, k in enumerate("abcd")]
    assert disorder_share(items, {"a": 0, "b": 1, "c": 2, "d": 3}) == 0.0
    assert disorder_share(items, {"a": 3, "b": 2, "c": 1, "d": 0}) == 1.0
    assert disorder_share(items, {"a": 1, "b": 0, "c": 2, "d": 3}) == pytest.approx(1 / 6)


def test_masked_median_ignores_masked_samples():
    imgs = np.zeros((5, 2, 2, 3), np.uint8)
    imgs[:, 0, 0] = [[10], [10], [200], [200], [200]]  # an object sits here in 3 of 5 samples
    valid = np.ones((5, 2, 2), bool)
    valid[2:, 0, 0] = False
    plate, unresolved = masked_median(imgs, valid)
    assert plate[0, 0, 0] == 10 and unresolved == 0
    plain, _ = masked_median(imgs, np.ones_like(valid))
    assert plain[0, 0, 0] == 200
    valid[:, 1, 1] = False
    assert masked_median(imgs, valid)[1] == 1


def test_iter_nearest_frames_seeks_across_gaps_with_sparse_keyframes(tmp_path):
    from vsearch.synopsis.background import iter_nearest_frames

    video = synth.write_video_palette(synth.SynthVideo(tmp_path / "sparse.mp4", 64, 36, 5, 60.0), {}, gop=100)
    times = [0.0, 1.05, 1.11, 30.0, 50.29, 59.9, 75.0]
    got = [(i, q) for i, q, _ in iter_nearest_frames(video.path, times)]
    assert [i for i, _ in got] == list(range(len(times)))
    assert [q for _, q in got] == pytest.approx([0.0, 1.0, 1.2, 30.0, 50.2, 59.8, 59.8])


@pytest.fixture(scope="module")
def lanes(tmp_path_factory):
    from synopsis_scenes import lane_scene

    video = lane_scene(tmp_path_factory.mktemp("lanes") / "lanes.mp4")
    sid = "1a" * 32
    tubes = synth.tubes_from_truth(video, sid, "lane-cam")
    clip = SourceClip(sid, video.path, "lane-cam", START, 0.0, video.width, video.height, Fraction(video.fps), 1.0,
                      video.duration_s, tuple(tubes))
    part = render_synopsis(tubes, {sid: clip}, tmp_path_factory.mktemp("lanes-out") / "lanes.mp4").parts[0]
    return video, part, json.loads(part.sidecar_path.read_text()), decode_all(part.video_path)


def test_lane_scene_target_condensation_collision_and_labels(lanes):
    _, part, side, frames = lanes
    m = part.metrics
    assert m.objects == 40 and m.condensation_ratio >= 15 and m.collision_rate <= 0.05 and m.max_collision_met
    assert m.label_overlaps == 0 and m.lower_bound_s <= m.synopsis_duration_s
    assert len(side["frame_objects"]) == part.frames == len(frames)
    for rows in side["frame_objects"]:
        labels = np.array([o[6:10] for o in rows], float).reshape(-1, 4)
        boxes = np.array([o[1:5] for o in rows], float).reshape(-1, 4)
        assert np.all(labels[:, :2] >= 0) and np.all(labels[:, 2] <= part.width_px)
        assert np.all(labels[:, 3] <= part.height_px)
        for i, lab in enumerate(labels):  # no label over another label or over any pasted object
            others = np.concatenate([np.delete(labels, i, axis=0), boxes])
            ix = np.minimum(lab[2], others[:, 2]) - np.maximum(lab[0], others[:, 0])
            iy = np.minimum(lab[3], others[:, 3]) - np.maximum(lab[1], others[:, 1])
            assert not np.any((ix > 0.5) & (iy > 0.5))


def test_click_to_source_gives_object_file_and_exact_source_time(lanes):
    """For a synopsis frame and a pixel inside a pasted box, the map names the object, its file and the exact
    source time; the source frame at that time shows the object there, and the ground truth agrees."""
    video, part, side, frames = lanes
    truth = {o.obj_id: o for o in video.objects}
    palette = {f"h{i:02d}": c for i, c in enumerate(synth.hue_palette(12))}
    with av.open(str(video.path)) as c:
        s = c.streams.video[0]
        source = {round(float(f.pts * s.time_base), 3): f.to_ndarray(format="bgr24") for f in c.decode(s)}
    checked = 0
    for k in range(0, part.frames, 17):
        rows = side["frame_objects"][k]
        crowded = pairwise_iou(np.array([o[1:5] for o in rows], float).reshape(-1, 4)).max(axis=1, initial=0) > 0
        for row, touching in zip(rows, crowded):
            tube = side["tubes"][row[0]]
            obj = truth[int(tube["tube_id"].rsplit("-", 1)[1])]
            src_s = row[5]
            assert tube["source_path"] == str(video.path)
            assert row[1:5] == pytest.approx(obj.box(src_s), abs=0.02)
            # the tube-level map gives the same source time for this frame
            syn_s = k / float(part.fps)
            assert tube["source_start_pts_s"] + (syn_s - tube["synopsis_start_s"]) * tube["speed"] == \
                pytest.approx(src_s, abs=0.5 / video.fps)
            x0, y0, x1, y1 = (int(round(v)) for v in row[1:5])
            x0, y0, x1, y1 = max(x0, 0) + 2, max(y0, 0) + 2, min(x1, video.width) - 2, min(y1, video.height) - 2
            if x1 - x0 < 4 or touching:
                continue  # entering or leaving at the edge, or overlapping another object (within the budget)
            colour = palette[obj.colour]
            assert colour_blob(source[round(src_s, 3)], colour)[y0:y1, x0:x1].mean() > 0.8
            assert colour_blob(frames[k], colour)[y0:y1, x0:x1].mean() > 0.6
            checked += 1
    assert checked > 30
    assert part.vtt_path.read_text().count(" --> ") >= 1


def test_speed_up_plays_long_tubes_faster_and_says_so(scene, tmp_path):
    _, palette, clip, matching, _ = scene
    opts = replace(OPTS, speed_up=4.0, long_tube_s=28.0)
    part = render_synopsis(matching, {SID: clip}, tmp_path / "fast.mp4", opts).parts[0]
    frames = decode_all(part.video_path)
    long_ids = {t.tube_id for t in matching if t.last_pts_s - t.first_pts_s > 28.0}
    assert long_ids and part.metrics.sped_up == len(long_ids)
    colour_of = {t.tube_id: palette[truth_colour(scene, t)] for t in matching}
    for e in part.entries:
        assert e.speed == (4.0 if e.tube_id in long_ids else 1.0)
        for syn_s, pts_s, box in e.samples[1:-1:3]:
            assert e.source_pts_at(syn_s) == pytest.approx(pts_s, abs=1e-3)
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            img = frames[int(round(syn_s * float(part.fps)))]
            assert colour_blob(img, colour_of[e.tube_id])[y0 + 2:y1 - 2, x0 + 2:x1 - 2].mean() > 0.6
    fast = max(e.synopsis_end_s - e.synopsis_start_s for e in part.entries if e.tube_id in long_ids)
    assert fast <= 35 / 4 + 0.5
