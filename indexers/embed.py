"""The embedding stage: one pooled vector per tube per descriptor, and a scene sample every N seconds.

Runs after the tube stage. Tube vectors are made in `end()` from the K crops the tube stage kept
(`SourceResult.tube_crops`, largest/sharpest first): each embedder that applies to the tube's class embeds them
in batches, the K rows are averaged and L2-normalised. Scene samples are taken in `process()`: the first frame
at or after each multiple of `scene_interval_s` (source time), JPEG-encoded and embedded in batches, so memory
stays bounded on long sources.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vsearch.indexing.identity import StageIdentity
from vsearch.models.descriptors import EmbedConfig, Embedder, make_embedders, pool
from vsearch.indexers.base import FrameContext, SceneSample, SourceResult, VectorRecord
from vsearch.records import Frame, SourceRef, Tube

JPEG_QUALITY = 85


@dataclass(frozen=True)
class _PendingScene:
    sample: SceneSample
    image: np.ndarray


class EmbedStage:
    name = "embed"

    def __init__(self, embedders: list[Embedder], *, crops_per_tube: int = 4, scene_interval_s: float = 10.0,
                 batch_size: int = 16) -> None:
        if not embedders:
            raise ValueError("EmbedStage needs at least one embedder")
        self.embedders = list(embedders)
        self.crops_per_tube = crops_per_tube
        self.scene_interval_s = scene_interval_s
        self.batch_size = batch_size
        self._source: SourceRef | None = None
        self._next_scene_s = 0.0
        self._pending: list[_PendingScene] = []
        self._scenes: list[SceneSample] = []
        self._scene_vectors: list[VectorRecord] = []

    @classmethod
    def from_config(cls, config: EmbedConfig) -> EmbedStage:
        return cls(make_embedders(config), crops_per_tube=config.crops_per_tube,
                   scene_interval_s=config.scene_interval_s, batch_size=config.batch_size)

    def identity(self) -> tuple[StageIdentity, ...]:
        return tuple(StageIdentity("embed", e.name, weights_sha256=e.weights_sha256) for e in self.embedders)

    def begin(self, source: SourceRef) -> None:
        self._source = source
        self._next_scene_s = source.info.start_pts_s
        self._pending, self._scenes, self._scene_vectors = [], [], []

    def process(self, frame: Frame, ctx: FrameContext) -> None:
        if self._source is None:
            raise RuntimeError("EmbedStage.process called before begin()")
        if frame.pts_s + 1e-9 < self._next_scene_s:
            return
        ok, jpeg = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for frame {frame.index} of {self._source.path}")
        pts_ms = int(round(frame.pts_s * 1000))
        sample = SceneSample(scene_id=f"{self._source.source_id[:16]}-s{pts_ms:010d}", pts_s=frame.pts_s,
                             jpeg=jpeg.tobytes())
        self._pending.append(_PendingScene(sample, frame.image))
        # next sample at the next multiple of the interval after this frame (gaps do not cause bursts)
        start = self._source.info.start_pts_s
        k = np.floor((frame.pts_s - start) / self.scene_interval_s + 1e-9) + 1
        self._next_scene_s = start + k * self.scene_interval_s
        if len(self._pending) >= self.batch_size:
            self._flush_scenes()

    def finish(self, ctx: FrameContext) -> None:
        """Nothing is open between frames: tubes are embedded at `end`, once the describe stage has them."""

    def end(self, result: SourceResult) -> None:
        self._flush_scenes()
        result.scenes.extend(self._scenes)
        result.vectors.extend(self._scene_vectors)
        tubes = {t.tube_id: t for t in result.tubes}
        missing = sorted(set(result.tube_crops) - set(tubes))
        if missing:
            result.warnings.append(f"embed: {len(missing)} tube crop sets have no tube (e.g. {missing[0]}); skipped")
        result.vectors.extend(self.embed_tubes([tubes[k] for k in sorted(tubes) if result.tube_crops.get(k)],
                                               result.tube_crops))
        result.stage_info[self.name] = self.summary()
        self._source = None

    def take_scenes(self) -> tuple[list[SceneSample], list[VectorRecord]]:
        """The scene samples taken so far and their vectors, handed over and forgotten (chunked commits)."""
        self._flush_scenes()
        out = (self._scenes, self._scene_vectors)
        self._scenes, self._scene_vectors = [], []
        return out

    def summary(self) -> str:
        """What `end` records in `stage_info["embed"]`."""
        return ", ".join(f"{e.name} ({e.weights_sha256[:12]})" if e.weights_sha256 else e.name
                         for e in self.embedders)

    def embed_tubes(self, tubes: list[Tube], crops: dict[str, list[np.ndarray]]) -> list[VectorRecord]:
        """One pooled vector per (tube, applicable embedder); crops beyond K are ignored."""
        out: list[VectorRecord] = []
        for emb in self.embedders:
            chosen = [t for t in tubes if emb.classes is None or t.class_name in emb.classes]
            flat: list[np.ndarray] = []
            spans: list[tuple[int, int]] = []
            for t in chosen:
                c = crops[t.tube_id][: self.crops_per_tube]
                spans.append((len(flat), len(flat) + len(c)))
                flat.extend(c)
            if not flat:
                continue
            rows = np.concatenate([emb.embed(flat[s: s + self.batch_size])
                                   for s in range(0, len(flat), self.batch_size)])
            for t, (a, b) in zip(chosen, spans):
                out.append(VectorRecord(item_id=t.tube_id, kind="tube", descriptor=emb.name,
                                        weights_sha256=emb.weights_sha256, vector=pool(rows[a:b]),
                                        pts_s=float(t.pts_s[len(t) // 2])))
        return out

    def _flush_scenes(self) -> None:
        if not self._pending:
            return
        images = [p.image for p in self._pending]
        for emb in self.embedders:
            if emb.classes is not None:  # class-specific models (re-id) do not describe whole scenes
                continue
            rows = emb.embed(images)
            for p, v in zip(self._pending, rows):
                self._scene_vectors.append(VectorRecord(item_id=p.sample.scene_id, kind="scene", descriptor=emb.name,
                                                        weights_sha256=emb.weights_sha256, vector=v,
                                                        pts_s=p.sample.pts_s))
        self._scenes.extend(p.sample for p in self._pending)
        self._pending = []
