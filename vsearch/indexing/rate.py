"""`--adapt-rate`: lower the analysis rate so that a job with a deadline gets through its files, never below a
stated floor (`--min-fps`), and record the rate used where an investigator sees it.

When: before each file (the rate is fixed within a file, so its tubes, frame indices and checkpoints stay those of
one sampling rule). How: the job needs `remaining footage / remaining time` × real time; the speed at the asked
rate comes from the plan (the last job in this store at this rate and width), then from what this job measured on
the files it finished. The analysis cost is taken as proportional to the rate (the detector, tracker and
describers run per sampled frame; decoding does not shrink with the rate, so the estimate is optimistic at low
rates and corrected by the next file's measurement). The rate chosen is rounded down to a multiple of
`RATE_STEP_FPS` and kept within [min_fps, fps]. Without any measured speed the first file runs at the asked rate.

Recorded: the source row's parameters (`fps` in `params_json`, shown by `vsearch sources`) and identity, the job
report (`analysis_fps` per file), and a span in the file's gaps with the reason `reduced_rate_reason(...)`, so
every search's coverage report says which footage was analysed at a lower rate. Such a span is a limit of the
analysis, not unreadable footage: it does not make the file partial. A file indexed at a lowered rate is indexed
again at the asked rate by a later job without `--adapt-rate` (its parameters differ); a job with `--adapt-rate`
keeps it, and resumes a file it stopped inside at the rate the file was started with.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

from vsearch.catalogue.store import SourceRow
from vsearch.errors import UsageError
from vsearch.records import Gap

RATE_STEP_FPS = 0.5
DEFAULT_MIN_FPS = 2.0
REDUCED_RATE = "reduced analysis rate"  # the start of the reason of a span analysed at a lowered rate


def reduced_rate_reason(fps: float, asked_fps: float) -> str:
    return f"{REDUCED_RATE}: {fps:g} fps instead of {asked_fps:g} fps (--adapt-rate, to meet the deadline)"


def is_reduced_rate(gap: Gap) -> bool:
    return gap.reason.startswith(REDUCED_RATE + ":")


def check_rate_options(fps: float, min_fps: float) -> None:
    if not (0 < min_fps <= fps):
        raise UsageError(f"--min-fps must be above 0 and at most --fps ({fps:g}); got {min_fps:g}")


def choose_rate(fps: float, min_fps: float, *, x_realtime: float | None, footage_left_s: float,
                time_left_s: float) -> float:
    """The analysis rate for the next file (see the module docstring)."""
    if x_realtime is None or x_realtime <= 0 or footage_left_s <= 0:
        return fps
    needed = footage_left_s / max(time_left_s, 1e-3)
    if x_realtime >= needed:
        return fps
    rate = math.floor(fps * x_realtime / needed / RATE_STEP_FPS) * RATE_STEP_FPS
    return max(min_fps, min(fps, rate))


@dataclass
class RateAdapter:
    """Chooses each file's rate during one job, learning the speed from the files it finishes."""

    fps: float  # the rate asked for (--fps)
    min_fps: float
    deadline_utc: dt.datetime
    x_realtime: float | None  # speed at `fps`, from the plan; None: unknown until a file is done
    durations_s: dict[str, float | None] = field(default_factory=dict)  # path -> footage still to index
    _measured: list[tuple[float, float]] = field(default_factory=list)  # (footage s at `fps`-equivalent, wall s)

    started_fps: dict[str, float] = field(default_factory=dict)  # path -> rate of a file stopped inside

    @classmethod
    def for_job(cls, fps: float, min_fps: float, deadline_utc: dt.datetime, plan_files: list[tuple[str, float | None]],
                x_realtime: float | None, rows: list[SourceRow], skipped: set[str]) -> RateAdapter:
        """`plan_files`: (resolved path, duration) in job order; `rows`: the store's sources; `skipped`: the
        SHA-256 of files the job will not index again."""
        by_path = {r.path: r for r in rows if r.status in ("ok", "partial")}
        left: dict[str, float | None] = {}
        started: dict[str, float] = {}
        for path, duration in plan_files:
            row = by_path.get(path)
            if row is not None and row.source_id in skipped:
                continue
            if row is not None and row.checkpoint_json and row.indexed_to_s is not None:
                started[path] = float(json.loads(row.params_json or "{}").get("fps", fps))
                duration = None if duration is None else max(0.0, duration - (row.indexed_to_s - row.start_pts_s))
            left[path] = duration
        return cls(fps, min_fps, deadline_utc, x_realtime, left, started_fps=started)

    def rate_for(self, path: str, now: dt.datetime) -> float:
        """The rate for the file at (resolved) `path`: the one it was started with, when it was stopped inside."""
        if path in self.started_fps:
            return self.started_fps[path]
        left = sum(d or 0.0 for d in self.durations_s.values())
        return choose_rate(self.fps, self.min_fps, x_realtime=self.speed(), footage_left_s=left,
                           time_left_s=(self.deadline_utc - now).total_seconds())

    def speed(self) -> float | None:
        """Speed at the asked rate: measured by this job where it can, else the plan's."""
        if self._measured:
            footage, wall = map(sum, zip(*self._measured))
            return footage / wall if wall > 0 else self.x_realtime
        return self.x_realtime

    def done(self, path: str, *, footage_s: float, wall_s: float, fps: float) -> None:
        """A file finished (or stopped) after `footage_s` of footage in `wall_s` at `fps`."""
        self.durations_s.pop(path, None)
        if footage_s > 0 and wall_s > 0:  # cost taken as proportional to the rate
            self._measured.append((footage_s * fps / self.fps, wall_s))


def reduced_spans(fps: float, asked_fps: float | None, start_s: float, end_s: float | None) -> list[Gap]:
    """The span of a file analysed at a lowered rate (none when the rate is the one asked for)."""
    if asked_fps is None or fps >= asked_fps or end_s is None or end_s <= start_s:
        return []
    return [Gap(start_s, end_s, reduced_rate_reason(fps, asked_fps))]


def until(gaps: list[Gap], hi_s: float) -> list[Gap]:
    """`gaps` clipped to end at `hi_s` (the part a checkpoint covers)."""
    return [Gap(g.start_s, min(g.end_s, hi_s), g.reason) for g in gaps if g.start_s < hi_s]


__all__ = ["DEFAULT_MIN_FPS", "RateAdapter", "REDUCED_RATE", "check_rate_options", "choose_rate",
           "is_reduced_rate", "reduced_rate_reason", "reduced_spans"]
