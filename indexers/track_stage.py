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
from typing import TYPE_CHECKING

import numpy as np

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

    A track is kept when it persists — it lasted at least `persist_s` seconds — or when it leaves its own
    footprint — its box centre travelled at least `min_travel_boxes` of its own box widths (across) and heights
    (up and down) over the track's life. A real object seen only briefly is crossing the view, so it travels
    several box lengths; one that moves slowly or stops is seen for long. A lamp, a sign or a noisy patch stays
    where it is and comes and goes within a second or two; a lit patch that widens from a door moves its centre
    by at most half its width.

    Travel is the spread of the box centres, from the 10th to the 90th percentile of x and of y (so a box that
    jumps on one or two samples does not count as moving, and an object that comes in and goes back the way it
    came still does), divided by the median box width and height: hypot(spread_x / width, spread_y / height).
    """

    persist_s: float = 3.0  # a track seen this long is kept whatever it did (slow walkers, people who stop)
    min_travel_boxes: float = 1.0  # a shorter track must travel this many of its own box widths/heights

    VERSION = "blob-filter-v1"  # recorded in the pipeline identity: stores indexed without it are re-indexed

    def is_blob(self, state: TrackState) -> bool:
        if len(state) == 0 or state.pts_s[-1] - state.pts_s[0] >= self.persist_s:
            return False
        boxes = state.boxes_xyxy.astype(np.float64)
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        spread_px = np.percentile(centres, 90, axis=0) - np.percentile(centres, 10, axis=0)  # (x, y)
        size_px = np.maximum(np.median(boxes[:, 2:] - boxes[:, :2], axis=0), 1.0)  # (width, height)
        return float(np.hypot(*(spread_px / size_px))) < self.min_travel_boxes


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
        return track, StageIdentity("track", BlobFilter.VERSION, version=f"{self.blob_filter.persist_s:g}s"
                                    f"+{self.blob_filter.min_travel_boxes:g}boxes")

    def begin(self, source: SourceRef) -> None:
        if self._reid is None and self._reid_xml() is not None:
            self._reid = ReidDescriptor.from_models(self.models)
        self._tracker = Tracker(self.config, reid=self._reid)

    def process(self, frame: Frame, ctx: FrameContext) -> None:
        fd = ctx.detections
        if fd is None:
            raise RuntimeError("the track stage needs the detect stage before it")
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
        return tuple(replace(s, confirmed=False) if s.confirmed and f.is_blob(s) else s for s in ended)

    def end(self, result: SourceResult) -> None:
        """Tracks reach the store as tubes (the describe stage's output)."""
