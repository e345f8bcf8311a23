"""Source clips as the synopsis renderer sees them, frame access with PyAV, and background plates.

A plate is the per-pixel temporal median of frames sampled across a window of source time (default 10 min,
so lighting changes are followed), where pixels inside any known tube box at the sample's time are left out
of the median — moving objects, matching or not, do not ghost into it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from vsearch.errors import DecodeError, SourceError
from vsearch.records import Tube
from vsearch.synopsis.paths import interp_box

MAX_OUTPUT_WIDTH_PX = 1280
SEEK_GAP_S = 10.0  # re-seek instead of decoding through a gap longer than this
# colour spaces OpenCV's YUV->BGR conversion implements (BT.601; unspecified means BT.601 to libswscale too)
_BT601 = (2, 5, 6)  # AVCOL_SPC_UNSPECIFIED, BT470BG, SMPTE170M
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG


@dataclass(frozen=True)
class SourceClip:
    """One source file as the renderer needs it.

    `start_utc` is the (timezone-aware) wall-clock time at pts == `start_pts_s`; `analysis_scale` maps
    analysis pixels (tube boxes) to source pixels (source = analysis * scale). `all_tubes`, when given,
    holds every tube of the source, matching or not: plates and passages use them to keep moving objects
    out of the background and to mask non-matching objects.
    """

    source_id: str
    path: Path
    camera: str
    start_utc: dt.datetime
    start_pts_s: float
    width_px: int
    height_px: int
    fps: Fraction
    analysis_scale: float
    duration_s: float | None = None
    all_tubes: tuple[Tube, ...] | None = None

    def __post_init__(self) -> None:
        if self.start_utc.tzinfo is None:
            raise SourceError(f"{self.path}: start_utc must be timezone-aware (got {self.start_utc}); "
                              "give the source's start time with a UTC offset")
        if self.width_px <= 0 or self.height_px <= 0 or self.analysis_scale <= 0:
            raise SourceError(f"{self.path}: size {self.width_px}x{self.height_px} / analysis_scale "
                              f"{self.analysis_scale} must be positive")

    def wall_time(self, pts_s: float) -> dt.datetime:
        return self.start_utc + dt.timedelta(seconds=float(pts_s) - self.start_pts_s)

    def wall_s(self, pts_s: float) -> float:
        """Seconds since the Unix epoch at source time `pts_s` (one clock for every clip)."""
        return self.start_utc.timestamp() + float(pts_s) - self.start_pts_s


def output_size(clip: SourceClip, max_width_px: int = MAX_OUTPUT_WIDTH_PX) -> tuple[int, int]:
    """Output (width, height): the source size, capped at `max_width_px` wide, rounded to even numbers."""
    scale = min(1.0, max_width_px / clip.width_px)
    w = max(2, int(round(clip.width_px * scale / 2)) * 2)
    h = max(2, int(round(clip.height_px * scale / 2)) * 2)
    return w, h


def output_scale(clip: SourceClip, out_w: int) -> float:
    """Output pixels per analysis pixel (tube boxes are in analysis pixels)."""
    return clip.analysis_scale * out_w / clip.width_px


def boxes_to_output(boxes_analysis: np.ndarray, clip: SourceClip, out_w: int) -> np.ndarray:
    return np.asarray(boxes_analysis, np.float64) * output_scale(clip, out_w)


@contextmanager
def open_video(path: Path, *, threads: bool = True) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise DecodeError(f"{path}: cannot open video ({e}); check the file exists and is a readable video") from e
    try:
        if not container.streams.video:
            raise DecodeError(f"{path}: no video stream")
        stream = container.streams.video[0]
        if threads:
            stream.thread_type = "AUTO"
        yield container, stream
    finally:
        container.close()


def _plain_420(frame: av.VideoFrame) -> bool:
    """Limited-range BT.601 4:2:0 with even sides (most CCTV): what OpenCV's YUV->BGR conversion implements."""
    return (frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0
            and int(frame.colorspace) in _BT601 and int(frame.color_range) != _FULL_RANGE)


def frame_bgr(frame: av.VideoFrame, out_w: int, out_h: int) -> np.ndarray:
    """BGR uint8 image of `frame` at (out_w, out_h).

    Plain (limited-range BT.601) 4:2:0 frames, most CCTV, are converted by OpenCV from the raw planes: about
    5x faster than libswscale's RGB path, which dominated synopsis rendering; other formats go through
    libswscale. Plates and crops both come through here (or `FramePixels`, which gives the same pixels), so
    an object and its background match in colour."""
    if _plain_420(frame):
        img = cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2BGR_I420)
        if (frame.width, frame.height) != (out_w, out_h):
            img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA)
        return img
    return frame.to_ndarray(format="bgr24", width=out_w, height=out_h)


class FramePixels:
    """Rectangles of one decoded frame as BGR at output size, converted on demand.

    The crops of a busy hour cover a few percent of each frame, and converting whole frames to BGR was most
    of the cost of cutting them: a plain 4:2:0 frame already at output size is converted rectangle by
    rectangle from its raw planes (widened to even coordinates, as OpenCV gives each 2x2 block one chroma
    sample: the pixels are those of `frame_bgr`, bit for bit). Any other frame is converted whole, once."""

    def __init__(self, frame: av.VideoFrame, out_w: int, out_h: int):
        self.shape = (out_h, out_w)
        self._img: np.ndarray | None = None
        self._planes: tuple[np.ndarray, ...] = ()
        if _plain_420(frame) and (frame.width, frame.height) == (out_w, out_h):
            self._planes = tuple(np.frombuffer(p, np.uint8).reshape(p.height, p.line_size) for p in frame.planes)
        else:
            self._img = frame_bgr(frame, out_w, out_h)

    def region(self, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
        """BGR (y1 - y0, x1 - x0, 3) of the rectangle (inside the frame)."""
        if self._img is not None:
            return self._img[y0:y1, x0:x1]
        ex0, ey0, ex1, ey1 = x0 & ~1, y0 & ~1, x1 + (x1 & 1), y1 + (y1 & 1)
        h, w = ey1 - ey0, ex1 - ex0
        n, q = h * w, h * w // 4
        packed = np.empty(n + 2 * q, np.uint8)  # the I420 layout OpenCV reads: Y, then U, then V
        luma, u, v = self._planes
        packed[:n].reshape(h, w)[:] = luma[ey0:ey1, ex0:ex1]
        packed[n:n + q].reshape(h // 2, w // 2)[:] = u[ey0 // 2:ey1 // 2, ex0 // 2:ex1 // 2]
        packed[n + q:].reshape(h // 2, w // 2)[:] = v[ey0 // 2:ey1 // 2, ex0 // 2:ex1 // 2]
        bgr = cv2.cvtColor(packed.reshape(h * 3 // 2, w), cv2.COLOR_YUV2BGR_I420)
        return bgr[y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0]


def iter_nearest_frames(path: Path, times_s: Sequence[float], *,
                        threads: bool = True) -> Iterator[tuple[int, float, av.VideoFrame]]:
    """For each of the sorted source times, yield (index, pts_s, frame) of the decoded frame nearest to it.

    Decodes forward and seeks across gaps longer than `SEEK_GAP_S`. Raises DecodeError when nothing decodes.
    `threads`: let FFmpeg decode in threads (faster alone; False costs less CPU when other work shares the
    cores). The frames are the same either way.
    """
    times = np.asarray(times_s, np.float64)
    if len(times) and np.any(np.diff(times) < 0):
        raise ValueError("times_s must be sorted")
    n = len(times)
    i = 0
    try:
        with open_video(path, threads=threads) as (container, stream):
            tb = stream.time_base
            while i < n:
                container.seek(max(0, int((times[i] - 1.0) / tb)), stream=stream, backward=True)
                prev: av.VideoFrame | None = None
                prev_q = 0.0
                reseek = False
                served = 0  # re-seek only after this seek has served something (keyframes may be sparse)
                for frame in container.decode(stream):
                    if frame.pts is None:
                        continue
                    q = float(frame.pts * tb)
                    if prev is not None:
                        mid = (prev_q + q) / 2
                        while i < n and times[i] < mid:
                            yield i, prev_q, prev
                            i += 1
                            served += 1
                        if i >= n:
                            return
                        if served and times[i] > q + SEEK_GAP_S:
                            reseek = True
                            break
                    prev, prev_q = frame, q
                if reseek:
                    continue
                if prev is None:
                    raise DecodeError(f"{path}: no frame decodes at or after {times[i]:.3f} s")
                while i < n:  # end of stream: the last frame is the nearest
                    yield i, prev_q, prev
                    i += 1
    except av.error.FFmpegError as e:
        raise DecodeError(f"{path}: decoding failed ({e}); the file may be damaged") from e


def _keyframe_pts(path: Path) -> tuple[np.ndarray, Fraction, float | None]:
    with open_video(path, threads=False) as (container, stream):
        keys = [p.pts for p in container.demux(stream) if p.is_keyframe and p.pts is not None]
        tb = stream.time_base
    return np.array(sorted(keys), np.int64), tb, stream_duration_s(path)


def stream_duration_s(path: Path) -> float | None:
    """Duration declared by the video stream (or the container), None when neither says."""
    with open_video(path, threads=False) as (container, stream):
        if stream.duration:
            return float(stream.duration * stream.time_base)
        return container.duration / 1e6 if container.duration else None


def _decode_at(path: Path, pts_list: Sequence[int], keyframes_only: bool) -> list[tuple[float, av.VideoFrame]]:
    out = []
    with open_video(path) as (container, stream):
        tb = stream.time_base
        if keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        for p in pts_list:
            container.seek(int(p), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.pts is not None and frame.pts >= p:
                    out.append((float(frame.pts * tb), frame))
                    break
    return out


@dataclass(frozen=True)
class Plate:
    source_id: str
    start_pts_s: float
    end_pts_s: float
    wall_center_s: float  # seconds since the epoch at the window's centre
    image: np.ndarray  # BGR uint8 at output size
    samples: int
    unresolved_px: int  # pixels covered by an object in every sample (plain median used there)


def object_mask(tubes: Sequence[Tube], clip: SourceClip, pts_s: float, out_w: int, out_h: int,
                *, margin_px: float = 4.0, time_margin_s: float = 0.5) -> np.ndarray:
    """Boolean (out_h, out_w) mask of every tube box (dilated) present around source time `pts_s`."""
    mask = np.zeros((out_h, out_w), bool)
    for t in tubes:
        if not (t.first_pts_s - time_margin_s <= pts_s <= t.last_pts_s + time_margin_s):
            continue
        b = boxes_to_output(interp_box(t, pts_s), clip, out_w)
        grow = margin_px + 0.1 * max(b[2] - b[0], b[3] - b[1])
        x0, y0 = int(max(0, np.floor(b[0] - grow))), int(max(0, np.floor(b[1] - grow)))
        x1, y1 = int(min(out_w, np.ceil(b[2] + grow))), int(min(out_h, np.ceil(b[3] + grow)))
        mask[y0:y1, x0:x1] = True
    return mask


def masked_median(images: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """Per-pixel lower median of `images` (N, H, W, 3) over samples where `valid` (N, H, W) is True;
    pixels with no valid sample fall back to the median of all samples. Returns (image, unresolved count)."""
    n = len(images)
    data = images.astype(np.uint16)
    data[~valid] = 256  # sorts after every real value
    data.sort(axis=0)
    n_valid = valid.sum(axis=0)
    idx = np.where(n_valid > 0, (n_valid - 1) // 2, (n - 1) // 2)
    plate = np.take_along_axis(data, idx[None, :, :, None].repeat(3, axis=3), axis=0)[0]
    none = n_valid == 0
    if none.any():
        plain = np.sort(images[:, none], axis=0)[(n - 1) // 2]
        plate[none] = plain
    return plate.astype(np.uint8), int(none.sum())


def build_plates(clip: SourceClip, tubes: Sequence[Tube], out_size: tuple[int, int], *,
                 window_s: float = 600.0, samples: int = 25) -> list[Plate]:
    """Background plates for `clip`, one per `window_s` of source time.

    `tubes` are the tubes known to move in this clip (use `clip.all_tubes` when available); their boxes are
    excluded from the median. Keyframes nearest to evenly spaced times are used (fast); when a window has
    fewer than 5 keyframes, frames at the exact times are decoded instead.
    """
    out_w, out_h = out_size
    keys, tb, stream_dur = _keyframe_pts(clip.path)
    duration = clip.duration_s if clip.duration_s is not None else stream_dur
    if duration is None:
        raise SourceError(f"{clip.path}: duration unknown; give SourceClip.duration_s")
    t_begin = clip.start_pts_s
    n_win = max(1, int(np.ceil(duration / window_s - 1e-9)))
    plates = []
    for w in range(n_win):
        w0 = t_begin + w * window_s
        w1 = min(t_begin + duration, w0 + window_s)
        targets = w0 + (np.arange(samples) + 0.5) / samples * (w1 - w0)
        key_s = keys.astype(np.float64) * float(tb)
        in_win = keys[(key_s >= w0) & (key_s < w1)]
        if len(in_win) >= 5:
            # nearest keyframe to each target, de-duplicated
            in_s = in_win.astype(np.float64) * float(tb)
            pick = np.unique(np.abs(in_s[None, :] - targets[:, None]).argmin(axis=1))
            decoded = _decode_at(clip.path, in_win[pick].tolist(), keyframes_only=True)
        else:
            decoded = _decode_at(clip.path, [int(t / tb) for t in targets], keyframes_only=False)
        if not decoded:
            raise DecodeError(f"{clip.path}: no frame decodes in {w0:.1f}-{w1:.1f} s for the background plate")
        imgs = np.stack([frame_bgr(f, out_w, out_h) for _, f in decoded])
        valid = np.stack([~object_mask(tubes, clip, q, out_w, out_h) for q, _ in decoded])
        image, unresolved = masked_median(imgs, valid)
        plates.append(Plate(clip.source_id, w0, w1, clip.wall_s((w0 + w1) / 2), image, len(decoded), unresolved))
    return plates


class PlateTimeline:
    """Background for any wall-clock time: a cross-fade between the plates of neighbouring windows."""

    def __init__(self, plates: Sequence[Plate], levels: int = 16):
        if not plates:
            raise ValueError("no plates")
        self._plates = sorted(plates, key=lambda p: p.wall_center_s)
        self._centers = np.array([p.wall_center_s for p in self._plates])
        self._levels = levels
        self._cache: dict[tuple[int, int], np.ndarray] = {}

    def at(self, wall_s: float) -> np.ndarray:
        c = self._centers
        i = int(np.searchsorted(c, wall_s, side="right")) - 1
        if i < 0:
            return self._plates[0].image
        if i >= len(c) - 1:
            return self._plates[-1].image
        level = int(round((wall_s - c[i]) / (c[i + 1] - c[i]) * self._levels))
        if level <= 0:
            return self._plates[i].image
        if level >= self._levels:
            return self._plates[i + 1].image
        key = (i, level)
        if key not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            a = self._plates[i].image.astype(np.uint16)
            b = self._plates[i + 1].image.astype(np.uint16)
            self._cache[key] = ((a * (self._levels - level) + b * level + self._levels // 2)
                                // self._levels).astype(np.uint8)
        return self._cache[key]
