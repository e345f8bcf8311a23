"""The local worker pool (`--workers 2` or more): worker processes index the files, the main process — the store's
only writer — commits what they send back: each chunk of a file when its worker reaches the chunk's boundary
(through a queue: `PoolCommits`), then the file's last rows with its outcome.

So a pool job is chunked as a job run here is (checkpoints inside files, resumes, a deadline or a stop met at a
chunk boundary), and each pass of `indexing.passes` is in the store before the next begins: a `--priority` time
window's stretch of every file is committed before the rest of the files is started.

A worker reads the store in one case: a stretch that ends where a span indexed earlier begins matches its last
tubes to that span's (the stitch, `stretch._stitcher`). That span was indexed by an earlier pass, or by this
worker's own earlier stretch of the file; before reading, the worker waits until the main process has
committed every chunk it sent.
"""

from __future__ import annotations

import queue
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any

from vsearch.indexers.base import SourceResult
from vsearch.indexing.checkpoint import Checkpoint
from vsearch.indexing.control import ChunkCommits, StopControl
from vsearch.indexing.onefile import internal_error
from vsearch.indexing.passes import FileWork, index_stretches
from vsearch.indexing.report import FileOutcome
from vsearch.indexing.sources import SourceSpec
from vsearch.indexing.stages import worker_stages
from vsearch.catalogue.store import SourceRow, Store

POLL_S = 0.1  # how often the main process looks for chunks, finished files and a stop while workers run


@dataclass(frozen=True)
class PoolLink:
    """Between the main process and the workers (manager proxies, sent with each task): `chunks` carries
    (task, row, result, replaces) to commit; `state` holds "stop" (why the job stops, set by the main process)
    and, per task, how many of its chunks are committed."""

    chunks: Any  # a manager Queue
    state: Any  # a manager dict


class PoolCommits(ChunkCommits):
    """`ChunkCommits` inside a worker: a chunk is sent to the main process instead of written; the store is only
    read, once what was sent before is committed. `resumes`, `started`: the main process's, when the task began."""

    def __init__(self, link: PoolLink, task: str, store: Path | str, resumes: dict[str, Checkpoint],
                 started: set[str]) -> None:
        self.link, self.task, self.location = link, task, store
        self.resumes, self._started = dict(resumes), set(started)
        self.lock = None
        self.sent = 0
        self._store: Store | None = None

    @property
    def store(self) -> Store:  # type: ignore[override]
        while int(self.link.state.get(f"committed:{self.task}", 0)) < self.sent:
            time.sleep(POLL_S / 2)
        if self._store is None:
            self._store = Store(self.location)
        return self._store

    def resume_of(self, source_id: str) -> Checkpoint | None:
        """The checkpoint to resume from (the main process removed what a killed run wrote after it)."""
        ck = self.resumes.get(source_id)
        if ck is not None:
            self._started.add(source_id)
        return ck

    def write(self, row: SourceRow, result: SourceResult, replaces: tuple[str, ...] = ()) -> None:
        self.link.chunks.put((self.task, row, result, replaces))
        self.sent += 1
        self._started.add(row.source_id)
        if (ck := Checkpoint.from_json(row.checkpoint_json)) is not None:  # the file's next stretch resumes here
            self.resumes[row.source_id] = ck

    def should_stop(self) -> str | None:
        return self.link.state.get("stop")


class _LinkedStop(StopControl):
    """The job's stop, as the main process passes it on (its deadline, clock and signals are there)."""

    def __init__(self, link: PoolLink) -> None:
        super().__init__()
        self.link = link

    def reason(self) -> str | None:
        return self.link.state.get("stop")


class LocalPool:
    """The worker processes of one job, and the main process's side of them: `run_pass` runs a pass (as
    `passes.local_pass` does here), committing each chunk through `chunks` as it arrives."""

    def __init__(self, work: FileWork, chunks: ChunkCommits, control: StopControl) -> None:
        self.work, self.chunks, self.control = work, chunks, control
        self.hashes: dict[str, str] = {}  # by path: a file is hashed once, for both passes
        self.committed: dict[str, int] = {}
        self._tasks = 0

    def __enter__(self) -> LocalPool:
        for sha in list(self.chunks.resumes):  # a worker cannot remove what a killed run wrote after a checkpoint
            self.chunks.resume_of(sha)
        ctx = get_context("spawn")
        self.manager = SyncManager(ctx=ctx)
        self.manager.start(_ignore_sigint)
        self.link = PoolLink(self.manager.Queue(), self.manager.dict())
        self.pool = ProcessPoolExecutor(max_workers=self.work.opts.workers, mp_context=ctx,
                                        initializer=_ignore_sigint)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is not None:  # stopped at once (a second Ctrl-C) or a failure here: so are the workers, which
            for proc in list(self.pool._processes.values()):  # ignore SIGINT (no public call for it before 3.14)
                proc.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.manager.shutdown()

    def run_pass(self, specs: list[SourceSpec], windows_first: bool) -> Iterator[tuple[SourceSpec, FileOutcome | str]]:
        futures: dict[Future[tuple[FileOutcome | str, int, dict[str, str]]], tuple[SourceSpec, str]] = {}
        for spec in specs:
            self._tasks += 1
            task = f"{self._tasks}"
            futures[self.pool.submit(_pool_file, spec, windows_first, self.work, self.link, task,
                                     dict(self.chunks.resumes), self.chunks.started_sources(), dict(self.hashes))
                    ] = (spec, task)
        while futures:
            self._commit_chunks()
            if (why := self.control.reason()) is not None and self.link.state.get("stop") is None:
                self.link.state["stop"] = why  # the workers stop at their next chunk boundary
            for fut in [f for f in futures if f.done()]:
                spec, task = futures.pop(fut)
                outcome, sent, hashes = fut.result()
                self.hashes.update(hashes)
                while self.committed.get(task, 0) < sent:  # its chunks first, then its outcome
                    self._commit_chunks()
                yield spec, outcome

    def _commit_chunks(self) -> None:
        """Commit the chunks the workers have sent (waiting up to POLL_S for the first)."""
        timeout: float | None = POLL_S
        while True:
            try:
                task, row, result, replaces = self.link.chunks.get(timeout=timeout)
            except queue.Empty:
                return
            self.chunks.write(row, result, replaces)
            self.committed[task] = self.committed.get(task, 0) + 1
            self.link.state[f"committed:{task}"] = self.committed[task]
            timeout = 0.001


def _ignore_sigint() -> None:
    """Ctrl-C reaches every process of the terminal's group: the main process turns it into a stop at the next
    chunk boundary and passes that on; a worker interrupted mid-chunk would lose its file's work."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pool_file(spec: SourceSpec, windows_first: bool, work: FileWork, link: PoolLink, task: str,
               resumes: dict[str, Checkpoint], started: set[str],
               hashes: dict[str, str]) -> tuple[FileOutcome | str, int, dict[str, str]]:
    """One file's pass in a worker: its outcome (or why it was not started), how many chunks it sent, the hashes
    computed."""
    if (why := link.state.get("stop")) is not None:
        return why, 0, hashes
    chunks = PoolCommits(link, task, work.opts.store, resumes, started)
    try:
        outcome = index_stretches(spec, work, worker_stages(work.opts), chunks, _LinkedStop(link), adapter=None,
                                  sink=None, warn=lambda text: None,  # rate notes: --adapt-rate only, not here
                                  windows_first=windows_first, hashes=hashes)
    except Exception as e:  # noqa: BLE001 - a bug on one file must not abort the batch; reported as failed
        outcome = FileOutcome(str(spec.path), "failed", internal_error(spec.path, e))
    return outcome, chunks.sent, hashes


__all__ = ["LocalPool", "PoolCommits", "PoolLink"]
