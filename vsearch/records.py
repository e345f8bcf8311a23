"""Typed records passed between pipeline stages.

Units are in the names (`_s` seconds, `_px` pixels, `_frame` frame indices). Presentation times are float64
seconds computed from the stream's exact time base (never from a rounded fps); frame rates are kept as
`fractions.Fraction`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Literal

import numpy as np

CLASSES = ("person", "bicycle", "motorbike", "car", "bus", "truck", "other")
SourceStatus = Literal["ok", "partial", "failed"]


@dataclass(frozen=True)
class VideoInfo:
    """What a probe of the container says, before decoding."""

    container: str
    codec: str
    width_px: int
    height_px: int
    fps: Fraction  # average frame rate as declared by the stream (exact fraction)
    duration_s: float | None  # declared duration; None when the container does not say
    start_pts_s: float  # pts of the first frame, seconds
    creation_time: dt.datetime | None  # container metadata, UTC, when present
    frame_count: int | None


@dataclass(frozen=True)
class Gap:
    """An unreadable span inside a source, in source seconds (pts)."""

    start_s: float
    end_s: float
    reason: str


@dataclass(frozen=True)
class Frame:
    """One sampled, decoded, resized frame.

    `index` counts sampled frames of this source from 0; `pts_s` is the exact presentation time in seconds
    of the source frame it came from; `image` is BGR uint8 at the analysis size; `scale` maps analysis
    pixels back to source pixels (source = analysis * scale).
    """

    index: int
    pts_s: float
    image: np.ndarray
    scale: float


@dataclass(frozen=True)
class SourceRef:
    """Identity of the source a stage is working on."""

    source_id: str  # sha256 of the file content
    path: str
    camera: str
    start_utc: dt.datetime  # wall-clock time at pts == info.start_pts_s
    info: VideoInfo
    analysis_fps: float
    analysis_width_px: int
    analysis_height_px: int

    def wall_time(self, pts_s: float) -> dt.datetime:
        return self.start_utc + dt.timedelta(seconds=pts_s - self.info.start_pts_s)


@dataclass(frozen=True)
class Detections:
    """Vectorised detections of one frame (supervision-style parallel arrays), immutable by convention.

    boxes_xyxy: (N, 4) float32 in analysis pixels; scores (N,) float32; class_ids (N,) int16 indexing
    `CLASSES`; masks: optional (N, H, W) bool foreground masks in analysis pixels; track_ids (N,) int64
    (-1 = unassigned).
    """

    boxes_xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    frame_index: int
    pts_s: float
    masks: np.ndarray | None = None
    track_ids: np.ndarray | None = None
    source: str = "motion"  # which detector made them: "motion", "pvb-2002", "yolox-nano", ...

    def __post_init__(self) -> None:
        n = len(self.boxes_xyxy)
        if self.boxes_xyxy.shape != (n, 4):
            raise ValueError(f"boxes_xyxy must be (N, 4), got {self.boxes_xyxy.shape}")
        for name in ("scores", "class_ids"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, boxes have {n}")
        if self.masks is not None and len(self.masks) != n:
            raise ValueError(f"masks has {len(self.masks)} rows, boxes have {n}")
        if self.track_ids is not None and len(self.track_ids) != n:
            raise ValueError(f"track_ids has {len(self.track_ids)} rows, boxes have {n}")

    def __len__(self) -> int:
        return len(self.boxes_xyxy)

    def __getitem__(self, keep: np.ndarray | slice) -> Detections:
        return replace(
            self,
            boxes_xyxy=self.boxes_xyxy[keep],
            scores=self.scores[keep],
            class_ids=self.class_ids[keep],
            masks=None if self.masks is None else self.masks[keep],
            track_ids=None if self.track_ids is None else self.track_ids[keep],
        )

    @classmethod
    def empty(cls, frame_index: int, pts_s: float, source: str = "motion") -> Detections:
        return cls(
            boxes_xyxy=np.zeros((0, 4), np.float32),
            scores=np.zeros(0, np.float32),
            class_ids=np.zeros(0, np.int16),
            frame_index=frame_index,
            pts_s=pts_s,
            source=source,
        )


@dataclass(frozen=True)
class Tube:
    """One tracked object over time, built once by the tracker and then only read.

    Per-sample arrays share length T: frame_index (T,) int64 = index of the *sampled* frame (`Frame.index`,
    not the source frame number: use pts_s for time), pts_s (T,) float64 source seconds,
    boxes_xyxy (T, 4) float32 in *analysis* pixels; masks_rle: one RLE-encoded foreground mask per sample,
    cropped to that sample's box (see `vsearch.indexers.masks`), or empty strings when unavailable.
    """

    tube_id: str  # f"{source_id[:16]}-{track_no:05d}", stable for a given source and parameters
    source_id: str
    camera: str
    track_no: int
    frame_index: np.ndarray
    pts_s: np.ndarray
    boxes_xyxy: np.ndarray
    scores: np.ndarray
    masks_rle: tuple[str, ...] = ()
    class_name: str = "other"
    class_source: str = "geometry"  # "pvb-2002", "yolox-nano", "geometry"
    attributes: dict[str, object] = field(default_factory=dict)  # filled by attribute stages

    @property
    def first_pts_s(self) -> float:
        return float(self.pts_s[0])

    @property
    def last_pts_s(self) -> float:
        return float(self.pts_s[-1])

    def __len__(self) -> int:
        return len(self.pts_s)
