"""One call on one file: hash, probe, decode and run the stages over the next stretch of the file not indexed yet
(`indexing.stretch`), and the file's outcome — finished, stopped at a chunk boundary, or failed."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path

from vsearch.errors import DecodeError, SourceError
from vsearch.indexers import decode
from vsearch.indexers.base import SourceResult, Stage
from vsearch.records import SourceRef
from vsearch.indexing import checkpoint as ckpt
from vsearch.indexing import rows
from vsearch.indexing.checkpoint import SPAN_DONE
from vsearch.indexing.control import ChunkCommits
from vsearch.indexing.options import IndexOptions
from vsearch.indexing.report import FileOutcome, ProgressSink
from vsearch.indexing.sources import SourceSpec, resolve, sha256_file
from vsearch.indexing.stretch import StretchRun, next_stretch
from vsearch.catalogue.store import SourceRow


def index_file(spec: SourceSpec, opts: IndexOptions, done: dict[str, str], job_id: str, params: str,
               stages: list[Stage], sink: ProgressSink | None = None, identity: str | None = None, *,
               chunks: ChunkCommits | None = None,
               next_rate: Callable[[float, float], float] | None = None,
               windows_first: bool = False, hashes: dict[str, str] | None = None) -> FileOutcome:
    """Hash, probe, decode and run the stages over one file. Never raises for a bad file: returns `failed`.
    `done` maps the SHA-256 of files not to index again to the reason they are skipped. With `chunks` (jobs run
    here, or on the local worker pool: `workers.PoolCommits`) the file is committed chunk by chunk and resumed
    from its last checkpoint; the outcome then holds only the last chunk (`append`). `next_rate(footage_s, fps)`
    (--adapt-rate, with `chunks`): told of each chunk analysed, and of the file's last stretch, it gives the rate
    for what follows; a rate other than `opts.fps` stops the run at that boundary (status "stopped", `work["next_fps"]`)
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


def internal_error(path: Path, e: BaseException) -> str:
    """The failure message for a bug met on one file (the batch goes on): where it happened, to report it."""
    tb = traceback.extract_tb(e.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
    return f"{path}: internal error {type(e).__name__}: {e}{where}; please report it"


__all__ = ["index_file", "internal_error"]
