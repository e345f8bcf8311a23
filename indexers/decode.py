"""Decode stage: probe a source, then stream sampled, resized frames with exact presentation times.

Three interchangeable backends decode the same frames:

- ``"ffmpeg"``: the ffmpeg CLI (imageio-ffmpeg's binary; command built with ffmpeg-python). Selection
  happens inside ffmpeg (a ``select`` expression implementing the sampling rule below), so only sampled
  frames are scaled and piped; exact pts come from two ``showinfo`` filters (all frames / sampled frames)
  parsed from stderr in a thread.
- ``"pyav"``: PyAV (libav* in-process), frame-threaded decoding, per-packet error recovery.
- ``"decord"``: decord's VideoReader; its timestamps are float32, so exact pts come from a PyAV demux pass
  over the packet pts (the same index decord builds), checked against decord's own.

Sampling rule (identical for every backend, so results do not depend on the backend): a source frame with
pts ``t`` (float64 seconds from the stream time base) is selected when ``floor((t - t0) * fps + 1e-6)``
exceeds that of the last selected frame, with ``t0 = info.start_pts_s`` (pts of the first frame): the
first frame of each 1/fps bin. A source slower than the analysis rate thus gets every frame selected; a
frame whose pts runs backwards (garbage from a corrupt region) is never selected.

Unreadable spans are recorded as `Gap`s: inside the stream wherever consecutive decoded pts jump by more
than `GAP_PERIODS` source frame periods, and at the end when decoding stops before the declared duration
(a truncated file; a container whose duration is estimated from the file itself, such as MPEG-TS, cannot
reveal a lost tail). Memory stays flat: frames are streamed, nothing is buffered per file except decord's
own frame index. Files are opened read-only.

Spans (`DecodeOptions.spans`, set by activity gating, see `vsearch.indexers.activity`): only frames whose
sampling bin lies in one of the given source-time spans are yielded, by the same sampling rule, so a frame is
yielded with spans exactly when it would be yielded without them and falls in a span (span edges are widened to
whole bins). The ffmpeg backend seeks to each span and decodes only it (accurate seek: from the keyframe before,
frames before the span discarded) in indexed containers (MP4/MOV, Matroska, AVI); other containers (MPEG-TS seeks
land late) and the other backends decode everything and drop frames outside the spans. The
skipped stretches between spans are deliberate, never gaps; the tail is checked only when the last span reaches
the declared end.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vsearch.errors import DecodeError, UsageError
from vsearch.indexers.decoders import (
    BACKEND_FUNCS,
    BackendFailed,
    Decoded,
    RunState,
    decode_spans,
)
# probe is part of this stage's API (`decode.probe`); _parse_creation_time is re-exported for its unit test
from vsearch.indexers.probe import _parse_creation_time, analysis_size, probe  # noqa: F401
from vsearch.records import Frame, Gap, VideoInfo

BACKENDS: tuple[str, ...] = ("ffmpeg", "pyav", "decord")
# Chosen with bench/bench_decode.py (docs/benchmarks.md, "Decode"; 2 shared Xeon cores, load ~9), default sampling
# 5 fps / 640 px, best of 3 rounds, x real time (x real time per CPU core):
#   720p25 2 Mb/s H.264:  ffmpeg 15.8 (16.7), pyav 14.6 (16.9), decord 11.0 (14.5)
#   1080p25 4 Mb/s H.264: ffmpeg 6.8 (8.3),   pyav 6.3 (8.5),   decord 5.5 (8.0)
# ffmpeg and pyav cost the same CPU (decoding dominates) and select identical pts; ffmpeg was fastest by wall
# time in each run and decodes out of process, so a decoder crash on a corrupt file ends only that file.
DEFAULT_BACKEND: str = "ffmpeg"
# "auto" tries the default first, then these, when a backend cannot open a file (yields no frame).
FALLBACK_ORDER: tuple[str, ...] = ("ffmpeg", "pyav", "decord")



@dataclass(frozen=True)
class DecodeOptions:
    fps: float = 5.0  # analysis frame rate
    width_px: int = 640  # analysis width (never upscaled)
    backend: str = "auto"  # "auto" | "ffmpeg" | "pyav" | "decord"
    spans: tuple[tuple[float, float], ...] | None = None  # source pts seconds [start, end) to decode; None: all

    def __post_init__(self) -> None:
        if not (self.fps > 0 and math.isfinite(self.fps)):
            raise UsageError(f"analysis fps must be a positive number, got {self.fps!r}")
        if self.width_px < 2:
            raise UsageError(f"analysis width must be at least 2 px, got {self.width_px!r}")
        if self.backend not in ("auto", *BACKENDS):
            raise UsageError(f"unknown decoder backend {self.backend!r}; use one of auto, {', '.join(BACKENDS)}")
        if self.spans is not None:
            ends = [e for _, e in self.spans]
            if any(not (a < b) for a, b in self.spans) or any(b > a for b, a in zip(ends, [a for a, _ in self.spans][1:])):
                raise UsageError(f"decode spans must be sorted, non-overlapping (start < end) pairs, got {self.spans!r}")



# --------------------------------------------------------------------------------------------- the run


class DecodeRun:
    """Iterate once to get the sampled `Frame`s; afterwards the attributes describe what was read.

    gaps: unreadable spans; frames_decoded: source frames decoded (all, not only sampled); frames_sampled:
    Frames yielded; backend: the backend that produced them; last_pts_s: pts of the last decoded source
    frame; decode_errors: corrupt packets/frames skipped (ffmpeg: error lines logged); fallbacks: why
    earlier backends were passed over ("auto" only).
    """

    def __init__(self, path: Path, info: VideoInfo, opts: DecodeOptions) -> None:
        self.path, self.info, self.opts = Path(path), info, opts
        self.analysis_size: tuple[int, int] = analysis_size(info, opts.width_px)
        if opts.backend == "auto":
            self._candidates = (DEFAULT_BACKEND, *(b for b in FALLBACK_ORDER if b != DEFAULT_BACKEND))
        else:
            self._candidates = (opts.backend,)
        self.backend: str = self._candidates[0]
        self.gaps: list[Gap] = []
        self.frames_decoded = 0
        self.frames_sampled = 0
        self.last_pts_s: float | None = None
        self.decode_errors = 0
        self.fallbacks: list[str] = []
        self._started = False

    def __iter__(self) -> Iterator[Frame]:
        if self._started:
            raise RuntimeError(f"DecodeRun for {self.path} can be iterated only once")
        self._started = True
        scale = self.info.width_px / self.analysis_size[0]
        period_s = 1.0 / float(self.info.fps)
        for backend in self._candidates:
            st = RunState(period_s)
            if self.opts.spans is None:
                decoded = BACKEND_FUNCS[backend](self.path, self.info, self.analysis_size, self.opts.fps, st)
            else:
                decoded = decode_spans(backend, self.path, self.info, self.analysis_size, self.opts.fps, st,
                                        self.opts.spans)
            try:
                first = next(decoded, None)
                if first is None:
                    raise BackendFailed("no frames decoded")
            except BackendFailed as e:
                self.fallbacks.append(f"{backend}: {e}")
                continue
            self.backend = backend
            try:
                for k, (pts_s, img) in enumerate(_chain(first, decoded)):
                    self.frames_sampled = k + 1
                    self._publish(st)
                    yield Frame(index=k, pts_s=pts_s, image=img, scale=scale)
            except BackendFailed as e:  # failed after frames were delivered: cannot switch backends now
                raise DecodeError(f"{self.path}: {backend} decoding failed after {self.frames_sampled} frames: {e}; "
                                  "try another --decoder") from e
            finally:
                decoded.close()
            self._publish(st)
            return
        raise DecodeError(f"{self.path}: unreadable video: no backend could decode it ({'; '.join(self.fallbacks)})")

    def _publish(self, st: RunState) -> None:
        self.gaps = list(st.gaps)
        self.frames_decoded = st.frames_decoded
        self.last_pts_s = st.last_pts_s
        self.decode_errors = st.decode_errors


def _chain(first: tuple[float, np.ndarray], rest: Decoded) -> Decoded:
    yield first
    yield from rest


def open_decode(path: Path, info: VideoInfo, opts: DecodeOptions) -> DecodeRun:
    """A single-use iterable of sampled frames of `path` (see the module docstring for the rules)."""
    return DecodeRun(path, info, opts)

