"""Typed records passed between pipeline stages.

Units are in the names (`_s` seconds, `_px` pixels, `_frame` frame indices). Presentation times are float64
seconds computed from the stream's exact time base (never from a rounded fps); frame rates are kept as
`fractions.Fraction`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
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
class FrameDetections:
    """The detect stage's output for one frame: detections plus, per detection, its foreground mask cropped to
    the box (RLE, "" when unknown) and that mask as an array when it is usable for colours (else None).
    `restarted`: frames were missing before this one (a gap): nothing may be linked across it."""

    detections: Detections
    masks_rle: tuple[str, ...]
    fg_crops: tuple[np.ndarray | None, ...]
    restarted: bool = False

    def __post_init__(self) -> None:
        if not (len(self.masks_rle) == len(self.fg_crops) == len(self.detections)):
            raise ValueError(f"{len(self.masks_rle)} masks / {len(self.fg_crops)} crops for "
                             f"{len(self.detections)} detections")


def frozen_array(a: np.ndarray, dtype: type | None = None) -> np.ndarray:
    """`a` as a read-only array (copied when the caller's array is writable, so no one can change a record)."""
    arr = np.asarray(a, dtype)
    if arr.flags.writeable:
        arr = arr.copy()
        arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class ColourFractions:
    """Named palette colours and the share of the object's pixels each covers, largest share first."""

    names: tuple[str, ...] = ()
    fractions: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.names) != len(self.fractions):
            raise ValueError(f"{len(self.names)} colour names for {len(self.fractions)} fractions")
        if any(b > a for a, b in zip(self.fractions, self.fractions[1:])):
            raise ValueError(f"colour fractions must be largest first, got {self.fractions}")

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, float]]) -> ColourFractions:
        items = tuple(pairs)
        return cls(tuple(n for n, _ in items), tuple(float(f) for _, f in items))

    def __len__(self) -> int:
        return len(self.names)

    def pairs(self) -> tuple[tuple[str, float], ...]:
        return tuple(zip(self.names, self.fractions))

    def fraction(self, name: str) -> float:
        return dict(self.pairs()).get(name, 0.0)

    def listed(self, min_fraction: float) -> list[str]:
        """Names covering at least `min_fraction`, by share then name (what the store lists for filtering)."""
        return [n for n, f in sorted(self.pairs(), key=lambda kv: (-kv[1], kv[0])) if f >= min_fraction]


@dataclass(frozen=True)
class Appearance:
    """Colours of the whole object and, for persons only, of the head (headwear), upper and lower body (empty
    otherwise), with each part's tones (`vsearch.indexers.colours`: "blue:dark", "black~blue", ... as shares of
    the part's pixels). `tones_measured` is False for tubes indexed before tones and head colours existed: their
    shades and headwear colours are "not measurable", not "absent"."""

    colours: ColourFractions
    upper: ColourFractions
    lower: ColourFractions
    head: ColourFractions = ColourFractions()
    tones: tuple[tuple[str, ColourFractions], ...] = ()  # (part, tone shares): part in any/head/upper/lower
    tones_measured: bool = False
    # sampled frames of the tube that had no colour at all (a camera in black-and-white / infrared mode): no
    # colour was read from them, so a tube seen only in such frames has no colour ("not measurable")
    monochrome_samples: int = 0

    def part(self, name: str) -> ColourFractions:
        """The palette shares of one part: "any" (whole object), "head", "upper", "lower"."""
        return {"any": self.colours, "head": self.head, "upper": self.upper, "lower": self.lower}[name]

    def tones_of(self, name: str) -> ColourFractions:
        return dict(self.tones).get(name, ColourFractions())


@dataclass(frozen=True)
class Motion:
    """Where and how a tube moved. Speeds in source pixels/s (`_px_s`) or frame widths/s (`_fw_s`); the path is
    ground points normalised to the frame (0-1), simplified: ((pts_s, x, y), ...)."""

    direction8: str  # E, NE, ... or "none"
    horizontal: str  # left | right | none
    vertical: str  # up | down | none
    speed_mean_px_s: float
    speed_max_px_s: float
    speed_mean_fw_s: float
    speed_max_fw_s: float
    dwell_s: float
    stationary_max_s: float
    stationary_total_s: float
    entry_edge: str  # left | right | top | bottom | inside
    exit_edge: str
    path: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class Footprint:
    """Median size of the object's box, in source pixels."""

    area_px: float
    size_px: tuple[float, float]  # (width, height)


@dataclass(frozen=True)
class ModelOutputs:
    """What an attribute model said about a tube, averaged over its best crops, and which model said it.

    `probabilities`: item name -> probability (e.g. has_backpack 0.81); `labels`: a chosen label per output
    (e.g. vehicle_type car). Empty with `model == ""` when no attribute model ran for this class.
    """

    model: str = ""
    weights_sha256: str = ""
    probabilities: tuple[tuple[str, float], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.probabilities or self.labels)


@dataclass(frozen=True)
class TubeAttributes:
    """Everything the describe stage says about a tube, built once when the tube ends."""

    appearance: Appearance
    motion: Motion
    footprint: Footprint
    models: ModelOutputs
    class_votes: tuple[tuple[str, float], ...]  # detector label -> score-weighted share, largest first
    first_seen_utc: dt.datetime
    last_seen_utc: dt.datetime


@dataclass(frozen=True)
class Tube:
    """One tracked object over time, built once and then only read (its arrays are read-only).

    Per-sample arrays share length T: frame_index (T,) int64 = index of the *sampled* frame (`Frame.index`,
    not the source frame number: use pts_s for time), pts_s (T,) float64 source seconds,
    boxes_xyxy (T, 4) float32 in *analysis* pixels; masks_rle: one RLE-encoded foreground mask per sample,
    cropped to that sample's box (see `vsearch.indexers.masks`), or empty strings when unavailable.
    `attributes` is None only for tubes nobody described (e.g. ground truth in tests).
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
    attributes: TubeAttributes | None = None

    def __post_init__(self) -> None:
        for name in ("frame_index", "pts_s", "boxes_xyxy", "scores"):
            object.__setattr__(self, name, frozen_array(getattr(self, name)))
        n = len(self.pts_s)
        if len(self.frame_index) != n or len(self.scores) != n or self.boxes_xyxy.shape != (n, 4):
            raise ValueError(f"tube {self.tube_id!r}: per-sample arrays disagree in length ({n} pts)")
        if self.masks_rle and len(self.masks_rle) != n:
            raise ValueError(f"tube {self.tube_id!r}: {len(self.masks_rle)} masks for {n} samples")

    @property
    def first_pts_s(self) -> float:
        return float(self.pts_s[0])

    @property
    def last_pts_s(self) -> float:
        return float(self.pts_s[-1])

    def __len__(self) -> int:
        return len(self.pts_s)
