"""The tube stages run as one: detect -> track -> describe, for code that wants tubes from frames in one call.

The indexing job composes the three stages itself (`vsearch.indexing.stages.build_stages`), so any one of them can
be swapped or benchmarked alone; `TubeStage` runs the same three in the same order (tests, benchmarks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vsearch.indexers.base import Detector, FrameContext, SourceResult
from vsearch.indexers.config import TubeConfig
from vsearch.indexers.describe import DescribeStage
from vsearch.indexers.detect import MotionDetector
from vsearch.indexers.detect_stage import DetectStage
from vsearch.indexers.track import TRACKER_VERSION, Tracker, TrackerConfig
from vsearch.indexers.track_stage import BlobFilter, TrackStage
from vsearch.indexing.identity import StageIdentity
from vsearch.records import Frame, SourceRef

if TYPE_CHECKING:
    from vsearch.models.resolve import ModelSet

__all__ = ["TubeConfig", "TubeStage", "tube_stages"]


def tube_stages(detector: Detector, *, models: ModelSet | None = None, config: TubeConfig | None = None,
                tracker_config: TrackerConfig | None = None,
                use_reid: bool = False) -> tuple[DetectStage, TrackStage, DescribeStage]:
    """The detect, track and describe stages over `detector`, wired together; `models`: the resolved,
    hash-verified model files (`vsearch.models.resolve`), None for none (colours and geometry only). With the
    motion-only detector, tracks that neither move nor persist are not made into tubes (`BlobFilter`)."""
    config = config or TubeConfig()
    blobs = BlobFilter() if detector.name == MotionDetector.name else None
    track = TrackStage(tracker_config, models=models, use_reid=use_reid, blob_filter=blobs)
    detect = DetectStage(detector, config, active_tracks=lambda: track.active_count)
    describe = DescribeStage(detector, config, models=models)
    return detect, track, describe


def pipeline_info(detect: DetectStage, track: TrackStage) -> str:
    """The detect+track summary recorded in `stage_info["tubes"]` (e.g. "pvb-2002+bytetrack-app-v1+colour-hist")."""
    return f"{detect.detector.name}+{TRACKER_VERSION}+{track.appearance}"


class TubeStage:
    """Stage "tubes": detect, track and describe in one (one `Tube` per tracked moving object)."""

    name = "tubes"

    def __init__(self, detector: Detector, *, models: ModelSet | None = None, config: TubeConfig | None = None,
                 tracker_config: TrackerConfig | None = None, use_reid: bool = False) -> None:
        self.detector = detector
        self.config = config or TubeConfig()
        self.models = models
        self.detect, self.track, self.describe = tube_stages(
            detector, models=models, config=self.config, tracker_config=tracker_config, use_reid=use_reid)

    # what tests and benchmarks inspect
    @property
    def frames_detected(self) -> int:
        return self.detect.frames_detected

    @property
    def _tracker(self) -> Tracker:
        return self.track._tracker

    @property
    def _acc(self) -> dict:
        return self.describe._acc

    @property
    def _tubes(self) -> list:
        return self.describe._tubes

    def identity(self) -> tuple[StageIdentity, ...]:
        return self.detect.identity() + self.track.identity() + self.describe.identity()

    def begin(self, source: SourceRef) -> None:
        for stage in (self.detect, self.track, self.describe):
            stage.begin(source)
        self.describe.pipeline_info = pipeline_info(self.detect, self.track)

    def process(self, frame: Frame, ctx: FrameContext) -> None:
        for stage in (self.detect, self.track, self.describe):
            stage.process(frame, ctx)

    def finish(self, ctx: FrameContext) -> None:
        for stage in (self.detect, self.track, self.describe):
            stage.finish(ctx)

    def end(self, result: SourceResult) -> None:
        self.finish(FrameContext())  # a no-op when the job already finished the source
        for stage in (self.detect, self.track, self.describe):
            stage.end(result)
