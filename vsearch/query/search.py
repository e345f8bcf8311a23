"""The one search execution: every command that turns a query into hits calls `execute`.

`search`, `synopsis`, `export`, `count` and `similar` with filters (and the web UI to come) all go through here,
so one spec gives the same ranked hits everywhere: the appearance term of `--like FILE|tube:ID`, the CLIP term of
the unmapped words (when the index was built with CLIP weights) and the attribute terms are computed and
combined in one place, never re-assembled by a command.
"""

from __future__ import annotations

from dataclasses import replace

from vsearch.catalogue.store import Store
from vsearch.models.descriptors import EmbedConfig
from vsearch.query import similar
from vsearch.query.engine import QueryResult, run_query
from vsearch.query.spec import QuerySpec


def execute(store: Store, spec: QuerySpec, *, clip: EmbedConfig | None = None, all_hits: bool = False) -> QueryResult:
    """Run `spec` against `store`: filter, score, rank, explain, with the coverage report.

    `clip` is the CLIP model the index was built with (scores `spec.free_text` when set); `all_hits` ignores
    `spec.limit` (counting needs every match, in the same order).
    """
    clip = clip or EmbedConfig()
    if all_hits and spec.limit is not None:
        spec = replace(spec, limit=None)
    scope = similar.Scope(cameras=spec.cameras, time_from=spec.time_from, time_to=spec.time_to)
    appearance = similar.like_scores(store, spec.like, clip, scope) if spec.like else None
    words = spec.free_text.strip()
    text = similar.text_scores(store, words, clip, scope) if clip.clip_model and words else None
    return run_query(store, spec, similar=similar.merge_scores(appearance, text))
