"""Browser-playable clips of a tube's span of the original, made on demand and cached in the store.

The original is never modified: ffmpeg reads it and writes an H.264/yuv420p MP4 with the index at the front
(`+faststart`) so the browser can play and seek it with HTTP Range requests. The cache lives in
`<store>/web-cache/clips/`; deleting it is always safe.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

from vsearch.errors import DecodeError

CLIP_PADDING_S = 1.0  # context shown before and after the tube
CACHE_DIR = Path("web-cache") / "clips"


@dataclass(frozen=True)
class ClipSpan:
    """The span to cut, in the source's presentation times (seconds)."""

    source_path: Path
    start_pts_s: float
    end_pts_s: float

    @classmethod
    def around(cls, source_path: str, source_start_pts_s: float, first_pts_s: float, last_pts_s: float) -> ClipSpan:
        start = max(source_start_pts_s, first_pts_s - CLIP_PADDING_S)
        return cls(Path(source_path), start, last_pts_s + CLIP_PADDING_S)


def clip_path(store_root: Path, tube_id: str) -> Path:
    return Path(store_root) / CACHE_DIR / f"{tube_id}.mp4"


def ensure_clip(store_root: Path, tube_id: str, span: ClipSpan) -> Path:
    """The cached clip of `tube_id`, transcoded first if absent. Written to a temporary file and renamed, so a
    reader never sees a half-written clip."""
    out = clip_path(store_root, tube_id)
    if out.is_file() and out.stat().st_size > 0:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{tube_id}.", suffix=".mp4", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # -seek_timestamp 1: -ss is an absolute presentation time even when the file does not start at 0
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-hide_banner", "-loglevel", "error",
           "-seek_timestamp", "1", "-ss", f"{span.start_pts_s:.6f}", "-i", str(span.source_path),
           "-t", f"{span.end_pts_s - span.start_pts_s:.6f}", "-map", "0:v:0", "-an", "-sn",
           "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
           "-pix_fmt", "yuv420p", "-threads", "1", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise DecodeError(f"{span.source_path}: could not cut [{span.start_pts_s:.3f} s, {span.end_pts_s:.3f} s) "
                          f"into a playable clip: {proc.stderr.strip()[-500:] or 'empty output'}")
    tmp.replace(out)
    return out
