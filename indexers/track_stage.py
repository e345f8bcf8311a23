"""Stage "track": `FrameDetections` -> a `TrackUpdate` per frame (tracked detections, tracks that ended).

Wraps the ByteTrack-style `Tracker` (`indexers/track.py`). Each detection's mask RLE travels with its track
sample. A frame flagged `restarted` by the detect stage ends every open track before the frame is tracked.
At the end of a source (`finish`) every open track ends.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class TrackStage:
    """`ctx.detections` -> `ctx.tracks` (and `ctx.tracked`: detections on confirmed tracks)."""

    name = "track"

    def __init__(self, config: TrackerConfig | None = None, *, models: ModelSet | None = None,
                 use_reid: bool = False) -> None:
        self.config = config or TrackerConfig()
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
        return (StageIdentity("track", TRACKER_VERSION,
                              version=f"{REID_MODEL}+colour-hist" if xml is not None else "colour-hist",
                              weights_sha256=sha),)

    def begin(self, source: SourceRef) -> None:
        if self._reid is None and self._reid_xml() is not None:
            self._reid = ReidDescriptor.from_models(self.models)
        self._tracker = Tracker(self.config, reid=self._reid)

    def process(self, frame: Frame, ctx: FrameContext) -> None:
        fd = ctx.detections
        if fd is None:
            raise RuntimeError("the track stage needs the detect stage before it")
        ended_before = tuple(self._tracker.finish()) if fd.restarted else ()
        tracked = self._tracker.update(fd.detections, frame, extras=list(fd.masks_rle))
        confirmed = tracked[np.isin(tracked.track_ids, list(self._tracker.confirmed_ids()))]
        ctx.tracks = TrackUpdate(ended_before, tracked, confirmed, tuple(self._tracker.pop_finished()))
        ctx.tracked = confirmed

    def finish(self, ctx: FrameContext) -> None:
        ctx.tracks = TrackUpdate(ended=tuple(self._tracker.finish()))

    def end(self, result: SourceResult) -> None:
        """Tracks reach the store as tubes (the describe stage's output)."""
