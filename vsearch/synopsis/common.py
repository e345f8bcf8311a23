"""What synopsis and passages share: tubes grouped per camera, output file/size/rate, time formatting."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

from vsearch.errors import UsageError
from vsearch.records import Tube
from vsearch.synopsis.background import SourceClip, output_size

MAX_FPS = Fraction(25)


def group_by_camera(tubes: Sequence[Tube], clips: dict[str, SourceClip]) -> dict[str, list[Tube]]:
    if not tubes:
        raise UsageError("no tubes to render: the query matched nothing")
    groups: dict[str, list[Tube]] = {}
    seen: set[str] = set()
    for t in tubes:
        if t.source_id not in clips:
            raise UsageError(f"tube {t.tube_id}: its source {t.source_id[:16]} is not among the clips given")
        if t.tube_id in seen:
            raise UsageError(f"tube {t.tube_id} given twice")
        if len(t) == 0:
            raise UsageError(f"tube {t.tube_id} has no samples")
        seen.add(t.tube_id)
        groups.setdefault(clips[t.source_id].camera, []).append(t)
    return dict(sorted(groups.items()))


def camera_clips(cam_tubes: Sequence[Tube], clips: dict[str, SourceClip]) -> list[SourceClip]:
    """The distinct source clips of one camera's tubes, in wall-clock order (then source id)."""
    return sorted({clips[t.source_id].source_id: clips[t.source_id] for t in cam_tubes}.values(),
                  key=lambda c: (c.start_utc, c.source_id))


def camera_path(out_path: Path, camera: str, n_cameras: int) -> Path:
    if n_cameras == 1:
        return out_path
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", camera).strip("_") or "camera"
    return out_path.with_name(f"{out_path.stem}.{slug}{out_path.suffix or '.mp4'}")


def camera_size(clips: Sequence[SourceClip], max_width_px: int) -> tuple[int, int]:
    first = clips[0]
    for c in clips[1:]:
        if abs(c.width_px / c.height_px - first.width_px / first.height_px) > 0.01:
            raise UsageError(f"camera {first.camera!r}: sources {first.path} and {c.path} differ in aspect ratio "
                             f"({first.width_px}x{first.height_px} vs {c.width_px}x{c.height_px}); "
                             "render them separately")
    return output_size(first, max_width_px)


def output_fps(clips: Sequence[SourceClip], fps: Fraction | None) -> Fraction:
    return Fraction(fps) if fps is not None else min(Fraction(clips[0].fps), MAX_FPS)


def fmt_wall(t: dt.datetime, tz: dt.tzinfo, with_date: bool, decimals: int = 0) -> str:
    t = t.astimezone(tz)
    s = t.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    if decimals:
        s += f"{t.microsecond / 1e6:.{decimals}f}"[1:]
    return s


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


def r(x: float, nd: int = 4) -> float:
    return float(round(float(x), nd))



def options_json(opts: object) -> dict:
    """The options dataclass as JSON-ready values (fractions and time zones as text)."""
    d = asdict(opts)  # type: ignore[call-overload]
    return {k: (str(v) if isinstance(v, (Fraction, dt.tzinfo)) else v) for k, v in d.items()}
