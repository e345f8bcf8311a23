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

import collections
import datetime as dt
import math
import queue
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from vsearch.errors import DecodeError, UsageError
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

GAP_PERIODS = 2.5  # a pts jump larger than this many source frame periods is recorded as a gap
TAIL_PERIODS = 3.0  # decoding ending more than this many periods before the declared end -> tail gap
_EPS = 1e-6  # the sampling rule's bin-edge tolerance
_PROBE_MAX_PACKETS = 1500  # packets read by `probe` looking for the first decodable frame (a long GOP)
_HEAD_FRAMES = 24  # frames decoded to decide whether pts or dts are the trustworthy timestamps


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


# --------------------------------------------------------------------------------------------- probe


def _one_line(exc: BaseException, limit: int = 200) -> str:
    raw = exc.strerror if isinstance(exc, av.error.FFmpegError) and exc.strerror else str(exc)
    text = " ".join(raw.split()) or type(exc).__name__
    return text if len(text) <= limit else "..." + text[-limit:]


def _parse_creation_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # container timestamps are UTC by convention (ISO BMFF, Matroska)
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def _parse_hms(value: str | None) -> float | None:
    """Matroska's per-stream DURATION tag, "HH:MM:SS.fffffffff"."""
    m = re.fullmatch(r"\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)\s*", value or "")
    return None if m is None else int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])


def _declared_end_s(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    """Where the video should end, in pts seconds, as the container declares it (None when it does not)."""
    if stream.duration and stream.time_base:
        return float(((stream.start_time or 0) + stream.duration) * stream.time_base)
    c_start = (container.start_time or 0) / av.time_base
    tagged = _parse_hms(stream.metadata.get("DURATION"))  # Matroska writes one per stream
    if tagged is not None:
        return c_start + tagged
    if container.duration:
        return c_start + container.duration / av.time_base
    return None


def _scan_head(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> tuple[str, float] | None:
    """Decode the first `_HEAD_FRAMES` frames: which timestamp field to trust, and the first frame's time.

    "pts" normally; "dts" when the decoded frames' pts run backwards while their dts rise (AVI with packed
    B-frames), which is also what ffmpeg's CLI ends up using. None when nothing decodes.
    """
    head: list[tuple[int | None, int | None]] = []
    tb = stream.time_base
    stream.thread_type = "AUTO"
    for n, packet in enumerate(container.demux(stream)):
        if n >= _PROBE_MAX_PACKETS or len(head) >= _HEAD_FRAMES:
            break
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            continue
        for frame in frames:
            head.append((frame.pts, frame.dts))
            tb = frame.time_base
    if not head:
        return None
    head = head[:_HEAD_FRAMES]  # exactly what `_pyav_pass` checks
    mode = "dts" if _wants_dts(head) else "pts"
    first = _frame_ts(mode, *head[0])
    return None if first is None else (mode, float(first * tb))


def _wants_dts(head: list[tuple[int | None, int | None]]) -> bool:
    return not _rising([p for p, _ in head]) and _rising([d for _, d in head])


def _rising(values: list[int | None]) -> bool:
    return None not in values and all(b > a for a, b in zip(values, values[1:]))


def _frame_ts(mode: str, pts: int | None, dts: int | None) -> int | None:
    return (pts if pts is not None else dts) if mode == "pts" else (dts if dts is not None else pts)


class _Timestamps:
    """Frame timestamps in the chosen mode; in "dts" mode a frame without dts (the last one, flushed from
    the decoder) gets the previous one's plus its duration, as ffmpeg's CLI predicts it."""

    def __init__(self, mode: str) -> None:
        self.mode, self.last = mode, None

    def __call__(self, frame: av.VideoFrame) -> int | None:
        if self.mode == "dts" and frame.dts is None and self.last is not None and frame.duration:
            ts = self.last + frame.duration
        else:
            ts = _frame_ts(self.mode, frame.pts, frame.dts)
        if ts is not None:
            self.last = ts
        return ts


def probe(path: Path) -> VideoInfo:
    """What the container declares about `path`'s first video stream, plus the exact first-frame pts.

    `duration_s` is the declared end (stream start + declared duration) minus `start_pts_s`, so
    `start_pts_s + duration_s` is where decoding should end.

    Raises DecodeError with a one-line reason naming the file for an unreadable, empty, non-video or
    undecodable file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:  # read-only; also tells "cannot read" apart from "not a video"
            head = f.read(1)
    except OSError as e:
        reason = e.strerror or _one_line(e)
        raise DecodeError(f"{path}: cannot read file ({reason}); check the path and permissions") from e
    if not head:
        raise DecodeError(f"{path}: empty file (0 bytes); nothing to index")
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as e:
        raise DecodeError(f"{path}: not a video file: {_one_line(e)}") from e
    with container:
        if not container.streams.video:
            raise DecodeError(f"{path}: not a video file: no video stream in {container.format.name} container")
        stream = container.streams.video[0]
        cc = stream.codec_context
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not fps or not cc.width or not cc.height:
            raise DecodeError(f"{path}: not a video file: video stream without frame size or frame rate")
        created = _parse_creation_time(container.metadata.get("creation_time") or stream.metadata.get("creation_time"))
        end_s = _declared_end_s(container, stream)
        try:
            head = _scan_head(container, stream)
        except av.error.FFmpegError as e:
            raise DecodeError(f"{path}: unreadable video: {_one_line(e)}") from e
        if head is None:
            raise DecodeError(f"{path}: unreadable video: no decodable {cc.name} frame in the first "
                              f"{_PROBE_MAX_PACKETS} packets")
        return VideoInfo(
            container=container.format.name,
            codec=cc.name,
            width_px=cc.width,
            height_px=cc.height,
            fps=Fraction(fps),
            duration_s=None if end_s is None else end_s - head[1],
            start_pts_s=head[1],
            creation_time=created,
            frame_count=stream.frames or None,
        )


def analysis_size(info: VideoInfo, width_px: int) -> tuple[int, int]:
    """(w, h) for analysis: source aspect kept, both even, never wider than the source."""
    w = max(2, min(width_px, info.width_px) // 2 * 2)
    h = max(2, round(info.height_px * w / info.width_px / 2) * 2)
    return w, h


# --------------------------------------------------------------------------------------------- shared state


class _Sampler:
    """The sampling rule; `take(t)` is called for every source frame in presentation order."""

    def __init__(self, t0: float, fps: float) -> None:
        self.t0, self.fps = t0, fps
        self._last_bin: int | None = None

    def take(self, t: float) -> bool:
        b = math.floor((t - self.t0) * self.fps + _EPS)
        if self._last_bin is not None and b <= self._last_bin:
            return False
        self._last_bin = b
        return True


@dataclass
class _RunState:
    """Per-attempt bookkeeping of every decoded source frame (gaps, counts)."""

    period_s: float
    frames_decoded: int = 0
    last_pts_s: float | None = None
    decode_errors: int = 0
    gaps: list[Gap] = field(default_factory=list)
    stop_reason: str | None = None  # why reading stopped early, when known

    def reset(self) -> None:
        self.frames_decoded, self.last_pts_s, self.decode_errors = 0, None, 0
        self.gaps, self.stop_reason = [], None

    def saw(self, pts_s: float) -> None:
        last = self.last_pts_s
        if last is not None and pts_s - last > GAP_PERIODS * self.period_s:
            missing = round((pts_s - last) / self.period_s) - 1
            self.gaps.append(Gap(last, pts_s, f"unreadable span: about {missing} frame(s) missing (corrupt data?)"))
        self.frames_decoded += 1
        if last is None or pts_s > last:
            self.last_pts_s = pts_s

    def finish(self, declared_end_s: float | None, stop_reason: str | None = None) -> None:
        stop_reason = stop_reason or self.stop_reason
        last = self.last_pts_s
        if last is None or declared_end_s is None:
            return
        if declared_end_s - (last + self.period_s) > TAIL_PERIODS * self.period_s:
            why = "unreadable tail: file truncated?" if stop_reason is None else f"unreadable tail: {stop_reason}"
            self.gaps.append(Gap(last, declared_end_s, why))


def _select_time(pts: int, time_base: Fraction) -> float:
    """t as ffmpeg's select filter computes it (pts * av_q2d(tb)), so every backend bins identically."""
    return pts * (time_base.numerator / time_base.denominator)


class _BackendFailed(Exception):
    """A backend could not open or decode the file at all (internal; "auto" then tries the next one)."""


_Decoded = Iterator[tuple[float, np.ndarray]]  # (exact pts seconds, BGR image) of selected frames


# --------------------------------------------------------------------------------------------- PyAV


class _UseDts(Exception):
    """The first decoded frames' pts run backwards while their dts rise: decode again using dts."""


def _decode_pyav(path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: _RunState) -> _Decoded:
    try:
        yield from _pyav_pass(path, info, size, fps, st, "pts")
    except _UseDts:  # raised before anything was yielded (see _pyav_pass)
        st.reset()
        yield from _pyav_pass(path, info, size, fps, st, "dts")


def _pyav_pass(path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: _RunState, mode: str) -> _Decoded:
    """One decoding pass. In "pts" mode the sampled frames of the first `_HEAD_FRAMES` decoded frames are
    held back (small BGR images) until their pts are known to rise, else `_UseDts` is raised."""
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as e:
        raise _BackendFailed(_one_line(e)) from e
    with container:
        if not container.streams.video:
            raise _BackendFailed("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        sampler = _Sampler(info.start_pts_s, fps)
        timestamp = _Timestamps(mode)
        head: list[tuple[int | None, int | None]] | None = [] if mode == "pts" else None
        held: list[tuple[float, np.ndarray]] = []
        for frame in _pyav_frames(container, stream, st):
            if head is not None:
                head.append((frame.pts, frame.dts))
            pts = timestamp(frame)
            if pts is None:
                st.decode_errors += 1
                continue
            tb = frame.time_base
            pts_s = float(pts * tb)
            st.saw(pts_s)
            if sampler.take(_select_time(pts, tb)):
                img = frame.to_ndarray(format="bgr24", width=size[0], height=size[1], interpolation="AREA")
                if head is None:
                    yield pts_s, img
                else:
                    held.append((pts_s, img))
            if head is not None and len(head) >= _HEAD_FRAMES:
                _check_head(head)
                head = None
                yield from held
                held.clear()
        if head is not None:  # a clip shorter than the head
            _check_head(head)
            yield from held
        st.finish(_declared_end(info))


def _check_head(head: list[tuple[int | None, int | None]]) -> None:
    if _wants_dts(head):
        raise _UseDts


def _pyav_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 st: _RunState) -> Iterator[av.VideoFrame]:
    """Decoded frames; a corrupt packet is skipped (a pts jump then becomes a gap), a demuxer failure ends."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as e:  # the demuxer gave up: everything after is unreadable
            st.stop_reason = f"demuxer stopped ({_one_line(e)})"
            return
        try:
            yield from packet.decode()
        except av.error.MemoryError:
            raise
        except av.error.FFmpegError:  # corrupt data (InvalidData, BugError...): counted, then skipped
            st.decode_errors += 1


def _declared_end(info: VideoInfo) -> float | None:
    return None if info.duration_s is None else info.start_pts_s + info.duration_s


# --------------------------------------------------------------------------------------------- ffmpeg CLI

_SHOWINFO = re.compile(r"^\[Parsed_showinfo_(\d+) @ [^\]]+\] (?:n:\s*\d+ pts:\s*(-?\d+|NOPTS)"
                       r"|config in time_base: (\d+)/(\d+))")


@dataclass(frozen=True)
class _Span:
    """One span for the ffmpeg backend: sampling bins [first_bin, end_bin), read from seek_s for dur_s."""

    first_bin: int
    end_bin: int
    seek_s: float  # absolute pts seconds (-seek_timestamp), half a source period before the first bin's edge
    dur_s: float


def _ffmpeg_command(path: Path, info: VideoInfo, size: tuple[int, int], fps: float,
                    span: _Span | None = None) -> list[str]:
    import ffmpeg
    import imageio_ffmpeg

    t0, f = repr(float(info.start_pts_s)), repr(float(fps))
    cur = f"floor((t-({t0}))*{f}+{_EPS:.6f})"
    prev = f"floor((prev_selected_t-({t0}))*{f}+{_EPS:.6f})"
    expr = f"if(isnan(prev_selected_t),1,gt({cur},{prev}))"
    seek: dict[str, object] = {}
    if span is not None:  # frames of earlier bins never become prev_selected_t: the rule is unchanged inside
        expr = f"if(gte({cur},{span.first_bin})*lt({cur},{span.end_bin}),{expr},0)"
        seek = {"ss": repr(span.seek_s), "t": repr(span.dur_s), "seek_timestamp": 1}
    graph = (
        ffmpeg.input(str(path), copyts=None, nostdin=None, hide_banner=None, nostats=None, loglevel="info", **seek)
        .video.filter("showinfo", checksum=0)  # every decoded frame (gap detection)
        .filter("select", expr)
        .filter("showinfo", checksum=0)  # sampled frames, in output order
        .filter("scale", size[0], size[1], flags="area")
        .output("pipe:", format="rawvideo", pix_fmt="bgr24", fps_mode="passthrough", an=None, sn=None, dn=None)
    )
    return graph.compile(cmd=imageio_ffmpeg.get_ffmpeg_exe())


class _StderrReader(threading.Thread):
    """Parses ffmpeg's stderr: all-frame pts feed the run state; sampled pts go to a queue, in order."""

    def __init__(self, stream, st: _RunState) -> None:  # noqa: ANN001 - a binary pipe
        super().__init__(daemon=True, name="ffmpeg-stderr")
        self.stream, self.st = stream, st
        self.selected: queue.Queue[float | None] = queue.Queue()
        self.tail: collections.deque[str] = collections.deque(maxlen=8)
        self._tb: dict[int, Fraction] = {}

    def run(self) -> None:
        try:
            self._parse()
        finally:
            self.selected.put(None)  # the consumer never waits forever, whatever happened here

    def _parse(self) -> None:
        for raw in self.stream:
            line = raw.decode("utf-8", "replace").rstrip()
            m = _SHOWINFO.match(line)
            if m is None:
                if line and not line.startswith("[Parsed_showinfo_"):  # not showinfo's side-data lines
                    self.tail.append(line)
                    self.st.decode_errors += "error" in line.lower() or "invalid" in line.lower()
                continue
            idx = int(m[1])
            if m[3] is not None:
                self._tb[idx] = Fraction(int(m[3]), int(m[4]))
                continue
            pts_s = None if m[2] == "NOPTS" else float(int(m[2]) * self._tb[idx])
            if idx == min(self._tb):  # the showinfo before select: every decoded frame
                if pts_s is not None:
                    self.st.saw(pts_s)
            else:
                self.selected.put(pts_s)


def _read_exact(stream, n: int) -> bytearray | None:  # noqa: ANN001 - a binary pipe
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            return None
        got += k
    return buf


def _decode_ffmpeg(path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: _RunState,
                   span: _Span | None = None, check_tail: bool = True) -> _Decoded:
    cmd = _ffmpeg_command(path, info, size, fps, span)
    w, h = size
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    reader = _StderrReader(proc.stderr, st)
    reader.start()
    n_out = 0
    try:
        while (buf := _read_exact(proc.stdout, w * h * 3)) is not None:
            pts_s = reader.selected.get()
            if pts_s is None:  # a frame without pts (or the parser lost sync): refuse to guess a time
                raise _BackendFailed("ffmpeg emitted a frame without a parsable pts") if n_out == 0 else \
                    DecodeError(f"{path}: ffmpeg emitted frame {n_out} without a parsable pts; try backend pyav")
            n_out += 1
            yield pts_s, np.frombuffer(buf, np.uint8).reshape(h, w, 3)
        rc = proc.wait()
        reader.join()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        reader.join(timeout=5)
        proc.stderr.close()
    if n_out == 0 and (span is None or rc != 0):
        raise _BackendFailed(f"ffmpeg exit {rc}: {reader.tail[-1] if reader.tail else 'no frames'}"[:300])
    last_line = reader.tail[-1] if reader.tail else ""
    st.finish(_declared_end(info) if check_tail else None,
              None if rc == 0 else f"ffmpeg stopped with exit {rc}: {last_line}")


# --------------------------------------------------------------------------------------------- decord


def _packet_pts(path: Path) -> tuple[np.ndarray, Fraction]:
    """Exact pts of every video packet, sorted (the frame index decord builds), and the time base."""
    with av.open(str(path), mode="r") as container:
        stream = container.streams.video[0]
        pts = np.array([p.pts for p in container.demux(stream) if p.pts is not None and p.size], np.int64)
        return np.sort(pts), Fraction(stream.time_base)


def _decode_decord(path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: _RunState) -> _Decoded:
    import decord

    decord.logging.set_level(decord.logging.QUIET)  # its bundled libav would print decoder errors to stderr
    try:
        vr = decord.VideoReader(str(path), ctx=decord.cpu(0), width=size[0], height=size[1], num_threads=0)
        pts, tb = _packet_pts(path)
    except (decord.DECORDError, av.error.FFmpegError, RuntimeError) as e:
        raise _BackendFailed(_one_line(e)) from e
    n = len(vr)
    if n == 0 or len(pts) != n:
        raise _BackendFailed(f"decord indexed {n} frames but the container has {len(pts)} packets with pts")
    pts_s = [float(p * tb) for p in pts.tolist()]
    approx = vr.get_frame_timestamp(range(n))[:, 0].astype(np.float64)
    approx += pts_s[0] - approx[0]  # decord counts from the stream's start time (mpeg-ts)
    worst = float(np.max(np.abs(approx - np.array(pts_s))))
    if not worst <= 1e-3 + 1e-6 * max(abs(pts_s[0]), abs(pts_s[-1])):  # float32 rounding only
        raise _BackendFailed(f"decord timestamps disagree with container pts by up to {worst:.4f} s")
    sampler = _Sampler(info.start_pts_s, fps)
    cur = 0  # index of the next frame decord will decode
    stop_reason = None
    try:
        for i, p in enumerate(pts.tolist()):
            if not sampler.take(_select_time(p, tb)):
                continue
            if i > cur:
                vr.skip_frames(i - cur)
            rgb = vr.next().asnumpy()
            for j in range(cur, i + 1):
                st.saw(pts_s[j])
            cur = i + 1
            yield pts_s[i], np.ascontiguousarray(rgb[:, :, ::-1])
        if cur < n:  # decode the frames after the last sampled one too, so a bad tail is noticed
            vr.skip_frames(n - cur)
            for j in range(cur, n):
                st.saw(pts_s[j])
    except (decord.DECORDError, StopIteration) as e:
        stop_reason = f"decord stopped ({_one_line(e)})"
    st.finish(_declared_end(info), stop_reason)


_BACKEND_FUNCS: dict[str, Callable[[Path, VideoInfo, tuple[int, int], float, _RunState], _Decoded]] = {
    "ffmpeg": _decode_ffmpeg,
    "pyav": _decode_pyav,
    "decord": _decode_decord,
}


# --------------------------------------------------------------------------------------------- spans


def _span_bins(info: VideoInfo, fps: float, spans: tuple[tuple[float, float], ...]) -> list[tuple[int, int]]:
    """Each span as the sampling bins it touches, [first, end); touching or overlapping bin ranges merged."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        lo = math.floor((a - info.start_pts_s) * fps + _EPS)
        hi = max(lo + 1, math.ceil((b - info.start_pts_s) * fps - _EPS))
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


_EXACT_SEEK_CONTAINERS = ("mov", "matroska", "avi")  # indexed containers; MPEG-TS/PS seeks land late


def _seeks_exactly(info: VideoInfo) -> bool:
    return info.container.split(",")[0] in _EXACT_SEEK_CONTAINERS


def _decode_spans(backend: str, path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: _RunState,
                  spans: tuple[tuple[float, float], ...]) -> _Decoded:
    bins = _span_bins(info, fps, spans)
    if backend != "ffmpeg" or not _seeks_exactly(info):  # decode everything, keep sampled frames in a span
        ends = np.array([(b[1] - 1) for b in bins], np.int64)
        starts = np.array([b[0] for b in bins], np.int64)
        for pts_s, img in _BACKEND_FUNCS[backend](path, info, size, fps, st):
            k = math.floor((pts_s - info.start_pts_s) * fps + _EPS)
            i = int(np.searchsorted(ends, k))
            if i < len(bins) and starts[i] <= k:
                yield pts_s, img
        return
    period_s = 1.0 / float(info.fps)
    declared_end = _declared_end(info)
    for i, (lo, hi) in enumerate(bins):
        edge_s = info.start_pts_s + lo / fps
        seek_s = max(info.start_pts_s, edge_s - 0.5 * period_s)
        dur_s = info.start_pts_s + hi / fps - seek_s + period_s
        last = i == len(bins) - 1
        reaches_end = declared_end is None or seek_s + dur_s >= declared_end
        st.last_pts_s = None  # the stretch skipped before this span is deliberate, not an unreadable gap
        yield from _decode_ffmpeg(path, info, size, fps, st, _Span(lo, hi, seek_s, dur_s),
                                  check_tail=last and reaches_end)


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
            st = _RunState(period_s)
            if self.opts.spans is None:
                decoded = _BACKEND_FUNCS[backend](self.path, self.info, self.analysis_size, self.opts.fps, st)
            else:
                decoded = _decode_spans(backend, self.path, self.info, self.analysis_size, self.opts.fps, st,
                                        self.opts.spans)
            try:
                first = next(decoded, None)
                if first is None:
                    raise _BackendFailed("no frames decoded")
            except _BackendFailed as e:
                self.fallbacks.append(f"{backend}: {e}")
                continue
            self.backend = backend
            try:
                for k, (pts_s, img) in enumerate(_chain(first, decoded)):
                    self.frames_sampled = k + 1
                    self._publish(st)
                    yield Frame(index=k, pts_s=pts_s, image=img, scale=scale)
            except _BackendFailed as e:  # failed after frames were delivered: cannot switch backends now
                raise DecodeError(f"{self.path}: {backend} decoding failed after {self.frames_sampled} frames: {e}; "
                                  "try another --decoder") from e
            finally:
                decoded.close()
            self._publish(st)
            return
        raise DecodeError(f"{self.path}: unreadable video: no backend could decode it ({'; '.join(self.fallbacks)})")

    def _publish(self, st: _RunState) -> None:
        self.gaps = list(st.gaps)
        self.frames_decoded = st.frames_decoded
        self.last_pts_s = st.last_pts_s
        self.decode_errors = st.decode_errors


def _chain(first: tuple[float, np.ndarray], rest: _Decoded) -> _Decoded:
    yield first
    yield from rest


def open_decode(path: Path, info: VideoInfo, opts: DecodeOptions) -> DecodeRun:
    """A single-use iterable of sampled frames of `path` (see the module docstring for the rules)."""
    return DecodeRun(path, info, opts)
