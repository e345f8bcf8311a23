"""The batch indexing job: sources → one decoding pass through the indexer stages → the store.

Work is committed per file by the parent process (the single store writer); files are processed inline or by a
pool of worker processes. A file that cannot be read is recorded as failed and the batch goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Protocol

from vsearch import __version__
from vsearch.evidence.audit import AuditLog
from vsearch.errors import DecodeError, SourceError, UsageError, VsearchError
from vsearch.indexers import decode
from vsearch.indexers.base import SourceResult, Stage
from vsearch.records import SourceRef
from vsearch.site import SiteConfig, log_system_action, os_operator
from vsearch.indexing.identity import PipelineIdentity
from vsearch.indexing import checkpoint as ckpt
from vsearch.indexing import gating, rate, rows
from vsearch.indexing.checkpoint import DEFAULT_CHUNK_S, SPAN_DONE
from vsearch.indexing.control import NOT_INDEXED, ChunkCommits, note_changed, JobLock, StopControl, not_started_row, status_summary
from vsearch.indexing.plan import Plan, Window, make_plan, ordered, parse_priority, source_actions
from vsearch.indexing.ray_executor import RayOptions, run_on_ray
from vsearch.indexing.sources import SourceSpec, discover, resolve, sha256_file
from vsearch.indexing.stretch import StretchRun, next_stretch
from vsearch.catalogue.store import SourceRow, Store

UTC = dt.timezone.utc
@dataclass(frozen=True)
class IndexOptions:
    store: Path | str = Path("vsearch-data")  # a folder or an object-store URI (`catalogue.location`)
    fps: float = 5.0
    width_px: int = 640
    workers: int = 1
    decoder: str = "auto"
    detector: str = "auto"  # auto | motion | a key of `indexers.detect.DETECTORS`
    models_dir: Path | None = None
    tz: str = "Europe/Paris"
    camera: str | None = None
    start: str | None = None
    clip_model: str | None = None
    clip_weights: Path | None = None
    clip_config: Path | None = None
    crops_per_tube: int = 4
    scene_interval_s: float = 10.0
    threads: int = 2
    gate: str = "auto"  # skip where nothing moves: auto | off | motion | packets (see indexing/gating)
    prefetch_frames: int = 0  # frames queued ahead by a reader thread (0: none; no measured gain, see benchmarks.md)
    detect_ahead: bool = True  # start the detector on the next frame while this one is tracked (same tubes)
    keep_existing: bool = False  # keep sources indexed by another pipeline (identity differs) instead of redoing them
    ray: RayOptions | None = None  # run the per-file work on a Ray cluster (`indexing.ray_executor`); None: here
    chunk_s: float = DEFAULT_CHUNK_S  # footage seconds per commit inside a file (inline jobs; see indexing/checkpoint)
    priority: tuple[str, ...] = ()  # files (path part), cameras or CAMERA@HH:MM-HH:MM first, in order (indexing/plan)
    adapt_rate: bool = False  # with a deadline: lower `fps` per file and chunk, never below min_fps (indexing/rate)
    min_fps: float = rate.DEFAULT_MIN_FPS
    asked_fps: float | None = None  # set by --adapt-rate on a file whose rate it lowered: the rate asked for

    def __post_init__(self) -> None:
        gating.resolve_gate(self.gate)
        for term in self.priority:  # a malformed time window is one clear line before anything starts
            parse_priority(term)
        if self.adapt_rate:
            rate.check_rate_options(self.fps, self.min_fps)
            if self.workers > 1 or self.ray is not None:
                raise UsageError("--adapt-rate works in jobs that index here one file at a time (--workers 1)")
        if not self.chunk_s > 0:
            raise UsageError(f"chunk must be a positive number of seconds, got {self.chunk_s!r}")
        if self.prefetch_frames < 0:
            raise UsageError(f"prefetch_frames must be >= 0, got {self.prefetch_frames}")
        if self.workers < (0 if self.ray else 1):  # 0: one per CPU of the Ray cluster
            raise UsageError(f"--workers must be >= 1, got {self.workers}")


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


def with_site_defaults(opts: IndexOptions, site: SiteConfig | None) -> IndexOptions:
    """Fill what the command line left unset from the site config (`models_dir`, `[embed]`)."""
    if site is None:
        return opts
    e = site.embed
    return replace(opts, models_dir=opts.models_dir or site.models_dir, clip_model=opts.clip_model or e.clip_model,
                   clip_weights=opts.clip_weights or e.clip_weights, clip_config=opts.clip_config or e.clip_model_config,
                   crops_per_tube=e.crops_per_tube, scene_interval_s=e.scene_interval_s, threads=e.threads)


def build_stages(opts: IndexOptions) -> tuple[list[Stage], list[str], dict[str, object]]:
    """The indexer stages for this job in order (detect, track, describe, embed), warnings for the user (e.g.
    degraded motion-only mode), and the parameters that define what the index holds (a change of any of them
    re-indexes a file)."""
    from vsearch.indexers.detect import make_detector
    from vsearch.indexers.embed import EmbedStage
    from vsearch.indexers.tubes import pipeline_info, tube_stages
    from vsearch.models.descriptors import EmbedConfig
    from vsearch.models.resolve import missing_runtime, resolve_models

    models = resolve_models(opts.models_dir)  # per model: configured, installed, built-in; refuses a bad built-in
    choice = make_detector(opts.detector, models)
    warnings = models.warnings + ([choice.warning] if choice.warning else [])
    if (no_runtime := missing_runtime()) is not None:  # attribute and re-id models need OpenVINO too
        warnings.append(f"{no_runtime}: attribute and re-identification models are skipped")
    usable = models if no_runtime is None else None
    detect, track, describe = tube_stages(choice.detector, models=usable)
    describe.pipeline_info = pipeline_info(detect, track)
    embed = EmbedStage.from_config(EmbedConfig(clip_model=opts.clip_model, clip_weights=opts.clip_weights,
                                               clip_model_config=opts.clip_config,
                                               crops_per_tube=opts.crops_per_tube,
                                               scene_interval_s=opts.scene_interval_s, threads=opts.threads,
                                               reid_model=usable.path("reid-0288") if usable else None))
    params = {"fps": opts.fps, "width_px": opts.width_px, "detector": choice.detector.name,
              "descriptors": sorted(e.name for e in embed.embedders),
              "embed": {"crops_per_tube": opts.crops_per_tube, "scene_interval_s": opts.scene_interval_s}}
    params.update(gating.gate_params(opts.gate) or {})  # nothing when off: ungated stores keep their params
    return [detect, track, describe, embed], warnings, params


def pipeline_identity(stages: list[Stage], params: dict[str, object]) -> PipelineIdentity:
    """The identity of what `stages` with `params` write (every stage and model, with versions and hashes)."""
    return PipelineIdentity.of([c for stage in stages for c in stage.identity()], params)


_WORKER_STAGES: list[Stage] | None = None


def _worker_stages(opts: IndexOptions) -> list[Stage]:
    global _WORKER_STAGES
    if _WORKER_STAGES is None:
        _WORKER_STAGES = build_stages(opts)[0]
    return _WORKER_STAGES


def index_file(spec: SourceSpec, opts: IndexOptions, done: dict[str, str], job_id: str, params: str,
               stages: list[Stage], sink: ProgressSink | None = None, identity: str | None = None, *,
               chunks: ChunkCommits | None = None,
               next_rate: Callable[[float, float], float] | None = None,
               windows_first: bool = False, hashes: dict[str, str] | None = None) -> FileOutcome:
    """Hash, probe, decode and run the stages over one file. Never raises for a bad file: returns `failed`.
    `done` maps the SHA-256 of files not to index again to the reason they are skipped. With `chunks` (inline
    jobs: the caller is the store's writer) the file is committed chunk by chunk and resumed from its last
    checkpoint; the outcome then holds only the last chunk (`append`). `next_rate(footage_s, fps)` (--adapt-rate,
    with `chunks`): told of each chunk analysed, and of the file's last stretch, it gives the rate for what
    follows; a rate other than `opts.fps` stops the run at that boundary (status "stopped", `work["next_fps"]`)
    for the caller to continue the file from there at that rate (`indexing.rate`).

    Stretches (with `chunks`): one call indexes one stretch of the file not indexed yet — with `windows_first`
    the first inside a `--priority` time window (status "skipped", not to be committed, when none is left),
    else the first in time order — and ends where the next indexed span begins; "stopped" with
    `work["more"]` then asks the caller to call again for the next stretch. `hashes`: SHA-256 already computed
    in this job, by path (a 24-h file is hashed once)."""
    t0 = time.perf_counter()
    path = spec.path
    try:
        sha = (hashes or {}).get(str(path)) or sha256_file(path)
    except OSError as e:
        return FileOutcome(str(path), "failed", f"{path}: cannot read ({e.strerror or e}); check permissions")
    if hashes is not None:
        hashes[str(path)] = sha
    if sha in done:
        return FileOutcome(str(path), "skipped", done[sha])
    base = rows.base_row(path, sha, params, job_id, identity)
    try:
        info = decode.probe(path)
        camera, start_utc, origin, offset = resolve(spec, info.creation_time, tz=opts.tz)
    except (DecodeError, SourceError) as e:
        row = SourceRow(status="failed", error=str(e), **rows.known_identity(spec, opts.tz), **base)
        return FileOutcome(str(path), "failed", str(e), row=row, wall_s=time.perf_counter() - t0)
    aw, ah = decode.analysis_size(info, opts.width_px)
    ref = SourceRef(source_id=sha, path=base["path"], camera=camera, start_utc=start_utc, info=info,
                    analysis_fps=opts.fps, analysis_width_px=aw, analysis_height_px=ah)
    end_s = info.duration_s + info.start_pts_s if info.duration_s else None
    checkpoint = chunks.resume_of(sha) if chunks else None
    stretch = next_stretch(checkpoint, ref, end_s, chunked=bool(chunks), windows_first=windows_first,
                           priority=opts.priority, tz=opts.tz)
    if stretch is None:
        return FileOutcome(str(path), "skipped", "no priority time window left to index first in this file")
    if sink:
        sink.file_started(str(path), info.duration_s)
    fixed = rows.file_fields(ref, base, end_s=end_s, origin=origin, offset=offset)
    try:
        run = StretchRun(opts, stages, ref, path, stretch, checkpoint=checkpoint, chunks=chunks, fixed=fixed,
                         end_s=end_s, next_rate=next_rate)
        result = run.run(sink)
    except DecodeError as e:
        row = SourceRow(status="failed", error=str(e), camera=camera, **base)
        return FileOutcome(str(path), "failed", str(e), row=row, wall_s=time.perf_counter() - t0)
    work: dict[str, object] = {
        "frames_sampled": run.runner.totals.frames_sampled, "overlap_frames": run.runner.totals.overlap_frames,
        "resumed_from_s": run.resume.indexed_to_s if run.resume else None, "analysis_fps": opts.fps}
    last = run.last_checkpoint
    if result is None and last is not None and not ckpt.missing(last.indexed(run.start_s), run.start_s, end_s):
        return _completed_at_stop(run, last, work, t0)  # this stretch ended where the rest was already indexed
    if result is None:
        return _stopped(run, last, work, t0)
    return _reached_end(run, result, work, t0)


def _completed_at_stop(run: StretchRun, last: ckpt.Checkpoint, work: dict[str, object], t0: float) -> FileOutcome:
    """The run stopped where the rest of the file was already indexed: the file is done (its finished row, with
    the gaps and counts of the last checkpoint)."""
    result = run.runner.close_stopped()
    result.gaps, result.frames_decoded = list(last.gaps), last.frames_decoded
    done_row = rows.finished_row(result, decoder=run.decoding.backend, sampled=last.frames_sampled,
                                 n_tubes=last.tubes, end_pts=run.end_s or last.indexed_to_s, fixed=run.fixed,
                                 ref=run.ref, path=run.path)
    stopped_at_s = run.runner.totals.stopped_at_s
    work["rate_spans"] = [[run.gate.from_s, stopped_at_s, run.opts.fps]]
    return FileOutcome(str(run.path), done_row.status, done_row.error or rows.gap_message(result.gaps),
                       row=done_row, result=result, footage_s=(stopped_at_s or run.stretch.from_s) - run.stretch.from_s,
                       wall_s=time.perf_counter() - t0, work=work, append=True)


def _stopped(run: StretchRun, last: ckpt.Checkpoint | None, work: dict[str, object], t0: float) -> FileOutcome:
    """The run stopped at a chunk boundary (deadline, signal, new rate, next span), everything before committed:
    where the file is indexed to, and why it stopped."""
    t = run.runner.totals
    work["rate_spans"] = [[run.gate.from_s, t.stopped_at_s, run.opts.fps]]
    if run.next_fps is not None:
        work["next_fps"] = run.next_fps
    work["more"] = t.stop_reason == SPAN_DONE
    start_s = run.start_s
    spans_now = last.indexed(start_s) if last is not None else ()
    from_start = len(spans_now) <= 1 and all(a <= start_s + 1e-6 for a, _, _, _ in spans_now)
    where = (f"indexed up to t = {t.stopped_at_s:.1f} s" if from_start
             else f"indexed {ckpt.spans_label(spans_now, start_s)}")
    return FileOutcome(str(run.path), "stopped", f"{where}; {t.stop_reason}",
                       footage_s=(t.stopped_at_s or 0.0) - run.stretch.from_s, wall_s=time.perf_counter() - t0,
                       work=work)


def _reached_end(run: StretchRun, result: SourceResult, work: dict[str, object], t0: float) -> FileOutcome:
    """The run reached the end of the file: its finished row (or, for a window that ended the file with its start
    still to do, that window committed and more to come)."""
    info, end_s, from_s = run.ref.info, run.end_s, run.stretch.from_s
    end_pts = end_s if end_s is not None else (run.decoding.last_pts_s or info.start_pts_s)
    work["rate_spans"] = [[run.gate.from_s, end_pts, run.opts.fps]]
    after = run.reached_end(result, end_pts)
    if after is not None:
        work["more"] = True
        return FileOutcome(str(run.path), "stopped", f"indexed {ckpt.spans_label(after, run.start_s)}; {SPAN_DONE}",
                           footage_s=end_pts - from_s, wall_s=time.perf_counter() - t0, work=work)
    run.complete(result)
    totals, resume = run.runner.totals, run.resume
    sampled = totals.frames_sampled + (resume.frames_sampled if resume else 0)
    row = rows.finished_row(result, decoder=run.decoding.backend, sampled=sampled, n_tubes=totals.tubes,
                            end_pts=end_pts, fixed=run.fixed, ref=run.ref, path=run.path)
    return FileOutcome(str(run.path), row.status, row.error or rows.gap_message(result.gaps), row=row,
                       result=result if row.status != "failed" else None,
                       footage_s=end_pts - (from_s if resume else info.start_pts_s),
                       wall_s=time.perf_counter() - t0, work=work,
                       append=run.chunks is not None and run.chunks.started(run.ref.source_id))


def _pool_task(spec: SourceSpec, opts: IndexOptions, done: dict[str, str], job_id: str, params: str,
               identity: str) -> FileOutcome:
    try:
        return index_file(spec, opts, done, job_id, params, _worker_stages(opts), identity=identity)
    except Exception as e:  # noqa: BLE001 - a bug on one file must not abort the batch; reported as failed
        return FileOutcome(str(spec.path), "failed", _internal_error(spec.path, e))


def _internal_error(path: Path, e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return f"{path}: internal error {type(e).__name__}: {e}{where}; please report it"


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
    rows = store.sources()
    done, redo, resumes = source_actions(rows, current, keep_existing=opts.keep_existing, any_rate=opts.adapt_rate)
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
                                               plan.x_realtime, rows, set(done))
    for w in warnings:
        sink.warn(w)
    report.warnings.extend(warnings)
    for prob in found.problems:  # a dangling link is footage missing (failed); a loop only repeats a folder
        sink.warn(prob.message)
        report.files.append({"path": str(prob.path), "status": "skipped" if prob.kind == "loop" else "failed",
                             "message": prob.message, "sha256": None, "tubes": 0, "footage_s": 0.0, "wall_s": 0.0})
    sink.start(len(specs))
    t0 = time.perf_counter()
    written: set[str] = set()

    def commit(outcome: FileOutcome) -> None:
        if outcome.row is not None and outcome.status != "skipped":
            if outcome.row.source_id in written:
                outcome.status, outcome.message = "skipped", "same content as another file in this job"
            else:
                note_changed(store, outcome, report)
                if outcome.row.source_id in redo:
                    why = redo[outcome.row.source_id]
                    outcome.message = "; ".join(m for m in (outcome.message, f"re-indexed: {why}") if m)
                    report.warnings.append(f"{outcome.path}: re-indexed: {why}")
                    sink.warn(f"{outcome.path}: re-indexed: {why}")
                if outcome.append and outcome.result is not None:
                    store.write_chunk(outcome.row, outcome.result)
                else:
                    store.write_source(outcome.row, outcome.result)
                store.clear_not_indexed(outcome.row.path)
                written.add(outcome.row.source_id)
        if outcome.status == "stopped":
            report.not_done.append({"path": outcome.path, "reason": outcome.message})
        report.footage_s += outcome.footage_s if outcome.status in ("ok", "partial", "stopped") else 0.0
        report.files.append({"path": outcome.path, "status": outcome.status, "message": outcome.message,
                             "sha256": outcome.row.sha256 if outcome.row else None,
                             "tubes": outcome.row.n_tubes if outcome.row else 0, **outcome.work,
                             "footage_s": round(outcome.footage_s, 3), "wall_s": round(outcome.wall_s, 3)})
        outcome.result = None  # free frames/crops as soon as they are stored
        sink.file_done(outcome)

    with JobLock(store, job_id, deadline_utc=control.deadline_utc, n_files=len(specs)) as lock:
        if opts.ray is not None:  # per-file tasks on the cluster; the driver commits each file whole
            for k, outcome in enumerate(run_on_ray(specs, opts, done, job_id, params, identity, sink)):
                commit(outcome)
                lock.update(files_done=k + 1)
        elif opts.workers <= 1:
            chunks = ChunkCommits(store, resumes, control, lock)
            hashes: dict[str, str] = {}

            def one(spec: SourceSpec, windows_first: bool) -> FileOutcome:
                return _index_stretches(spec, opts, adapter, done, job_id, index_params, stages, sink, chunks,
                                        control, report, windows_first=windows_first, hashes=hashes)

            # --priority time windows: the stretch of each file inside them first (files in the job's order)
            first: dict[str, FileOutcome] = {}
            if any(isinstance(parse_priority(t), Window) for t in opts.priority):
                for spec in specs:
                    if control.reason() is not None:
                        break
                    outcome = one(spec, windows_first=True)
                    if outcome.status == "stopped":  # committed chunk by chunk; the rest of the file follows below
                        first[str(spec.path)] = outcome
                    elif outcome.status != "skipped":  # a failure, or a file the window covers whole
                        commit(outcome)
                        first[str(spec.path)] = outcome
            for k, spec in enumerate(specs):
                earlier = first.pop(str(spec.path), None)
                if earlier is not None and earlier.status != "stopped":  # reported above
                    continue
                reason = control.reason()
                if reason is not None:  # the deadline passed or a stop was asked: what is left is listed
                    if earlier is not None:
                        commit(earlier)
                    else:
                        _not_started(store, spec, opts, reason, report)
                    continue
                outcome = one(spec, windows_first=False)
                if earlier is not None:
                    outcome = _merged([earlier, outcome])
                commit(outcome)
                done.update({sha: "same content as another file in this job" for sha in written})
                lock.update(files_done=k + 1, current=None)
        else:  # worker processes cannot write the store: each file is committed whole, when it is done
            with ProcessPoolExecutor(max_workers=opts.workers, mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(_pool_task, s, opts, done, job_id, params, identity) for s in specs]
                for k, fut in enumerate(as_completed(futures)):
                    commit(fut.result())
                    lock.update(files_done=k + 1)

    if written:
        store.ensure_scalar_indices()
        store.ensure_vector_indices()
    report.wall_s = time.perf_counter() - t0
    report.finished_utc = dt.datetime.now(UTC).isoformat()
    report.files.sort(key=lambda f: f["path"])
    for status in ("ok", "partial", "failed", "skipped", "stopped", "not started"):
        report.counts[status] = sum(1 for f in report.files if f["status"] == status)
    report.report_ref = store.file_ref(f"jobs/{job_id}.json")
    store.write_job_report(job_id, json.dumps(report.to_dict(), indent=2, sort_keys=True).encode())
    if audit is not None:
        log_system_action(audit, "index", params=audit_params,
                          result={"job_id": job_id, "state": "completed", **report.counts,
                                  "footage_s": round(report.footage_s, 3),
                                  "failed": [f["path"] for f in report.failed]},
                          outputs={f["path"]: f["sha256"] for f in report.files if f["sha256"]},
                          operator=os_operator())
    return report


def _index_stretches(spec: SourceSpec, opts: IndexOptions, adapter: rate.RateAdapter | None, done: dict[str, str],
                     job_id: str, index_params: dict[str, object], stages: list[Stage], sink: ProgressSink,
                     chunks: ChunkCommits, control: StopControl, report: JobReport, *, windows_first: bool = False,
                     hashes: dict[str, str] | None = None) -> FileOutcome:
    """One file of an inline job, one stretch per `index_file` call (`indexing.stretch`), until the file is done,
    no priority window is left in it (`windows_first`) or the job stops. With --adapt-rate (`adapter`) the file
    starts at the rate the adapter chooses and continues from a chunk boundary at each new rate it chooses there
    (each stretch a resume from the checkpoint just committed). The outcome is the last stretch's, with the
    footage, time and work of all of them (`work["rate_spans"]`)."""
    key = str(spec.path.resolve())
    fps = adapter.rate_for(key, control.now()) if adapter is not None else opts.fps
    next_rate = None if adapter is None else (
        lambda footage_s, at: adapter.next_rate(key, footage_s=footage_s, fps=at, now=control.now()))
    parts: list[FileOutcome] = []
    while True:
        file_opts, p = opts, {**index_params, "fps": fps}
        if fps != opts.fps:
            file_opts = replace(opts, fps=fps, asked_fps=opts.fps)
        if note := _rate_note(spec, opts, fps, parts):
            sink.warn(note)
            report.warnings.append(note)
        try:
            outcome = index_file(spec, file_opts, done, job_id, json.dumps(p, sort_keys=True), stages, sink,
                                 identity=pipeline_identity(stages, p).to_json(), chunks=chunks,
                                 next_rate=next_rate, windows_first=windows_first, hashes=hashes)
        except Exception as e:  # noqa: BLE001 - reported per file, the batch goes on
            outcome = FileOutcome(str(spec.path), "failed", _internal_error(spec.path, e))
        if outcome.status == "skipped" and parts:  # windows_first: no window left in the file
            break
        parts.append(outcome)
        next_fps = outcome.work.get("next_fps")  # only with --adapt-rate
        if outcome.status != "stopped" or (next_fps is None and not outcome.work.get("more")) or control.reason():
            break
        fps = float(next_fps) if next_fps is not None else fps  # type: ignore[arg-type]
    if adapter is not None and not windows_first:  # after its windows, the rest of the file is still to come
        adapter.done(key)
    return _merged(parts)


def _rate_note(spec: SourceSpec, opts: IndexOptions, fps: float, parts: list[FileOutcome]) -> str:
    """The warning for a stretch analysed at a rate --adapt-rate lowered ("" for none, or the same as before)."""
    if not parts and fps != opts.fps:
        return f"{spec.path}: analysed at {fps:g} fps, not {opts.fps:g} (--adapt-rate)"
    if parts and fps != parts[-1].work.get("analysis_fps"):  # not a next stretch at the same rate
        return (f"{spec.path}: from t = {parts[-1].work['rate_spans'][-1][1]:.1f} s analysed at {fps:g} fps "
                f"(asked {opts.fps:g}; --adapt-rate)")
    return ""


def _merged(parts: list[FileOutcome]) -> FileOutcome:
    """One outcome for a file indexed in several runs (stretches, rates): the last one's, with the footage, time
    and work of all of them."""
    outcome = parts[-1]
    outcome.work.pop("more", None)
    if len(parts) > 1:
        first = parts[0].work
        outcome.footage_s = sum(o.footage_s for o in parts)
        outcome.wall_s = sum(o.wall_s for o in parts)
        outcome.work = {**outcome.work, "resumed_from_s": first.get("resumed_from_s"),
                        "rate_spans": [s for o in parts for s in o.work.get("rate_spans", [])],
                        **{k: sum(int(o.work.get(k, 0)) for o in parts)  # type: ignore[call-overload]
                           for k in ("frames_sampled", "overlap_frames")}}
    return outcome


def _not_started(store: Store, spec: SourceSpec, opts: IndexOptions, reason: str, report: JobReport) -> None:
    """A file the job stopped before: listed in the report, and in the store (so every search's coverage names
    it) unless it is already indexed."""
    report.files.append({"path": str(spec.path), "status": "not started", "message": reason, "sha256": None,
                         "tubes": 0, "footage_s": 0.0, "wall_s": 0.0})
    report.not_done.append({"path": str(spec.path), "reason": reason})
    if any(r.status != NOT_INDEXED for r in store.sources_at_path(str(spec.path.resolve()))):
        return
    store.clear_not_indexed(str(spec.path.resolve()))
    store.write_source(not_started_row(spec, reason, rows.known_identity(spec, opts.tz)), None)


__all__ = ["IndexOptions", "JobReport", "FileOutcome", "ProgressSink", "run_index", "status_summary", "VsearchError"]
