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
"""

from __future__ import annotations

import json
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
    gaps: tuple[Gap, ...] = ()  # unreadable spans found before the boundary
    version: str = CHECKPOINT_VERSION

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
        return cls(**d)


@dataclass
class Chunk:
    """What one chunk adds to the store, and the checkpoint after it (None for the last chunk of a file)."""

    result: SourceResult  # this chunk's tubes (numbered), thumbnails, vectors, scenes
    checkpoint: Checkpoint | None
    stop_reason: str | None = None  # why the job stops after this chunk (deadline, signal); None: it goes on


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
                 max_overlap_s: float | None = None) -> None:
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
        return self.t0 + k * self.chunk_s

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
                on_chunk(self._chunk(boundary, frame, reason, decoded_so_far()))
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
        ckpt = Checkpoint(
            indexed_to_s=boundary, resume_pts_s=frame.pts_s, resume_frame_index=frame.index, tubes=self.totals.tubes,
            last_scene_id=self._last_scene_id,
            frames_sampled=(prev.frames_sampled if prev else 0) + self.totals.frames_sampled,
            frames_decoded=(prev.frames_decoded if prev else 0) + decoded, chunk_s=float(self.chunk_s or 0.0))
        pts, index = self._restart_point(boundary, frame)
        return Chunk(result, replace(ckpt, resume_pts_s=pts, resume_frame_index=index), reason)

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


__all__ = ["Checkpoint", "Chunk", "ChunkedRun", "DEFAULT_CHUNK_S", "RunTotals", "tube_order"]
