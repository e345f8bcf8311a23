"""What an overnight job does first, and what it expects to finish by its deadline.

Order: files matching a `--priority` term first, in the order the terms were given (a term matches a file whose
path contains it, or whose camera is it; a time-window term `CAMERA@HH:MM-HH:MM`, or `@HH:MM-HH:MM` for every
camera, matches a file of that camera whose footage overlaps that local time of day, on any day), then the
files with a `priority` in their manifest row (lowest first), then everything else; within each group newest
first (by the start time the user gave, else the file's modification time), so the most recent footage is ready
first. A window also goes first inside its file: the job indexes the stretch of each such file inside the window
(`window_stretches`) before anything else, then the rest of the files in this order (`indexing.checkpoint`).

Estimate: the measured speed of the last job in this store that indexed footage with the same analysis rate and
width (footage seconds per wall-clock second, `x_realtime` in its report). Without one there is no estimate; the
plan then says so and gives only the order. The estimate is a forecast: the job stops on the clock, not on it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from vsearch.errors import DecodeError, SourceError, UsageError
from vsearch.indexers import probe
from vsearch.indexing import gating, rate
from vsearch.indexing.checkpoint import Checkpoint
from vsearch.indexing.identity import PipelineIdentity
from vsearch.indexing.identity import parse as parse_identity
from vsearch.indexing.sources import SourceSpec, resolve, site_zone
from vsearch.catalogue.store import SourceRow

UTC = dt.timezone.utc
_WINDOW = re.compile(r"(?P<camera>[^@]*)@(?P<h0>[01]?\d|2[0-3]):(?P<m0>[0-5]\d)-(?P<h1>[01]?\d|2[0-3]):(?P<m1>[0-5]\d)")


@dataclass(frozen=True)
class Window:
    """A `--priority CAMERA@HH:MM-HH:MM` term: that local time of day, every day (crossing midnight when the end
    is not after the start)."""

    camera: str  # "" = every camera
    start: dt.time
    end: dt.time

    def overlap_s(self, start_utc: dt.datetime, end_utc: dt.datetime, zone: dt.tzinfo) -> float:
        """Seconds of [start_utc, end_utc] inside the window (local time in `zone`, daylight saving included)."""
        return sum((b - a).total_seconds() for a, b in self.pieces(start_utc, end_utc, zone))

    def pieces(self, start_utc: dt.datetime, end_utc: dt.datetime,
               zone: dt.tzinfo) -> list[tuple[dt.datetime, dt.datetime]]:
        """The parts of [start_utc, end_utc] inside the window, in time order (one per day it recurs)."""
        day = start_utc.astimezone(zone).date() - dt.timedelta(days=1)  # a window that began the evening before
        out = []
        while (w0 := dt.datetime.combine(day, self.start, tzinfo=zone)) <= end_utc:
            w1 = dt.datetime.combine(day + dt.timedelta(days=int(self.end <= self.start)), self.end, tzinfo=zone)
            a, b = max(w0, start_utc), min(w1, end_utc)
            if b > a:
                out.append((a, b))
            day += dt.timedelta(days=1)
        return out


WINDOW_PAD_S = 5.0  # a window is indexed with this much more on each side (an object entering as it begins)


def window_stretches(priority: tuple[str, ...], camera: str, start_utc: dt.datetime, start_pts_s: float,
                     end_pts_s: float | None, *, tz: str) -> list[tuple[float, float]]:
    """The stretches of one file (source pts [from, to)) inside the `--priority` time windows for its camera,
    padded by WINDOW_PAD_S and clipped to the file, in the order of the terms (they may overlap: the job indexes
    what of each is not indexed yet) before the rest of the file (`indexing.checkpoint`, stretches)."""
    if end_pts_s is None:
        return []
    zone = site_zone(tz)
    end_utc = start_utc + dt.timedelta(seconds=end_pts_s - start_pts_s)
    out: list[tuple[float, float]] = []
    for term in (parse_priority(t) for t in priority):
        if not isinstance(term, Window) or term.camera not in ("", camera):
            continue
        for a, b in term.pieces(start_utc, end_utc, zone):
            lo = max(start_pts_s, start_pts_s + (a - start_utc).total_seconds() - WINDOW_PAD_S)
            hi = min(end_pts_s, start_pts_s + (b - start_utc).total_seconds() + WINDOW_PAD_S)
            if hi > lo:
                out.append((lo, hi))
    return out


def parse_priority(term: str) -> str | Window:
    """A `--priority` term: a time window when it has an "@", else a path part or camera name."""
    if "@" not in term:
        return term
    m = _WINDOW.fullmatch(term.strip())
    if m is None:
        raise UsageError(f"--priority {term!r}: a time window is CAMERA@HH:MM-HH:MM in local time (--tz), e.g. "
                         "gate@14:00-16:00, or @14:00-16:00 for every camera")
    return Window(m["camera"], dt.time(int(m["h0"]), int(m["m0"])), dt.time(int(m["h1"]), int(m["m1"])))


def ordered(specs: list[SourceSpec], priority: tuple[str, ...], *, tz: str = "Europe/Paris") -> list[SourceSpec]:
    """`specs` in the order the job indexes them (see the module docstring). Only with a time-window term are the
    containers opened (length, and a start from the container's creation time)."""
    terms = [parse_priority(t) for t in priority]
    windows = any(isinstance(t, Window) for t in terms)
    zone = site_zone(tz)
    known: dict[Path, tuple[str | None, float]] = {}
    spans: dict[Path, tuple[dt.datetime, dt.datetime]] = {}  # footage of each file in wall-clock time
    for spec in specs:  # camera and start as given (option, manifest, sidecar)
        info = None
        if windows:
            try:
                info = probe.probe(spec.path)
            except DecodeError:
                pass
        try:
            camera, start, _, _ = resolve(spec, info.creation_time if info else None, tz=tz)
            known[spec.path] = (camera, -start.timestamp())
            length_s = info.duration_s if info is not None and info.duration_s else 1.0  # unknown: its start decides
            spans[spec.path] = (start, start + dt.timedelta(seconds=length_s))
        except SourceError:
            try:
                known[spec.path] = (spec.camera, -spec.path.stat().st_mtime)
            except OSError:
                known[spec.path] = (spec.camera, 0.0)

    def matches(term: str | Window, spec: SourceSpec) -> bool:
        camera = known[spec.path][0]
        if isinstance(term, Window):
            return (term.camera in ("", camera) and spec.path in spans
                    and term.overlap_s(*spans[spec.path], zone) > 0)
        return term == camera or term in str(spec.path)

    def rank(spec: SourceSpec) -> tuple[int, int]:
        for k, term in enumerate(terms):
            if matches(term, spec):
                return k, 0
        return len(terms), (spec.priority if spec.priority is not None else 1 << 30)

    return sorted(specs, key=lambda s: (rank(s), known[s.path][1], str(s.path)))


@dataclass(frozen=True)
class PlannedFile:
    path: str
    duration_s: float | None
    expected: str  # "done" | "partly (to t = … s)" | "not by the deadline" | "unknown (no measured speed)"


@dataclass(frozen=True)
class Plan:
    deadline_utc: str | None
    x_realtime: float | None  # the speed the estimate uses (None: no earlier job to measure it from)
    rate_from: str  # where that speed comes from
    fps: float
    width_px: int
    files: tuple[PlannedFile, ...]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def lines(self) -> list[str]:
        head = (f"plan: {len(self.files)} file(s) at {self.fps:g} fps / {self.width_px} px"
                + (f", deadline {self.deadline_utc}" if self.deadline_utc else ""))
        speed = (f"expected speed {self.x_realtime:.1f}× real time ({self.rate_from})" if self.x_realtime
                 else f"no estimate: {self.rate_from}")
        return [head, speed] + [f"  {k}. {Path(f.path).name} ({_length(f.duration_s)}): {f.expected}"
                                for k, f in enumerate(self.files, start=1)]


def _length(s: float | None) -> str:
    return "length unknown" if s is None else f"{s / 60:.1f} min"


def measured_speed(jobs_dir: Path, fps: float, width_px: int) -> tuple[float | None, str]:
    """x real time of the newest job report with the same analysis rate and width, and which report."""
    reports = sorted(Path(jobs_dir).glob("*.json"), reverse=True) if Path(jobs_dir).is_dir() else []
    for p in reports:
        try:
            r = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        o = r.get("options", {})
        if r.get("footage_s", 0) > 0 and r.get("wall_s", 0) > 0 and o.get("fps") == fps \
                and o.get("width_px") == width_px:
            return r["footage_s"] / r["wall_s"], f"measured by job {r.get('job_id', p.stem)}"
    return None, "no earlier job in this store indexed at this rate and width"


def make_plan(specs: list[SourceSpec], *, deadline_utc: dt.datetime | None, now: dt.datetime, fps: float,
              width_px: int, jobs_dir: Path) -> Plan:
    speed, source = measured_speed(jobs_dir, fps, width_px)
    budget_s = None if speed is None or deadline_utc is None else max(0.0, (deadline_utc - now).total_seconds()) * speed
    files = []
    for spec in specs:
        try:
            dur = probe.probe(spec.path).duration_s
        except DecodeError:
            dur = None
        if budget_s is None:
            expected = "unknown (no measured speed)" if deadline_utc else "done (no deadline)"
        elif dur is None:
            expected = "unknown (length unknown)"
        elif budget_s >= dur:
            expected, budget_s = "done", budget_s - dur
        elif budget_s > 0:
            expected, budget_s = f"partly (to t = {budget_s:.0f} s)", 0.0
        else:
            expected = "not by the deadline"
        files.append(PlannedFile(str(spec.path), dur, expected))
    return Plan(deadline_utc.isoformat() if deadline_utc else None, speed, source, fps, width_px, tuple(files))


def source_actions(rows: list[SourceRow], current: PipelineIdentity, *, keep_existing: bool,
                   any_rate: bool = False) -> tuple[dict[str, str], dict[str, str], dict[str, Checkpoint]]:
    """(files to skip: SHA-256 -> why, files to index again: SHA-256 -> why, files to resume: SHA-256 ->
    checkpoint) from what the store holds. `any_rate` (--adapt-rate): a file indexed at another analysis rate
    counts as indexed by this pipeline (the rate is chosen per chunk); without it, a file with any stretch
    analysed at a lowered rate is indexed again. Rows indexed without a gate are kept by a gated
    pipeline (they analysed every sampled frame: more, not less)."""
    skip, redo, resume = {}, {}, {}

    mine = {k: json.loads(v) for k, v in current.params}

    def differences(r: SourceRow) -> list[str]:
        stored = parse_identity(r.identity_json)
        diffs = current.differences(stored)
        ungated = stored is not None and gating.covers({k: v for k, v in stored.params}, mine)
        diffs = [d for d in diffs if not (any_rate and d.startswith("parameter fps "))
                 and not (ungated and d.startswith("parameter gate "))]
        if not any_rate and any(rate.is_reduced_rate(g) for g in r.gaps):  # its last stretch may be at `fps`
            diffs.append("parts were analysed at a lowered rate (--adapt-rate)")
        return diffs

    for r in rows:
        ck = Checkpoint.from_json(r.checkpoint_json) if r.status == "partial" else None
        if ck is not None and not differences(r):
            resume[r.source_id] = ck
        elif ck is not None:
            redo[r.source_id] = "stopped inside the file by a job with another pipeline; started again"
        elif r.status == "purged":
            skip[r.source_id] = "its index was purged by retention; not re-indexed (lock it to a case to keep footage)"
        elif r.status in ("ok", "partial"):
            diffs = differences(r)
            if not diffs:
                skip[r.source_id] = "unchanged since last indexed (same SHA-256)"
            elif keep_existing:
                skip[r.source_id] = ("kept as indexed (--keep-existing) although the pipeline changed: "
                                     + "; ".join(diffs))
            else:
                redo[r.source_id] = "pipeline changed since it was indexed: " + "; ".join(diffs)
    return skip, redo, resume
