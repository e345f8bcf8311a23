"""Run the indexing job's per-file work on a Ray cluster (`vsearch index … --executor ray`).

The driver (the `vsearch index` process) stays what it is for a local job: it discovers the sources, plans
what to skip, and is the only writer of the store, committing each file's rows as they come back. What moves
to the cluster is `onefile.index_file` — hash, probe, decode, detect, track, describe, embed — run by worker
actors, each building the indexer stages (detector and models) once and reusing them for every file it gets.
A file is the unit of work: the tracker needs a file's frames in order, and a CCTV export is typically a file
per camera per quarter-hour to hour, small enough to balance a cluster (docs/scale-out.md).

Since nothing is written by the workers, a killed worker or driver leaves the store as a killed local job does:
the files committed are complete, the others are redone by a rerun (`Store.write_source`).

Ray is an optional dependency (`pip install 'vsearch[cluster]'`); it is imported only here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any

from vsearch.errors import UsageError
from vsearch.indexing.sources import SourceSpec

if TYPE_CHECKING:
    from vsearch.indexing.options import IndexOptions
    from vsearch.indexing.report import FileOutcome, ProgressSink

# A local Ray started for one run (no --ray-address) gets this many CPUs, at least: it runs on the workstation
# next to everything else, and one worker per core is what the indexer stages use well.
LOCAL_RAY_CPUS = 2
# A worker actor that dies (node lost, out of memory) is restarted and its file retried this many times before
# the file is reported as failed (a rerun of the job then retries it again).
ACTOR_RESTARTS = 2


EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class RayOptions:
    """How the job uses Ray. `address`: None starts a local Ray for the run; "auto" or HOST:PORT joins that
    cluster. Each worker actor holds `cpus` CPUs and `gpus` GPUs (0.5: two actors share a GPU)."""

    address: str | None = None
    cpus: float = 1.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if self.cpus <= 0 or self.gpus < 0:
            raise UsageError(f"Ray worker resources must be positive; got {self.cpus} CPU, {self.gpus} GPU")

    @classmethod
    def for_executor(cls, executor: str, address: str | None, gpus: float = 0.0) -> RayOptions | None:
        """The `--executor`, `--ray-address` and `--ray-gpus` options as Ray options (None: the local executor)."""
        if executor not in EXECUTORS:
            raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
        if executor == "local":
            if address is not None or gpus:
                raise UsageError("--ray-address and --ray-gpus need --executor ray")
            return None
        return cls(address=address, gpus=gpus)


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError as e:
        raise UsageError("--executor ray: Ray is not installed; install the cluster extra "
                         "(pip install 'vsearch[cluster]') on this machine and on every node") from e
    return ray


class IndexWorker:
    """One worker actor: the stages are built once, when the actor starts, and serve every file it indexes."""

    def __init__(self, opts: IndexOptions) -> None:
        from vsearch.indexing.stages import build_stages

        self.opts = opts
        self.stages = build_stages(opts)[0]

    def index(self, spec: SourceSpec, done: dict[str, str], job_id: str, params: str,
              identity: str) -> FileOutcome:
        from vsearch.indexing.onefile import index_file, internal_error
        from vsearch.indexing.report import FileOutcome

        try:
            return index_file(spec, self.opts, done, job_id, params, self.stages, identity=identity)
        except Exception as e:  # noqa: BLE001 - a bug on one file must not abort the batch; reported as failed
            return FileOutcome(str(spec.path), "failed", internal_error(spec.path, e))


def _connect(ray: ModuleType, address: str | None, workers: int) -> bool:
    """Join the cluster at `address` (`auto`: the one this machine belongs to) or start a local Ray for this
    run. Returns whether this call started Ray (and so must shut it down)."""
    if ray.is_initialized():
        return False
    common: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR,
                              "configure_logging": True}
    if address:
        try:
            ray.init(address=address, **common)
        except ConnectionError as e:
            raise UsageError(f"--ray-address {address}: no Ray cluster reachable there ({e}); start one with "
                             "`ray start --head` or check the address (HOST:PORT of the head node)") from e
    else:
        # Ray runs its workers at nice 15 by default; on a workstation that others load, that made indexing 6×
        # slower than the local job (docs/scale-out.md). A local Ray for this run works at the job's priority.
        os.environ.setdefault("RAY_worker_niceness", "0")
        ray.init(num_cpus=max(LOCAL_RAY_CPUS, workers), **common)
    return True


def run_on_ray(specs: list[SourceSpec], opts: IndexOptions, done: dict[str, str], job_id: str, params: str,
               identity: str, sink: ProgressSink) -> Iterator[FileOutcome]:
    """Index `specs` on Ray, yielding each file's outcome (rows included) as it finishes, for the driver to
    commit. `opts.workers` actors (0: one per CPU of the cluster), each holding the resources `opts.ray` names."""
    assert opts.ray is not None
    from vsearch.indexing.report import FileOutcome

    ray = _import_ray()
    started = _connect(ray, opts.ray.address, opts.workers)
    try:
        n = opts.workers or max(1, int(ray.cluster_resources().get("CPU", 1) // opts.ray.cpus))
        n = min(n, max(1, len(specs)))
        actor_cls = ray.remote(num_cpus=opts.ray.cpus, num_gpus=opts.ray.gpus, max_restarts=ACTOR_RESTARTS,
                               max_task_retries=ACTOR_RESTARTS)(IndexWorker)
        actors = [actor_cls.remote(opts) for _ in range(n)]
        # workers open each file by the path the driver sees: absolute, on a mount every node shares
        todo = (replace(spec, path=spec.path.resolve()) for spec in specs)
        pending: dict[Any, tuple[Any, SourceSpec]] = {}

        def give(actor: Any) -> None:
            spec = next(todo, None)
            if spec is not None:
                sink.file_started(str(spec.path), None)
                pending[actor.index.remote(spec, done, job_id, params, identity)] = (actor, spec)

        for actor in actors:
            give(actor)
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            actor, spec = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayError as e:  # the worker died and its retries ran out
                outcome = FileOutcome(str(spec.path), "failed",
                                      f"{spec.path}: the Ray worker indexing it failed ({type(e).__name__}: "
                                      f"{str(e).splitlines()[0] if str(e) else ''}); rerun the job to retry it")
            yield outcome
            give(actor)
        for actor in actors:
            ray.kill(actor)
    finally:
        if started:
            ray.shutdown()


__all__ = ["EXECUTORS", "IndexWorker", "RayOptions", "run_on_ray"]
