"""The batch indexing job: sources → one decoding pass through the indexer stages → the store.

`run_index` plans the job (what to skip, redo or resume; with a deadline, the plan and the rate adapter), then
runs its passes (`indexing.passes`) here or on the local worker pool (`indexing.workers`), or hands the files to
Ray (`indexing.ray_executor`). Work is committed by this process, the store's single writer; a file that cannot
be read is recorded as failed and the batch goes on. The job's records are in `indexing.report`, its options in
`indexing.options`, one file's indexing in `indexing.onefile`.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from vsearch.evidence.audit import AuditLog
from vsearch.errors import UsageError
from vsearch.site import log_system_action, os_operator
from vsearch.indexing import rate
from vsearch.indexing.control import ChunkCommits, JobLock, StopControl
from vsearch.indexing.options import IndexOptions
from vsearch.indexing.passes import FileWork, local_pass, run_passes
from vsearch.indexing.plan import Plan, make_plan, ordered, source_actions
from vsearch.indexing.ray_executor import run_on_ray
from vsearch.indexing.report import JobReport, NullSink, Outcomes, ProgressSink, write_report
from vsearch.indexing.sources import discover
from vsearch.indexing.stages import build_stages, pipeline_identity
from vsearch.indexing.workers import LocalPool
from vsearch.catalogue.store import Store

UTC = dt.timezone.utc


def run_index(paths: list[Path], opts: IndexOptions, sink: ProgressSink | None = None,
              audit: AuditLog | None = None, control: StopControl | None = None,
              on_plan: Callable[[Plan], None] | None = None) -> JobReport:
    """Index `paths` into the store, `--priority` files first, then newest first. `control` says when to stop
    early (deadline, signal): always at a chunk boundary, that chunk committed; files stopped inside or not
    started are in `JobReport.not_done`. With a deadline, the plan is made first and handed to `on_plan`."""
    sink = sink or NullSink()
    control = control or StopControl()
    found = discover(paths, camera=opts.camera, start=opts.start, tz=opts.tz)
    specs = ordered(found.specs, opts.priority, tz=opts.tz)
    store = Store(opts.store)
    job_id = dt.datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
    report = JobReport(job_id=job_id, started_utc=dt.datetime.now(UTC).isoformat(),
                       options={k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()})
    stages, warnings, index_params = build_stages(opts)
    params = json.dumps(index_params, sort_keys=True)
    report.options["index_params"] = index_params
    audit_params = {"paths": [str(p) for p in paths], **report.options}
    if audit is not None:  # logged before any data is written, so a killed job is still audited
        log_system_action(audit, "index", params=audit_params,
                          result={"job_id": job_id, "state": "started", "files": len(specs)}, operator=os_operator())
        report.audit_head = audit.signed_head()
    current = pipeline_identity(stages, index_params)
    report.pipeline = current.to_dict()
    identity = current.to_json()
    known = store.sources()
    done, redo, resumes = source_actions(known, current, keep_existing=opts.keep_existing, any_rate=opts.adapt_rate)
    adapter = None
    if opts.adapt_rate and control.deadline_utc is None:
        raise UsageError("--adapt-rate lowers the analysis rate to meet a deadline: give --deadline too")
    if control.deadline_utc is not None:
        plan = make_plan(specs, deadline_utc=control.deadline_utc, now=control.now(), fps=opts.fps,
                         width_px=opts.width_px, jobs_dir=store.jobs_dir)
        report.plan = plan.to_dict()
        if on_plan is not None:
            on_plan(plan)
        if opts.adapt_rate:
            adapter = rate.RateAdapter.for_job(opts.fps, opts.min_fps, control.deadline_utc,
                                               [(str(Path(f.path).resolve()), f.duration_s) for f in plan.files],
                                               plan.x_realtime, known, set(done))
    for w in warnings:
        sink.warn(w)
    report.warnings.extend(warnings)
    for prob in found.problems:  # a dangling link is footage missing (failed); a loop only repeats a folder
        sink.warn(prob.message)
        report.files.append({"path": str(prob.path), "status": "skipped" if prob.kind == "loop" else "failed",
                             "message": prob.message, "sha256": None, "tubes": 0, "footage_s": 0.0, "wall_s": 0.0})
    sink.start(len(specs))
    t0 = time.perf_counter()
    outcomes = Outcomes(store, report, sink, redo)

    with JobLock(store, job_id, deadline_utc=control.deadline_utc, n_files=len(specs)) as lock:
        if opts.ray is not None:  # per-file tasks on the cluster; the driver commits each file whole
            for k, outcome in enumerate(run_on_ray(specs, opts, done, job_id, params, identity, sink)):
                outcomes.commit(outcome)
                lock.update(files_done=k + 1)
        else:  # here, or on the local worker pool; committed by this process chunk by chunk either way
            work = FileWork(opts, done, job_id, index_params)
            chunks = ChunkCommits(store, resumes, control, lock)
            on_file_done = lambda n: lock.update(files_done=n, current=None)  # noqa: E731
            if opts.workers <= 1:
                run_passes(specs, local_pass(work, stages, chunks, control, outcomes, adapter), outcomes, work,
                           on_file_done)
            else:
                with LocalPool(work, chunks, control) as pool:
                    run_passes(specs, pool.run_pass, outcomes, work, on_file_done)

    if outcomes.written:
        store.ensure_scalar_indices()
        store.ensure_vector_indices()
    write_report(store, report, t0, dt.datetime.now(UTC).isoformat())
    if audit is not None:
        log_system_action(audit, "index", params=audit_params,
                          result={"job_id": job_id, "state": "completed", **report.counts,
                                  "footage_s": round(report.footage_s, 3),
                                  "failed": [f["path"] for f in report.failed]},
                          outputs={f["path"]: f["sha256"] for f in report.files if f["sha256"]},
                          operator=os_operator())
    return report


__all__ = ["run_index"]
