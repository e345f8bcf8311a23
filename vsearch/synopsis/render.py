"""Video synopsis ("condense hours into minutes"): every matching tube, whole, pasted with its own feathered
foreground mask over a time-lapse background plate, shifted in time by `plan.plan_placement` (the shortest
synopsis within the collision budget) so many objects share the screen; each object carries its real local
time (`labels`). Very long tubes (loiterers) can be played faster (`speed_up`), the factor in their label.

Writes an H.264 MP4 (fixed encoder settings, bit-exact flags, no metadata: same inputs give the same bytes), a
JSON sidecar (source map + metrics) and a WebVTT track. One output file per camera: with tubes of several
cameras, `out.mp4` becomes `out.<camera>.mp4`, ... Non-matching objects are never pasted.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

from vsearch.errors import UsageError
from vsearch.records import Tube
from vsearch.synopsis.background import PlateTimeline, SourceClip, boxes_to_output, build_plates
from vsearch.synopsis.common import (camera_clips, camera_path, camera_size, fmt_wall, group_by_camera, iso,
                                     options_json, output_fps, r)
from vsearch.synopsis.compose import compose
from vsearch.synopsis.cutter import CutJob, Cutter
from vsearch.synopsis.paths import interp_boxes
from vsearch.synopsis.plan import Plan, PlanItem, PlanLimits, plan_placement
from vsearch.synopsis.sourcemap import FRAME_COLUMNS, SourceMapEntry, frames_json, synopsis_cues
from vsearch.synopsis.writers import Encoder, write_json, write_vtt

__all__ = ["SourceClip", "SynopsisOptions", "SourceMapEntry", "SynopsisMetrics", "StageTimes", "CameraSynopsis",
           "SynopsisResult", "render_synopsis"]

Progress = Callable[[int, int], None]
SIDECAR_FORMAT = "vsearch-synopsis/1"


@dataclass(frozen=True)
class SynopsisOptions:
    fps: Fraction | None = None  # output rate; None: the first clip's rate, capped at 25
    max_collision: float = 0.05  # share of object-frames allowed to overlap another object (box IoU > 0.05)
    max_duration_s: float | None = None  # cap on the length (objects are never dropped; collisions may rise)
    density: int | None = None  # most objects on screen at once; None: as many as the collision budget allows
    speed_up: float = 1.0  # tubes longer than long_tube_s are played this many times faster
    long_tube_s: float = 60.0
    by_direction: bool = False  # objects heading the same way shown together (shorter on two-way traffic)
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
        if not 0 <= self.max_collision <= 1:
            raise UsageError(f"--max-collision must be a share between 0 and 1 (e.g. 0.05), got {self.max_collision}")
        if self.density is not None and self.density < 1:
            raise UsageError(f"--density must be at least 1 (most objects on screen at once), got {self.density}")
        if self.max_duration_s is not None and self.max_duration_s <= 0:
            raise UsageError(f"--max-duration must be > 0 seconds, got {self.max_duration_s}")
        if not 1 <= self.speed_up <= 64 or self.long_tube_s <= 0:
            raise UsageError(f"--speed-up must be between 1 and 64 (got {self.speed_up}) and --long-tube > 0 "
                             f"seconds (got {self.long_tube_s})")
        if self.feather_px < 0 or self.plate_window_s <= 0 or self.plate_samples < 1:
            raise UsageError("feather_px must be >= 0, plate_window_s > 0 and plate_samples >= 1")


@dataclass(frozen=True)
class SynopsisMetrics:
    objects: int
    object_seconds: float  # total on-screen time of all objects
    source_span_s: float  # wall clock from the first object's appearance to the last one's exit
    synopsis_duration_s: float
    condensation_ratio: float  # source span / synopsis duration
    collision_rate: float  # share of object-frames whose box overlaps another's (IoU > 0.05)
    max_collision: float  # the budget asked for
    max_collision_met: bool
    lower_bound_s: float  # no synopsis within the budget is shorter (see collisions.lower_bound_frames)
    disorder: float  # share of object pairs shown in the reverse of their real order
    label_overlaps: int  # frames where a label overlaps another label or an object
    max_on_screen: int  # most objects on screen at once
    sped_up: int  # objects played faster than real time
    max_duration_met: bool  # False: the longest tube alone is longer than max_duration_s (all kept)


@dataclass(frozen=True)
class StageTimes:
    """Where the time went (seconds; wall clock, and CPU time of the process doing the stage: on a shared
    machine the CPU times are the stable figures). Not written to the sidecar: the outputs stay
    byte-identical from run to run."""

    plan_s: float
    plates_s: float
    crops_s: float  # decoding the source frames and cutting the objects out (alongside plan and plates
    # when in a second process, see cutter.py)
    crops_wait_s: float  # how long the plan and plates then waited for the crops
    crops_in_child: bool  # the crops were cut in a second process (large jobs)
    compose_s: float  # pasting and labelling, including waits on the encoder pipe
    encode_cpu_s: float  # CPU time of the ffmpeg/x264 process (runs alongside compose)
    plan_cpu_s: float = 0.0
    crops_cpu_s: float = 0.0  # of the process that cut them
    compose_cpu_s: float = 0.0  # of this process (the encoder's is encode_cpu_s)


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


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
    times: StageTimes


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
    speeds: list[float] = field(default_factory=list)  # playback speed of each tube
    n_frames: list[int] = field(default_factory=list)  # synopsis frames of each tube
    starts: list[int] = field(default_factory=list)  # first synopsis frame of each tube

    def frame_pts(self, i: int) -> np.ndarray:
        """Source times shown at each synopsis frame of tube i."""
        return self.tubes[i].first_pts_s + np.arange(self.n_frames[i]) * (self.speeds[i] / float(self.fps))


def _timing(job: _Job, opts: SynopsisOptions) -> None:
    """Playback speed and synopsis frames of each tube (long tubes sped up)."""
    f = float(job.fps)
    for t in job.tubes:
        dur = t.last_pts_s - t.first_pts_s
        speed = opts.speed_up if dur > opts.long_tube_s else 1.0
        job.speeds.append(speed)
        job.n_frames.append(int(np.floor(dur * f / speed + 1e-9)) + 1)


def _plan(job: _Job, clips: dict[str, SourceClip], opts: SynopsisOptions) -> Plan:
    items = []
    f = float(job.fps)
    for i, t in enumerate(job.tubes):
        clip = clips[t.source_id]
        boxes = boxes_to_output(interp_boxes(t, job.frame_pts(i)), clip, job.out_w)
        items.append(PlanItem(str(i), clip.wall_s(t.first_pts_s), boxes))
    limits = PlanLimits(opts.max_collision, opts.max_duration_s, opts.density, opts.by_direction)
    plan = plan_placement(items, fps=f, width_px=job.out_w, height_px=job.out_h, limits=limits)
    job.starts = [plan.start_frame[str(i)] for i in range(len(job.tubes))]
    return plan


def _label_texter(job: _Job, clips: dict[str, SourceClip], opts: SynopsisOptions) -> Callable[[int, float], str]:
    """Label of tube i showing source time q: local HH:MM:SS (with the date when the objects span several
    days), and the playback speed when it is sped up."""
    walls = [clips[t.source_id].wall_time(p) for t in job.tubes for p in (t.first_pts_s, t.last_pts_s)]
    with_date = min(walls).astimezone(opts.tz).date() != max(walls).astimezone(opts.tz).date()

    @lru_cache(maxsize=1 << 16)
    def stamp(source_id: str, q: float) -> str:  # the objects on one source frame share it
        return fmt_wall(clips[source_id].wall_time(q), opts.tz, with_date)

    def text(i: int, q: float) -> str:
        speed = job.speeds[i]
        label = stamp(job.tubes[i].source_id, q)
        return label if speed == 1 else f"{label} x{speed:g}"
    return text


def _entries(job: _Job, clips: dict[str, SourceClip]) -> list[SourceMapEntry]:
    out = []
    f = float(job.fps)
    for i, t in enumerate(job.tubes):
        clip, speed = clips[t.source_id], job.speeds[i]
        s0 = job.starts[i] / f
        shown_end = float(job.frame_pts(i)[-1])
        keep = np.asarray(t.pts_s) <= shown_end + 1e-9
        pts = np.asarray(t.pts_s, np.float64)[keep]
        boxes = boxes_to_output(np.asarray(t.boxes_xyxy, np.float64)[keep], clip, job.out_w)
        samples = tuple((r(s0 + (p - t.first_pts_s) / speed), r(p, 6), tuple(r(v, 2) for v in b))
                        for p, b in zip(pts, boxes))
        end = shown_end + speed / f
        out.append(SourceMapEntry(
            tube_id=t.tube_id, source_id=t.source_id, source_path=str(clip.path), camera=job.camera,
            synopsis_start_s=r(s0), synopsis_end_s=r((job.starts[i] + job.n_frames[i]) / f),
            source_start_pts_s=r(t.first_pts_s, 6), source_end_pts_s=r(end, 6),
            wall_start=iso(clip.wall_time(t.first_pts_s)), wall_end=iso(clip.wall_time(end)), speed=speed,
            samples=samples))
    return out


def _span(job: _Job, clips: dict[str, SourceClip]) -> tuple[float, float]:
    """Wall clock (epoch seconds) of the first object's appearance and the last one's exit."""
    return (min(clips[t.source_id].wall_s(t.first_pts_s) for t in job.tubes),
            max(clips[t.source_id].wall_s(t.last_pts_s) for t in job.tubes))


def _background(job: _Job, clips: dict[str, SourceClip], opts: SynopsisOptions, n_out: int,
                tick: Callable[[], None]) -> Callable[[int], np.ndarray]:
    """Background of each synopsis frame: a time-lapse, frame s shows the plate of its share of the span."""
    plates = []
    for clip in job.clips:
        known = list(clip.all_tubes) if clip.all_tubes is not None else [
            t for t in job.tubes if t.source_id == clip.source_id]
        plates += build_plates(clip, known, (job.out_w, job.out_h), window_s=opts.plate_window_s,
                               samples=opts.plate_samples)
        tick()
    timeline = PlateTimeline(plates)
    wall0, wall1 = _span(job, clips)
    return lambda s: timeline.at(wall0 + (wall1 - wall0) * (s / max(n_out - 1, 1)))


def _render_camera(job: _Job, clips: dict[str, SourceClip], video: Path, opts: SynopsisOptions,
                   progress: Progress | None) -> CameraSynopsis:
    clock, cpu = [time.perf_counter()], [time.process_time()]

    def lap() -> float:
        clock.append(time.perf_counter())
        cpu.append(time.process_time())
        return clock[-1] - clock[-2]

    _timing(job, opts)
    total = len(job.clips) + 2 * sum(job.n_frames)  # until the plan gives the synopsis length
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None and (done % 50 == 0 or done == total):
            progress(done, total)

    cut = CutJob(tuple(job.clips), tuple(job.tubes), tuple(job.frame_pts(i) for i in range(len(job.tubes))),
                 (job.out_w, job.out_h), opts.feather_px)
    with Cutter(cut, tick) as cutter:  # a large job is cut in a second process while this one plans
        plan = _plan(job, clips, opts)
        plan_s = lap()
        plan_cpu_s = cpu[-1] - cpu[-2]
        total = len(job.clips) + sum(job.n_frames) + plan.n_frames
        background = _background(job, clips, opts, plan.n_frames, tick)
        plates_s = lap()
        store, (crops_s, crops_cpu_s) = cutter.wait()
        crops_wait_s = lap()
    try:
        n_out = plan.n_frames
        cpu0 = _children_cpu_s()
        with Encoder(video, job.out_w, job.out_h, job.fps, opts.crf) as enc:
            made = compose(n_out, job.starts, job.n_frames, store, background,
                           _label_texter(job, clips, opts) if opts.label else None, enc.write, tick)
        compose_s = lap()
        times = StageTimes(plan_s, plates_s, crops_s, crops_wait_s, cutter.in_child, compose_s,
                           _children_cpu_s() - cpu0, plan_cpu_s, crops_cpu_s, cpu[-1] - cpu[-2])
    finally:
        store.close()
    wall0, wall1 = _span(job, clips)
    f = float(job.fps)
    entries = _entries(job, clips)
    order = sorted(range(len(entries)), key=lambda i: (entries[i].synopsis_start_s, entries[i].tube_id))
    position = {i: n for n, i in enumerate(order)}
    duration = n_out / f
    span = wall1 - wall0
    metrics = SynopsisMetrics(
        objects=len(job.tubes), object_seconds=r(sum(job.n_frames) / f, 3), source_span_s=r(span, 3),
        synopsis_duration_s=r(duration, 3), condensation_ratio=r(span / duration if duration else 0.0, 3),
        collision_rate=r(plan.collision_rate), max_collision=opts.max_collision,
        max_collision_met=plan.max_collision_met, lower_bound_s=r(plan.lower_bound_frames / f, 3),
        disorder=r(plan.disorder), label_overlaps=made.label_overlaps,
        max_on_screen=max((len(objs) for objs in made.frames), default=0),
        sped_up=sum(1 for s in job.speeds if s != 1), max_duration_met=plan.max_duration_met)
    sidecar, vtt = video.with_suffix(".json"), video.with_suffix(".vtt")
    ordered = [entries[i] for i in order]
    write_json(sidecar, {
        "format": SIDECAR_FORMAT, "camera": job.camera, "video": video.name, "fps": str(job.fps),
        "width_px": job.out_w, "height_px": job.out_h, "frames": n_out, "duration_s": r(duration),
        "metrics": asdict(metrics), "options": options_json(opts),
        "tubes": [{f.name: getattr(e, f.name) for f in fields(e)} for e in ordered],  # asdict deep-copies
        "frame_columns": list(FRAME_COLUMNS),
        "frame_objects": frames_json(made.frames, [position[i] for i in range(len(entries))])})
    write_vtt(vtt, synopsis_cues(ordered, duration))
    return CameraSynopsis(job.camera, video, sidecar, vtt, job.fps, job.out_w, job.out_h, n_out,
                          metrics, tuple(ordered), times)


def render_synopsis(tubes: Sequence[Tube], clips: dict[str, SourceClip], out_path: Path,
                    opts: SynopsisOptions = SynopsisOptions(), progress: Progress | None = None) -> SynopsisResult:
    """Render one synopsis per camera of `tubes` (all kept whole). See the module docstring."""
    groups = group_by_camera(tubes, clips)
    parts = []
    for camera, cam_tubes in groups.items():
        cam_clips = camera_clips(cam_tubes, clips)
        out_w, out_h = camera_size(cam_clips, opts.max_width_px)
        ordered = sorted(cam_tubes, key=lambda t: (clips[t.source_id].wall_s(t.first_pts_s), t.tube_id))
        job = _Job(camera, cam_clips, ordered, output_fps(cam_clips, opts.fps), out_w, out_h)
        parts.append(_render_camera(job, clips, camera_path(Path(out_path), camera, len(groups)), opts, progress))
    return SynopsisResult(tuple(parts))
