"""Checkpoints inside a file: one source's frames run through the stages chunk by chunk, each chunk committed.

Every `chunk_s` seconds of footage (source time, boundaries at `start_pts + k * chunk_s`) the tubes finished so
far are numbered, embedded and handed to `on_chunk` with the scene samples and a `Checkpoint`; the job commits
them with the source's progress. A rerun resumes from the last checkpoint instead of the start of the file.

How a resumed run gives the rows of an uninterrupted one (an overlap window re-run, then stitched): tracks still
open at a boundary are not committed. The checkpoint records where decoding must restart so that those tracks
are rebuilt from their first frame: `warmup_s` before the start of the oldest open track (the detector's and the
mask model's backgrounds relearn over the warm-up), never further back than `max_overlap_s` before the boundary.
The resumed run processes the overlap normally, then drops what it produced that the earlier run had already
committed (tubes finished before the boundary, scene samples before it) and goes on. Tube numbers continue the
committed ones, in the order (first sample time, first box) within each chunk, the same with or without a
resume. A track older than `max_overlap_s` at a boundary where the job is killed is the one case that cannot be
rebuilt exactly (it resumes as a shorter tube); the job report says so.

Stretches (`--priority CAM@HH:MM-HH:MM`, `indexing.plan.window_stretches`): a file's index is a set of indexed
spans, not only a prefix. A run indexes one stretch [from, to) of a file: it starts decoding `warmup_s +
max_overlap_s` before `from` when nothing before `from` is indexed (the tracks crossing `from` are rebuilt as
at a checkpoint), drops what finished before `from`, and stops at `to` where the next indexed span begins.
Ownership is the same as at a checkpoint: a tube belongs to the stretch in which it finished. At `to`, the run
goes on until the tracks it holds there end, and each of those tubes replaces that span's version of the same
object (`same_tube`: the same last sample and box; its id kept), which the span's run, starting before `to`
by its overlap only, may have begun later (a longer track, or an object standing still: the detector looks
only where something moves while no track is open); one that run missed is added. Tube numbers follow the
order of commits (a window indexed first gets the first numbers), so they are unique and never change, but a
file indexed window first is numbered differently from one indexed from its start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace

from vsearch.indexers.base import FrameContext, SourceResult, Stage
from vsearch.records import Frame, Gap, SourceRef, Tube

DEFAULT_CHUNK_S = 300.0  # 5 minutes of footage per commit
# Frames re-run before the oldest open track. A model detector's boxes do not depend on earlier frames; only the
# foreground masks (colours) of the small background model do, so a short warm-up. The motion-only detector finds
# its boxes with a background model that keeps a ~100 s memory: 30 s (3x its absorption time) brings it close to,
# not exactly into, the state of an uninterrupted run (see docs/overnight.md, "How exact is a resume").
WARMUP_S = 5.0
WARMUP_MOTION_S = 30.0
CHECKPOINT_VERSION = "ckpt-v1"
SPAN_DONE = "stretch done; the rest of the file follows"  # why a stretch's run ends at a boundary

# An indexed stretch of a file: [from_s, to_s) in source pts, and where a run continuing it at `to_s` restarts
# decoding (the sampled frame's pts and its index in an uninterrupted run).
Span = tuple[float, float, float, int]


@dataclass(frozen=True)
class Checkpoint:
    """Where a source's committed rows end and where a rerun restarts decoding."""

    indexed_to_s: float  # rows cover source pts before this boundary
    resume_pts_s: float  # pts of the sampled frame decoding restarts from (<= indexed_to_s)
    resume_frame_index: int  # its sampled-frame index in an uninterrupted run
    tubes: int  # tubes committed, numbered 1..tubes
    last_scene_id: str  # the last scene sample committed ("" if none)
    frames_sampled: int  # work done so far (all runs), frames through the stages
    frames_decoded: int  # source frames decoded so far (all runs)
    chunk_s: float
    gaps: tuple[Gap, ...] = ()  # gaps of the indexed spans (unreadable, skipped, lowered rate)
    version: str = CHECKPOINT_VERSION
    # every indexed stretch, that ending at `indexed_to_s` included; None in checkpoints written before stretches
    # (files indexed from their start: the one span is [start, indexed_to_s), see `indexed`)
    spans: tuple[Span, ...] | None = None

    def indexed(self, start_pts_s: float) -> tuple[Span, ...]:
        if self.spans is not None:
            return self.spans
        return ((start_pts_s, self.indexed_to_s, self.resume_pts_s, self.resume_frame_index),)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Checkpoint | None:
        if not text:
            return None
        d = json.loads(text)
        if d.get("version") != CHECKPOINT_VERSION:
            return None  # another checkpoint format: the file is redone from its start
        d["gaps"] = tuple(Gap(**g) for g in d.get("gaps", ()))
        if d.get("spans") is not None:
            d["spans"] = tuple((float(a), float(b), float(p), int(i)) for a, b, p, i in d["spans"])
        return cls(**d)


def add_span(spans: Iterable[Span], new: Span) -> tuple[Span, ...]:
    """`spans` with `new` added, sorted, touching spans merged (the later one's restart point kept)."""
    out: list[Span] = []
    for s in sorted([*spans, new]):
        if out and s[0] <= out[-1][1] + 1e-6:
            last = out[-1]
            out[-1] = (last[0], s[1], s[2], s[3]) if s[1] >= last[1] else last
        else:
            out.append(s)
    return tuple(out)


def missing(spans: Iterable[Span], start_s: float, end_s: float | None) -> list[tuple[float, float | None]]:
    """The stretches of [start_s, end_s) not in `spans`, in time order (end None: to the end of the file)."""
    out: list[tuple[float, float | None]] = []
    at = start_s
    for a, b, _, _ in sorted(spans):
        if end_s is not None and a >= end_s:
            break
        if a > at + 1e-6:
            out.append((at, a))
        at = max(at, b)
    if end_s is None or end_s > at + 1e-6:
        out.append((at, end_s))
    return out


def scene_id(source_id: str, pts_s: float, *, before: bool = False) -> str:
    """The id a scene sample at `pts_s` gets (`indexers.embed`); `before`: an id just below it (a lower bound)."""
    return f"{source_id[:16]}-s{int(round(pts_s * 1000)) - int(before):010d}"


def stretch_start(ck: Checkpoint | None, source_id: str, start_s: float, from_s: float, *, fps: float,
                  back_s: float, chunk_s: float) -> Checkpoint | None:
    """The checkpoint a run indexing the stretch from `from_s` starts from: None for a file's start with nothing
    indexed; at the end of an indexed span, that span's restart point; elsewhere (a window, or the start of a file
    whose later stretches are indexed) `back_s` before `from_s` (the tracks crossing it are rebuilt), at the edge
    of a sampling bin (its index is then the frame's index in an uninterrupted run)."""
    if ck is None and from_s <= start_s + 1e-6:
        return None
    spans = ck.indexed(start_s) if ck is not None else ()
    if ck is not None and abs(ck.indexed_to_s - from_s) < 1e-6:  # the checkpoint's own frontier
        return replace(ck, spans=spans)
    below = scene_id(source_id, from_s, before=True)  # nothing of this stretch committed yet
    for a, b, pts, index in spans:
        if abs(b - from_s) < 1e-6:
            assert ck is not None
            return replace(ck, indexed_to_s=from_s, resume_pts_s=pts, resume_frame_index=index, last_scene_id=below,
                           spans=spans)
    k = max(0, math.floor((from_s - back_s - start_s) * fps + 1e-9)) if from_s > start_s + 1e-6 else 0
    pts = start_s + k / fps
    if ck is None:
        return Checkpoint(indexed_to_s=from_s, resume_pts_s=pts, resume_frame_index=k, tubes=0, last_scene_id=below,
                          frames_sampled=0, frames_decoded=0, chunk_s=chunk_s, spans=())
    return replace(ck, indexed_to_s=from_s, resume_pts_s=pts, resume_frame_index=k, last_scene_id=below, spans=spans)


def same_tube(tube: Tube, committed: Iterable[tuple[str, int, float, list[float]]],
              taken: set[str]) -> tuple[str, int] | None:
    """The committed tube (id, number, last sample pts, last box in analysis px) that is `tube` seen from a later
    start: the same last sample (pts) and a last box overlapping it by IoU >= 0.5; None if there is none."""
    last_pts = float(tube.pts_s[-1])
    box = [float(v) for v in tube.boxes_xyxy[-1]]
    best, best_iou = None, 0.5
    for tube_id, number, pts, other in committed:
        if tube_id in taken or abs(pts - last_pts) > 1e-6:
            continue
        iw = max(0.0, min(box[2], other[2]) - max(box[0], other[0]))
        ih = max(0.0, min(box[3], other[3]) - max(box[1], other[1]))
        union = (box[2] - box[0]) * (box[3] - box[1]) + (other[2] - other[0]) * (other[3] - other[1]) - iw * ih
        if union > 0 and (iou := iw * ih / union) >= best_iou:
            best, best_iou = (tube_id, number), iou
    if best is not None:
        taken.add(best[0])
    return best


def spans_label(spans: Iterable[Span], start_s: float) -> str:
    """`0.0–55.0 s, 125.0–150.0 s` (file time from its first frame)."""
    return ", ".join(f"{a - start_s:.1f}–{b - start_s:.1f} s" for a, b, _, _ in spans)


@dataclass
class Chunk:
    """What one chunk adds to the store, and the checkpoint after it (None for the last chunk of a file)."""

    result: SourceResult  # this chunk's tubes (numbered), thumbnails, vectors, scenes
    checkpoint: Checkpoint | None
    stop_reason: str | None = None  # why the job stops after this chunk (deadline, signal); None: it goes on
    replaces: tuple[str, ...] = ()  # ids of committed tubes that tubes of `result` replace (a stitch)


@dataclass
class RunTotals:
    frames_sampled: int = 0  # frames through the stages in this run (overlap included)
    overlap_frames: int = 0  # of which re-run before the resume boundary
    stopped_at_s: float | None = None  # boundary where the run stopped early (None: reached the end)
    stop_reason: str | None = None
    tubes: int = 0  # tubes of the source committed in all (earlier runs included)
    warnings: list[str] = field(default_factory=list)


def tube_order(t: Tube) -> tuple[float, int]:
    """Numbering order of tubes finished in one chunk: by first sample, then the tracker's id (ids grow in
    order of birth, so tubes born on the same frame keep their relative order wherever the run started)."""
    return (float(t.first_pts_s), t.track_no)


class ChunkedRun:
    """Runs `stages` (detect, track, describe, embed) over one source's frames, committing every `chunk_s`."""

    def __init__(self, stages: list[Stage], ref: SourceRef, *, chunk_s: float | None,
                 resume: Checkpoint | None = None, warmup_s: float | None = None,
                 max_overlap_s: float | None = None, stop_at_s: float | None = None,
                 stitch: Callable[[Tube], tuple[str, int] | None] | None = None,
                 stitch_until_s: float | None = None) -> None:
        self.stages = stages
        self.by_name = {s.name: s for s in stages}
        self.ref = ref
        self.chunk_s = chunk_s
        self.resume = resume
        detect = self.by_name.get("detect")
        degraded = bool(getattr(getattr(detect, "detector", None), "degraded", False))
        self.warmup_s = warmup_s if warmup_s is not None else (WARMUP_MOTION_S if degraded else WARMUP_S)
        self.max_overlap_s = max_overlap_s if max_overlap_s is not None else (chunk_s or 0.0)
        self.t0 = ref.info.start_pts_s
        self.stop_at_s = stop_at_s  # the next indexed span begins there: the run stops (SPAN_DONE)
        self.stitch = stitch  # (a tube crossing stop_at_s) -> (id, number) of that span's tube it replaces
        self.stitch_until_s = stitch_until_s  # that span's end, where what follows is not indexed yet
        self.totals = RunTotals(tubes=resume.tubes if resume else 0)
        self._history: deque[tuple[float, int]] = deque()  # (pts_s, index) of recent frames, for resume points
        self._last_scene_id = resume.last_scene_id if resume else ""
        self._upcoming: Callable[[], Frame | None] = lambda: None

    @property
    def frame_offset(self) -> int:
        return self.resume.resume_frame_index if self.resume else 0

    def _next_boundary(self, after_s: float) -> float | None:
        if not self.chunk_s:
            return None
        k = int((after_s - self.t0) // self.chunk_s) + 1
        grid = self.t0 + k * self.chunk_s
        if self.stop_at_s is not None and after_s < self.stop_at_s - 1e-6:
            return min(grid, self.stop_at_s)
        return grid

    def run(self, frames: Iterable[Frame], *, on_chunk: Callable[[Chunk], None] | None,
            should_stop: Callable[[float], str | None] = lambda boundary_s: None,
            on_frame: Callable[[float], None] = lambda pts_s: None,
            decoded_so_far: Callable[[], int] = lambda: 0,
            upcoming: Callable[[], Frame | None] = lambda: None) -> SourceResult | None:
        """Process `frames` (decoding from `resume.resume_pts_s` when resuming). Returns the last chunk's result
        (to be committed with the finished source row), or None when stopped early at a boundary (that chunk was
        already handed to `on_chunk`, with its reason). `should_stop(boundary_s)` is asked at each boundary
        (source time) before its chunk is committed: a reason (deadline, signal, new rate) stops there.
        `upcoming()`: the frame expected after the current one
        (or None); the detect stage starts its network on it before the current frame goes through the stages
        (`DetectStage.start_ahead`). That happens after the chunk boundary test, so a checkpoint is the same with
        or without it: a frame started ahead and not processed before a stop is simply processed after the
        restart."""
        for stage in self.stages:
            stage.begin(self.ref)
        overlap_end = self.resume.indexed_to_s if self.resume else None
        boundary = self._next_boundary(overlap_end if overlap_end is not None else self.t0)
        if boundary is not None and overlap_end is not None and boundary <= overlap_end + 1e-6:  # float floor
            boundary += float(self.chunk_s or 0.0)
        offset = self.frame_offset
        it = iter(frames)
        self._upcoming = upcoming
        try:
            return self._run(it, overlap_end, boundary, offset, on_chunk, should_stop, on_frame, decoded_so_far)
        finally:  # stopping early must end the decoder now (its process and reader thread), not at exit
            close = getattr(it, "close", None)
            if close is not None:
                close()

    def _run(self, frames: Iterator[Frame], overlap_end: float | None, boundary: float | None, offset: int,
             on_chunk: Callable[[Chunk], None] | None, should_stop: Callable[[float], str | None],
             on_frame: Callable[[float], None], decoded_so_far: Callable[[], int]) -> SourceResult | None:
        start_ahead = getattr(self.by_name.get("detect"), "start_ahead", None)
        for frame in frames:
            frame = replace(frame, index=frame.index + offset) if offset else frame
            if overlap_end is not None and frame.pts_s >= overlap_end:
                self._drop_committed()
                overlap_end = None
            if boundary is not None and on_chunk is not None and frame.pts_s >= boundary and overlap_end is None:
                reason = should_stop(boundary)
                at_stop = self.stop_at_s is not None and boundary >= self.stop_at_s - 1e-6
                if reason is None and at_stop:
                    reason = SPAN_DONE
                chunk = self._chunk(boundary, frame, reason, decoded_so_far())
                if at_stop and self.stitch is not None:
                    self._stitch_tail(chunk, boundary, frame, frames)
                on_chunk(chunk)
                if reason is not None:
                    self.totals.stopped_at_s, self.totals.stop_reason = boundary, reason
                    return None
                boundary = self._next_boundary(frame.pts_s)
            if start_ahead is not None and (coming := self._upcoming()) is not None:
                start_ahead(coming)
            ctx = FrameContext()
            for stage in self.stages:
                stage.process(frame, ctx)
            self.totals.frames_sampled += 1
            if overlap_end is not None:
                self.totals.overlap_frames += 1
            self._remember(frame)
            on_frame(frame.pts_s)
        if overlap_end is not None:  # the file ended inside the overlap (it was shorter than recorded)
            self._drop_committed()
        ctx = FrameContext()  # the end-of-source pass: open tracks end and are described
        for stage in self.stages:
            stage.finish(ctx)
        tail = SourceResult(source=self.ref)
        self._add_tubes(tail)
        self.by_name["embed"].end(tail)  # remaining scenes, and vectors of the tubes just added
        for stage in self.stages:
            if stage.name != "embed":
                stage.end(tail)
        return tail

    # -- internals -----------------------------------------------------------------------------------------
    def _remember(self, frame: Frame) -> None:
        self._history.append((frame.pts_s, frame.index))
        while self._history and frame.pts_s - self._history[0][0] > self.max_overlap_s + self.warmup_s:
            self._history.popleft()

    def _drop_committed(self) -> None:
        """End of the overlap: what it produced was committed by the earlier run."""
        self.by_name["describe"].take_finished()
        self.by_name["embed"].take_scenes()

    def _add_tubes(self, result: SourceResult) -> list[Tube]:
        finished = sorted(self.by_name["describe"].take_finished(), key=lambda x: tube_order(x[0]))
        src = self.ref.source_id
        for tube, thumb, crops in finished:
            self.totals.tubes += 1
            tube_id = f"{src[:16]}-{self.totals.tubes:05d}"
            result.tubes.append(replace(tube, tube_id=tube_id, track_no=self.totals.tubes))
            if thumb is not None:
                result.thumbnails[tube_id] = thumb
            result.tube_crops[tube_id] = crops
        return result.tubes

    def _chunk(self, boundary: float, frame: Frame, reason: str | None, decoded: int) -> Chunk:
        result = SourceResult(source=self.ref)
        tubes = self._add_tubes(result)
        embed = self.by_name["embed"]
        result.vectors.extend(embed.embed_tubes([t for t in tubes if result.tube_crops.get(t.tube_id)],
                                                result.tube_crops))
        scenes, scene_vectors = embed.take_scenes()
        result.scenes.extend(scenes)
        result.vectors.extend(scene_vectors)
        if scenes:
            self._last_scene_id = scenes[-1].scene_id
        result.tube_crops = {}
        prev = self.resume
        pts, index = self._restart_point(boundary, frame)
        from_s = prev.indexed_to_s if prev else self.t0  # where this run's stretch began
        spans = add_span(prev.indexed(self.t0) if prev else (), (from_s, boundary, pts, index))
        ckpt = Checkpoint(
            indexed_to_s=boundary, resume_pts_s=frame.pts_s, resume_frame_index=frame.index, tubes=self.totals.tubes,
            last_scene_id=self._last_scene_id,
            frames_sampled=(prev.frames_sampled if prev else 0) + self.totals.frames_sampled,
            frames_decoded=(prev.frames_decoded if prev else 0) + decoded, chunk_s=float(self.chunk_s or 0.0),
            spans=spans)
        return Chunk(result, replace(ckpt, resume_pts_s=pts, resume_frame_index=index), reason)

    def _stitch_tail(self, chunk: Chunk, boundary: float, frame: Frame, frames: Iterator[Frame]) -> None:
        """At the start of a span indexed earlier, whose run began with an overlap (`stretch_start`): go on past
        it until the tracks born before it end (at most `max_overlap_s + warmup_s`), and let each of those tubes
        replace the span's version of it (the same last sample: `stitch`), which began no earlier than that
        run's overlap, or was missed there. Tubes born after the boundary are the span's (dropped here)."""
        assert self.stitch is not None
        track, describe = self.by_name["track"], self.by_name["describe"]
        crossing: list[tuple[Tube, bytes | None, list]] = []

        def keep() -> None:
            crossing.extend(x for x in describe.take_finished() if float(x[0].first_pts_s) < boundary)

        cap_s = boundary + self.max_overlap_s + self.warmup_s
        if self.stitch_until_s is not None:  # a tube ending after it is for the run that continues that span
            cap_s = min(cap_s, self.stitch_until_s)
        nxt: Frame | None = frame
        while nxt is not None and nxt.pts_s < cap_s:
            since = track.open_since_s()
            if since is None or since >= boundary:
                break
            ctx = FrameContext()
            for stage in self.stages:
                stage.process(nxt, ctx)
            self.totals.frames_sampled += 1
            keep()
            nxt = next(frames, None)
            if nxt is not None and self.frame_offset:
                nxt = replace(nxt, index=nxt.index + self.frame_offset)
        if nxt is None and self.stitch_until_s is None:  # the file ended: open tracks end
            ctx = FrameContext()
            for stage in self.stages:
                stage.finish(ctx)
            keep()
        self.by_name["embed"].take_scenes()  # the span's run committed the scenes from the boundary on
        replaces, result = [], chunk.result
        new: list[Tube] = []
        for tube, thumb, crops in sorted(crossing, key=lambda x: tube_order(x[0])):
            match = self.stitch(tube)
            if match is None:
                self.totals.tubes += 1
                match = (f"{self.ref.source_id[:16]}-{self.totals.tubes:05d}", self.totals.tubes)
            else:
                replaces.append(match[0])
            tube = replace(tube, tube_id=match[0], track_no=match[1])
            new.append(tube)
            result.tubes.append(tube)
            if thumb is not None:
                result.thumbnails[tube.tube_id] = thumb
            if crops:
                result.tube_crops[tube.tube_id] = crops
        result.vectors.extend(self.by_name["embed"].embed_tubes([t for t in new if result.tube_crops.get(t.tube_id)],
                                                                result.tube_crops))
        result.tube_crops = {}
        chunk.replaces = tuple(replaces)
        assert chunk.checkpoint is not None
        chunk.checkpoint = replace(chunk.checkpoint, tubes=self.totals.tubes)

    def close_stopped(self) -> SourceResult:
        """After a stop at `stop_at_s` that completes the file: end the stages without committing anything more
        (the tracks open at the stop belong to the next span, already committed); the stages' summaries."""
        ctx = FrameContext()
        for stage in self.stages:
            stage.finish(ctx)
        self._drop_committed()
        tail = SourceResult(source=self.ref)
        for stage in self.stages:
            stage.end(tail)
        tail.tubes, tail.scenes, tail.vectors, tail.tube_crops, tail.thumbnails = [], [], [], {}, {}
        return tail

    def _restart_point(self, boundary: float, frame: Frame) -> tuple[float, int]:
        """The frame a resumed run restarts from: `warmup_s` before the oldest open track (or the boundary)."""
        since = self.by_name["track"].open_since_s()
        target = (boundary if since is None else min(since, boundary)) - self.warmup_s
        best = (frame.pts_s, frame.index)
        for pts, index in reversed(self._history):
            best = (pts, index)
            if pts <= target:
                break
        if since is not None and best[0] > since and not self.totals.warnings:
            self.totals.warnings.append(
                f"a track open since t = {since:.2f} s is older than the overlap window at the checkpoint "
                f"t = {boundary:.2f} s; a resume from this checkpoint would rebuild it shorter")
        return best


NOT_YET = "not indexed yet (indexing stopped inside this file; rerun the job to continue)"


def new_gap(g: Gap, resume: Checkpoint | None) -> bool:
    """A gap found by this run that the earlier runs had not recorded (the overlap is decoded twice)."""
    return resume is None or g.start_s >= resume.indexed_to_s


def gaps_json(gaps: Iterable[Gap]) -> str:
    return json.dumps([asdict(g) for g in gaps])


def from_pts(spans: tuple[tuple[float, float], ...] | None, start_s: float,
          end_s: float) -> tuple[tuple[float, float], ...]:
    """Decode spans (all of the file when None) from `start_s` on."""
    spans = spans or ((start_s, end_s),)
    return tuple((max(a, start_s), b) for a, b in spans if b > start_s)


__all__ = ["Checkpoint", "Chunk", "ChunkedRun", "DEFAULT_CHUNK_S", "RunTotals", "SPAN_DONE", "Span", "add_span",
           "missing", "same_tube", "scene_id", "spans_label", "stretch_start", "tube_order"]
