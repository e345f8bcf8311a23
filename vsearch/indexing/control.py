"""Running a long job: chunk commits and resumes, when to stop (a deadline, a signal), what to do first, and the
lock file that tells `vsearch status` a job is running.

A job stops only at a chunk boundary (`indexing.checkpoint`), after committing that chunk: a deadline is met
within one chunk's processing time, and an interrupted file resumes from there on the next run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from vsearch.errors import StoreError, UsageError
from vsearch.indexers.base import SourceResult
from vsearch.indexing.checkpoint import Checkpoint
from vsearch.catalogue.store import SourceRow, Store
from vsearch.indexing.sources import SourceSpec

if TYPE_CHECKING:  # the job's records (report.py imports this module)
    from vsearch.indexing.report import FileOutcome, JobReport

UTC = dt.timezone.utc
DEADLINE_REASON = "not indexed (deadline)"
LOCK_NAME = "running.json"
NOT_INDEXED = "not_indexed"  # status of a placeholder row: a file a job stopped before (coverage names it)


def parse_deadline(text: str, *, now: dt.datetime | None = None, tz: str = "Europe/Paris") -> dt.datetime:
    """`07:00` (the next such local time), `+8h` / `+90m` / `+30s`, or an ISO-8601 time (local when no offset)."""
    now = now or dt.datetime.now(UTC)
    zone = ZoneInfo(tz)
    t = text.strip()
    if m := re.fullmatch(r"\+(\d+(?:\.\d+)?)([hms])", t):
        n = float(m.group(1))
        return now + dt.timedelta(**{{"h": "hours", "m": "minutes", "s": "seconds"}[m.group(2)]: n})
    if m := re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", t):
        local = now.astimezone(zone)
        at = local.replace(hour=int(m.group(1)), minute=int(m.group(2)), second=0, microsecond=0)
        if at <= local:
            at += dt.timedelta(days=1)
        return at.astimezone(UTC)
    try:
        at = dt.datetime.fromisoformat(t)
    except ValueError:
        raise UsageError(f"--deadline {text!r}: use a local time (07:00), a duration (+8h, +90m) or an ISO-8601 "
                         "time (2026-12-02T07:00)") from None
    return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(UTC)


@dataclass
class StopControl:
    """When the job stops at the next chunk boundary: the deadline has passed, or a stop was requested (the CLI
    turns SIGINT/SIGTERM into `request_stop`). `clock` is injectable for tests."""

    deadline_utc: dt.datetime | None = None
    clock: object = None  # () -> datetime (UTC); default: now
    _stop: threading.Event = field(default_factory=threading.Event)
    _why: str = ""

    def request_stop(self, why: str) -> None:
        self._why = why
        self._stop.set()

    def now(self) -> dt.datetime:
        return self.clock() if callable(self.clock) else dt.datetime.now(UTC)

    def reason(self) -> str | None:
        """Why to stop now (the text recorded for what is left), or None to go on."""
        if self._stop.is_set():
            return f"not indexed (job stopped: {self._why}; rerun to continue)"
        if self.deadline_utc is not None and self.now() >= self.deadline_utc:
            return DEADLINE_REASON
        return None


class ChunkCommits:
    """The store side of chunked indexing, in the main process (the store's writer): the chunks of files indexed
    here, or sent back by the local worker pool (`indexing.workers`)."""

    def __init__(self, store: Store, resumes: dict[str, Checkpoint], control: StopControl,
                 lock: JobLock | None = None) -> None:
        self.store = store
        self.resumes = resumes
        self.control = control
        self.lock = lock
        self._started: set[str] = set()

    def resume_of(self, source_id: str) -> Checkpoint | None:
        """The checkpoint to resume `source_id` from; rows a killed run wrote after it are removed first."""
        ck = self.resumes.get(source_id)
        if ck is not None:
            last_tube = f"{source_id[:16]}-{ck.tubes:05d}"
            indexed = None if ck.spans is None else [(a, b) for a, b, _, _ in ck.spans]  # stretches: by time
            self.store.trim_source(source_id, last_tube, ck.last_scene_id, indexed)
            self._started.add(source_id)
        return ck

    def started(self, source_id: str) -> bool:
        return source_id in self._started

    def started_sources(self) -> set[str]:
        """The sources with rows committed (or resumed) by this job: their next chunk adds to those rows."""
        return set(self._started)

    def write(self, row: SourceRow, result: SourceResult, replaces: tuple[str, ...] = ()) -> None:
        """Commit a chunk; `replaces`: ids of committed tubes that tubes of `result` replace (a stitch)."""
        if row.source_id not in self._started:  # a fresh start: leftovers of any earlier attempt go first
            self.store.clear_source(row.source_id)
            self._started.add(row.source_id)
        if replaces:
            ids = set(replaces)
            stitched = SourceResult(source=result.source, tubes=[t for t in result.tubes if t.tube_id in ids],
                                    thumbnails={k: v for k, v in result.thumbnails.items() if k in ids},
                                    vectors=[v for v in result.vectors if v.kind == "tube" and v.item_id in ids])
            self.store.replace_tubes(row, stitched)
            result = replace(result, tubes=[t for t in result.tubes if t.tube_id not in ids],
                             vectors=[v for v in result.vectors if not (v.kind == "tube" and v.item_id in ids)])
        self.store.write_chunk(row, result)
        if (ck := Checkpoint.from_json(row.checkpoint_json)) is not None:  # a file continued in this job (a new
            self.resumes[row.source_id] = ck  # rate: indexing.rate) resumes from its latest checkpoint
        if self.lock is not None:
            self.lock.update(current=row.path, indexed_to_s=row.indexed_to_s, duration_s=row.duration_s)

    def should_stop(self) -> str | None:
        return self.control.reason()


class JobLock:
    """`<store>/jobs/running.json` while a job runs: its pid, start, deadline and progress (rewritten atomically
    at each chunk), removed at the end. A lock whose process is gone is stale (a killed job)."""

    def __init__(self, store: Store, job_id: str, *, deadline_utc: dt.datetime | None, n_files: int) -> None:
        self.path = store.jobs_dir / LOCK_NAME
        self.data: dict[str, object] = {"job_id": job_id, "pid": os.getpid(), "n_files": n_files, "files_done": 0,
                                        "started_utc": dt.datetime.now(UTC).isoformat(),
                                        "deadline_utc": deadline_utc.isoformat() if deadline_utc else None}

    def __enter__(self) -> JobLock:
        other = running_job(self.path.parent)
        if other is not None and other["alive"] and other.get("pid") != os.getpid():
            raise StoreError(f"{self.path.parent.parent}: job {other.get('job_id')} (pid {other.get('pid')}) is "
                             "indexing into this store; wait for it to finish or stop it (Ctrl-C / kill -TERM "
                             "stops it at its next chunk boundary) before starting another")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write()
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)

    def update(self, **values: object) -> None:
        self.data.update(values, updated_utc=dt.datetime.now(UTC).isoformat())
        self._write()

    def _write(self) -> None:
        tmp = self.path.with_name(f".{LOCK_NAME}.tmp")
        tmp.write_text(json.dumps(self.data, sort_keys=True))
        os.replace(tmp, self.path)


def running_job(jobs_dir: Path) -> dict[str, object] | None:
    """The job holding the store's lock file, with `alive` False when its process is gone (killed)."""
    path = Path(jobs_dir) / LOCK_NAME
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(data["pid"]), 0)
        data["alive"] = True
    except ProcessLookupError:
        data["alive"] = False
    except PermissionError:  # another user's live process
        data["alive"] = True
    return data


def not_started_row(spec: SourceSpec, reason: str, known: dict[str, object]) -> SourceRow:
    """The placeholder `sources` row of a file the job did not reach (keyed by its path: it was not hashed)."""
    path = str(spec.path.resolve())
    try:
        st = spec.path.stat()
        size, mtime = st.st_size, st.st_mtime_ns
    except OSError:
        size, mtime = 0, 0
    return SourceRow(source_id=f"{NOT_INDEXED}:{path}", path=path, size_bytes=size, mtime_ns=mtime, sha256="",
                     status=NOT_INDEXED, error=reason, **known)


def status_summary(store: Store) -> dict[str, object]:
    rows = store.sources()
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    footage = sum(indexed_s(r) for r in rows if r.status in ("ok", "partial"))
    return {
        "store": store.uri,
        "sources": by_status,
        "cameras": store.cameras(),
        "footage_hours": round(footage / 3600, 4),
        "tables": store.counts(),
        "problems": [{"path": r.path, "status": r.status, "error": r.error or r.gaps_json} for r in rows
                     if r.status != "ok"],
        "in_progress": [{"path": r.path, "indexed_to_s": r.indexed_to_s, "duration_s": r.duration_s,
                         "start_pts_s": r.start_pts_s,
                         "indexed_spans_s": [[a, b] for a, b, _, _ in spans_of(r)]}
                        for r in rows if r.checkpoint_json],
        "running_job": running_job(store.jobs_dir),
    }


def spans_of(row: SourceRow) -> tuple[tuple[float, float, float, int], ...]:
    """The indexed stretches of a file stopped inside (from its checkpoint); () for other rows."""
    ck = Checkpoint.from_json(row.checkpoint_json) if row.checkpoint_json else None
    return ck.indexed(row.start_pts_s or 0.0) if ck is not None else ()


def indexed_label(row: SourceRow) -> str:
    """What `vsearch sources` shows of a row's progress: "t = 30.0 s" for a file indexed from its start, else its
    indexed stretches in wall-clock time (UTC, as the start column) and the file's length."""
    spans = spans_of(row)
    start = row.start_pts_s or 0.0
    if len(spans) <= 1 and all(a <= start + 1e-6 for a, _, _, _ in spans) or row.start_utc is None:
        return f"t = {row.indexed_to_s:.1f} s" if row.indexed_to_s is not None else "-"
    at = lambda t: (row.start_utc + dt.timedelta(seconds=t - start)).astimezone(UTC).strftime("%H:%M:%S")  # noqa: E731
    length = f" of {_length(row.duration_s)}" if row.duration_s else ""
    return "indexed " + ", ".join(f"{at(a)}–{at(b)}" for a, b, _, _ in spans) + length


def _length(s: float) -> str:
    return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.1f} min" if s >= 60 else f"{s:.0f} s"


def indexed_s(row: SourceRow) -> float:
    """Seconds of footage a row's index covers (its indexed stretches when stopped inside the file)."""
    if row.checkpoint_json:
        return sum(b - a for a, b, _, _ in spans_of(row))
    return row.duration_s or 0.0


def note_changed(store: Store, outcome: FileOutcome, report: JobReport) -> None:
    """A file at a known path whose content changed: both versions are kept; the outcome and report say so."""
    assert outcome.row is not None
    for old in store.sources_at_path(outcome.row.path):
        if old.source_id != outcome.row.source_id and old.status != NOT_INDEXED:
            msg = (f"{outcome.path}: content changed since it was indexed (SHA-256 {old.sha256[:12]}… → "
                   f"{outcome.row.sha256[:12]}…); both versions are kept in the catalogue")
            report.warnings.append(msg)
            outcome.message = (outcome.message + "; " if outcome.message else "") + "content changed since last index"
