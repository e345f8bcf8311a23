"""The indexer stages a job runs (detect, track, describe, embed), the parameters and identity of what they write,
and the stages of a worker process (built once per process, reused for every file it gets)."""

from __future__ import annotations

from vsearch.indexers.base import Stage
from vsearch.indexing import gating
from vsearch.indexing.identity import PipelineIdentity
from vsearch.indexing.options import IndexOptions


def build_stages(opts: IndexOptions) -> tuple[list[Stage], list[str], dict[str, object]]:
    """The indexer stages for this job in order (detect, track, describe, embed), warnings for the user (e.g.
    degraded motion-only mode), and the parameters that define what the index holds (a change of any of them
    re-indexes a file)."""
    from vsearch.indexers.detect import make_detector
    from vsearch.indexers.embed import EmbedStage
    from vsearch.indexers.tubes import pipeline_info, tube_stages
    from vsearch.models.descriptors import EmbedConfig
    from vsearch.models.resolve import missing_runtime, resolve_models

    models = resolve_models(opts.models_dir)  # per model: configured, installed, built-in; refuses a bad built-in
    choice = make_detector(opts.detector, models)
    warnings = models.warnings + ([choice.warning] if choice.warning else [])
    if (no_runtime := missing_runtime()) is not None:  # attribute and re-id models need OpenVINO too
        warnings.append(f"{no_runtime}: attribute and re-identification models are skipped")
    usable = models if no_runtime is None else None
    detect, track, describe = tube_stages(choice.detector, models=usable)
    describe.pipeline_info = pipeline_info(detect, track)
    embed = EmbedStage.from_config(EmbedConfig(clip_model=opts.clip_model, clip_weights=opts.clip_weights,
                                               clip_model_config=opts.clip_config,
                                               crops_per_tube=opts.crops_per_tube,
                                               scene_interval_s=opts.scene_interval_s, threads=opts.threads,
                                               reid_model=usable.path("reid-0288") if usable else None))
    params = {"fps": opts.fps, "width_px": opts.width_px, "detector": choice.detector.name,
              "descriptors": sorted(e.name for e in embed.embedders),
              "embed": {"crops_per_tube": opts.crops_per_tube, "scene_interval_s": opts.scene_interval_s}}
    params.update(gating.gate_params(opts.gate) or {})  # nothing when off: ungated stores keep their params
    return [detect, track, describe, embed], warnings, params


def pipeline_identity(stages: list[Stage], params: dict[str, object]) -> PipelineIdentity:
    """The identity of what `stages` with `params` write (every stage and model, with versions and hashes)."""
    return PipelineIdentity.of([c for stage in stages for c in stage.identity()], params)


_WORKER_STAGES: list[Stage] | None = None


def worker_stages(opts: IndexOptions) -> list[Stage]:
    """The stages of this worker process: built by its first file (models loaded once), reused by the next."""
    global _WORKER_STAGES
    if _WORKER_STAGES is None:
        _WORKER_STAGES = build_stages(opts)[0]
    return _WORKER_STAGES


__all__ = ["build_stages", "pipeline_identity", "worker_stages"]
