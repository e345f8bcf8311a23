"""The indexer-stage interface: every stage sees every sampled frame of a source in one decoding pass.

Stages run in order for each frame (detect -> track -> describe -> embed); each publishes its typed per-frame
output in `FrameContext` for the stages after it. After the last frame, `finish` runs once through every stage
(open tracks end and are described), then each stage's `end` adds what it produced to the `SourceResult`
(the embed stage reads the crops the describe stage kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from vsearch.indexing.identity import StageIdentity
from vsearch.records import Detections, Frame, FrameDetections, Gap, SourceRef, Tube

if TYPE_CHECKING:
    from vsearch.indexers.track_stage import TrackUpdate


@dataclass
class FrameContext:
    """What stages hand to the stages after them for one frame (rebuilt for every frame, and once more for the
    end-of-source `finish` pass). Each field is one stage's typed output."""

    detections: FrameDetections | None = None  # detect stage
    tracks: TrackUpdate | None = None  # track stage
    tracked: Detections | None = None  # track stage: detections on confirmed tracks, with track_ids


@dataclass(frozen=True)
class VectorRecord:
    """One embedding, tagged with what made it so it is never compared with another model's vectors."""

    item_id: str  # tube_id or scene id
    kind: str  # "tube" | "scene"
    descriptor: str  # e.g. "openclip:ViT-B-32", "reid-0288", "colour-hist-v1"
    weights_sha256: str  # "" for weight-free descriptors
    vector: np.ndarray  # float32, L2-normalised
    pts_s: float  # representative source time


@dataclass(frozen=True)
class SceneSample:
    scene_id: str  # f"{source_id[:16]}-s{pts_ms:010d}"
    pts_s: float
    jpeg: bytes


@dataclass
class SourceResult:
    """Everything produced for one source; written to the store in one commit by the job runner."""

    source: SourceRef
    tubes: list[Tube] = field(default_factory=list)
    thumbnails: dict[str, bytes] = field(default_factory=dict)  # tube_id -> JPEG bytes
    tube_crops: dict[str, list[np.ndarray]] = field(default_factory=dict)  # tube_id -> BGR crops kept for embedding
    vectors: list[VectorRecord] = field(default_factory=list)
    scenes: list[SceneSample] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    frames_decoded: int = 0
    warnings: list[str] = field(default_factory=list)
    stage_info: dict[str, str] = field(default_factory=dict)  # stage name -> model/descriptor + version used


class Stage(Protocol):
    """`begin` must reset all per-source state: what a stage produces for a source never depends on the sources
    processed before it (so a resumed job gives exactly the rows of an uninterrupted one)."""

    name: str

    def begin(self, source: SourceRef) -> None: ...

    def process(self, frame: Frame, ctx: FrameContext) -> None: ...

    def finish(self, ctx: FrameContext) -> None:
        """End of the source's frames: hand on what is still open (the track stage ends its tracks), through
        one more context that the following stages' `finish` read."""
        ...

    def end(self, result: SourceResult) -> None: ...

    def identity(self) -> tuple[StageIdentity, ...]:
        """Name, version and weights' SHA-256 of everything in this stage that shapes its output."""
        ...


class Detector(Protocol):
    """Any detector backend (motion, OpenVINO/ONNX models) behind one call.

    `name` is recorded with every tube (e.g. "motion", "pvb-2002", "yolox-nano"); `degraded` is True for the
    weight-free motion fallback so the job can say so loudly.
    """

    name: str
    degraded: bool
    weights_sha256: str  # "" for the weight-free motion detector

    def detect(self, frame: Frame) -> Detections: ...

    def reset(self) -> None:
        """Forget everything learnt from the previous source (background model...)."""
