"""Video synopsis ("condense hours into minutes") and passages ("the real footage around each hit").

`render_synopsis` pastes every matching tube, whole, with its own feathered foreground mask over a
time-lapse background plate, shifted in time by `synopsis_plan.plan_placement` so many objects share the
screen; each object carries its real wall-clock time and camera. `render_passages` cuts the original
footage to the matching spans with a burnt-in timestamp and non-matching objects greyed out.

Both write an H.264 MP4 (fixed encoder settings, bit-exact flags, no metadata: same inputs give the same
bytes), a JSON sidecar (source map + metrics) and a WebVTT track. One output file per camera: with tubes of
several cameras, `out.mp4` becomes `out.<camera>.mp4`, ... Non-matching objects are never pasted.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import cv2
import imageio_ffmpeg
import numpy as np

from vsearch.synopsis.background import (PlateTimeline, SourceClip, boxes_to_output, build_plates, iter_nearest_frames,
                                output_size, stream_duration_s)
from vsearch.errors import UsageError, VsearchError
from vsearch.indexers import masks as mask_rle
from vsearch.records import Tube
from vsearch.synopsis.plan import PlanItem, interp_box, interp_boxes, nearest_sample, plan_placement

__all__ = ["SourceClip", "SynopsisOptions", "PassageOptions", "SourceMapEntry", "SynopsisMetrics",
           "CameraSynopsis", "SynopsisResult", "Passage", "CameraPassages", "PassagesResult",
           "render_synopsis", "render_passages"]

Progress = Callable[[int, int], None]
SIDECAR_FORMAT = "vsearch-synopsis/1"
PASSAGES_FORMAT = "vsearch-passages/1"
LABEL_COLOUR = (255, 255, 255)
OUTLINE_COLOUR = (0, 0, 0)
MAX_FPS = Fraction(25)


class EncodeError(VsearchError):
    """The ffmpeg encoder failed."""


@dataclass(frozen=True)
class SynopsisOptions:
    fps: Fraction | None = None  # output rate; None: the first clip's rate, capped at 25
    density: float = 6.0  # average number of objects on screen the synopsis length is planned for
    max_duration_s: float | None = None  # cap on the synopsis length (never met by dropping tubes)
    label: bool = True
    feather_px: int = 4
    plate_window_s: float = 600.0  # background refreshed every this much source time
    plate_samples: int = 25
    max_width_px: int = 1280
    tz: dt.tzinfo = dt.timezone.utc  # time zone of the labels
    crf: int = 23

    def __post_init__(self) -> None:
        if self.fps is not None and not (0 < self.fps <= 60):
            raise UsageError(f"--fps must be in (0, 60], got {self.fps}")
        if self.density <= 0:
            raise UsageError(f"--density must be > 0 (objects on screen on average), got {self.density}")
        if self.max_duration_s is not None and self.max_duration_s <= 0:
            raise UsageError(f"--max-duration must be > 0 seconds, got {self.max_duration_s}")
        if self.feather_px < 0 or self.plate_window_s <= 0 or self.plate_samples < 1:
            raise UsageError("feather_px must be >= 0, plate_window_s > 0 and plate_samples >= 1")


@dataclass(frozen=True)
class PassageOptions:
    padding_s: float = 2.0  # context kept before and after each matching span
    mask: Literal["grey", "blur"] = "grey"  # how non-matching moving objects are hidden
    outline_matches: bool = True
    fps: Fraction | None = None  # None: the first clip's rate
    max_width_px: int = 1280
    tz: dt.tzinfo = dt.timezone.utc
    crf: int = 23

    def __post_init__(self) -> None:
        if self.padding_s < 0:
            raise UsageError(f"--padding must be >= 0 seconds, got {self.padding_s}")
        if self.mask not in ("grey", "blur"):
            raise UsageError(f"mask must be 'grey' or 'blur', got {self.mask!r}")
        if self.fps is not None and not (0 < self.fps <= 60):
            raise UsageError(f"--fps must be in (0, 60], got {self.fps}")


@dataclass(frozen=True)
class SourceMapEntry:
    """Where one tube is on screen: synopsis [start, end) and the matching source times (1:1 speed).

    `samples` holds (synopsis_s, source_pts_s, box_xyxy in output pixels) at the tube's analysis samples.
    """

    tube_id: str
    source_id: str
    source_path: str
    camera: str
    synopsis_start_s: float
    synopsis_end_s: float
    source_start_pts_s: float
    source_end_pts_s: float
    wall_start: str  # ISO 8601
    wall_end: str
    samples: tuple[tuple[float, float, tuple[float, float, float, float]], ...] = ()

    def source_pts_at(self, synopsis_s: float) -> float:
        return self.source_start_pts_s + (synopsis_s - self.synopsis_start_s)


@dataclass(frozen=True)
class SynopsisMetrics:
    objects: int
    object_seconds: float  # total on-screen time of all objects
    source_span_s: float  # wall clock from the first object's appearance to the last one's exit
    synopsis_duration_s: float
    condensation_ratio: float  # source span / synopsis duration
    collision_rate: float  # share of object-frames whose mask overlaps another object's mask
    disorder: float  # share of object pairs shown in the reverse of their real order
    target_duration_s: float
    max_duration_met: bool  # False: the longest tube alone is longer than max_duration_s (all kept)


@dataclass(frozen=True)
class CameraSynopsis:
    camera: str
    video_path: Path
    sidecar_path: Path
    vtt_path: Path
    fps: Fraction
    width_px: int
    height_px: int
    frames: int
    metrics: SynopsisMetrics
    entries: tuple[SourceMapEntry, ...]


@dataclass(frozen=True)
class SynopsisResult:
    parts: tuple[CameraSynopsis, ...]  # one per camera, in camera order


@dataclass(frozen=True)
class Passage:
    output_start_s: float
    output_end_s: float
    source_id: str
    source_path: str
    camera: str
    source_start_pts_s: float
    source_end_pts_s: float
    wall_start: str
    wall_end: str
    tube_ids: tuple[str, ...]


@dataclass(frozen=True)
class CameraPassages:
    camera: str
    video_path: Path
    sidecar_path: Path
    vtt_path: Path
    fps: Fraction
    frames: int
    passages: tuple[Passage, ...]
    source_span_s: float
    output_duration_s: float


@dataclass(frozen=True)
class PassagesResult:
    parts: tuple[CameraPassages, ...]


# ----------------------------------------------------------------------------------------------- helpers


def _group_by_camera(tubes: Sequence[Tube], clips: dict[str, SourceClip]) -> dict[str, list[Tube]]:
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


def _camera_path(out_path: Path, camera: str, n_cameras: int) -> Path:
    if n_cameras == 1:
        return out_path
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", camera).strip("_") or "camera"
    return out_path.with_name(f"{out_path.stem}.{slug}{out_path.suffix or '.mp4'}")


def _camera_size(clips: Sequence[SourceClip], max_width_px: int) -> tuple[int, int]:
    first = clips[0]
    for c in clips[1:]:
        if abs(c.width_px / c.height_px - first.width_px / first.height_px) > 0.01:
            raise UsageError(f"camera {first.camera!r}: sources {first.path} and {c.path} differ in aspect ratio "
                             f"({first.width_px}x{first.height_px} vs {c.width_px}x{c.height_px}); "
                             "render them separately")
    return output_size(first, max_width_px)


def _output_fps(clips: Sequence[SourceClip], fps: Fraction | None) -> Fraction:
    return Fraction(fps) if fps is not None else min(Fraction(clips[0].fps), MAX_FPS)


def _fmt_wall(t: dt.datetime, tz: dt.tzinfo, with_date: bool, decimals: int = 0) -> str:
    t = t.astimezone(tz)
    s = t.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    if decimals:
        s += f"{t.microsecond / 1e6:.{decimals}f}"[1:]
    return s


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


def _r(x: float, nd: int = 4) -> float:
    return float(round(float(x), nd))


def _font_scale(out_h: int) -> float:
    return max(0.35, 0.5 * out_h / 720)


def draw_label(img: np.ndarray, text: str, box: Sequence[float]) -> None:
    """White text with a dark outline just above the box (below it when there is no room)."""
    scale = _font_scale(img.shape[0])
    thick = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x = int(min(max(box[0], 2), img.shape[1] - tw - 2))
    y = int(box[1]) - 4
    if y - th < 2:
        y = int(box[3]) + th + 4
    y = int(min(y, img.shape[0] - base - 2))
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, OUTLINE_COLOUR, thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, LABEL_COLOUR, thick, cv2.LINE_AA)


class _Encoder:
    """Raw BGR frames in, deterministic H.264 MP4 out (written next to the target, then renamed)."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, crf: int):
        self.path = path
        self.tmp = path.with_name(path.name + ".partial.mp4")
        gop = max(1, int(round(float(fps) * 2)))
        self.cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-nostdin", "-loglevel", "error",
                    "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
                    "-framerate", f"{fps.numerator}/{fps.denominator}", "-i", "pipe:0", "-an",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-threads", "1",
                    "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-pix_fmt", "yuv420p",
                    "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1",
                    "-movflags", "+faststart", "-f", "mp4", str(self.tmp)]

    def __enter__(self) -> _Encoder:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stderr=self._err)
        return self

    def write(self, frame: np.ndarray) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        except BrokenPipeError as e:
            self.proc.wait()
            raise EncodeError(f"{self.path}: ffmpeg stopped: {self._stderr()}") from e

    def _stderr(self) -> str:
        self._err.seek(0)
        return self._err.read().decode(errors="replace")[-2000:]

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.proc.stdin is not None
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        rc = self.proc.wait()
        try:
            if exc_type is None and rc != 0:
                raise EncodeError(f"{self.path}: ffmpeg exited with {rc}: {self._stderr()}")
            if exc_type is None:
                self.tmp.replace(self.path)
        finally:
            self._err.close()
            if self.tmp.exists():
                self.tmp.unlink()


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _vtt_time(s: float) -> str:
    ms = int(round(s * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _write_vtt(path: Path, cues: Sequence[tuple[float, float, Sequence[str]]]) -> None:
    lines = ["WEBVTT", ""]
    for n, (a, b, text) in enumerate(cues, 1):
        lines += [str(n), f"{_vtt_time(a)} --> {_vtt_time(b)}", *text, ""]
    path.write_text("\n".join(lines), encoding="utf-8")


# ------------------------------------------------------------------------------------------- crop store


class _CropStore:
    """BGRA crops (object pixels + soft alpha) spilled to an anonymous temporary file."""

    def __init__(self) -> None:
        self._f = tempfile.TemporaryFile()
        self._pos = 0
        self.index: dict[tuple[int, int], tuple[int, int, int, int, int, float, np.ndarray]] = {}
        self._mm: np.memmap | None = None

    def put(self, key: tuple[int, int], x0: int, y0: int, bgra: np.ndarray, pts_s: float, box: np.ndarray) -> None:
        data = np.ascontiguousarray(bgra, np.uint8).tobytes()
        self._f.write(data)
        self.index[key] = (self._pos, bgra.shape[0], bgra.shape[1], x0, y0, pts_s, box)
        self._pos += len(data)

    def get(self, key: tuple[int, int]) -> tuple[int, int, np.ndarray, float, np.ndarray] | None:
        """(x0, y0, BGRA crop, source pts, object box in output pixels) or None when not stored."""
        if key not in self.index:
            return None
        if self._mm is None:
            self._f.flush()
            self._mm = np.memmap(self._f, np.uint8, "r") if self._pos else np.zeros(0, np.uint8)
        off, h, w, x0, y0, pts, box = self.index[key]
        return x0, y0, self._mm[off:off + h * w * 4].reshape(h, w, 4), pts, box

    def close(self) -> None:
        self._mm = None
        self._f.close()


def _hard_mask(tube: Tube, pts_s: float, box: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """Float32 foreground mask (0..1) of `tube` at `pts_s` drawn into `region` (x0, y0, x1, y1), output px."""
    rx0, ry0, rx1, ry1 = region
    out = np.zeros((ry1 - ry0, rx1 - rx0), np.float32)
    bx0, by0 = int(round(box[0])), int(round(box[1]))
    bw, bh = max(1, int(round(box[2] - box[0]))), max(1, int(round(box[3] - box[1])))
    rle = tube.masks_rle[nearest_sample(tube, pts_s)] if tube.masks_rle else ""
    if rle:
        m = mask_rle.decode(rle).astype(np.float32)
        m = cv2.resize(m, (bw, bh), interpolation=cv2.INTER_LINEAR) if m.size else np.ones((bh, bw), np.float32)
    else:
        # no mask for this sample (bridged by the tracker): an ellipse inscribed in the box
        yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
        m = ((((xx - (bw - 1) / 2) / (bw / 2)) ** 2 + ((yy - (bh - 1) / 2) / (bh / 2)) ** 2) <= 1.0).astype(np.float32)
    x, y = bx0 - rx0, by0 - ry0
    sx0, sy0 = max(0, -x), max(0, -y)
    dx0, dy0 = max(0, x), max(0, y)
    w = min(bw - sx0, out.shape[1] - dx0)
    h = min(bh - sy0, out.shape[0] - dy0)
    if w > 0 and h > 0:
        out[dy0:dy0 + h, dx0:dx0 + w] = m[sy0:sy0 + h, sx0:sx0 + w]
    return out


class _Others:
    """Non-matching tubes of one clip, for fast 'which are present at time t' look-ups."""

    def __init__(self, tubes: Sequence[Tube]):
        self.tubes = list(tubes)
        self.first = np.array([t.first_pts_s for t in self.tubes], np.float64)
        self.last = np.array([t.last_pts_s for t in self.tubes], np.float64)

    def boxes_at(self, pts_s: float, margin_s: float = 0.0) -> list[np.ndarray]:
        idx = np.flatnonzero((self.first - margin_s <= pts_s) & (pts_s <= self.last + margin_s))
        return [interp_box(self.tubes[i], pts_s) for i in idx]


def _non_matching(clip: SourceClip, matching_ids: set[str]) -> _Others:
    return _Others([t for t in clip.all_tubes or () if t.tube_id not in matching_ids])


def _make_crop(frame: np.ndarray, tube: Tube, clip: SourceClip, pts_s: float, feather_px: int,
               others: _Others) -> tuple[int, int, np.ndarray, np.ndarray] | None:
    """(x0, y0, BGRA crop with soft alpha, box in output pixels) of `tube` in `frame` at `pts_s`."""
    out_h, out_w = frame.shape[:2]
    box = boxes_to_output(interp_box(tube, pts_s), clip, out_w)
    pad = int(np.ceil(1.5 * feather_px)) + 1  # the soft edge fades out within 1.5 feather widths
    region = (max(0, int(np.floor(box[0])) - pad), max(0, int(np.floor(box[1])) - pad),
              min(out_w, int(np.ceil(box[2])) + pad), min(out_h, int(np.ceil(box[3])) + pad))
    if region[2] <= region[0] or region[3] <= region[1]:
        return None
    hard = _hard_mask(tube, pts_s, box, region)
    alpha = hard
    if feather_px > 0:
        blurred = cv2.GaussianBlur(hard, (0, 0), feather_px / 2, borderType=cv2.BORDER_CONSTANT)
        alpha = np.clip(np.maximum(blurred * 2, hard), 0, 1)
    for ob in boxes_to_output(np.array(others.boxes_at(pts_s, 0.5)).reshape(-1, 4), clip, out_w):
        x0, y0 = int(np.floor(ob[0])) - feather_px - region[0], int(np.floor(ob[1])) - feather_px - region[1]
        x1, y1 = int(np.ceil(ob[2])) + feather_px - region[0], int(np.ceil(ob[3])) + feather_px - region[1]
        sl = (slice(max(0, y0), max(0, y1)), slice(max(0, x0), max(0, x1)))
        alpha[sl] = np.where(hard[sl] >= 0.5, alpha[sl], 0)
    bgra = np.empty((region[3] - region[1], region[2] - region[0], 4), np.uint8)
    bgra[..., :3] = frame[region[1]:region[3], region[0]:region[2]]
    bgra[..., 3] = np.round(alpha * 255).astype(np.uint8)
    return region[0], region[1], bgra, box


# -------------------------------------------------------------------------------------------- synopsis


@dataclass
class _Job:
    """One camera's synopsis being built."""

    camera: str
    clips: list[SourceClip]
    tubes: list[Tube]  # ordered by real start time
    fps: Fraction
    out_w: int
    out_h: int
    n_frames: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)


def _tube_frame_pts(tube: Tube, n: int, fps: Fraction) -> np.ndarray:
    return tube.first_pts_s + np.arange(n) / float(fps)


def _plan(job: _Job, clips: dict[str, SourceClip], opts: SynopsisOptions):
    items = []
    for i, t in enumerate(job.tubes):
        n = int(np.floor((t.last_pts_s - t.first_pts_s) * float(job.fps) + 1e-9)) + 1
        job.n_frames.append(n)
        clip = clips[t.source_id]
        boxes = boxes_to_output(interp_boxes(t, _tube_frame_pts(t, n, job.fps)), clip, job.out_w)
        items.append(PlanItem(str(i), clip.wall_s(t.first_pts_s), boxes))
    plan = plan_placement(items, fps=float(job.fps), width_px=job.out_w, height_px=job.out_h,
                          density=opts.density, max_duration_s=opts.max_duration_s)
    job.starts = [plan.start_frame[str(i)] for i in range(len(job.tubes))]
    return plan


def _extract_crops(job: _Job, clips: dict[str, SourceClip], opts: SynopsisOptions, store: _CropStore,
                   tick: Callable[[], None]) -> None:
    matching_ids = {t.tube_id for t in job.tubes}
    for clip in job.clips:
        others = _non_matching(clip, matching_ids)
        reqs = [(p, i, k) for i, t in enumerate(job.tubes) if t.source_id == clip.source_id
                for k, p in enumerate(_tube_frame_pts(t, job.n_frames[i], job.fps))]
        reqs.sort()
        if not reqs:
            continue
        last_id, last_img = None, None
        for r, q, frame in iter_nearest_frames(clip.path, [p for p, _, _ in reqs]):
            if id(frame) != last_id:
                last_img = frame.to_ndarray(format="bgr24", width=job.out_w, height=job.out_h)
                last_id = id(frame)
            _, i, k = reqs[r]
            crop = _make_crop(last_img, job.tubes[i], clip, q, opts.feather_px, others)
            if crop is not None:
                store.put((i, k), *crop[:3], q, crop[3])
            tick()


def _compose(job: _Job, clips: dict[str, SourceClip], opts: SynopsisOptions, plates: PlateTimeline,
             store: _CropStore, enc: _Encoder, n_out: int, tick: Callable[[], None]) -> float:
    """Writes every synopsis frame; returns the collision rate."""
    wall0 = min(clips[t.source_id].wall_s(t.first_pts_s) for t in job.tubes)
    wall1 = max(clips[t.source_id].wall_s(t.last_pts_s) for t in job.tubes)
    with_date = (dt.datetime.fromtimestamp(wall0, opts.tz).date()
                 != dt.datetime.fromtimestamp(wall1, opts.tz).date())
    order = sorted(range(len(job.tubes)), key=lambda i: job.starts[i])
    cover = np.zeros((job.out_h, job.out_w), np.uint8)
    object_frames = collided = 0
    nxt = 0
    active: list[int] = []
    for s in range(n_out):
        while nxt < len(order) and job.starts[order[nxt]] <= s:
            active.append(order[nxt])
            nxt += 1
        active = sorted(i for i in active if s < job.starts[i] + job.n_frames[i])  # z-order: real time
        frame = plates.at(wall0 + (wall1 - wall0) * (s / max(n_out - 1, 1))).copy()
        placed = []
        for i in active:
            got = store.get((i, s - job.starts[i]))
            if got is None:
                continue
            x0, y0, bgra, q, box = got
            h, w = bgra.shape[:2]
            a = bgra[..., 3:4].astype(np.uint16)
            roi = frame[y0:y0 + h, x0:x0 + w]
            roi[:] = ((bgra[..., :3] * a + roi * (255 - a) + 127) // 255).astype(np.uint8)
            hard = bgra[..., 3] >= 128
            cover[y0:y0 + h, x0:x0 + w] += hard
            placed.append((i, x0, y0, hard, q, box))
        for i, x0, y0, hard, q, box in placed:
            object_frames += 1
            h, w = hard.shape
            collided += bool(np.any(cover[y0:y0 + h, x0:x0 + w][hard] > 1))
        for i, x0, y0, hard, q, box in placed:
            cover[y0:y0 + hard.shape[0], x0:x0 + hard.shape[1]] = 0
            if opts.label:
                clip = clips[job.tubes[i].source_id]
                draw_label(frame, f"{_fmt_wall(clip.wall_time(q), opts.tz, with_date)} {job.camera}", box)
        enc.write(frame)
        tick()
    return collided / object_frames if object_frames else 0.0


def _entries(job: _Job, clips: dict[str, SourceClip]) -> list[SourceMapEntry]:
    out = []
    f = float(job.fps)
    for i, t in enumerate(job.tubes):
        clip = clips[t.source_id]
        s0 = job.starts[i] / f
        shown_end = t.first_pts_s + (job.n_frames[i] - 1) / f
        keep = np.asarray(t.pts_s) <= shown_end + 1e-9
        pts = np.asarray(t.pts_s, np.float64)[keep]
        boxes = boxes_to_output(np.asarray(t.boxes_xyxy, np.float64)[keep], clip, job.out_w)
        samples = tuple((_r(s0 + p - t.first_pts_s), _r(p, 6), tuple(_r(v, 2) for v in b))
                        for p, b in zip(pts, boxes))
        out.append(SourceMapEntry(
            tube_id=t.tube_id, source_id=t.source_id, source_path=str(clip.path), camera=job.camera,
            synopsis_start_s=_r(s0), synopsis_end_s=_r((job.starts[i] + job.n_frames[i]) / f),
            source_start_pts_s=_r(t.first_pts_s, 6), source_end_pts_s=_r(shown_end + 1 / f, 6),
            wall_start=_iso(clip.wall_time(t.first_pts_s)), wall_end=_iso(clip.wall_time(shown_end + 1 / f)),
            samples=samples))
    out.sort(key=lambda e: (e.synopsis_start_s, e.tube_id))
    return out


def _synopsis_cues(entries: Sequence[SourceMapEntry], duration_s: float) -> list[tuple[float, float, list[str]]]:
    cuts = sorted({0.0, duration_s, *(e.synopsis_start_s for e in entries), *(e.synopsis_end_s for e in entries)})
    cues = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        on = [e for e in entries if e.synopsis_start_s <= a < e.synopsis_end_s]
        if on and b > a:
            cues.append((a, b, [f"{e.camera} {e.wall_start} {e.tube_id} {Path(e.source_path).name} "
                                f"@{e.source_pts_at(a):.3f}s" for e in on]))
    return cues


def _options_json(opts: SynopsisOptions | PassageOptions) -> dict:
    d = asdict(opts)
    return {k: (str(v) if isinstance(v, (Fraction, dt.tzinfo)) else v) for k, v in d.items()}


def _render_camera(job: _Job, clips: dict[str, SourceClip], video: Path, opts: SynopsisOptions,
                   progress: Progress | None) -> CameraSynopsis:
    plan = _plan(job, clips, opts)
    n_req = sum(job.n_frames)
    total = len(job.clips) + n_req + plan.n_frames
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None and (done % 50 == 0 or done == total):
            progress(done, total)

    plates = []
    for clip in job.clips:
        known = list(clip.all_tubes) if clip.all_tubes is not None else [
            t for t in job.tubes if t.source_id == clip.source_id]
        plates += build_plates(clip, known, (job.out_w, job.out_h), window_s=opts.plate_window_s,
                               samples=opts.plate_samples)
        tick()
    store = _CropStore()
    try:
        _extract_crops(job, clips, opts, store, tick)
        with _Encoder(video, job.out_w, job.out_h, job.fps, opts.crf) as enc:
            collision = _compose(job, clips, opts, PlateTimeline(plates), store, enc, plan.n_frames, tick)
    finally:
        store.close()
    f = float(job.fps)
    entries = _entries(job, clips)
    duration = plan.n_frames / f
    span = (max(clips[t.source_id].wall_s(t.last_pts_s) for t in job.tubes)
            - min(clips[t.source_id].wall_s(t.first_pts_s) for t in job.tubes))
    metrics = SynopsisMetrics(
        objects=len(job.tubes), object_seconds=_r(sum(job.n_frames) / f, 3), source_span_s=_r(span, 3),
        synopsis_duration_s=_r(duration, 3), condensation_ratio=_r(span / duration if duration else 0.0, 3),
        collision_rate=_r(collision), disorder=_r(plan.disorder), target_duration_s=_r(plan.target_frames / f, 3),
        max_duration_met=plan.max_duration_met)
    sidecar, vtt = video.with_suffix(".json"), video.with_suffix(".vtt")
    _write_json(sidecar, {
        "format": SIDECAR_FORMAT, "camera": job.camera, "video": video.name, "fps": str(job.fps),
        "width_px": job.out_w, "height_px": job.out_h, "frames": plan.n_frames, "duration_s": _r(duration),
        "metrics": asdict(metrics), "options": _options_json(opts),
        "tubes": [asdict(e) for e in entries]})
    _write_vtt(vtt, _synopsis_cues(entries, duration))
    return CameraSynopsis(job.camera, video, sidecar, vtt, job.fps, job.out_w, job.out_h, plan.n_frames,
                          metrics, tuple(entries))


def render_synopsis(tubes: Sequence[Tube], clips: dict[str, SourceClip], out_path: Path,
                    opts: SynopsisOptions = SynopsisOptions(), progress: Progress | None = None) -> SynopsisResult:
    """Render one synopsis per camera of `tubes` (all kept whole). See the module docstring."""
    groups = _group_by_camera(tubes, clips)
    parts = []
    for camera, cam_tubes in groups.items():
        cam_clips = sorted({clips[t.source_id].source_id: clips[t.source_id] for t in cam_tubes}.values(),
                           key=lambda c: (c.start_utc, c.source_id))
        out_w, out_h = _camera_size(cam_clips, opts.max_width_px)
        ordered = sorted(cam_tubes, key=lambda t: (clips[t.source_id].wall_s(t.first_pts_s), t.tube_id))
        job = _Job(camera, cam_clips, ordered, _output_fps(cam_clips, opts.fps), out_w, out_h)
        parts.append(_render_camera(job, clips, _camera_path(Path(out_path), camera, len(groups)), opts, progress))
    return SynopsisResult(tuple(parts))


# -------------------------------------------------------------------------------------------- passages


def _clip_duration(clip: SourceClip) -> float:
    if clip.duration_s is not None:
        return clip.duration_s
    dur = stream_duration_s(clip.path)
    if dur is None:
        raise UsageError(f"{clip.path}: duration unknown; give SourceClip.duration_s")
    return dur


def _spans(tubes: Sequence[Tube], clip: SourceClip, pad: float) -> list[tuple[float, float, list[str]]]:
    lo, hi = clip.start_pts_s, clip.start_pts_s + _clip_duration(clip)
    raw = sorted((max(lo, t.first_pts_s - pad), min(hi, t.last_pts_s + pad), t.tube_id) for t in tubes)
    merged: list[tuple[float, float, list[str]]] = []
    for a, b, tid in raw:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b), merged[-1][2] + [tid])
        else:
            merged.append((a, b, [tid]))
    return merged


def _hide(img: np.ndarray, box: np.ndarray, mode: str) -> None:
    h, w = img.shape[:2]
    x0, y0 = max(0, int(np.floor(box[0])) - 2), max(0, int(np.floor(box[1])) - 2)
    x1, y1 = min(w, int(np.ceil(box[2])) + 2), min(h, int(np.ceil(box[3])) + 2)
    if x1 <= x0 or y1 <= y0:
        return
    if mode == "grey":
        img[y0:y1, x0:x1] = 128
    else:
        roi = img[y0:y1, x0:x1]
        small = cv2.resize(roi, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        big = cv2.resize(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        roi[:] = cv2.GaussianBlur(big, (0, 0), max(2.0, (x1 - x0) / 6))


def _passage_frame(img: np.ndarray, clip: SourceClip, q: float, matching: _Others, others: _Others,
                   opts: PassageOptions) -> np.ndarray:
    out_w = img.shape[1]
    keep = img.copy()
    m_boxes = boxes_to_output(np.array(matching.boxes_at(q)).reshape(-1, 4), clip, out_w)
    for b in boxes_to_output(np.array(others.boxes_at(q, 0.2)).reshape(-1, 4), clip, out_w):
        _hide(img, b, opts.mask)
    for b in m_boxes:  # a matching object is never hidden by a non-matching one's mask
        x0, y0 = max(0, int(np.floor(b[0]))), max(0, int(np.floor(b[1])))
        x1, y1 = int(np.ceil(b[2])), int(np.ceil(b[3]))
        img[y0:y1, x0:x1] = keep[y0:y1, x0:x1]
        if opts.outline_matches:
            cv2.rectangle(img, (x0 - 2, y0 - 2), (x1 + 1, y1 + 1), LABEL_COLOUR, 1)
    text = f"{_fmt_wall(clip.wall_time(q), opts.tz, True, decimals=2)} {clip.camera}"
    draw_label(img, text, (4, 4 + 40 * _font_scale(img.shape[0]), 0, 0))
    return img


def _render_passages_camera(camera: str, cam_tubes: list[Tube], cam_clips: list[SourceClip], video: Path,
                            opts: PassageOptions, progress: Progress | None) -> CameraPassages:
    fps = _output_fps(cam_clips, opts.fps)
    out_w, out_h = _camera_size(cam_clips, opts.max_width_px)
    per_clip = []
    for clip in cam_clips:
        if clip.all_tubes is None:
            raise UsageError(f"{clip.path}: passages need all tubes of the source (SourceClip.all_tubes) to mask "
                             "non-matching objects")
        mine = [t for t in cam_tubes if t.source_id == clip.source_id]
        for a, b, ids in _spans(mine, clip, opts.padding_s):
            n = max(1, int(np.ceil((b - a) * float(fps) - 1e-9)))
            per_clip.append((clip, a, b, ids, a + np.arange(n) / float(fps)))
    total = sum(len(p[4]) for p in per_clip)
    ids_all = {t.tube_id for t in cam_tubes}
    walls = [c.wall_s(a) for c, a, *_ in per_clip] + [c.wall_s(b) for c, _, b, *_ in per_clip]
    passages, done = [], 0
    with _Encoder(video, out_w, out_h, fps, opts.crf) as enc:
        for clip, a, b, ids, times in per_clip:
            matching = _Others([t for t in cam_tubes if t.source_id == clip.source_id])
            others = _non_matching(clip, ids_all)
            start_s = done / float(fps)
            for _, q, frame in iter_nearest_frames(clip.path, times):
                img = frame.to_ndarray(format="bgr24", width=out_w, height=out_h)
                enc.write(_passage_frame(img, clip, q, matching, others, opts))
                done += 1
                if progress is not None and (done % 50 == 0 or done == total):
                    progress(done, total)
            passages.append(Passage(
                _r(start_s), _r(done / float(fps)), clip.source_id, str(clip.path), camera, _r(a, 6), _r(b, 6),
                _iso(clip.wall_time(a)), _iso(clip.wall_time(b)), tuple(sorted(ids))))
    duration = done / float(fps)
    span = max(walls) - min(walls)
    sidecar, vtt = video.with_suffix(".json"), video.with_suffix(".vtt")
    _write_json(sidecar, {
        "format": PASSAGES_FORMAT, "camera": camera, "video": video.name, "fps": str(fps), "width_px": out_w,
        "height_px": out_h, "frames": done, "duration_s": _r(duration),
        "metrics": {"passages": len(passages), "source_span_s": _r(span, 3), "output_duration_s": _r(duration, 3)},
        "options": _options_json(opts), "passages": [asdict(p) for p in passages]})
    _write_vtt(vtt, [(p.output_start_s, p.output_end_s,
                      [f"{p.camera} {p.wall_start} {Path(p.source_path).name} @{p.source_start_pts_s:.3f}s",
                       " ".join(p.tube_ids)]) for p in passages])
    return CameraPassages(camera, video, sidecar, vtt, fps, done, tuple(passages), _r(span, 3), _r(duration, 3))


def render_passages(tubes: Sequence[Tube], clips: dict[str, SourceClip], out_path: Path,
                    opts: PassageOptions = PassageOptions(), progress: Progress | None = None) -> PassagesResult:
    """Cut the original footage to the matching spans (± padding, overlaps merged), one file per camera."""
    groups = _group_by_camera(tubes, clips)
    parts = []
    for camera, cam_tubes in groups.items():
        cam_clips = sorted({clips[t.source_id].source_id: clips[t.source_id] for t in cam_tubes}.values(),
                           key=lambda c: (c.start_utc, c.source_id))
        parts.append(_render_passages_camera(camera, cam_tubes, cam_clips,
                                             _camera_path(Path(out_path), camera, len(groups)), opts, progress))
    return PassagesResult(tuple(parts))
