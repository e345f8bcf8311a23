"""Embedding stage on real decoded synthetic video: cross-camera "more like this", tiny CLIP end to end,
re-id model (shared models), determinism, store round-trip and model-mismatch errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from fractions import Fraction
from pathlib import Path

import av
import lancedb
import numpy as np
import pytest

from synth import SynthObject, SynthVideo, write_video
from vsearch.catalogue import vectors as vs
from conftest import save_tiny_clip
from vsearch.models.descriptors import (ColourDescriptor, EmbedConfig, OpenClipEmbedder, ReidDescriptor, make_embedders,
                                 resolve_clip_weights)
from vsearch.errors import ModelError
from vsearch.indexers.base import FrameContext, SourceResult, VectorRecord
from vsearch.indexers.embed import EmbedStage
from vsearch.models.resolve import BUILTIN_DIR, resolve_models
from vsearch.records import Frame, SourceRef, Tube, VideoInfo

FPS, DUR, W, H = 10, 3.0, 640, 360
LANES = [(160, 45), (160, 130), (160, 215), (160, 300), (480, 45), (480, 130), (480, 215), (480, 300)]
T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.timezone.utc)
# label -> (kind, upper colour, lower colour or None, size on camera A); camera B sees them bigger and elsewhere
LOOKS = {
    "red-car": ("car", "red", None, (56, 30)),
    "orange-car": ("car", "orange", None, (56, 30)),
    "blue-car": ("car", "blue", None, (60, 32)),
    "white-black-person": ("person", "white", "black", (20, 50)),
    "black-white-person": ("person", "black", "white", (20, 50)),
    "red-blue-person": ("person", "red", "blue", (22, 52)),
}
DISTRACTORS = {"purple-car": ("car", "purple", None, (56, 30)), "green-yellow-person": ("person", "green", "yellow", (20, 50))}


def _objects(looks: dict, lanes: list[tuple[int, int]], scale: float, direction: int) -> list[SynthObject]:
    out = []
    for i, ((kind, up, low, (w, h)), (cx, cy)) in enumerate(zip(looks.values(), lanes)):
        size = (int(round(w * scale)), int(round(h * scale)))
        path = [(0.0, cx - 60 * direction, cy), (DUR, cx + 60 * direction, cy)]
        out.append(SynthObject(i + 1, up, path, size, lower_colour=low, kind=kind))
    return out


def _decode(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(float(f.time), f.to_ndarray(format="bgr24")) for f in c.decode(video=0)]


class Camera:
    """A decoded synthetic camera with ground-truth tubes and their crops (boxes padded like a detector's)."""

    def __init__(self, root: Path, name: str, looks: dict, lanes: list, scale: float, direction: int, seed: int):
        self.name, self.labels = name, list(looks)
        video = write_video(SynthVideo(root / f"{name}.mp4", W, H, FPS, DUR, _objects(looks, lanes, scale, direction)),
                            seed=seed)
        self.frames = _decode(video.path)
        digest = hashlib.sha256(video.path.read_bytes()).hexdigest()
        info = VideoInfo("mp4", "h264", W, H, Fraction(FPS), DUR, 0.0, None, len(self.frames))
        self.source = SourceRef(digest, str(video.path), name, T0, info, float(FPS), W, H)
        self.tubes, self.crops = [], {}
        for obj, label in zip(video.objects, self.labels):
            idx = np.arange(0, len(self.frames), 7)
            boxes = np.array([obj.box(self.frames[i][0]) for i in idx], np.float32)
            tube_id = f"{digest[:16]}-{obj.obj_id:05d}"
            self.tubes.append(Tube(tube_id, digest, name, obj.obj_id, idx.astype(np.int64),
                                   np.array([self.frames[i][0] for i in idx]), boxes, np.ones(len(idx), np.float32),
                                   class_name=obj.kind))
            pad = 4
            self.crops[tube_id] = [self.frames[i][1][max(int(y0) - pad, 0): int(y1) + pad,
                                                     max(int(x0) - pad, 0): int(x1) + pad].copy()
                                   for i, (x0, y0, x1, y1) in zip(idx, boxes)]
        self.label_of = {t.tube_id: lab for t, lab in zip(self.tubes, self.labels)}

    def run(self, stage: EmbedStage) -> SourceResult:
        result = SourceResult(self.source, tubes=list(self.tubes), tube_crops=dict(self.crops))
        stage.begin(self.source)
        for i, (pts, img) in enumerate(self.frames):
            stage.process(Frame(i, pts, img, 1.0), FrameContext())
        stage.end(result)
        return result


@pytest.fixture(scope="module")
def cameras(tmp_path_factory) -> tuple[Camera, Camera]:
    root = tmp_path_factory.mktemp("cams")
    a = Camera(root, "camA", LOOKS, LANES, 1.0, +1, seed=0)
    b_looks = {**DISTRACTORS, **dict(reversed(list(LOOKS.items())))}  # other lanes, other order
    b = Camera(root, "camB", b_looks, LANES[::-1], 1.4, -1, seed=11)
    return a, b


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> tuple[str, Path, Path]:
    """A tiny open_clip architecture with random weights under a fixed seed, saved like a user's checkpoint."""
    name = "vsearch-tiny-test"
    config_path, (weights,) = save_tiny_clip(tmp_path_factory.mktemp("clip"), name, (1234,))
    return name, weights, config_path


def _store(db, result: SourceResult) -> None:
    tubes = {t.tube_id: t for t in result.tubes}
    by_desc: dict[str, list[VectorRecord]] = {}
    for r in result.vectors:
        by_desc.setdefault(r.descriptor, []).append(r)
    for desc, recs in by_desc.items():
        table = vs.open_or_create(db, desc, recs[0].weights_sha256, len(recs[0].vector))
        vs.add_vectors(table, vs.vectors_to_arrow(
            np.stack([r.vector for r in recs]), item_ids=[r.item_id for r in recs], kinds=[r.kind for r in recs],
            descriptor=desc, weights_sha256=recs[0].weights_sha256, cameras=[result.source.camera] * len(recs),
            class_names=[tubes[r.item_id].class_name if r.kind == "tube" else "" for r in recs],
            start_utc=[result.source.wall_time(r.pts_s) for r in recs], source_ids=[result.source.source_id] * len(recs)))


def test_same_object_on_camera_a_is_top_hit_on_camera_b_weight_free(cameras, tmp_path):
    a, b = cameras
    stage = EmbedStage([ColourDescriptor()], crops_per_tube=4, scene_interval_s=1.0)
    db = lancedb.connect(tmp_path / "db")
    for cam in (a, b):
        _store(db, cam.run(stage))
    table = db.open_table(vs.table_name("colour-hist-v1"))
    where = vs.build_where(cameras=["camB"], kind="tube")
    for tube in a.tubes:
        q = vs.get_vector(table, tube.tube_id)
        hits = vs.search(table, q, descriptor="colour-hist-v1", weights_sha256="", where=where, limit=3)
        assert hits[0].descriptor == "colour-hist-v1" and hits[0].camera == "camB"
        assert b.label_of[hits[0].item_id] == a.label_of[tube.tube_id], (a.label_of[tube.tube_id], hits)
        assert hits[0].score > hits[1].score


def test_stage_outputs_tube_and_scene_vectors(cameras):
    a, _ = cameras
    result = a.run(EmbedStage([ColourDescriptor()], crops_per_tube=2, scene_interval_s=1.0))
    tube_vecs = [v for v in result.vectors if v.kind == "tube"]
    scene_vecs = [v for v in result.vectors if v.kind == "scene"]
    assert sorted(v.item_id for v in tube_vecs) == sorted(t.tube_id for t in a.tubes)
    assert [round(s.pts_s, 3) for s in result.scenes] == [0.0, 1.0, 2.0]
    assert [v.item_id for v in scene_vecs] == [s.scene_id for s in result.scenes]
    assert result.scenes[0].jpeg[:2] == b"\xff\xd8"
    for v in result.vectors:
        assert v.vector.dtype == np.float32 and abs(float(np.linalg.norm(v.vector)) - 1.0) < 1e-5
        assert v.descriptor == "colour-hist-v1" and v.weights_sha256 == ""
    assert result.stage_info["embed"] == "colour-hist-v1"
    # K=2 uses only the first two crops
    d = ColourDescriptor()
    t0 = a.tubes[0]
    expect = d.embed(a.crops[t0.tube_id][:2]).mean(0)
    got = next(v.vector for v in tube_vecs if v.item_id == t0.tube_id)
    np.testing.assert_allclose(got, expect / np.linalg.norm(expect), atol=1e-6)


def test_colour_descriptor_deterministic_and_discriminative(cameras):
    a, _ = cameras
    d = ColourDescriptor()
    crops = a.crops[a.tubes[0].tube_id]
    assert np.array_equal(d.embed(crops), ColourDescriptor().embed(crops))
    assert d.embed(crops).shape == (len(crops), d.dim)
    # swapped upper/lower colours must not look alike
    i_wb, i_bw = a.labels.index("white-black-person"), a.labels.index("black-white-person")
    v_wb = d.embed(a.crops[a.tubes[i_wb].tube_id][:1])[0]
    v_bw = d.embed(a.crops[a.tubes[i_bw].tube_id][:1])[0]
    assert float(v_wb @ v_bw) < 0.5
    with pytest.raises(ValueError):
        d.embed([np.zeros((1, 5, 3), np.uint8)])


def test_mask_weighting_ignores_background():
    d = ColourDescriptor()
    red = np.zeros((60, 30, 3), np.uint8)
    red[:] = (40, 40, 220)
    on_grey, on_green = red.copy(), red.copy()
    on_grey[:, :8], on_green[:, :8] = (110, 110, 110), (50, 180, 50)
    mask = np.ones((60, 30), bool)
    mask[:, :8] = False
    v = d.embed([red, on_grey, on_green], masks=[None, mask, mask])
    assert float(v[1] @ v[2]) > 0.99 and float(v[0] @ v[1]) > 0.95


def test_tiny_clip_end_to_end_and_mismatch(cameras, tiny_clip, tmp_path):
    name, weights, config = tiny_clip
    a, b = cameras
    cfg = EmbedConfig(clip_model=name, clip_weights=weights, clip_model_config=config, crops_per_tube=3,
                      scene_interval_s=1.0, threads=1, batch_size=4)
    stage = EmbedStage.from_config(cfg)
    assert [e.name for e in stage.embedders] == ["colour-hist-v1", f"openclip:{name}"]
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    db = lancedb.connect(tmp_path / "db")
    results = [cam.run(stage) for cam in (a, b)]
    for r in results:
        _store(db, r)
    clip_vecs = [v for v in results[0].vectors if v.descriptor == f"openclip:{name}"]
    assert {v.item_id for v in clip_vecs if v.kind == "tube"} == {t.tube_id for t in a.tubes}
    assert sum(v.kind == "scene" for v in clip_vecs) == 3
    assert all(v.weights_sha256 == sha and v.vector.shape == (32,) for v in clip_vecs)
    assert f"openclip:{name} ({sha[:12]})" in results[0].stage_info["embed"]

    # deterministic: a second embedder loaded from the same file (same batching) gives identical vectors
    again = OpenClipEmbedder(name, weights, model_config=config, threads=1, batch_size=4)
    crops = a.crops[a.tubes[0].tube_id]
    np.testing.assert_array_equal(again.embed(crops), stage.embedders[1].embed(crops))
    assert again.embed_text("a red car").shape == (32,)

    table = db.open_table(vs.table_name(f"openclip:{name}"))
    q = vs.get_vector(table, a.tubes[0].tube_id)
    hits = vs.search(table, q, descriptor=f"openclip:{name}", weights_sha256=sha, where="camera = 'camB'", limit=3)
    assert len(hits) == 3 and all(h.camera == "camB" and h.descriptor == f"openclip:{name}" for h in hits)
    with pytest.raises(ModelError) as e:  # an index built with model X searched with model Y
        vs.search(table, ColourDescriptor().embed(crops[:1])[0], descriptor="colour-hist-v1", weights_sha256="",
                  limit=3)
    assert "\n" not in str(e.value) and f"openclip:{name}" in str(e.value) and "colour-hist-v1" in str(e.value)


def test_clip_weights_errors(tiny_clip, tmp_path):
    import open_clip

    name, weights, config = tiny_clip
    with pytest.raises(ModelError, match="no-such.pt"):
        resolve_clip_weights(name, tmp_path / "no-such.pt")
    with pytest.raises(ModelError, match="both --clip-model and --clip-weights"):
        make_embedders(EmbedConfig(clip_model=name))
    other = json.loads(config.read_text())
    other["vision_cfg"]["layers"] = 1
    other_path = tmp_path / "vsearch-tiny-other.json"
    other_path.write_text(json.dumps(other))
    open_clip.add_model_config(str(other_path))
    with pytest.raises(ModelError, match="do not fit model 'vsearch-tiny-other'"):
        OpenClipEmbedder("vsearch-tiny-other", weights)
    with pytest.raises(ModelError, match="not an open_clip architecture"):
        OpenClipEmbedder("no-such-arch", weights)


def test_reid_for_persons_only_with_checksum(cameras):
    models = BUILTIN_DIR  # the built-in re-id model, with its SHA256SUMS
    a, _ = cameras
    stage = EmbedStage.from_config(EmbedConfig(reid_model=resolve_models().path("reid-0288"), scene_interval_s=1.0))
    reid = stage.embedders[1]
    assert isinstance(reid, ReidDescriptor) and reid.dim == 256
    sums = dict(line.split()[::-1] for line in (models / "SHA256SUMS").read_text().splitlines() if line.strip())
    key = next(k for k in sums if k.endswith("person-reidentification-retail-0288.bin"))
    assert reid.weights_sha256 == sums[key]
    result = a.run(stage)
    reid_ids = {v.item_id for v in result.vectors if v.descriptor == "reid-0288"}
    assert reid_ids == {t.tube_id for t in a.tubes if t.class_name == "person"}  # no scenes, no cars
    crops = a.crops[a.tubes[3].tube_id]
    np.testing.assert_allclose(reid.embed(crops), reid.embed(crops), atol=1e-6)
