"""Writers of the synopsis/passages outputs: deterministic H.264 MP4 (ffmpeg), JSON sidecar, WebVTT track."""

from __future__ import annotations

import json
import queue
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from vsearch.errors import VsearchError


# x264 preset: "superfast" encodes a busy synopsis in about half the CPU time of "veryfast" (the encoder
# was what the compositor waited on) for a somewhat larger file at the same CRF. One thread: deterministic.
ENCODER_PRESET = "superfast"
QUEUED_FRAMES = 8  # frames waiting for the encoder (8 x 2.6 MB at 720p)


class EncodeError(VsearchError):
    """The ffmpeg encoder failed."""


class Encoder:
    """Raw BGR frames in, deterministic H.264 MP4 out (written next to the target, then renamed)."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, crf: int):
        self.path = path
        self.tmp = path.with_name(path.name + ".partial.mp4")
        gop = max(1, int(round(float(fps) * 2)))
        self.cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-nostdin", "-loglevel", "error",
                    "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
                    "-framerate", f"{fps.numerator}/{fps.denominator}", "-i", "pipe:0", "-an",
                    "-c:v", "libx264", "-preset", ENCODER_PRESET, "-crf", str(crf), "-threads", "1",
                    "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-pix_fmt", "yuv420p",
                    "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
                    "-movflags", "+faststart", "-f", "mp4", str(self.tmp)]

    def __enter__(self) -> Encoder:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stderr=self._err)
        # frames go down the pipe from a thread (a blocked write releases the GIL): the caller composes the
        # next frames while x264 catches up, instead of the two taking turns frame by frame
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_FRAMES)
        self._broken = False
        self._feeder = threading.Thread(target=self._feed, name="vsearch-encoder-feed", daemon=True)
        self._feeder.start()
        return self

    def _feed(self) -> None:
        assert self.proc.stdin is not None
        while (data := self._queue.get()) is not None:
            if self._broken:
                continue  # drain, so that write() never blocks on a dead encoder
            try:
                self.proc.stdin.write(data)
            except (BrokenPipeError, ValueError):
                self._broken = True

    def write(self, frame: np.ndarray) -> None:
        if self._broken:
            self.proc.wait()
            raise EncodeError(f"{self.path}: ffmpeg stopped: {self._stderr()}")
        self._queue.put(np.ascontiguousarray(frame).tobytes())

    def _stderr(self) -> str:
        self._err.seek(0)
        return self._err.read().decode(errors="replace")[-2000:]

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.proc.stdin is not None
        self._queue.put(None)
        self._feeder.join()
        if not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                self._broken = True
        rc = self.proc.wait()
        try:
            if exc_type is None and (rc != 0 or self._broken):
                raise EncodeError(f"{self.path}: ffmpeg exited with {rc}: {self._stderr()}")
            if exc_type is None:
                self.tmp.replace(self.path)
        finally:
            self._err.close()
            if self.tmp.exists():
                self.tmp.unlink()


def write_json(path: Path, obj: dict) -> None:
    """`obj` as JSON, one top-level key per line, keys sorted (deterministic). Not indented further: with
    `indent` the json module falls back to its pure-Python encoder, 4x slower on a busy hour's source map."""
    lines = [f"{json.dumps(str(k))}: {json.dumps(obj[k], sort_keys=True, ensure_ascii=False)}" for k in sorted(obj)]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")


def _vtt_time(s: float) -> str:
    ms = int(round(s * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def write_vtt(path: Path, cues: Sequence[tuple[float, float, Sequence[str]]]) -> None:
    lines = ["WEBVTT", ""]
    for n, (a, b, text) in enumerate(cues, 1):
        lines += [str(n), f"{_vtt_time(a)} --> {_vtt_time(b)}", *text, ""]
    path.write_text("\n".join(lines), encoding="utf-8")

