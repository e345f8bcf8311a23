"""What a job says about each file and about itself: `FileOutcome` (one file's result, rows included, until it is
committed), `JobReport` (written to `jobs/<job_id>.json` in the store), the progress sink, and `Outcomes`, which
commits each file's outcome to the store (the main process is the only writer) and records it in the report."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Protocol

from vsearch import __version__
from vsearch.indexers.base import SourceResult
from vsearch.indexing import rows
from vsearch.indexing.control import NOT_INDEXED, note_changed, not_started_row
from vsearch.indexing.sources import SourceSpec
from vsearch.catalogue.store import SourceRow, Store

SAME_CONTENT = "same content as another file in this job"


@dataclass
class FileOutcome:
    path: str
    status: str  # ok | partial | failed | skipped | stopped (inside the file, at a chunk boundary; resumable)
    message: str = ""
    row: SourceRow | None = None
    result: SourceResult | None = None
    footage_s: float = 0.0  # footage indexed by this run
    wall_s: float = 0.0
    work: dict[str, object] = field(default_factory=dict)  # frames through the stages, overlap, resume point
    append: bool = False  # earlier chunks of this file are in the store: add this last one to them


@dataclass
class JobReport:
    job_id: str
    started_utc: str
    finished_utc: str = ""
    wall_s: float = 0.0
    footage_s: float = 0.0
    options: dict[str, object] = field(default_factory=dict)
    files: list[dict[str, object]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    software: str = f"vsearch {__version__}"
    pipeline: dict[str, object] = field(default_factory=dict)  # the identity of what this job indexes with
    audit_head: dict[str, object] | None = None  # signed head of the audit log after the job's start entry
    report_ref: str = ""  # where the report is stored (jobs/<job_id>.json in the store)
    not_done: list[dict[str, object]] = field(default_factory=list)  # stopped inside, or not started, and why
    plan: dict[str, object] = field(default_factory=dict)  # with a deadline: order, expected speed and outcome

    @property
    def x_realtime(self) -> float:
        return self.footage_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def failed(self) -> list[dict[str, object]]:
        return [f for f in self.files if f["status"] == "failed"]

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["x_realtime"] = round(self.x_realtime, 2)
        d["footage_hours"] = round(self.footage_s / 3600, 4)
        return d


class ProgressSink(Protocol):
    """How the job reports progress; the CLI implements it with rich, tests with a list."""

    def start(self, n_files: int) -> None: ...

    def file_started(self, path: str, duration_s: float | None) -> None: ...

    def frame(self, path: str, pts_s: float) -> None: ...

    def file_done(self, outcome: FileOutcome) -> None: ...

    def warn(self, text: str) -> None: ...


class NullSink:
    def start(self, n_files: int) -> None: ...
    def file_started(self, path: str, duration_s: float | None) -> None: ...
    def frame(self, path: str, pts_s: float) -> None: ...
    def file_done(self, outcome: FileOutcome) -> None: ...
    def warn(self, text: str) -> None: ...


class Outcomes:
    """Commits each file's outcome and records it in the report. `redo`: files re-indexed, and why (said once
    they are written); `written`: the files committed by this job (a second file with the same content is
    skipped)."""

    def __init__(self, store: Store, report: JobReport, sink: ProgressSink, redo: dict[str, str]) -> None:
        self.store, self.report, self.sink, self.redo = store, report, sink, redo
        self.written: set[str] = set()

    def commit(self, outcome: FileOutcome) -> None:
        store, report, sink = self.store, self.report, self.sink
        if outcome.row is not None and outcome.status != "skipped":
            if outcome.row.source_id in self.written:
                outcome.status, outcome.message = "skipped", SAME_CONTENT
            else:
                note_changed(store, outcome, report)
                if outcome.row.source_id in self.redo:
                    why = self.redo[outcome.row.source_id]
                    outcome.message = "; ".join(m for m in (outcome.message, f"re-indexed: {why}") if m)
                    self.warn(f"{outcome.path}: re-indexed: {why}")
                if outcome.append and outcome.result is not None:
                    store.write_chunk(outcome.row, outcome.result)
                else:
                    store.write_source(outcome.row, outcome.result)
                store.clear_not_indexed(outcome.row.path)
                self.written.add(outcome.row.source_id)
        if outcome.status == "stopped":
            report.not_done.append({"path": outcome.path, "reason": outcome.message})
        report.footage_s += outcome.footage_s if outcome.status in ("ok", "partial", "stopped") else 0.0
        report.files.append({"path": outcome.path, "status": outcome.status, "message": outcome.message,
                             "sha256": outcome.row.sha256 if outcome.row else None,
                             "tubes": outcome.row.n_tubes if outcome.row else 0, **outcome.work,
                             "footage_s": round(outcome.footage_s, 3), "wall_s": round(outcome.wall_s, 3)})
        outcome.result = None  # free frames/crops as soon as they are stored
        sink.file_done(outcome)

    def warn(self, text: str) -> None:
        self.report.warnings.append(text)
        self.sink.warn(text)

    def not_started(self, spec: SourceSpec, reason: str, tz: str) -> None:
        """A file the job stopped before: listed in the report, and in the store (so every search's coverage
        names it) unless it is already indexed."""
        report, store = self.report, self.store
        report.files.append({"path": str(spec.path), "status": "not started", "message": reason, "sha256": None,
                             "tubes": 0, "footage_s": 0.0, "wall_s": 0.0})
        report.not_done.append({"path": str(spec.path), "reason": reason})
        if any(r.status != NOT_INDEXED for r in store.sources_at_path(str(spec.path.resolve()))):
            return
        store.clear_not_indexed(str(spec.path.resolve()))
        store.write_source(not_started_row(spec, reason, rows.known_identity(spec, tz)), None)


def write_report(store: Store, report: JobReport, t0: float, finished_utc: str) -> None:
    """Close the report (wall time, counts per status, files by path) and store it as `jobs/<job_id>.json`."""
    report.wall_s = time.perf_counter() - t0
    report.finished_utc = finished_utc
    report.files.sort(key=lambda f: f["path"])
    for status in ("ok", "partial", "failed", "skipped", "stopped", "not started"):
        report.counts[status] = sum(1 for f in report.files if f["status"] == status)
    report.report_ref = store.file_ref(f"jobs/{report.job_id}.json")
    store.write_job_report(report.job_id, json.dumps(report.to_dict(), indent=2, sort_keys=True).encode())


__all__ = ["FileOutcome", "JobReport", "NullSink", "Outcomes", "ProgressSink", "SAME_CONTENT", "write_report"]
