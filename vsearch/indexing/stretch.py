"""One stretch of one file through the indexer stages: which stretch a call indexes, where its decoding starts,
and the chunks it commits on the way (`indexing.checkpoint` says how a stretch joins the spans indexed before).

A job indexes a file by calling `onefile.index_file` once per stretch: the first stretch not indexed yet (inside a
`--priority` time window first, when asked), from its restart point to where the next indexed span begins or
the file ends. `StretchRun` holds what one such call needs between its chunks: the decoder and the gate, the
checkpoint it resumed from and those it committed, and the rate `--adapt-rate` asks for at a boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from vsearch.indexers import decode
from vsearch.indexers.base import SourceResult, Stage
from vsearch.indexing import checkpoint as ckpt
from vsearch.indexing import gating, rate, rows
from vsearch.indexing.checkpoint import Checkpoint, Chunk, ChunkedRun, new_gap
from vsearch.indexing.control import ChunkCommits
from vsearch.indexing.plan import window_stretches
from vsearch.indexing.prefetch import prefetched
from vsearch.records import Gap, SourceRef, Tube

if TYPE_CHECKING:  # the job's records (onefile.py imports this module)
    from vsearch.indexing.options import IndexOptions
    from vsearch.indexing.report import ProgressSink


@dataclass(frozen=True)
class Stretch:
    """The part of a file one call indexes, in source pts."""

    from_s: float
    stop_at_s: float | None  # where the next indexed span begins; None: the run goes to the end of the file
    pending: bool  # False: a killed job had committed every stretch but not the finished row


def next_stretch(checkpoint: Checkpoint | None, ref: SourceRef, end_s: float | None, *, chunked: bool,
                 windows_first: bool, priority: tuple[str, ...], tz: str) -> Stretch | None:
    """The first stretch of the file not indexed yet: with `windows_first` the first inside a `--priority` time
    window (None when none is left), else the first in time order. Without `chunked` (no checkpoints: a worker
    process) the whole file."""
    start_s = ref.info.start_pts_s
    indexed = checkpoint.indexed(start_s) if checkpoint else ()
    if windows_first:
        wins = window_stretches(priority, ref.camera, ref.start_utc, start_s, end_s, tz=tz)
        todo = [m for w0, w1 in wins for m in ckpt.missing(indexed, w0, w1)]
        if not todo:
            return None
    else:
        todo = ckpt.missing(indexed, start_s, end_s) if chunked else [(start_s, None)]
    from_s, to_s = todo[0] if todo else (end_s or start_s, None)
    stop_at = to_s if to_s is not None and (end_s is None or to_s < end_s - 1e-6) else None
    return Stretch(from_s=from_s, stop_at_s=stop_at, pending=bool(todo))


class StretchRun:
    """The stages over one stretch of a file, a chunk (rows and checkpoint) committed at each boundary through
    `chunks` (none without it: the caller writes the file whole). Building it opens the gate and the decoder
    (DecodeError for a file that cannot be read)."""

    def __init__(self, opts: IndexOptions, stages: list[Stage], ref: SourceRef, path: Path, stretch: Stretch, *,
                 checkpoint: Checkpoint | None, chunks: ChunkCommits | None, fixed: dict[str, object],
                 end_s: float | None, next_rate: Callable[[float, float], float] | None) -> None:
        self.opts, self.ref, self.path, self.stretch = opts, ref, path, stretch
        self.checkpoint, self.chunks, self.fixed, self.end_s = checkpoint, chunks, fixed, end_s
        self.next_rate = next_rate  # --adapt-rate: (footage_s analysed, fps) -> the rate for what follows
        self.start_s = ref.info.start_pts_s
        self.resume, self.runner = self._runner(stages)
        self.commits: list[Checkpoint] = []  # the checkpoints this run committed
        self.next_fps: float | None = None  # the rate to continue at, when --adapt-rate changes it at a boundary
        track = self.runner.by_name["track"]
        self.gate = gating.FileGate(opts.gate, path, ref.info, end_s=end_s, resume=self.resume,
                                    busy=lambda: track.active_count > 0)  # type: ignore[attr-defined]
        self.chunk_from_s = self.gate.from_s  # where the chunk being analysed began (source time)
        self.lowered = rate.reduced_spans(opts.fps, opts.asked_fps, self.gate.from_s,  # --adapt-rate
                                          stretch.stop_at_s or end_s)
        spans = self.gate.decode_spans
        if self.resume is not None:
            spans = ckpt.from_pts(spans, self.resume.resume_pts_s, (end_s or self.resume.resume_pts_s) + 3600.0)
        self.decoding = decode.open_decode(path, ref.info, decode.DecodeOptions(
            fps=opts.fps, width_px=opts.width_px, backend=opts.decoder, spans=spans))

    def _runner(self, stages: list[Stage]) -> tuple[Checkpoint | None, ChunkedRun]:
        """Where decoding restarts (the tracks crossing the stretch's start are rebuilt), and the chunked run,
        set to stitch its tail to the span indexed earlier that it stops at (if any)."""
        opts, sha, start_s, end_s = self.opts, self.ref.source_id, self.start_s, self.end_s
        chunks, stop_at = self.chunks, self.stretch.stop_at_s
        probe_run = ChunkedRun(stages, self.ref, chunk_s=opts.chunk_s)  # only for its warm-up and overlap lengths
        resume = ckpt.stretch_start(self.checkpoint, sha, start_s, self.stretch.from_s, fps=opts.fps,
                                    chunk_s=opts.chunk_s, back_s=probe_run.warmup_s + probe_run.max_overlap_s
                                    ) if chunks else None
        indexed = self.checkpoint.indexed(start_s) if self.checkpoint else ()
        joined = [b for a, b, _, _ in indexed if stop_at is not None and abs(a - stop_at) < 1e-6]  # an indexed span
        stitch = _stitcher(chunks, sha, stop_at) if chunks is not None and stop_at is not None and joined else None
        after_joined = joined and any(a >= joined[0] - 1e-6 for a, _ in ckpt.missing(indexed, start_s, end_s))
        return resume, ChunkedRun(stages, self.ref, chunk_s=opts.chunk_s if chunks else None, resume=resume,
                                  stop_at_s=stop_at, stitch=stitch,
                                  stitch_until_s=joined[0] if after_joined else None)

    def run(self, sink: ProgressSink | None) -> SourceResult | None:
        """Decode and run the stages over the stretch: the last chunk's result (to be committed with the row of
        the finished file), or None when the run stopped at a boundary (what came before it is committed)."""
        # the motion gate lets through only the frames around motion
        frames = self.gate.frames(prefetched(self.decoding, self.opts.prefetch_frames))
        if not self.stretch.pending:  # a killed job had committed every stretch but not the finished row
            for stage in self.runner.stages:
                stage.begin(self.ref)
            return None
        name = str(self.path)
        return self.runner.run(frames, on_chunk=self._on_chunk if self.chunks else None,
                               should_stop=self._should_stop,
                               on_frame=(lambda pts: sink.frame(name, pts)) if sink else (lambda pts: None),
                               decoded_so_far=lambda: self.decoding.frames_decoded,
                               upcoming=self.gate.upcoming if self.opts.detect_ahead else (lambda: None))

    @property
    def last_checkpoint(self) -> Checkpoint | None:
        """The file's latest checkpoint: the last this run committed, else the one it started from."""
        return self.commits[-1] if self.commits else self.checkpoint

    def found(self, hi_s: float) -> list[Gap]:
        """Gaps this run found in its stretch, before `hi_s` (the overlap before it is decoded twice)."""
        gaps = ([g for g in self.decoding.gaps if new_gap(g, self.resume)] + self.gate.skipped(hi_s)
                + rate.until(self.lowered, hi_s))
        return [g for g in gaps if g.start_s < hi_s]

    def commit(self, ck: Checkpoint, result: SourceResult, stop_reason: str | None,
               replaces: tuple[str, ...] = ()) -> None:
        """Commit a chunk: its rows, and the file's row at checkpoint `ck` with the gaps found up to it."""
        assert self.chunks is not None
        earlier = self.resume.gaps if self.resume else ()
        ck = replace(ck, gaps=tuple(sorted([*earlier, *self.found(ck.indexed_to_s)], key=lambda g: g.start_s)))
        row = rows.partial_row(ck, self.fixed, decoder=self.decoding.backend, start_s=self.start_s,
                               end_s=self.end_s, stop_reason=stop_reason)
        self.chunks.write(row, result, replaces)
        self.commits.append(ck)

    def _on_chunk(self, chunk: Chunk) -> None:
        assert chunk.checkpoint is not None
        self.commit(chunk.checkpoint, chunk.result, chunk.stop_reason, chunk.replaces)

    def _should_stop(self, boundary_s: float) -> str | None:
        """Why to stop at this boundary: the job's deadline or a signal, or a new rate from --adapt-rate."""
        reason = self.chunks.should_stop() if self.chunks else None
        if reason is not None or self.next_rate is None:
            return reason
        fps = self.next_rate(boundary_s - self.chunk_from_s, self.opts.fps)
        self.chunk_from_s = boundary_s
        if fps == self.opts.fps:
            return None
        if self.next_fps is None:
            self.next_fps = fps
        return rate.RATE_CHANGE

    def reached_end(self, result: SourceResult, end_pts: float) -> tuple[ckpt.Span, ...] | None:
        """The run reached the file's end at `end_pts`. The speed of its last chunk is told to --adapt-rate.
        A window that ended the file with the file's start still to do is committed as a chunk: the spans now
        indexed are returned. None: the file is complete (its finished row is the caller's to write)."""
        if self.next_rate is not None:  # the file's last stretch counts in the speed measured for the next file
            self.next_rate(end_pts - self.chunk_from_s, self.opts.fps)
        resume, totals = self.resume, self.runner.totals
        if self.chunks is None or resume is None:
            return None
        after = ckpt.add_span(resume.indexed(self.start_s), (self.stretch.from_s, end_pts, end_pts, 0))
        if not ckpt.missing(after, self.start_s, self.end_s):
            return None
        stamp = Checkpoint(indexed_to_s=end_pts, resume_pts_s=end_pts, resume_frame_index=0, tubes=totals.tubes,
                           last_scene_id=ckpt.scene_id(self.ref.source_id, end_pts + 1.0),
                           frames_sampled=resume.frames_sampled + totals.frames_sampled,
                           frames_decoded=resume.frames_decoded + self.decoding.frames_decoded,
                           chunk_s=self.opts.chunk_s, spans=after)
        self.commit(stamp, result, None)
        return after

    def complete(self, result: SourceResult) -> None:
        """Put on the file's last result what all its runs found: gaps, frames decoded, warnings."""
        resume, run = self.resume, self.decoding
        result.gaps = [*(resume.gaps if resume else ()), *self.found(float("inf"))]
        result.gaps.sort(key=lambda g: g.start_s)
        result.frames_decoded = run.frames_decoded + (resume.frames_decoded if resume else 0)
        result.warnings.extend(f"decoder fallback: {f}" for f in run.fallbacks)
        result.warnings.extend(self.runner.totals.warnings)
        if (note := self.gate.note()) is not None:
            result.warnings.append(note)
        if run.decode_errors:
            result.warnings.append(f"{run.decode_errors} corrupt packet(s)/frame(s) skipped by the decoder")


def _stitcher(chunks: ChunkCommits, sha: str, span_start_s: float) -> Callable[[Tube], tuple[str, int] | None]:
    """For a run stopping where a span indexed earlier begins: the tube of that span a crossing tube replaces
    (`checkpoint.same_tube`), read from the store once, when first asked."""
    committed: list[tuple[str, int, float, list[float]]] | None = None
    taken: set[str] = set()

    def match(tube: Tube) -> tuple[str, int] | None:
        nonlocal committed
        if committed is None:
            span_tubes = chunks.store.tubes_arrow(f"source_id = '{sha}' AND last_pts_s >= {span_start_s!r}",
                                                  ["tube_id", "track_no", "last_pts_s", "boxes_xyxy"]).to_pylist()
            committed = [(r["tube_id"], int(r["track_no"]), float(r["last_pts_s"]), list(r["boxes_xyxy"][-4:]))
                         for r in span_tubes]
        return ckpt.same_tube(tube, committed, taken)

    return match


__all__ = ["Stretch", "StretchRun", "next_stretch"]
