"""Motion gating: run the detector, tracker and describers only where something moves, and say where they did not.

Why inside the one decoding pass rather than a separate low-resolution pre-pass: decoding costs the same whatever
the output size or rate, because an H.264/HEVC decoder must decode every reference frame of the stream to reach
any of them. A separate pre-pass would decode the whole file once more before decoding the active spans again; here
the cue reads the frames the job decodes anyway (analysis rate, e.g. 5 fps), reduced to `width_px` (160 px) grey,
so the motion pre-pass costs ~0.2 ms per sampled frame and the job never decodes anything twice. Frames keep their
indices and times: inside an analysed span the stages see exactly the frames an ungated run gives them.

The cue (follows motion, not exposure): each reduced frame (blurred 3x3) is compared with the previous sampled
frame and with the one `lag_s` ago (a slow walker far away moves little in 0.2 s), after giving the reference the
mean and contrast of the current frame, so an iris, gain, offset or fade change of the whole picture is not
motion. A pixel changed when its difference exceeds `pixel_level` grey levels plus `noise_k` times its own running
mean difference (a shimmering road, leaves, compression flicker stay quiet); isolated changed pixels are removed
(2x2 opening) and a frame changed when at least `min_blob_px` remain (at 160x90 a pedestrian 20x50 px at 768 px is
about 4x10 pixels); it moves when it and the frame before it changed (`min_run`: a keyframe pulse or a flash
changes one frame; the padding covers the first frame of a real movement). An object that stops moving (a person waiting, a car parking) is not motion any more, but the
tracker still holds its track: while it does (`busy`), the gate analyses on.

The gate (errors go towards analysing more): a frame is analysed when a moving frame lies within `pad_before_s`
after it or `pad_after_s` before it; idle stretches shorter than `min_idle_s` are analysed anyway (a skip that
short saves little and ends every track: the tube stage restarts after a jump of 3 s); the first `head_s` of what
is decoded is always analysed. Frames wait in a queue of at most (`pad_before_s` + `min_idle_s`) x rate frames
until their fate is known (memory: ~35 analysis frames at 5 fps, ~24 MB at 640x360).

What was not analysed is returned as `Gap`s with the reason `NO_MOTION`: they are written with the source's gaps,
so every search's coverage report lists them ("no motion (pre-pass)"), but they do not make a file partial.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from vsearch.records import Frame, Gap

MOTION_GATE_VERSION = "motion-v1"
NO_MOTION = "no motion (pre-pass): not analysed at full rate (detector, tracker, descriptors skipped)"


@dataclass(frozen=True)
class MotionGateConfig:
    width_px: int = 160  # the cue's frame width
    pixel_level: float = 10.0  # grey levels (0-255) a pixel must change by, above its own noise ...
    noise_k: float = 3.0  # ... which is this many times its running mean absolute frame difference
    noise_s: float = 10.0  # memory of that per-pixel noise (shimmering road, leaves, compression flicker)
    lag_s: float = 1.0  # also compared with the frame this long ago (slow walkers far away)
    min_blob_px: int = 6  # changed pixels left after removing isolated ones (2x2 opening) that make motion
    min_run: int = 2  # ... in this many sampled frames in a row (a keyframe pulse or a flash is one frame; an
    # object that can make a tube is seen in at least 3 samples, so it changes at least 2 in a row)
    pad_before_s: float = 3.0  # analysed before each moving frame
    pad_after_s: float = 3.0  # ... and after it
    min_idle_s: float = 4.0  # shorter idle stretches are analysed anyway
    head_s: float = 1.0  # always analysed at the start of decoding

    def to_params(self) -> dict[str, object]:
        return {"version": MOTION_GATE_VERSION, **asdict(self)}


def is_no_motion(gap: Gap) -> bool:
    """A stretch the motion gate skipped (not an unreadable span)."""
    return gap.reason == NO_MOTION


_OPEN = np.ones((2, 2), np.uint8)


class MotionCue:
    """`moving(frame)`: whether this sampled frame differs from the previous one, or from the one `lag_s` ago, by
    more than each pixel's own noise, in a blob of at least `min_blob_px` pixels."""

    def __init__(self, config: MotionGateConfig) -> None:
        self.config = config
        self._history: deque[tuple[float, np.ndarray]] = deque()  # (pts, reduced grey) of the last `lag_s`
        self._noise: np.ndarray | None = None  # per-pixel running mean |frame difference|
        self._run = 0  # sampled frames in a row that changed

    def _small(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        sw = min(w, self.config.width_px)
        sh = max(1, round(h * sw / w))
        small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        return cv2.GaussianBlur(grey.astype(np.float32), (3, 3), 0)

    @staticmethod
    def _diff(g: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """|g - ref| after giving ref the mean and contrast of g: a gain, offset or fade is not motion."""
        rs = float(ref.std())
        scaled = (ref - float(ref.mean())) * (float(g.std()) / rs if rs > 1e-3 else 1.0) + float(g.mean())
        return np.abs(g - scaled)

    def _blob(self, d: np.ndarray, thr: np.ndarray) -> bool:
        mask = cv2.morphologyEx((d > thr).astype(np.uint8), cv2.MORPH_OPEN, _OPEN)
        return int(np.count_nonzero(mask)) >= self.config.min_blob_px

    def moving(self, frame: Frame) -> bool:
        cfg = self.config
        g = self._small(frame.image)
        hist = self._history
        if hist and hist[-1][1].shape != g.shape:
            hist.clear()
            self._noise = None
        if not hist:
            hist.append((frame.pts_s, g))
            return False  # nothing to compare with yet (the gate always analyses the first `head_s`)
        prev_s, prev = hist[-1]
        lag = hist[0][1]  # the oldest frame kept: about `lag_s` ago
        d = self._diff(g, prev)
        if self._noise is None:
            self._noise = np.minimum(d, cfg.pixel_level)
        thr = cfg.pixel_level + cfg.noise_k * self._noise
        changed = self._blob(d, thr) or (lag is not prev and self._blob(self._diff(g, lag), thr))
        self._run = self._run + 1 if changed else 0
        moving = self._run >= cfg.min_run
        alpha = min(1.0, max(0.0, frame.pts_s - prev_s) / cfg.noise_s)
        self._noise += alpha * (np.minimum(d, 4 * cfg.pixel_level) - self._noise)  # objects inflate it little
        hist.append((frame.pts_s, g))
        while frame.pts_s - hist[0][0] > cfg.lag_s + 1e-6:
            hist.popleft()
        return moving


class MotionGate:
    """Filters a stream of sampled frames down to those worth analysing (see the module docstring).
    After (or during) iteration, `skipped` holds the stretches not analysed, as `NO_MOTION` gaps."""

    def __init__(self, config: MotionGateConfig | None = None, *, end_s: float | None = None,
                 busy: Callable[[], bool] | None = None) -> None:
        self.config = config or MotionGateConfig()
        self.end_s = end_s  # where a skipped tail ends (the declared end); None: at the last skipped frame
        self.busy = busy  # the tracker holds a track: analyse on (an object that stopped moving is still there)
        self.cue = MotionCue(self.config)
        self.skipped: list[Gap] = []
        self.frames_seen = 0
        self.frames_skipped = 0
        self._skip_from: float | None = None  # first skipped frame of the stretch being skipped
        self._last_skipped_s: float | None = None
        self._pending: deque[Frame] = deque()  # idle frames whose fate is not known yet

    @property
    def undecided(self) -> int:
        """Frames read but neither analysed nor skipped yet: while there are any, the next frame out of `filter`
        is not necessarily the next one read (the look-ahead starts nothing then)."""
        return len(self._pending)

    def filter(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        cfg = self.config
        pending = self._pending = deque()
        last_moving: float | None = None
        head_end: float | None = None
        it = iter(frames)
        try:
            for f in it:
                self.frames_seen += 1
                head_end = f.pts_s + cfg.head_s if head_end is None else head_end
                if self.cue.moving(f) or (not pending and self.busy is not None and self.busy()):
                    yield from self._release(pending, before_s=f.pts_s - cfg.pad_before_s)
                    self._close(f.pts_s)  # (no-op when the release already closed it)
                    last_moving = f.pts_s
                    yield f
                elif f.pts_s < head_end:
                    yield f  # the head (nothing is pending yet): proves the file decodes, starts the backgrounds
                elif last_moving is not None and f.pts_s <= last_moving + cfg.pad_after_s and not pending:
                    yield f  # padding after motion
                else:
                    pending.append(f)
                    self._drop_settled(pending, f.pts_s)
            if pending and self._skip_from is None and pending[-1].pts_s - pending[0].pts_s < cfg.min_idle_s:
                yield from self._emit_all(pending)  # a short idle tail is analysed too
            else:
                while pending:
                    self._skip(pending.popleft())
            self._close(self.end_s if self.end_s is not None else self._last_skipped_s)
        finally:
            close = getattr(it, "close", None)
            if close is not None:  # stopping early ends the decoder now
                close()

    def skipped_between(self, lo_s: float, hi_s: float) -> list[Gap]:
        """Skipped stretches clipped to [lo_s, hi_s), the one being skipped included (for a checkpoint)."""
        spans = list(self.skipped)
        if self._skip_from is not None and self._last_skipped_s is not None:
            spans.append(Gap(self._skip_from, hi_s, NO_MOTION))
        return [Gap(max(g.start_s, lo_s), min(g.end_s, hi_s), NO_MOTION) for g in spans
                if min(g.end_s, hi_s) > max(g.start_s, lo_s)]

    # -- internals -----------------------------------------------------------------------------------------
    def _release(self, pending: deque[Frame], *, before_s: float) -> Iterator[Frame]:
        """A moving frame arrived: pending frames within its padding are analysed; earlier ones are skipped
        unless the idle stretch they form is shorter than `min_idle_s`."""
        if not pending:
            return
        first_kept = next((k for k, f in enumerate(pending) if f.pts_s >= before_s), len(pending))
        start = self._skip_from if self._skip_from is not None else pending[0].pts_s
        if self._skip_from is None and before_s - start < self.config.min_idle_s:
            first_kept = 0  # too short to skip
        for _ in range(first_kept):
            self._skip(pending.popleft())
        yield from self._emit_all(pending)

    def _emit_all(self, pending: deque[Frame]) -> Iterator[Frame]:
        if pending:
            self._close(pending[0].pts_s)
        while pending:
            yield pending.popleft()

    def _drop_settled(self, pending: deque[Frame], now_s: float) -> None:
        """Skip the pending frames no later moving frame can pull back into a padding, once the stretch they
        belong to is already long enough to be skipped."""
        cfg = self.config
        while pending and pending[0].pts_s < now_s - cfg.pad_before_s:
            start = self._skip_from if self._skip_from is not None else pending[0].pts_s
            if now_s - cfg.pad_before_s - start < cfg.min_idle_s:
                return
            self._skip(pending.popleft())

    def _skip(self, f: Frame) -> None:
        if self._skip_from is None:
            self._skip_from = f.pts_s
        self._last_skipped_s = f.pts_s
        self.frames_skipped += 1

    def _close(self, end_s: float | None) -> None:
        if self._skip_from is not None:
            end = end_s if end_s is not None else self._skip_from
            self.skipped.append(Gap(self._skip_from, max(end, self._skip_from), NO_MOTION))
        self._skip_from = self._last_skipped_s = None


__all__ = ["MOTION_GATE_VERSION", "NO_MOTION", "MotionCue", "MotionGate", "MotionGateConfig", "is_no_motion"]
