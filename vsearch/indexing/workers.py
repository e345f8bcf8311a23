"""The local worker pool (`--workers 2` or more): files indexed by worker processes, committed by the main process
(the store's only writer) as they come back."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from vsearch.indexing.onefile import index_file, internal_error
from vsearch.indexing.options import IndexOptions
from vsearch.indexing.report import FileOutcome
from vsearch.indexing.sources import SourceSpec
from vsearch.indexing.stages import worker_stages


def pool_outcomes(specs: list[SourceSpec], opts: IndexOptions, done: dict[str, str], job_id: str, params: str,
                  identity: str) -> Iterator[FileOutcome]:
    """Each file indexed whole by a worker process, yielded as it is done."""
    with ProcessPoolExecutor(max_workers=opts.workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_pool_task, s, opts, done, job_id, params, identity) for s in specs]
        for fut in as_completed(futures):
            yield fut.result()


def _pool_task(spec: SourceSpec, opts: IndexOptions, done: dict[str, str], job_id: str, params: str,
               identity: str) -> FileOutcome:
    try:
        return index_file(spec, opts, done, job_id, params, worker_stages(opts), identity=identity)
    except Exception as e:  # noqa: BLE001 - a bug on one file must not abort the batch; reported as failed
        return FileOutcome(str(spec.path), "failed", internal_error(spec.path, e))


__all__ = ["pool_outcomes"]
