"""Native-format span copies: keyframe-aligned ffmpeg stream copies (no re-encoding), located in their source
by matching video packet bytes."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import imageio_ffmpeg

from vsearch.errors import VsearchError


class ExportError(VsearchError):
    """A span could not be copied or the bundle could not be written."""


def secs(x: float | Fraction) -> float:
    return round(float(x), 6)


def copy_span(src: Path, start_s: float, end_s: float, out: Path, *, from_file_start: bool = False) -> None:
    """Stream-copy `src` from the pts `start_s` to `end_s` (source seconds) into `out`: same container, no
    re-encoding. Call it with `start_s` on a keyframe (see `keyframes_before`); `-seek_timestamp 1` makes
    `-ss` an absolute pts even when the file does not start at 0; `+bitexact` keeps the bytes reproducible.
    `from_file_start`: `start_s` is the file's first video packet; copy from the start without seeking (a seek
    to the very first pts of some AVI files yields a copy with no video at all)."""
    seek = [] if from_file_start else ["-seek_timestamp", "1", "-ss", f"{start_s:.6f}"]
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error", *seek,
           "-i", str(src), "-t", f"{end_s - start_s:.6f}", "-map", "0", "-ignore_unknown",
           "-c", "copy", "-fflags", "+bitexact", "-avoid_negative_ts", "make_zero", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise ExportError(f"stream copy of {src} [{start_s:.3f}s, {end_s:.3f}s) into {out.suffix} failed: "
                          f"{proc.stderr.strip()[-800:] or 'empty output'}")


def first_video_pts(src: Path) -> float:
    """Presentation time of the first video packet of `src` (source seconds; not always 0: 0.04 s, 1.4 s...)."""
    with av.open(str(src)) as c:
        tb = c.streams.video[0].time_base
        for pkt in _video_packets(c):
            pts = pkt.pts if pkt.pts is not None else pkt.dts
            if pts is not None:
                return float(pts * tb)
    raise ExportError(f"{src} holds no video packet; nothing can be copied from it")


def keyframes_before(src: Path, start_s: float, n: int = 3) -> list[float]:
    """Presentation times of up to `n` video keyframes at or before `start_s`, latest first (the first packet
    seen when none is a keyframe; empty when `start_s` is before the file's first packet)."""
    with av.open(str(src)) as c:
        vs = c.streams.video[0]
        tb = vs.time_base
        c.seek(max(0, int((start_s - 60.0) / tb)), stream=vs, backward=True, any_frame=False)
        keys: list[float] = []
        for pkt in _video_packets(c):
            pts = pkt.pts if pkt.pts is not None else pkt.dts
            if pts is None:
                continue
            if float(pts * tb) > start_s + 1e-6:
                break
            if pkt.is_keyframe or not keys:
                keys.append(float(pts * tb))
    return keys[::-1][:n]


def copy_span_covering(src: Path, start_s: float, end_s: float, out: Path) -> dict[str, Any]:
    """Copy a span that starts on the keyframe at or before `start_s`, probing the result; falls back to an
    earlier keyframe when the container's seek lands late (MPEG-TS). A span asked from before the file's first
    video packet starts at that packet (`starts_at_first_packet`). Returns `probe_copy`'s answer."""
    first_s = first_video_pts(src)
    if end_s <= first_s:
        raise ExportError(f"span [{start_s:.3f}s, {end_s:.3f}s) of {src} ends before its first video packet "
                          f"({first_s:.3f}s); nothing to copy")
    effective_s = max(start_s, first_s)
    for key_s in keyframes_before(src, effective_s) or [first_s]:
        at_start = key_s <= first_s + 1e-6
        copy_span(src, key_s, end_s, out, from_file_start=at_start)
        probe = probe_copy(src, out, key_s)
        if probe["copy_start_in_source_s"] <= effective_s + 1e-6:
            return {**probe, "starts_at_first_packet": start_s < first_s - 1e-6}
    raise ExportError(f"stream copy of {src} could not be made to start at or before {effective_s:.3f}s "
                      f"(seeking in this container lands after the requested start)")


def _video_packets(container: av.container.InputContainer) -> Iterator[av.Packet]:
    stream = container.streams.video[0]
    for pkt in container.demux(stream):
        if pkt.size:
            yield pkt


def probe_copy(src: Path, copy: Path, start_s: float) -> dict[str, Any]:
    """Locate a span copy in its source by matching video packet bytes.

    Returns the source pts of the copy's first and end (last + duration) video packets, the packet count,
    whether the copy starts on a keyframe, and whether every video packet is byte-identical to consecutive
    packets of the source.
    """
    with av.open(str(copy)) as c:
        copied = [(hashlib.sha256(bytes(p)).digest(), p.is_keyframe) for p in _video_packets(c)]
    if not copied:
        raise ExportError(f"span copy {copy} has no video packets")
    with av.open(str(src)) as s:
        vs = s.streams.video[0]
        tb = vs.time_base
        s.seek(max(0, int((start_s - 10.0) / tb)), stream=vs, backward=True, any_frame=False)
        first_pts: Fraction | None = None
        last_end: Fraction | None = None
        matched = 0
        for pkt in _video_packets(s):
            pts = pkt.pts if pkt.pts is not None else pkt.dts
            if first_pts is None:
                if pts is not None and pts * tb > start_s + 1e-6:
                    break
                if hashlib.sha256(bytes(pkt)).digest() != copied[0][0]:
                    continue
                first_pts = pts * tb
            if matched == len(copied) or hashlib.sha256(bytes(pkt)).digest() != copied[matched][0]:
                break
            matched += 1
            last_end = (pts + (pkt.duration or 0)) * tb
    if first_pts is None or last_end is None:
        raise ExportError(f"span copy {copy} does not start with a video packet of {src} at or before "
                          f"{start_s:.3f}s; the copy cannot be located in its source")
    return {"copy_start_in_source_s": secs(first_pts), "copy_end_in_source_s": secs(last_end),
            "video_packets": len(copied), "starts_on_keyframe": bool(copied[0][1]),
            "packets_identical_to_source": matched == len(copied)}


