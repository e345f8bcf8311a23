"""What an indexing job is asked to do (`IndexOptions`), checked when built, and the site config's defaults."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from vsearch.errors import UsageError
from vsearch.indexing import gating, rate
from vsearch.indexing.checkpoint import DEFAULT_CHUNK_S
from vsearch.indexing.plan import parse_priority
from vsearch.indexing.ray_executor import RayOptions
from vsearch.site import SiteConfig


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
    chunk_s: float = DEFAULT_CHUNK_S  # footage seconds per commit inside a file (local jobs; see indexing/checkpoint)
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


def with_site_defaults(opts: IndexOptions, site: SiteConfig | None) -> IndexOptions:
    """Fill what the command line left unset from the site config (`models_dir`, `[embed]`)."""
    if site is None:
        return opts
    e = site.embed
    return replace(opts, models_dir=opts.models_dir or site.models_dir, clip_model=opts.clip_model or e.clip_model,
                   clip_weights=opts.clip_weights or e.clip_weights, clip_config=opts.clip_config or e.clip_model_config,
                   crops_per_tube=e.crops_per_tube, scene_interval_s=e.scene_interval_s, threads=e.threads)


__all__ = ["IndexOptions", "with_site_defaults"]
