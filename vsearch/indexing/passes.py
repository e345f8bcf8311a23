"""The order of a job's work. With a `--priority` time window, a first pass indexes, in each file (in the job's
order), the stretch inside the window; the second pass indexes the rest of every file (for a file whose window
is done: the part before it, then the part after it). Without a window there is only the second pass.

A pass is run either here, one file after the other (`local_pass`), or by the local worker pool
(`indexing.workers`); either way the main process commits what it gives back, so what a pass produces is in the
store before the next pass starts. One file's pass is one or more `index_file` calls (`index_stretches`): one
per stretch, and one per new rate with --adapt-rate.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from vsearch.indexers.base import Stage
from vsearch.indexing import rate
from vsearch.indexing.control import ChunkCommits, StopControl
from vsearch.indexing.onefile import index_file, internal_error
from vsearch.indexing.options import IndexOptions
from vsearch.indexing.plan import Window, parse_priority
from vsearch.indexing.report import SAME_CONTENT, FileOutcome, Outcomes, ProgressSink
from vsearch.indexing.sources import SourceSpec
from vsearch.indexing.stages import pipeline_identity

# Runs one pass over files: yields, as each file's pass ends, its outcome, or the reason it was not started.
Pass = Callable[[list[SourceSpec], bool], Iterator[tuple[SourceSpec, "FileOutcome | str"]]]


@dataclass(frozen=True)
class FileWork:
    """What every file of a job is indexed with (sent as is to worker processes, which build their own stages).
    `done`: SHA-256 of files not to index again, with the reason they are skipped."""

    opts: IndexOptions
    done: dict[str, str]
    job_id: str
    index_params: dict[str, object]


def has_windows(priority: tuple[str, ...]) -> bool:
    return any(isinstance(parse_priority(t), Window) for t in priority)


def run_passes(specs: list[SourceSpec], run_pass: Pass, outcomes: Outcomes, work: FileWork,
               on_file_done: Callable[[int], None]) -> None:
    """The windows pass (when `--priority` has a time window), then the rest; every outcome committed, and each
    file not reached recorded as not started (`on_file_done(n)`: n files are finished)."""
    first: dict[str, FileOutcome] = {}
    if has_windows(work.opts.priority):
        for spec, outcome in run_pass(specs, True):
            if isinstance(outcome, str):  # stopped before its window: the second pass records it
                continue
            if outcome.status == "stopped":  # committed chunk by chunk; the rest of the file follows below
                first[str(spec.path)] = outcome
            elif outcome.status != "skipped":  # a failure, or a file the window covers whole
                outcomes.commit(outcome)
                first[str(spec.path)] = outcome
    rest = [s for s in specs if first.get(str(s.path)) is None or first[str(s.path)].status == "stopped"]
    finished = len(specs) - len(rest)
    for spec, outcome in run_pass(rest, False):
        earlier = first.pop(str(spec.path), None)
        if isinstance(outcome, str):  # the deadline passed or a stop was asked: what is left is listed
            if earlier is not None:
                outcomes.commit(earlier)
            else:
                outcomes.not_started(spec, outcome, work.opts.tz)
            continue
        outcomes.commit(merged([earlier, outcome]) if earlier is not None else outcome)
        work.done.update({sha: SAME_CONTENT for sha in outcomes.written})
        finished += 1
        on_file_done(finished)


def local_pass(work: FileWork, stages: list[Stage], chunks: ChunkCommits, control: StopControl,
               outcomes: Outcomes, adapter: rate.RateAdapter | None) -> Pass:
    """A pass run here, one file after the other, each committed chunk by chunk as it goes."""
    hashes: dict[str, str] = {}  # a 24-h file is hashed once, for both passes

    def run(specs: list[SourceSpec], windows_first: bool) -> Iterator[tuple[SourceSpec, FileOutcome | str]]:
        for spec in specs:
            reason = control.reason()
            yield spec, reason if reason is not None else index_stretches(
                spec, work, stages, chunks, control, adapter=adapter, sink=outcomes.sink, warn=outcomes.warn,
                windows_first=windows_first, hashes=hashes)

    return run


def index_stretches(spec: SourceSpec, work: FileWork, stages: list[Stage], chunks: ChunkCommits,
                    control: StopControl, *, adapter: rate.RateAdapter | None, sink: ProgressSink | None,
                    warn: Callable[[str], None], windows_first: bool = False,
                    hashes: dict[str, str] | None = None) -> FileOutcome:
    """One file's pass, one stretch per `index_file` call (`indexing.stretch`), until the file is done, no
    priority window is left in it (`windows_first`) or the job stops. With --adapt-rate (`adapter`) the file
    starts at the rate the adapter chooses and continues from a chunk boundary at each new rate it chooses there
    (each stretch a resume from the checkpoint just committed). The outcome is the last stretch's, with the
    footage, time and work of all of them (`work["rate_spans"]`)."""
    opts = work.opts
    key = str(spec.path.resolve())
    fps = adapter.rate_for(key, control.now()) if adapter is not None else opts.fps
    next_rate = None if adapter is None else (
        lambda footage_s, at: adapter.next_rate(key, footage_s=footage_s, fps=at, now=control.now()))
    parts: list[FileOutcome] = []
    while True:
        file_opts, p = opts, {**work.index_params, "fps": fps}
        if fps != opts.fps:
            file_opts = replace(opts, fps=fps, asked_fps=opts.fps)
        if note := _rate_note(spec, opts, fps, parts):
            warn(note)
        try:
            outcome = index_file(spec, file_opts, work.done, work.job_id, json.dumps(p, sort_keys=True), stages,
                                 sink, identity=pipeline_identity(stages, p).to_json(), chunks=chunks,
                                 next_rate=next_rate, windows_first=windows_first, hashes=hashes)
        except Exception as e:  # noqa: BLE001 - reported per file, the batch goes on
            outcome = FileOutcome(str(spec.path), "failed", internal_error(spec.path, e))
        if outcome.status == "skipped" and parts:  # windows_first: no window left in the file
            break
        parts.append(outcome)
        next_fps = outcome.work.get("next_fps")  # only with --adapt-rate
        if outcome.status != "stopped" or (next_fps is None and not outcome.work.get("more")) or control.reason():
            break
        fps = float(next_fps) if next_fps is not None else fps  # type: ignore[arg-type]
    if adapter is not None and not windows_first:  # after its windows, the rest of the file is still to come
        adapter.done(key)
    return merged(parts)


def _rate_note(spec: SourceSpec, opts: IndexOptions, fps: float, parts: list[FileOutcome]) -> str:
    """The warning for a stretch analysed at a rate --adapt-rate lowered ("" for none, or the same as before)."""
    if not parts and fps != opts.fps:
        return f"{spec.path}: analysed at {fps:g} fps, not {opts.fps:g} (--adapt-rate)"
    if parts and fps != parts[-1].work.get("analysis_fps"):  # not a next stretch at the same rate
        return (f"{spec.path}: from t = {parts[-1].work['rate_spans'][-1][1]:.1f} s analysed at {fps:g} fps "
                f"(asked {opts.fps:g}; --adapt-rate)")
    return ""


def merged(parts: list[FileOutcome]) -> FileOutcome:
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


__all__ = ["FileWork", "Pass", "has_windows", "index_stretches", "local_pass", "merged", "run_passes"]
