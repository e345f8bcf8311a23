"""Passages: the original footage cut to the matching spans (± padding, overlaps merged), a timestamp burnt in,
non-matching moving objects greyed out (or blurred). Same writers as the synopsis: MP4 + JSON sidecar + WebVTT."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from vsearch.errors import UsageError
from vsearch.records import Tube
from vsearch.synopsis.background import (SourceClip, boxes_to_output, frame_bgr, iter_nearest_frames,
                                         stream_duration_s)
from vsearch.synopsis.common import (camera_clips, camera_path, camera_size, fmt_wall, group_by_camera, iso,
                                     options_json, output_fps, r)
from vsearch.synopsis.crops import Others, non_matching
from vsearch.synopsis.labels import LABEL_COLOUR, draw_text_at
from vsearch.synopsis.writers import Encoder, write_json, write_vtt

Progress = Callable[[int, int], None]
PASSAGES_FORMAT = "vsearch-passages/1"


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


def _passage_frame(img: np.ndarray, clip: SourceClip, q: float, matching: Others, others: Others,
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
    text = f"{fmt_wall(clip.wall_time(q), opts.tz, True, decimals=2)} {clip.camera}"
    draw_text_at(img, text, 4, 4)
    return img


def _render_passages_camera(camera: str, cam_tubes: list[Tube], cam_clips: list[SourceClip], video: Path,
                            opts: PassageOptions, progress: Progress | None) -> CameraPassages:
    fps = output_fps(cam_clips, opts.fps)
    out_w, out_h = camera_size(cam_clips, opts.max_width_px)
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
    with Encoder(video, out_w, out_h, fps, opts.crf) as enc:
        for clip, a, b, ids, times in per_clip:
            matching = Others([t for t in cam_tubes if t.source_id == clip.source_id])
            others = non_matching(clip, ids_all)
            start_s = done / float(fps)
            for _, q, frame in iter_nearest_frames(clip.path, times):
                img = frame_bgr(frame, out_w, out_h)
                enc.write(_passage_frame(img, clip, q, matching, others, opts))
                done += 1
                if progress is not None and (done % 50 == 0 or done == total):
                    progress(done, total)
            passages.append(Passage(
                r(start_s), r(done / float(fps)), clip.source_id, str(clip.path), camera, r(a, 6), r(b, 6),
                iso(clip.wall_time(a)), iso(clip.wall_time(b)), tuple(sorted(ids))))
    duration = done / float(fps)
    span = max(walls) - min(walls)
    sidecar, vtt = video.with_suffix(".json"), video.with_suffix(".vtt")
    write_json(sidecar, {
        "format": PASSAGES_FORMAT, "camera": camera, "video": video.name, "fps": str(fps), "width_px": out_w,
        "height_px": out_h, "frames": done, "duration_s": r(duration),
        "metrics": {"passages": len(passages), "source_span_s": r(span, 3), "output_duration_s": r(duration, 3)},
        "options": options_json(opts), "passages": [asdict(p) for p in passages]})
    write_vtt(vtt, [(p.output_start_s, p.output_end_s,
                      [f"{p.camera} {p.wall_start} {Path(p.source_path).name} @{p.source_start_pts_s:.3f}s",
                       " ".join(p.tube_ids)]) for p in passages])
    return CameraPassages(camera, video, sidecar, vtt, fps, done, tuple(passages), r(span, 3), r(duration, 3))


def render_passages(tubes: Sequence[Tube], clips: dict[str, SourceClip], out_path: Path,
                    opts: PassageOptions = PassageOptions(), progress: Progress | None = None) -> PassagesResult:
    """Cut the original footage to the matching spans (± padding, overlaps merged), one file per camera."""
    groups = group_by_camera(tubes, clips)
    parts = []
    for camera, cam_tubes in groups.items():
        cam_clips = camera_clips(cam_tubes, clips)
        parts.append(_render_passages_camera(camera, cam_tubes, cam_clips,
                                             camera_path(Path(out_path), camera, len(groups)), opts, progress))
    return PassagesResult(tuple(parts))
