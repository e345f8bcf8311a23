"""Tracker on exact ground-truth boxes of decoded synthetic video, with occlusion gaps and slow sampling."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import synth
from conftest import shared_path

from vsearch.indexers.decode import DecodeOptions, open_decode, probe
from vsearch.indexers.track import Tracker, TrackerConfig, colour_histogram, iou_matrix


def track_video(video: synth.SynthVideo, fps: float, hide=None, tracker: Tracker | None = None):  # noqa: ANN001
    """Run the tracker on GT boxes; `hide(obj_id, t)` drops an object's box (occlusion). Returns
    {track_id: [(obj_id, pts), ...]} over confirmed tracks and the outputs."""
    tracker = tracker or Tracker()
    frames = open_decode(video.path, probe(video.path), DecodeOptions(fps=fps, width_px=video.width))
    for f in frames:
        gt = synth.gt_detections(video, f)
        keep = np.array([not (hide and hide(int(i), f.pts_s)) for i in gt.track_ids], bool)
        gt = gt[keep] if len(gt) else gt
        dets = replace(gt, track_ids=None)
        out = tracker.update(dets, f)
        assert dets.track_ids is None  # the input is never written into
        assert out is not dets and len(out) == len(dets)
        for tid, oid in zip(out.track_ids, gt.track_ids):
            assert tid >= 0
    states = [s for s in tracker.finish() if s.confirmed]
    owners = {}
    for s in states:
        ids = []
        assert np.all(np.diff(s.pts_s) > 0)
        for p, b, sc in zip(s.pts_s, s.boxes_xyxy, s.scores):
            if sc == 0:  # interpolated over a gap: where the boxes coincide ownership is ambiguous
                continue
            gt_boxes = {o.obj_id: o.box(float(p)) for o in video.objects if o.box(float(p)) is not None}
            best = max(gt_boxes, key=lambda k: iou_matrix(b[None], np.array([gt_boxes[k]]))[0, 0])
            ids.append(best)
        owners[s.track_id] = ids
    return owners


def test_crossing_ids_are_kept(tmp_path: Path) -> None:
    video = synth.crossing_scene(tmp_path / "c.mp4")
    owners = track_video(video, 25)
    assert len(owners) == 3
    assert sorted(set(ids[0] for ids in owners.values())) == [1, 2, 3]
    assert all(len(set(ids)) == 1 for ids in owners.values())  # no identity switch


@pytest.mark.parametrize("fps", [10.0, 5.0])
def test_identity_survives_full_occlusion_and_low_rate(tmp_path: Path, fps: float) -> None:
    video = synth.same_line_crossing_scene(tmp_path / "s.mp4")
    # object 2 is invisible for 0.6 s around the crossing (hidden behind object 1)
    tracker = Tracker()
    owners = track_video(video, fps, hide=lambda oid, t: oid == 2 and 2.2 <= t <= 2.8, tracker=tracker)
    assert len(owners) == 2
    assert all(len(set(ids)) == 1 for ids in owners.values())


def test_short_loss_ends_track_but_long_stop_does_not(tmp_path: Path) -> None:
    video = synth.lanes_scene(tmp_path / "l.mp4")
    cfg = TrackerConfig(max_lost_s=0.5)
    # the red car (moving) vanishes for 1.5 s: beyond max_lost_s a moving track ends -> two tracks
    owners = track_video(video, 10, hide=lambda oid, t: oid == 1 and 2.0 <= t <= 3.5, tracker=Tracker(cfg))
    assert sorted(ids[0] for ids in owners.values()) == [1, 1, 2, 3, 4]


def test_low_scores_are_dropped_and_never_start_tracks(tmp_path: Path) -> None:
    video = synth.lanes_scene(tmp_path / "l.mp4")
    tracker = Tracker()
    frames = open_decode(video.path, probe(video.path), DecodeOptions(fps=10, width_px=video.width))
    for f in frames:
        d = replace(synth.gt_detections(video, f), track_ids=None)
        d = replace(d, scores=np.full(len(d), 0.15, np.float32))
        assert np.all(tracker.update(d, f).track_ids == -1)
    assert tracker.finish() == []


def test_colour_histogram_separates_colours() -> None:
    red = np.zeros((20, 10, 3), np.uint8) + np.array(synth.BGR["red"], np.uint8)
    red2 = (red * 0.8).astype(np.uint8)
    blue = np.zeros((20, 10, 3), np.uint8) + np.array(synth.BGR["blue"], np.uint8)
    hr, hr2, hb = colour_histogram(red), colour_histogram(red2), colour_histogram(blue)
    assert np.linalg.norm(hr) == pytest.approx(1.0, abs=1e-5)
    assert hr @ hr2 > hr @ hb


def test_reid_embedding_same_person_closer_than_other(tmp_path: Path) -> None:
    models = shared_path("models")
    footage = shared_path("footage", "TUD-Stadtmitte")
    from vsearch.models.descriptors import ReidDescriptor
    from vsearch.models.resolve import resolve_models

    enc = ReidDescriptor.from_models(resolve_models(models))
    assert enc is not None
    gt = np.loadtxt(footage / "gt" / "gt.txt", delimiter=",")
    frames = {}
    for f in open_decode(footage / "TUD-Stadtmitte.mp4", probe(footage / "TUD-Stadtmitte.mp4"),
                         DecodeOptions(fps=25, width_px=640)):
        if f.index in (0, 10):
            frames[f.index] = f.image
        if f.index > 10:
            break

    def crop(frame_no: int, pid: int) -> np.ndarray:
        r = gt[(gt[:, 0] == frame_no + 1) & (gt[:, 1] == pid)][0]
        x, y, w, h = (int(v) for v in r[2:6])
        return frames[frame_no][max(y, 0): y + h, max(x, 0): x + w]

    ids = [int(i) for i in gt[gt[:, 0] == 1, 1] if (gt[(gt[:, 0] == 11) & (gt[:, 1] == i)]).size][:2]
    a0, a10, b0 = enc.embed([crop(0, ids[0]), crop(10, ids[0]), crop(0, ids[1])])
    assert float(a0 @ a10) > float(a0 @ b0)
