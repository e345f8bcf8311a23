""""More like this": tubes whose appearance is close to a given tube or image, across cameras.

The descriptor is chosen per query and reported with every hit: the CLIP model the index was built with when
one is configured, else the person re-identification model (clothing appearance) for a person tube, else the
weight-free colour descriptor. None of them looks at faces or any biometric trait.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2

from vsearch.catalogue import vectors as vs
from vsearch.models.descriptors import ColourDescriptor, EmbedConfig, make_embedders, pool
from vsearch.errors import ModelError, QueryError
from vsearch.site import SiteConfig
from vsearch.catalogue.store import Store, sql_str
from vsearch.query.engine import scope_sql

UTC = dt.timezone.utc
COLOUR = "colour-hist-v1"
REID = "reid-0288"


def embed_config(site: SiteConfig | None, clip_model: str | None = None, clip_weights: Path | None = None,
                 clip_config: Path | None = None) -> EmbedConfig:
    """The CLIP model to embed query images/text with: the options, else the site's `[embed]` settings."""
    e = site.embed if site is not None else None
    return EmbedConfig(clip_model=clip_model or (e.clip_model if e else None),
                       clip_weights=clip_weights or (e.clip_weights if e else None),
                       clip_model_config=clip_config or (e.clip_model_config if e else None))


@dataclass(frozen=True)
class SimilarHit:
    tube_id: str
    camera: str
    start_utc: dt.datetime
    end_utc: dt.datetime
    class_name: str
    score: float  # 1 - cosine distance
    descriptor: str  # what ranked it
    thumb_path: str
    source_path: str

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["start_utc"], d["end_utc"] = self.start_utc.isoformat(), self.end_utc.isoformat()
        return d


@dataclass(frozen=True)
class Scope:
    cameras: tuple[str, ...] = ()
    time_from: dt.datetime | None = None
    time_to: dt.datetime | None = None
    limit: int = 20


def _tables(store: Store) -> dict[str, object]:
    """descriptor -> LanceDB table, for every vector table in the store."""
    out = {}
    for name in store.vector_tables():
        table = store.table(name)
        if table.count_rows() == 0:
            continue
        out[vs.table_identity(table)[0]] = table
    return out


def _preference(descriptors: list[str], class_name: str | None) -> list[str]:
    clip = sorted(d for d in descriptors if d.startswith("openclip:"))
    reid = [REID] if REID in descriptors and class_name in (None, "person") else []
    colour = [COLOUR] if COLOUR in descriptors else []
    return clip + reid + colour


def _hits(store: Store, raw: list[vs.VectorHit]) -> list[SimilarHit]:
    if not raw:
        return []
    ids = ", ".join(sql_str(h.item_id) for h in raw)
    # times from the tube row: the vector table's start_utc is the time of a sampled crop, not the tube's start
    recs = {r["tube_id"]: r for r in store.tubes_arrow(f"tube_id IN ({ids})", columns=[
        "tube_id", "start_utc", "end_utc", "thumb_path", "source_id"]).to_pylist()}
    paths = {s.source_id: s.path for s in store.sources()}
    out = []
    for h in raw:
        r = recs.get(h.item_id)
        if r is None:
            continue  # vector of a tube purged meanwhile
        out.append(SimilarHit(tube_id=h.item_id, camera=h.camera, start_utc=r["start_utc"].astimezone(UTC),
                              end_utc=r["end_utc"].astimezone(UTC), class_name=h.class_name,
                              score=round(h.score, 6), descriptor=h.descriptor,
                              thumb_path=store.file_ref(r["thumb_path"]),
                              source_path=paths.get(r["source_id"], "")))
    return out


_ID_LIST_MAX = 20_000  # tubes in a time scope listed by id in the vector pre-filter; beyond, see `_Scoped`


@dataclass(frozen=True)
class _Scoped:
    """The vector pre-filter of a scope, and for a scope too large to list by id, the tube ids to keep after."""

    where: str | None
    keep: frozenset[str] | None = None


def _scoped(store: Store, scope: Scope) -> _Scoped:
    """Camera, and the same time rule as `search`: the tube's [start, end] overlaps [from, to]. A vector row
    holds the time of its sampled crop, not the tube's span, so a time scope is resolved on the tubes table and
    passed as the tube ids it keeps. Past `_ID_LIST_MAX` ids the pre-filter is the crop time widened by the
    longest tube in scope (a crop lies inside its tube, so no overlapping tube is left out) and the ids are
    kept after the search (`_search`)."""
    base = vs.build_where(cameras=scope.cameras, kind="tube")
    if scope.time_from is None and scope.time_to is None:
        return _Scoped(base)
    conds = scope_sql(scope.cameras, scope.time_from, scope.time_to)
    t = store.tubes_arrow(" AND ".join(conds), columns=["tube_id", "start_utc", "end_utc"])
    ids = t.column("tube_id").to_pylist()
    if len(ids) > _ID_LIST_MAX:
        longest = max((e - s for s, e in zip(t.column("start_utc").to_pylist(), t.column("end_utc").to_pylist())),
                      default=dt.timedelta(0)) + dt.timedelta(seconds=1)  # margin: the crop-time bound is strict
        wide = vs.build_where(cameras=scope.cameras, kind="tube",
                              start_utc=scope.time_from - longest if scope.time_from else None,
                              end_utc=scope.time_to + longest if scope.time_to else None)
        return _Scoped(wide, frozenset(ids))
    listed = f"item_id IN ({', '.join(sql_str(i) for i in ids)})" if ids else "item_id IS NULL"
    return _Scoped(f"{base} AND {listed}" if base else listed)


def _search(table, vector, scoped: _Scoped, limit: int, **kw: object) -> list[vs.VectorHit]:  # noqa: ANN001
    """`vs.search` within a scope; where the scope keeps ids after the search, asks for more neighbours until
    `limit` of them are kept or the pre-filtered rows run out (same order: score, then id)."""
    if scoped.keep is None:
        return vs.search(table, vector, where=scoped.where, limit=limit, **kw)  # type: ignore[arg-type]
    k = limit
    while True:
        k *= 4
        raw = vs.search(table, vector, where=scoped.where, limit=k, **kw)  # type: ignore[arg-type]
        kept = [h for h in raw if h.item_id in scoped.keep]
        if len(kept) >= limit or len(raw) < k:
            return kept[:limit]


def like_tube(store: Store, tube_id: str, scope: Scope) -> list[SimilarHit]:
    rec = store.tube_record(tube_id)
    if rec is None:
        raise QueryError(f"--tube {tube_id}: no such tube in {store.uri}; list them with `vsearch tubes`")
    tables = _tables(store)
    for descriptor in _preference(list(tables), rec["class_name"]):
        table = tables[descriptor]
        try:
            vec = vs.get_vector(table, tube_id)
        except QueryError:
            continue  # this descriptor did not embed that tube (e.g. re-id: persons only)
        _, sha = vs.table_identity(table)
        raw = _search(table, vec, _scoped(store, scope), scope.limit, descriptor=descriptor, weights_sha256=sha,
                      exclude_item=tube_id)
        return _hits(store, raw)
    raise ModelError(f"--tube {tube_id}: no appearance vector stored for it; re-index its footage")


def like_image(store: Store, image: Path, scope: Scope, config: EmbedConfig) -> list[SimilarHit]:
    img = cv2.imread(str(image))
    if img is None:
        raise QueryError(f"--image {image}: not a readable image file (JPEG, PNG…)")
    tables = _tables(store)
    if config.clip_model:
        embedder = next(e for e in make_embedders(config) if e.name.startswith("openclip:"))
        table = tables.get(embedder.name)
        if table is None:
            have = ", ".join(sorted(tables)) or "none"
            raise ModelError(f"this store holds no {embedder.name} vectors (it was indexed with: {have}); "
                             "re-index with --clip-model/--clip-weights or search without them")
    else:
        embedder = ColourDescriptor()
        table = tables.get(embedder.name)
        if table is None:
            raise ModelError(f"this store holds no {embedder.name} vectors; re-index its footage")
    # vs.search checks the table was built by this exact model (name + weights SHA-256)
    raw = _search(table, pool(embedder.embed([img])), _scoped(store, scope), scope.limit, descriptor=embedder.name,
                  weights_sha256=embedder.weights_sha256)
    return _hits(store, raw)


LIKE_POOL = 500  # nearest tubes considered when --like is combined with other search terms


def like_scores(store: Store, like: str, config: EmbedConfig, scope: Scope) -> dict[str, object]:
    """tube_id -> TermScore for `search --like FILE|tube:ID`: the appearance term of the ranking."""
    from vsearch.query.engine import TermScore

    wide = Scope(cameras=scope.cameras, time_from=scope.time_from, time_to=scope.time_to, limit=LIKE_POOL)
    if like.startswith("tube:"):
        hits = like_tube(store, like.removeprefix("tube:"), wide)
    else:
        hits = like_image(store, Path(like), wide, config)
    return {h.tube_id: TermScore("like", max(0.0, h.score), f"{h.descriptor} similarity to {like}") for h in hits}


def text_scores(store: Store, text: str, config: EmbedConfig, scope: Scope) -> dict[str, object]:
    """tube_id -> TermScore: CLIP similarity of the words the parser could not map (and the phrase) to each tube.
    Only with CLIP weights configured; the store must hold vectors of that exact model."""
    from vsearch.query.engine import TermScore

    embedder = next(e for e in make_embedders(config) if e.name.startswith("openclip:"))
    table = _tables(store).get(embedder.name)
    if table is None:
        raise ModelError(f"this store holds no {embedder.name} vectors; re-index with --clip-model/--clip-weights "
                         "or search without them")
    wide = Scope(cameras=scope.cameras, time_from=scope.time_from, time_to=scope.time_to, limit=LIKE_POOL)
    raw = _search(table, embedder.embed_text(text), _scoped(store, wide), wide.limit, descriptor=embedder.name,
                  weights_sha256=embedder.weights_sha256)
    return {h.item_id: TermScore("clip-text", max(0.0, h.score), f"{embedder.name} similarity to {text!r}")
            for h in raw}


def merge_scores(*parts: dict[str, object] | None) -> dict[str, object] | None:
    """Tubes present in every given part, with one combined term (mean score, details joined)."""
    from vsearch.query.engine import TermScore

    given = [p for p in parts if p is not None]
    if not given:
        return None
    if len(given) == 1:
        return given[0]
    common = set(given[0]).intersection(*given[1:])
    return {tid: TermScore("+".join(p[tid].term for p in given), sum(p[tid].score for p in given) / len(given),
                           "; ".join(p[tid].detail for p in given)) for tid in common}
