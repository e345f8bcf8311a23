"""Stage "track": `FrameDetections` -> a `TrackUpdate` per frame (tracked detections, tracks that ended).

Wraps the ByteTrack-style `Tracker` (`indexers/track.py`). Each detection's mask RLE travels with its track
sample. A frame flagged `restarted` by the detect stage ends every open track before the frame is tracked.
At the end of a source (`finish`) every open track ends.

In motion-only mode (`BlobFilter`) a finished track that neither moved nor persisted is handed on unconfirmed,
so no tube is built from it: a background-subtraction detector reports anything that changes, and a light that
flickers or a burst of sensor noise looks, for a second or two, like an object that stands still.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from vsearch.indexers.attributes import edge_of
from vsearch.indexers.base import FrameContext, SourceResult
from vsearch.indexers.track import REID_MODEL, TRACKER_VERSION, Tracker, TrackerConfig, TrackState
from vsearch.indexing.identity import StageIdentity
from vsearch.models.descriptors import ReidDescriptor
from vsearch.records import Detections, Frame, SourceRef

if TYPE_CHECKING:
    from vsearch.models.resolve import ModelSet


@dataclass(frozen=True)
class TrackUpdate:
    """The track stage's output for one frame.

    ended_before: tracks ended before this frame was tracked (the detect stage saw a gap); tracked: this
    frame's detections with `track_ids` (-1: not tracked); confirmed: the subset on confirmed tracks;
    ended: tracks that ended at this frame (or, from `finish`, at the end of the source)."""

    ended_before: tuple[TrackState, ...] = ()
    tracked: Detections | None = None
    confirmed: Detections | None = None
    ended: tuple[TrackState, ...] = ()


@dataclass(frozen=True)
class BlobFilter:
    """Which finished tracks of a motion-only detector are blobs (flicker, noise, a local light change), not objects.

    A track is an object, and kept, when any of these holds:
    - it persists: it lasted at least `persist_s` seconds (slow walkers, people who stop);
    - it drifts: over its life its box centre moved steadily by at least `min_drift_boxes` of its own box
      widths (across) and heights (up and down);
    - it comes towards or goes away from the camera: its box size (sqrt of the area) changed by at least the
      factor `min_scale_change` between the first and the last third of its life;
    - it touches the frame edge (within `edge_margin_frac` of the frame size): an object entering or leaving,
      whose box the edge cuts, so that neither its drift nor its size can be read from the box.
    A real object seen only briefly is crossing the view, so it drifts or changes size, or it is cut by the
    edge. A lamp, a sign or a noisy patch stays where it is and comes and goes within a second or two: its box
    jumps about, or widens and narrows again, around a fixed place.

    Drift is the least-squares straight line through the box centres over time, from the first sample to the
    last (jumps about a fixed place cancel out, where a range of positions would count them as movement),
    divided by the median box width and height: hypot(drift_x / width, drift_y / height). Sizes are medians
    over a third of the samples each, so a flickering patch's random sizes do not count. Limitation: an object
    that comes out and goes back the way it came within `persist_s`, away from the frame edge, looks like a
    light that comes on and off, and is dropped.
    """

    persist_s: float = 2.0  # kept whatever it did: 10 samples at 5 fps (the lights seen lasted 1-2 s)
    min_drift_boxes: float = 0.5  # a shorter track must drift this many of its own box widths/heights ...
    min_scale_change: float = 2.0  # ... or grow or shrink by this factor (its distance halved or doubled) ...
    edge_margin_frac: float = 0.005  # ... or touch the frame edge (within this fraction of the frame size)

    VERSION: ClassVar[str] = "blob-filter-v1"  # in the pipeline identity: older motion-only stores re-index

    def is_blob(self, state: TrackState, frame_wh_px: tuple[int, int]) -> bool:
        """Whether `state`, tracked on frames `frame_wh_px` (width, height) in size, is a blob."""
        n = len(state)
        if n < 2:  # nothing to measure (and too short for a tube anyway)
            return n == 1
        if state.pts_s[-1] - state.pts_s[0] >= self.persist_s:
            return False
        boxes = state.boxes_xyxy.astype(np.float64)
        if any(edge_of(b, *frame_wh_px, margin_frac=self.edge_margin_frac) != "inside" for b in boxes):
            return False
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        t_s = state.pts_s - state.pts_s[0]
        slope_px_s = np.polyfit(t_s, centres, 1)[0]  # (x, y) in px per second
        wh_px = np.maximum(boxes[:, 2:] - boxes[:, :2], 1.0)
        drift_boxes = float(np.hypot(*(slope_px_s * t_s[-1] / np.median(wh_px, axis=0))))
        if drift_boxes >= self.min_drift_boxes:
            return False
        size_px = np.sqrt(wh_px[:, 0] * wh_px[:, 1])
        third = max(1, n // 3)
        scale = float(np.median(size_px[-third:]) / np.median(size_px[:third]))
        return max(scale, 1.0 / scale) < self.min_scale_change


class TrackStage:
    """`ctx.detections` -> `ctx.tracks` (and `ctx.tracked`: detections on confirmed tracks)."""

    name = "track"

    def __init__(self, config: TrackerConfig | None = None, *, models: ModelSet | None = None,
                 use_reid: bool = False, blob_filter: BlobFilter | None = None) -> None:
        """`blob_filter`: motion-only mode (see `BlobFilter`); None for model detectors, whose tracks are
        objects by construction."""
        self.config = config or TrackerConfig()
        self.blob_filter = blob_filter
        self.models = models  # resolved, hash-verified model files (vsearch.models.resolve); None: no models
        self._use_reid = use_reid
        self._reid: ReidDescriptor | None = None
        self._tracker = Tracker(self.config)
        self._frame_wh_px = (0, 0)

    @property
    def appearance(self) -> str:
        """What links detections besides position: "colour-hist", or the re-id model and colour histograms."""
        return self._tracker.appearance

    @property
    def active_count(self) -> int:
        return self._tracker.active_count

    def open_since_s(self) -> float | None:
        """When the oldest track still open began (None: none open): where a resumed run must restart."""
        return self._tracker.open_since_s()

    def _reid_xml(self) -> Path | None:
        return self.models.path(ReidDescriptor.name) if self._use_reid and self.models is not None else None

    def identity(self) -> tuple[StageIdentity, ...]:
        xml = self._reid_xml()
        sha = self.models.get(ReidDescriptor.name).weights_sha256 if xml is not None and self.models else ""
        track = StageIdentity("track", TRACKER_VERSION,
                              version=f"{REID_MODEL}+colour-hist" if xml is not None else "colour-hist",
                              weights_sha256=sha)
        if self.blob_filter is None:
            return (track,)
        f = self.blob_filter
        rules = f"{f.persist_s:g}s+{f.min_drift_boxes:g}boxes+{f.min_scale_change:g}x+edge{f.edge_margin_frac:g}"
        return track, StageIdentity("track", BlobFilter.VERSION, version=rules)

    def begin(self, source: SourceRef) -> None:
        if self._reid is None and self._reid_xml() is not None:
            self._reid = ReidDescriptor.from_models(self.models)
        self._tracker = Tracker(self.config, reid=self._reid)

    def process(self, frame: Frame, ctx: FrameContext) -> None:
        fd = ctx.detections
        if fd is None:
            raise RuntimeError("the track stage needs the detect stage before it")
        self._frame_wh_px = (frame.image.shape[1], frame.image.shape[0])
        ended_before = self._screen(self._tracker.finish()) if fd.restarted else ()
        tracked = self._tracker.update(fd.detections, frame, extras=list(fd.masks_rle))
        confirmed = tracked[np.isin(tracked.track_ids, list(self._tracker.confirmed_ids()))]
        ctx.tracks = TrackUpdate(ended_before, tracked, confirmed, self._screen(self._tracker.pop_finished()))
        ctx.tracked = confirmed

    def finish(self, ctx: FrameContext) -> None:
        ctx.tracks = TrackUpdate(ended=self._screen(self._tracker.finish()))

    def _screen(self, ended: list[TrackState]) -> tuple[TrackState, ...]:
        """Finished tracks, those the blob filter rejects handed on unconfirmed (no tube is built from them;
        the describe stage still drops their accumulators)."""
        f = self.blob_filter
        if f is None:
            return tuple(ended)
        wh = self._frame_wh_px
        return tuple(replace(s, confirmed=False) if s.confirmed and f.is_blob(s, wh) else s for s in ended)

    def end(self, result: SourceResult) -> None:
        """Tracks reach the store as tubes (the describe stage's output)."""
