"""Stage "detect": one `FrameDetections` per sampled frame (boxes, scores, classes and foreground masks).

Wraps any `Detector` backend (`indexers/detect.py`). Detectors without masks get foreground masks from a small
MOG2 model. A presentation-time jump longer than `reset_after_jump_s` (an unreadable gap, or gating skipping an
idle stretch) resets the detector's and the mask model's backgrounds and is flagged (`restarted`) so the track
stage ends every track there. With `detect_on_activity`, model detectors are skipped on frames where nothing
changes and no track is active.

Look-ahead (`start_ahead`): the indexing loop hands this stage the frame likely to come next before the tracker
and describers work on the current one; a model detector's network starts on it at once, in OpenVINO's own
threads, so the second core detects while Python tracks. When that frame comes, its boxes are built from that run;
the boxes are the same as without look-ahead (the network's output depends on the frame's pixels only, and
everything stateful — the mask model, the activity test, resets — still runs in frame order, in `process`). A
frame started but never processed (the motion gate held it back, the job stopped at a checkpoint) costs one run
and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from vsearch.indexers import masks as mask_rle
from vsearch.indexers.base import Detector, FrameContext, SourceResult
from vsearch.indexers.detect import IN_FLIGHT
from vsearch.indexers.detector_input import VERSION as INPUT_VERSION
from vsearch.indexers.config import TubeConfig
from vsearch.indexing.identity import StageIdentity
from vsearch.models.runtime import Pending
from vsearch.records import Detections, Frame, FrameDetections, SourceRef


class _Foreground:
    """A small MOG2 background model (longer side 320 px) giving foreground masks to detectors that have none."""

    def __init__(self) -> None:
        self._mog = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=True)
        self._mask: np.ndarray | None = None

    def apply(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        f = min(1.0, 320.0 / max(h, w))
        small = cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA) if f < 1 else image
        fg = self._mog.apply(small) == 255  # 127 = shadow: not foreground
        self._mask = cv2.resize(fg.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)

    def crop(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray | None:
        return None if self._mask is None else self._mask[y0:y1, x0:x1]


class DetectStage:
    """Frame -> `FrameDetections` in `ctx.detections`."""

    name = "detect"

    def __init__(self, detector: Detector, config: TubeConfig | None = None, *,
                 active_tracks: Callable[[], int] = lambda: 0) -> None:
        """`active_tracks` tells activity gating whether any track is still open (the track stage's count)."""
        self.detector = detector
        self.config = config or TubeConfig()
        self._active_tracks = active_tracks
        self.frames_detected = 0
        self._fg: _Foreground | None = None
        self._prev_small: np.ndarray | None = None
        self._last_pts_s: float | None = None
        self._ahead: list[tuple[np.ndarray, Pending]] = []  # (frame image, its network's run), oldest first
        self.frames_started_ahead = 0

    def identity(self) -> tuple[StageIdentity, ...]:
        # a model detector's boxes also depend on how its input copy is prepared (`indexers/detector_input.py`)
        version = "" if self.detector.degraded else INPUT_VERSION
        return (StageIdentity("detect", self.detector.name, version=version,
                              weights_sha256=self.detector.weights_sha256),)

    def begin(self, source: SourceRef) -> None:
        self.detector.reset()
        self._fg = _Foreground() if self.config.background_masks else None
        self._prev_small = None
        self._last_pts_s = None
        self._ahead = []
        self.frames_detected = 0
        self.frames_started_ahead = 0

    def start_ahead(self, frame: Frame) -> None:
        """Start the detector's network on `frame`, the frame expected after the one being processed (a no-op
        for the motion detector, which has no network to overlap)."""
        start = getattr(self.detector, "start", None)
        if start is None or any(image is frame.image for image, _ in self._ahead):
            return
        self._ahead = [*self._ahead[-(IN_FLIGHT - 1):], (frame.image, start(frame))]
        self.frames_started_ahead += 1

    def process(self, frame: Frame, ctx: FrameContext) -> None:
        restarted = self._last_pts_s is not None and frame.pts_s - self._last_pts_s > self.config.reset_after_jump_s
        if restarted:  # frames are missing for a while: nothing links across, relearn the backgrounds
            self.detector.reset()
            self._fg = _Foreground() if self.config.background_masks else None
            self._prev_small = None
        self._last_pts_s = frame.pts_s
        dets = self._detect(frame, no_tracks=restarted or self._active_tracks() == 0)
        if dets.masks is None and self._fg is not None:
            self._fg.apply(frame.image)
        rles, fg_crops = self._masks(dets, frame)
        ctx.detections = FrameDetections(dets, tuple(rles), tuple(fg_crops), restarted)

    def finish(self, ctx: FrameContext) -> None:
        """Nothing is open at the end of a source."""

    def end(self, result: SourceResult) -> None:
        """Detections are not stored as such: they reach the store as tubes."""

    def _detect(self, frame: Frame, *, no_tracks: bool) -> Detections:
        cfg = self.config
        if cfg.detect_on_activity and not self.detector.degraded:
            img = frame.image
            small = cv2.cvtColor(cv2.resize(img, (64, max(1, round(64 * img.shape[0] / img.shape[1]))),
                                            interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY).astype(np.int16)
            prev, self._prev_small = self._prev_small, small
            idle = prev is not None and np.mean(np.abs(small - prev) > 12) < cfg.activity_fraction
            if idle and no_tracks:
                return Detections.empty(frame.index, frame.pts_s, self.detector.name)
        self.frames_detected += 1
        started = self._started(frame)
        return self.detector.detect(frame) if started is None else self.detector.detect(frame, started)  # type: ignore[call-arg]

    def _started(self, frame: Frame) -> Pending | None:
        """The run `start_ahead` began on this frame's pixels (runs on earlier frames are dropped), or None."""
        for k, (image, pending) in enumerate(self._ahead):
            if image is frame.image:
                del self._ahead[:k + 1]
                return pending
        return None

    def _masks(self, dets: Detections, frame: Frame) -> tuple[list[str], list[np.ndarray | None]]:
        h, w = frame.image.shape[:2]
        rles: list[str] = []
        crops: list[np.ndarray | None] = []
        for i, b in enumerate(dets.boxes_xyxy):
            x0, y0 = max(0, int(b[0])), max(0, int(b[1]))
            x1, y1 = min(w, int(np.ceil(b[2]))), min(h, int(np.ceil(b[3])))
            if dets.masks is not None:
                m = dets.masks[i, y0:y1, x0:x1]
            elif self._fg is not None:
                m = self._fg.crop(x0, y0, x1, y1)
            else:
                m = None
            if m is None or m.size == 0:
                rles.append("")
                crops.append(None)
                continue
            rles.append(mask_rle.encode(m))
            crops.append(m if m.mean() >= 0.05 else None)  # a model box whose object stopped moving
        return rles, crops
