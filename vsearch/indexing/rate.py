"""`--adapt-rate`: lower the analysis rate so that a job with a deadline gets through its files, never below a
stated floor (`--min-fps`), and record the rate used where an investigator sees it.

When: before each file, and again at each of its chunk boundaries (`indexing.checkpoint`), so a single 24-hour
file does not run all night at the rate chosen before it started. How: the job needs `remaining footage /
remaining time` × real time; the speed at the asked rate comes from what this job has measured so far (every
chunk it committed: footage covered, wall time on the job's clock, scaled to the asked rate), else from the plan
(the last job in this store at this rate and width). The analysis cost is taken as proportional to the rate (the
detector, tracker and describers run per sampled frame; decoding does not shrink with the rate, so the estimate is
optimistic at low rates and corrected by the next chunk's measurement). The rate chosen is rounded down to a
multiple of `RATE_STEP_FPS` and kept within [min_fps, fps]; it may rise again when the job turns out faster.
Without any measured speed the file starts at the asked rate and its first chunk is the measurement.

A new rate takes effect at a chunk boundary the way a resume does: the chunk is committed, and the file is
continued from that checkpoint at the new rate (the tracks still open are rebuilt over the overlap window at the
new rate), so one sampling rule holds between two boundaries and a killed job resumes as after any checkpoint.

Recorded: a span in the file's gaps per stretch analysed at a lowered rate, with the reason
`reduced_rate_reason(...)`, so every search's coverage report says which footage was analysed at which rate; the
source row's parameters (`fps` in `params_json`, shown by `vsearch sources`) and identity hold the rate of its
last stretch, and the job report lists each file's stretches (`rate_spans`). Such a span is a limit of the
analysis, not unreadable footage: it does not make the file partial. A later job without `--adapt-rate` indexes
a file with any lowered stretch again from its start, at the asked rate (finished or stopped inside: it wants
every stretch at that rate); a job with `--adapt-rate` keeps a finished one, and continues one it stopped inside
at a rate chosen anew.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field

from vsearch.catalogue.store import SourceRow
from vsearch.indexing.checkpoint import Checkpoint
from vsearch.errors import UsageError
from vsearch.records import Gap

RATE_STEP_FPS = 0.5
DEFAULT_MIN_FPS = 2.0
REDUCED_RATE = "reduced analysis rate"  # the start of the reason of a span analysed at a lowered rate
RATE_CHANGE = "the analysis rate changes here (--adapt-rate)"  # why a file's run ends at a boundary and goes on


def reduced_rate_reason(fps: float, asked_fps: float) -> str:
    return f"{REDUCED_RATE}: {fps:g} fps instead of {asked_fps:g} fps (--adapt-rate, to meet the deadline)"


def is_reduced_rate(gap: Gap) -> bool:
    return gap.reason.startswith(REDUCED_RATE + ":")


def check_rate_options(fps: float, min_fps: float) -> None:
    if not (0 < min_fps <= fps):
        raise UsageError(f"--min-fps must be above 0 and at most --fps ({fps:g}); got {min_fps:g}")


def choose_rate(fps: float, min_fps: float, *, x_realtime: float | None, footage_left_s: float,
                time_left_s: float) -> float:
    """The analysis rate for the next file or chunk (see the module docstring)."""
    if x_realtime is None or x_realtime <= 0 or footage_left_s <= 0:
        return fps
    needed = footage_left_s / max(time_left_s, 1e-3)
    if x_realtime >= needed:
        return fps
    rate = math.floor(fps * x_realtime / needed / RATE_STEP_FPS) * RATE_STEP_FPS
    return max(min_fps, min(fps, rate))


@dataclass
class RateAdapter:
    """Chooses the rate of each file, and of each chunk inside it, during one job, learning the speed from the
    chunks it commits. Wall time is read from the job's clock (`StopControl.now`), so tests drive it."""

    fps: float  # the rate asked for (--fps)
    min_fps: float
    deadline_utc: dt.datetime
    x_realtime: float | None  # speed at `fps`, from the plan; None: unknown until a chunk is done
    durations_s: dict[str, float | None] = field(default_factory=dict)  # path -> footage still to index
    _measured: list[tuple[float, float]] = field(default_factory=list)  # (footage s at `fps`-equivalent, wall s)
    _mark: dt.datetime | None = None  # the clock when the stretch being measured began

    @classmethod
    def for_job(cls, fps: float, min_fps: float, deadline_utc: dt.datetime, plan_files: list[tuple[str, float | None]],
                x_realtime: float | None, rows: list[SourceRow], skipped: set[str]) -> RateAdapter:
        """`plan_files`: (resolved path, duration) in job order; `rows`: the store's sources; `skipped`: the
        SHA-256 of files the job will not index again."""
        by_path = {r.path: r for r in rows if r.status in ("ok", "partial")}
        left: dict[str, float | None] = {}
        for path, duration in plan_files:
            row = by_path.get(path)
            if row is not None and row.source_id in skipped:
                continue
            ck = Checkpoint.from_json(row.checkpoint_json) if row is not None and row.checkpoint_json else None
            if ck is not None and row is not None and duration is not None:  # its indexed stretches are done
                duration = max(0.0, duration - sum(b - a for a, b, _, _ in ck.indexed(row.start_pts_s or 0.0)))
            left[path] = duration
        return cls(fps, min_fps, deadline_utc, x_realtime, left)

    def rate_for(self, path: str, now: dt.datetime) -> float:
        """The rate to start (or continue) the file at (resolved) `path` with; the clock starts measuring."""
        self._mark = now
        return self._choose(now)

    def next_rate(self, path: str, *, footage_s: float, fps: float, now: dt.datetime) -> float:
        """A chunk of `footage_s` of the file at `path` was analysed at `fps` since the last reading: learn its
        speed, and say the rate for what follows (the one asked for when the job keeps up)."""
        if self._mark is not None and footage_s > 0 and (wall_s := (now - self._mark).total_seconds()) > 0:
            self._measured.append((footage_s * fps / self.fps, wall_s))  # cost taken as proportional to the rate
        self._mark = now
        if (left := self.durations_s.get(path)) is not None:
            self.durations_s[path] = max(0.0, left - footage_s)
        return self._choose(now)

    def done(self, path: str) -> None:
        """The job is finished with the file (done, stopped or failed): its footage no longer counts as left."""
        self.durations_s.pop(path, None)

    def speed(self) -> float | None:
        """Speed at the asked rate: measured by this job where it can, else the plan's."""
        if self._measured:
            footage, wall = map(sum, zip(*self._measured))
            return footage / wall if wall > 0 else self.x_realtime
        return self.x_realtime

    def _choose(self, now: dt.datetime) -> float:
        left = sum(d or 0.0 for d in self.durations_s.values())
        return choose_rate(self.fps, self.min_fps, x_realtime=self.speed(), footage_left_s=left,
                           time_left_s=(self.deadline_utc - now).total_seconds())


def reduced_spans(fps: float, asked_fps: float | None, start_s: float, end_s: float | None) -> list[Gap]:
    """The span of a file from `start_s` analysed at a lowered rate (none at the rate asked for); a chunk's share
    of it is `until` its boundary."""
    if asked_fps is None or fps >= asked_fps or end_s is None or end_s <= start_s:
        return []
    return [Gap(start_s, end_s, reduced_rate_reason(fps, asked_fps))]


def rate_label(fps: float | None, gaps: list[Gap], indexed_s: float) -> str:
    """What `vsearch sources` shows as a file's rate: `fps` (its last stretch's), or the range of the rates of
    a file whose stretches were analysed at several ("2–5 fps"). `indexed_s`: the footage its rows cover (a
    part not under a lowered-rate span was analysed at the asked rate)."""
    rates = {fps} if fps is not None else set()
    lowered = [(g.end_s - g.start_s, m) for g in gaps if is_reduced_rate(g) and (m := _REDUCED_FPS.match(g.reason))]
    rates |= {float(m[1]) for _, m in lowered}
    if lowered and sum(d for d, _ in lowered) < indexed_s - 1e-6:
        rates.add(float(lowered[0][1][2]))
    if not rates:
        return "-"
    lo, hi = min(rates), max(rates)
    return f"{lo:g} fps" if lo == hi else f"{lo:g}–{hi:g} fps"


_REDUCED_FPS = re.compile(re.escape(REDUCED_RATE) + r": ([0-9.]+) fps instead of ([0-9.]+) fps")


def until(gaps: list[Gap], hi_s: float) -> list[Gap]:
    """`gaps` clipped to end at `hi_s` (the part a checkpoint covers)."""
    return [Gap(g.start_s, min(g.end_s, hi_s), g.reason) for g in gaps if g.start_s < hi_s]


__all__ = ["DEFAULT_MIN_FPS", "RATE_CHANGE", "RateAdapter", "REDUCED_RATE", "check_rate_options", "choose_rate",
           "is_reduced_rate", "rate_label", "reduced_rate_reason", "reduced_spans"]
