"""Probe a source before decoding: container, codec, size, exact frame rate, first pts, declared duration and
creation time, and which timestamps (pts or dts) the stream's frames can be trusted by. Opened read-only."""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction
from pathlib import Path

import av
import av.error

from vsearch.errors import DecodeError
from vsearch.records import VideoInfo

_PROBE_MAX_PACKETS = 1500  # packets read by `probe` looking for the first decodable frame (a long GOP)
HEAD_FRAMES = 24  # frames decoded to decide whether pts or dts are the trustworthy timestamps

# --------------------------------------------------------------------------------------------- probe


def one_line(exc: BaseException, limit: int = 200) -> str:
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
    """Decode the first `HEAD_FRAMES` frames: which timestamp field to trust, and the first frame's time.

    "pts" normally; "dts" when the decoded frames' pts run backwards while their dts rise (AVI with packed
    B-frames), which is also what ffmpeg's CLI ends up using. None when nothing decodes.
    """
    head: list[tuple[int | None, int | None]] = []
    tb = stream.time_base
    stream.thread_type = "AUTO"
    for n, packet in enumerate(container.demux(stream)):
        if n >= _PROBE_MAX_PACKETS or len(head) >= HEAD_FRAMES:
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
    head = head[:HEAD_FRAMES]  # exactly what `_pyav_pass` checks
    mode = "dts" if wants_dts(head) else "pts"
    first = _frame_ts(mode, *head[0])
    return None if first is None else (mode, float(first * tb))


def wants_dts(head: list[tuple[int | None, int | None]]) -> bool:
    return not _rising([p for p, _ in head]) and _rising([d for _, d in head])


def _rising(values: list[int | None]) -> bool:
    return None not in values and all(b > a for a, b in zip(values, values[1:]))


def _frame_ts(mode: str, pts: int | None, dts: int | None) -> int | None:
    return (pts if pts is not None else dts) if mode == "pts" else (dts if dts is not None else pts)


class Timestamps:
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
        reason = e.strerror or one_line(e)
        raise DecodeError(f"{path}: cannot read file ({reason}); check the path and permissions") from e
    if not head:
        raise DecodeError(f"{path}: empty file (0 bytes); nothing to index")
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as e:
        raise DecodeError(f"{path}: not a video file: {one_line(e)}") from e
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
            raise DecodeError(f"{path}: unreadable video: {one_line(e)}") from e
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


