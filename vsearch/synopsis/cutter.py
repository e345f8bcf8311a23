"""Cutting the objects out in a second process while the main one plans the synopsis.

Cutting (decoding the whole source and cutting every shown object out of it) does not depend on the plan,
and both are Python-heavy: in two threads they take turns on the GIL and gain nothing, so a large job is
cut in a child process (spawned: no inherited threads or locks) that writes the crops to a file the parent
then maps (`CropStore.from_file`). Small jobs are cut in-process: starting the child costs about a second.
"""

from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from vsearch.records import Tube
from vsearch.synopsis.background import SourceClip
from vsearch.synopsis.crops import CropStore, cut_crops, non_matching

CHILD_MIN_CROPS = 20_000  # below this many object-frames the crops are cut in-process


@dataclass(frozen=True)
class CutJob:
    clips: tuple[SourceClip, ...]
    tubes: tuple[Tube, ...]
    shown_pts: tuple[np.ndarray, ...]  # source times shown at each synopsis frame, per tube
    out_size: tuple[int, int]
    feather_px: int

    @property
    def n_crops(self) -> int:
        return sum(len(p) for p in self.shown_pts)


def cut_all(job: CutJob, store: CropStore, tick: Callable[[], None]) -> None:
    """Every tube at every shown frame into `store` under key (tube index, frame index), source by source."""
    matching = {t.tube_id for t in job.tubes}
    for clip in job.clips:
        shown = [p if t.source_id == clip.source_id else np.zeros(0) for t, p in zip(job.tubes, job.shown_pts)]
        cut_crops(clip, job.tubes, shown, job.out_size, job.feather_px, non_matching(clip, matching), store, tick)


def _child(job: CutJob, path: str, conn: Connection) -> None:
    try:
        t0, cpu0 = time.perf_counter(), time.process_time()
        store = CropStore(ram_bytes=0, spill_path=Path(path))
        cut_all(job, store, lambda: None)
        store.flush()
        conn.send(("ok", store.index, (time.perf_counter() - t0, time.process_time() - cpu0)))
    except Exception as e:  # noqa: BLE001 - not swallowed: the parent raises it (DecodeError, ...)
        try:
            conn.send(("error", e, (0.0, 0.0)))
        except (TypeError, AttributeError, ValueError):  # pickling failed: its text then
            conn.send(("error", RuntimeError(f"{type(e).__name__}: {e}"), (0.0, 0.0)))
    finally:
        conn.close()


class Cutter:
    """Context manager: `start()` begins cutting `job` (in a child process when large), `wait()` returns
    (the filled store, (cutting wall time, its CPU time) in s); on exit a child still running is ended and its
    file removed.
    The store is the caller's to close."""

    def __init__(self, job: CutJob, tick: Callable[[], None]):
        self.job, self.tick = job, tick
        self.in_child = job.n_crops >= CHILD_MIN_CROPS
        self._proc: mp.process.BaseProcess | None = None
        self._path: Path | None = None

    def __enter__(self) -> Cutter:
        if self.in_child:
            fd, name = tempfile.mkstemp(prefix="vsearch-crops-", suffix=".bin")
            with open(fd, "wb"):
                pass
            self._path = Path(name)
            ctx = mp.get_context("spawn")
            self._conn, child_end = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_child, args=(self.job, name, child_end), daemon=True,
                                     name="vsearch-synopsis-crops")
            self._proc.start()
            child_end.close()
        return self

    def wait(self) -> tuple[CropStore, tuple[float, float]]:
        if not self.in_child:
            t0, cpu0 = time.perf_counter(), time.process_time()
            store = CropStore()
            try:
                cut_all(self.job, store, self.tick)
            except BaseException:
                store.close()
                raise
            return store, (time.perf_counter() - t0, time.process_time() - cpu0)
        assert self._proc is not None and self._path is not None
        try:
            status, payload, cut_times = self._conn.recv()
        except EOFError as e:
            raise RuntimeError(f"the crop-cutting process ended without a result (exit code "
                               f"{self._proc.exitcode}); rerun, or check memory") from e
        self._proc.join()
        if status != "ok":
            raise payload
        for _ in range(self.job.n_crops):
            self.tick()
        return CropStore.from_file(self._path, payload), cut_times

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            if self._proc.is_alive():
                self._proc.terminate()
            self._proc.join()
            self._conn.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)  # the parent's store keeps its open mapping
