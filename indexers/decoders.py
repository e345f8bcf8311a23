"""The three decoding backends (ffmpeg CLI, PyAV, decord) and what they share: the sampling rule, gap and count
bookkeeping, and span (activity gating) decoding. `vsearch.indexers.decode` picks one and yields `Frame`s; the
rules every backend follows are in its docstring."""

from __future__ import annotations

import collections
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

from vsearch.errors import DecodeError
from vsearch.indexers.probe import HEAD_FRAMES, Timestamps, one_line, wants_dts
from vsearch.records import Gap, VideoInfo

GAP_PERIODS = 2.5  # a pts jump larger than this many source frame periods is recorded as a gap
TAIL_PERIODS = 3.0  # decoding ending more than this many periods before the declared end -> tail gap
_EPS = 1e-6  # the sampling rule's bin-edge tolerance

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
class RunState:
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


class BackendFailed(Exception):
    """A backend could not open or decode the file at all (internal; "auto" then tries the next one)."""


Decoded = Iterator[tuple[float, np.ndarray]]  # (exact pts seconds, BGR image) of selected frames


# --------------------------------------------------------------------------------------------- PyAV


class _UseDts(Exception):
    """The first decoded frames' pts run backwards while their dts rise: decode again using dts."""


def _decode_pyav(path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: RunState) -> Decoded:
    try:
        yield from _pyav_pass(path, info, size, fps, st, "pts")
    except _UseDts:  # raised before anything was yielded (see _pyav_pass)
        st.reset()
        yield from _pyav_pass(path, info, size, fps, st, "dts")


def _pyav_pass(path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: RunState, mode: str) -> Decoded:
    """One decoding pass. In "pts" mode the sampled frames of the first `HEAD_FRAMES` decoded frames are
    held back (small BGR images) until their pts are known to rise, else `_UseDts` is raised."""
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as e:
        raise BackendFailed(one_line(e)) from e
    with container:
        if not container.streams.video:
            raise BackendFailed("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        sampler = _Sampler(info.start_pts_s, fps)
        timestamp = Timestamps(mode)
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
            if head is not None and len(head) >= HEAD_FRAMES:
                _check_head(head)
                head = None
                yield from held
                held.clear()
        if head is not None:  # a clip shorter than the head
            _check_head(head)
            yield from held
        st.finish(_declared_end(info))


def _check_head(head: list[tuple[int | None, int | None]]) -> None:
    if wants_dts(head):
        raise _UseDts


def _pyav_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                 st: RunState) -> Iterator[av.VideoFrame]:
    """Decoded frames; a corrupt packet is skipped (a pts jump then becomes a gap), a demuxer failure ends."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as e:  # the demuxer gave up: everything after is unreadable
            st.stop_reason = f"demuxer stopped ({one_line(e)})"
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

    def __init__(self, stream, st: RunState) -> None:  # noqa: ANN001 - a binary pipe
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


def _decode_ffmpeg(path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: RunState,
                   span: _Span | None = None, check_tail: bool = True) -> Decoded:
    cmd = _ffmpeg_command(path, info, size, fps, span)
    w, h = size
    # its own process group: a Ctrl-C in the terminal reaches every process of the job's group, and ffmpeg would
    # exit at once, which reads as an unreadable tail; the job stops at its next chunk boundary and closes it
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            process_group=0)
    assert proc.stdout is not None and proc.stderr is not None
    reader = _StderrReader(proc.stderr, st)
    reader.start()
    n_out = 0
    try:
        while (buf := _read_exact(proc.stdout, w * h * 3)) is not None:
            pts_s = reader.selected.get()
            if pts_s is None:  # a frame without pts (or the parser lost sync): refuse to guess a time
                raise BackendFailed("ffmpeg emitted a frame without a parsable pts") if n_out == 0 else \
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
        raise BackendFailed(f"ffmpeg exit {rc}: {reader.tail[-1] if reader.tail else 'no frames'}"[:300])
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


def _decode_decord(path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: RunState) -> Decoded:
    import decord

    decord.logging.set_level(decord.logging.QUIET)  # its bundled libav would print decoder errors to stderr
    try:
        vr = decord.VideoReader(str(path), ctx=decord.cpu(0), width=size[0], height=size[1], num_threads=0)
        pts, tb = _packet_pts(path)
    except (decord.DECORDError, av.error.FFmpegError, RuntimeError) as e:
        raise BackendFailed(one_line(e)) from e
    n = len(vr)
    if n == 0 or len(pts) != n:
        raise BackendFailed(f"decord indexed {n} frames but the container has {len(pts)} packets with pts")
    pts_s = [float(p * tb) for p in pts.tolist()]
    approx = vr.get_frame_timestamp(range(n))[:, 0].astype(np.float64)
    approx += pts_s[0] - approx[0]  # decord counts from the stream's start time (mpeg-ts)
    worst = float(np.max(np.abs(approx - np.array(pts_s))))
    if not worst <= 1e-3 + 1e-6 * max(abs(pts_s[0]), abs(pts_s[-1])):  # float32 rounding only
        raise BackendFailed(f"decord timestamps disagree with container pts by up to {worst:.4f} s")
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
        stop_reason = f"decord stopped ({one_line(e)})"
    st.finish(_declared_end(info), stop_reason)


BACKEND_FUNCS: dict[str, Callable[[Path, VideoInfo, tuple[int, int], float, RunState], Decoded]] = {
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


def decode_spans(backend: str, path: Path, info: VideoInfo, size: tuple[int, int], fps: float, st: RunState,
                  spans: tuple[tuple[float, float], ...]) -> Decoded:
    bins = _span_bins(info, fps, spans)
    if backend != "ffmpeg" or not _seeks_exactly(info):  # decode everything, keep sampled frames in a span
        ends = np.array([(b[1] - 1) for b in bins], np.int64)
        starts = np.array([b[0] for b in bins], np.int64)
        for pts_s, img in BACKEND_FUNCS[backend](path, info, size, fps, st):
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


