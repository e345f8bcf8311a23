"""Video synopsis ("condense hours into minutes"): every matching tube, whole, pasted with its own feathered
foreground mask over a time-lapse background plate, shifted in time by `plan.plan_placement` so many objects
share the screen; each object carries its real wall-clock time.

Writes an H.264 MP4 (fixed encoder settings, bit-exact flags, no metadata: same inputs give the same bytes), a
JSON sidecar (source map + metrics) and a WebVTT track. One output file per camera: with tubes of several
cameras, `out.mp4` becomes `out.<camera>.mp4`, ... Non-matching objects are never pasted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from vsearch.errors import UsageError
from vsearch.records import Tube
from vsearch.synopsis.background import PlateTimeline, SourceClip, boxes_to_output, build_plates, iter_nearest_frames
from vsearch.synopsis.common import (camera_path, camera_size, fmt_wall, group_by_camera, iso, options_json,
                                     output_fps, r)
from vsearch.synopsis.crops import CropStore, make_crop, non_matching
from vsearch.synopsis.labels import draw_label
from vsearch.synopsis.plan import PlanItem, interp_boxes, plan_placement
from vsearch.synopsis.sourcemap import SourceMapEntry, synopsis_cues
from vsearch.synopsis.writers import Encoder, write_json, write_vtt

__all__ = ["SourceClip", "SynopsisOptions", "SourceMapEntry", "SynopsisMetrics", "CameraSynopsis", "SynopsisResult",
           "render_synopsis"]

Progress = Callable[[int, int], None]
SIDECAR_FORMAT = "vsearch-synopsis/1"


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


def _extract_crops(job: _Job, clips: dict[str, SourceClip], opts: SynopsisOptions, store: CropStore,
                   tick: Callable[[], None]) -> None:
    matching_ids = {t.tube_id for t in job.tubes}
    for clip in job.clips:
        others = non_matching(clip, matching_ids)
        reqs = [(p, i, k) for i, t in enumerate(job.tubes) if t.source_id == clip.source_id
                for k, p in enumerate(_tube_frame_pts(t, job.n_frames[i], job.fps))]
        reqs.sort()
        if not reqs:
            continue
        last_id, last_img = None, None
        for ri, q, frame in iter_nearest_frames(clip.path, [p for p, _, _ in reqs]):
            if id(frame) != last_id:
                last_img = frame.to_ndarray(format="bgr24", width=job.out_w, height=job.out_h)
                last_id = id(frame)
            _, i, k = reqs[ri]
            crop = make_crop(last_img, job.tubes[i], clip, q, opts.feather_px, others)
            if crop is not None:
                store.put((i, k), *crop[:3], q, crop[3])
            tick()


def _compose(job: _Job, clips: dict[str, SourceClip], opts: SynopsisOptions, plates: PlateTimeline,
             store: CropStore, enc: Encoder, n_out: int, tick: Callable[[], None]) -> float:
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
                draw_label(frame, f"{fmt_wall(clip.wall_time(q), opts.tz, with_date)} {job.camera}", box)
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
        samples = tuple((r(s0 + p - t.first_pts_s), r(p, 6), tuple(r(v, 2) for v in b))
                        for p, b in zip(pts, boxes))
        out.append(SourceMapEntry(
            tube_id=t.tube_id, source_id=t.source_id, source_path=str(clip.path), camera=job.camera,
            synopsis_start_s=r(s0), synopsis_end_s=r((job.starts[i] + job.n_frames[i]) / f),
            source_start_pts_s=r(t.first_pts_s, 6), source_end_pts_s=r(shown_end + 1 / f, 6),
            wall_start=iso(clip.wall_time(t.first_pts_s)), wall_end=iso(clip.wall_time(shown_end + 1 / f)),
            samples=samples))
    out.sort(key=lambda e: (e.synopsis_start_s, e.tube_id))
    return out



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
    store = CropStore()
    try:
        _extract_crops(job, clips, opts, store, tick)
        with Encoder(video, job.out_w, job.out_h, job.fps, opts.crf) as enc:
            collision = _compose(job, clips, opts, PlateTimeline(plates), store, enc, plan.n_frames, tick)
    finally:
        store.close()
    f = float(job.fps)
    entries = _entries(job, clips)
    duration = plan.n_frames / f
    span = (max(clips[t.source_id].wall_s(t.last_pts_s) for t in job.tubes)
            - min(clips[t.source_id].wall_s(t.first_pts_s) for t in job.tubes))
    metrics = SynopsisMetrics(
        objects=len(job.tubes), object_seconds=r(sum(job.n_frames) / f, 3), source_span_s=r(span, 3),
        synopsis_duration_s=r(duration, 3), condensation_ratio=r(span / duration if duration else 0.0, 3),
        collision_rate=r(collision), disorder=r(plan.disorder), target_duration_s=r(plan.target_frames / f, 3),
        max_duration_met=plan.max_duration_met)
    sidecar, vtt = video.with_suffix(".json"), video.with_suffix(".vtt")
    write_json(sidecar, {
        "format": SIDECAR_FORMAT, "camera": job.camera, "video": video.name, "fps": str(job.fps),
        "width_px": job.out_w, "height_px": job.out_h, "frames": plan.n_frames, "duration_s": r(duration),
        "metrics": asdict(metrics), "options": options_json(opts),
        "tubes": [asdict(e) for e in entries]})
    write_vtt(vtt, synopsis_cues(entries, duration))
    return CameraSynopsis(job.camera, video, sidecar, vtt, job.fps, job.out_w, job.out_h, plan.n_frames,
                          metrics, tuple(entries))


def render_synopsis(tubes: Sequence[Tube], clips: dict[str, SourceClip], out_path: Path,
                    opts: SynopsisOptions = SynopsisOptions(), progress: Progress | None = None) -> SynopsisResult:
    """Render one synopsis per camera of `tubes` (all kept whole). See the module docstring."""
    groups = group_by_camera(tubes, clips)
    parts = []
    for camera, cam_tubes in groups.items():
        cam_clips = sorted({clips[t.source_id].source_id: clips[t.source_id] for t in cam_tubes}.values(),
                           key=lambda c: (c.start_utc, c.source_id))
        out_w, out_h = camera_size(cam_clips, opts.max_width_px)
        ordered = sorted(cam_tubes, key=lambda t: (clips[t.source_id].wall_s(t.first_pts_s), t.tube_id))
        job = _Job(camera, cam_clips, ordered, output_fps(cam_clips, opts.fps), out_w, out_h)
        parts.append(_render_camera(job, clips, camera_path(Path(out_path), camera, len(groups)), opts, progress))
    return SynopsisResult(tuple(parts))

