"""Activity gating: find the idle stretches of a source cheaply, before decoding, so the expensive work (full
decoding, detection, tracking) runs only where something moves.

Method (compressed-domain, no decoding; PyAV demux of the video packets, hundreds to ~1,000 × real time):

1. Read every video packet's size, pts and keyframe flag. An inter-coded frame (P/B) of a static scene is
   small — the encoder only codes noise — and grows with the area that moves (car park clip: 1.5–4 KB idle,
   8–20 KB while a car passes).
2. Guard against keyframe spikes: keyframes (intra-coded, large whatever happens) take the size of the
   previous inter frame; a running median over `window_s` removes isolated spikes (the first P-frame after a
   keyframe, a B/P size pattern).
3. Idle level = the `idle_quantile` of the smoothed sizes; a packet is active when its smoothed size exceeds
   `ratio` × that level (and `min_delta_bytes_per_mpx` above it).
4. Refusal guards, where the sizes carry no usable signal, so the whole file is decoded: the busiest
   smoothed size is less than `min_contrast` × the idle level (constant-bitrate encoders, scenes that are
   never empty, noise), or more than `max_active_frac` of the file is active anyway. A scene-wide change
   (lighting switch, camera shake, PTZ move) makes packets large and is therefore treated as activity: errors
   go towards decoding more, never less.
5. Active packets become spans [t - pad_s, t + period + pad_s]; spans closer than `min_idle_s` are merged (a
   short skip saves little and costs a seek and a re-warmed background model); the first `head_s` seconds are
   always decoded (proves the file decodes). Everything outside the spans is reported as idle.

Memory: three small arrays per packet (about 13 bytes per frame: ~1 MB per hour at 25 fps), nothing else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np
from scipy.ndimage import median_filter

from vsearch.errors import DecodeError
from vsearch.records import VideoInfo

ACTIVITY_VERSION = "pkt-size-v1"
NO_ACTIVITY = "no activity (packet-size pre-scan): not decoded"  # the reason of a skipped stretch in the gaps


@dataclass(frozen=True)
class ActivityConfig:
    window_s: float = 1.0  # running-median window over packet sizes
    idle_quantile: float = 0.2  # the idle level: this quantile of the smoothed sizes
    ratio: float = 2.0  # active: smoothed size above ratio x idle level ...
    min_delta_bytes_per_mpx: float = 200.0  # ... and at least this many bytes per megapixel above it
    min_contrast: float = 3.0  # busiest (smoothed) / idle level under this: no usable signal, decode everything
    max_active_frac: float = 0.8  # more active than this: decode everything
    pad_s: float = 3.0  # decoded before and after every active packet
    min_idle_s: float = 4.0  # idle stretches shorter than this are decoded anyway
    head_s: float = 1.0  # always decoded at the start of the file


@dataclass(frozen=True)
class ActivityScan:
    """What the pre-scan found. `spans` are the source pts spans [start, end) to decode (the whole file when
    gating does not apply), `idle` the spans skipped; `reason` says why gating applies or not."""

    spans: tuple[tuple[float, float], ...]
    idle: tuple[tuple[float, float], ...]
    start_s: float
    end_s: float
    packets: int
    idle_level_bytes: float
    threshold_bytes: float
    reason: str  # "gated" | "no idle stretch" | "no contrast ..." | "mostly active ..."
    wall_s: float = 0.0

    @property
    def gated(self) -> bool:
        return bool(self.idle)

    @property
    def idle_s(self) -> float:
        return float(sum(b - a for a, b in self.idle))

    @property
    def active_fraction(self) -> float:
        total = self.end_s - self.start_s
        return 1.0 if total <= 0 else max(0.0, 1.0 - self.idle_s / total)


def read_packets(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pts seconds, sizes in bytes, keyframe flags) of the first video stream's packets, sorted by pts.
    Packets without pts or data are left out; a demuxer error ends the list (what was read is returned)."""
    pts: list[float] = []
    sizes: list[int] = []
    keys: list[bool] = []
    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as e:
        raise DecodeError(f"{path}: cannot open for the activity pre-scan: {e}") from e
    with container:
        if not container.streams.video:
            raise DecodeError(f"{path}: no video stream for the activity pre-scan")
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        packets = container.demux(stream)
        while True:
            try:
                p = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError:  # corrupt tail: the decoder reports it; the scan keeps what it read
                break
            if p.pts is None or not p.size:
                continue
            pts.append(p.pts * tb)
            sizes.append(p.size)
            keys.append(bool(p.is_keyframe))
    t = np.asarray(pts, np.float64)
    order = np.argsort(t, kind="stable")
    return t[order], np.asarray(sizes, np.float64)[order], np.asarray(keys, bool)[order]


def active_mask(sizes: np.ndarray, keys: np.ndarray, fps: float, config: ActivityConfig, megapixels: float = 0.0
                ) -> tuple[np.ndarray | None, float, float, str]:
    """Per-packet activity from sizes (steps 2–4 of the module docstring): (mask or None when gating must
    not apply, idle level, threshold, reason)."""
    if len(sizes) == 0:
        return None, 0.0, 0.0, "no packets"
    s = sizes.astype(np.float64).copy()
    inter = ~keys
    if not inter.any():
        return None, 0.0, 0.0, "intra-only stream (no inter-frame sizes to read motion from)"
    # keyframes take the previous inter frame's size (the first inter size for leading keyframes)
    idx = np.where(inter, np.arange(len(s)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = int(np.flatnonzero(inter)[0])
    s = s[idx]
    win = max(1, int(round(config.window_s * fps)) | 1)
    smooth = median_filter(s, size=win, mode="nearest")
    idle = float(np.quantile(smooth, config.idle_quantile))
    busy = float(smooth.max())  # smoothed: an isolated spike cannot make it
    thr = max(config.ratio * idle, idle + config.min_delta_bytes_per_mpx * megapixels)
    if busy < config.min_contrast * max(idle, 1.0):
        return None, idle, thr, f"no contrast (busy/idle packet size {busy / max(idle, 1.0):.1f} < {config.min_contrast})"
    mask = smooth > thr
    if mask.mean() > config.max_active_frac:
        return None, idle, thr, f"mostly active ({mask.mean():.0%} of packets)"
    return mask, idle, thr, "gated"


def spans_from_mask(pts_s: np.ndarray, mask: np.ndarray, start_s: float, end_s: float, period_s: float,
                    config: ActivityConfig) -> list[tuple[float, float]]:
    """Active packets -> padded, merged spans within [start_s, end_s) (step 5)."""
    spans: list[tuple[float, float]] = [(start_s, min(end_s, start_s + config.head_s))]
    for t in pts_s[mask]:
        a, b = max(start_s, float(t) - config.pad_s), min(end_s, float(t) + period_s + config.pad_s)
        if a - spans[-1][1] < config.min_idle_s:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    if end_s - spans[-1][1] < config.min_idle_s:  # a short idle tail is decoded too
        spans[-1] = (spans[-1][0], end_s)
    return spans


def scan_activity(path: Path, info: VideoInfo, config: ActivityConfig | None = None) -> ActivityScan:
    """Pre-scan `path` (demux only) and return the spans worth decoding; see the module docstring."""
    config = config or ActivityConfig()
    t0 = time.perf_counter()
    pts_s, sizes, keys = read_packets(Path(path))
    fps = float(info.fps)
    period_s = 1.0 / fps
    start_s = info.start_pts_s
    declared_end = None if info.duration_s is None else info.start_pts_s + info.duration_s
    end_s = declared_end if declared_end is not None else (float(pts_s[-1]) + period_s if len(pts_s) else start_s)
    mask, idle, thr, reason = active_mask(sizes, keys, fps, config, info.width_px * info.height_px / 1e6)
    spans = [(start_s, end_s)] if mask is None else spans_from_mask(pts_s, mask, start_s, end_s, period_s, config)
    if len(pts_s) and end_s - float(pts_s[-1]) > 3 * period_s and spans[-1][1] < end_s:
        # packets stop before the declared end (truncated?): decode the tail so the decoder records the gap
        a = float(pts_s[-1]) - config.head_s
        if a - spans[-1][1] < config.min_idle_s:
            spans[-1] = (spans[-1][0], end_s)
        else:
            spans.append((a, end_s))
    idle_spans = [(b0, a1) for (_, b0), (a1, _) in zip(spans, spans[1:])]
    if spans[-1][1] < end_s:
        idle_spans.append((spans[-1][1], end_s))
    if mask is not None and not idle_spans:
        reason = "no idle stretch"
    return ActivityScan(spans=tuple(spans), idle=tuple(idle_spans), start_s=start_s, end_s=end_s,
                        packets=len(sizes), idle_level_bytes=idle, threshold_bytes=thr, reason=reason,
                        wall_s=time.perf_counter() - t0)
