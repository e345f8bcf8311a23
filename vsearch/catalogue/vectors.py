"""Vector search over a LanceDB table of embeddings: schema, ANN index upkeep, filtered "more like this".

One table holds the vectors of one descriptor (the vector column has a fixed width). Every row records the
descriptor and weights SHA-256 that made it, and the table's Arrow schema metadata records them once more,
so a query vector made by another model is refused before any search runs (`ModelError`).

Search is cosine over L2-normalised float32 vectors; `score = 1 - cosine distance` (1.0 = identical).
Metadata filters are SQL strings applied as LanceDB *pre*-filters (`where(..., prefilter=True)`): the filter
selects rows first and the k nearest are taken among them, so a selective filter still returns `limit` rows
when that many exist. A filter matching few rows (<= EXACT_FILTER_MAX_ROWS) is answered by an exact scan of
those rows; otherwise the IVF_PQ index is probed and its candidates re-ranked on the raw vectors. Index sizes and probe counts come from `bench/bench_vectors.py` (see docs/embeddings.md).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from vsearch.errors import ModelError, QueryError

META_DESCRIPTOR = b"vsearch.descriptor"
META_WEIGHTS = b"vsearch.weights_sha256"
VECTOR_COLUMN = "vector"
DISTANCE = "cosine"

# Below this many rows a flat (exact) scan is fast enough: ~40 ms at 20 k x 512-d, but 0.6 s at 100 k on the
# shared 2-core bench machine (bench_vectors.py), so the IVF_PQ index starts at 20 k rows.
DEFAULT_INDEX_MIN_ROWS = 20_000
# Probe counts: `nprobes` partitions at least; with a pre-filter LanceDB widens the probe up to
# `maximum_nprobes` until `limit` filtered rows are found; `refine_factor` re-ranks PQ hits exactly.
DEFAULT_NPROBES = 32
DEFAULT_MAX_NPROBES_FILTERED = 256
DEFAULT_REFINE_FACTOR = 10
# A filter matching at most this many rows is answered exactly (index bypassed). At 10 M rows a selective
# filter (1 camera of 100, 3 days of 30: ~10 k rows) through IVF_PQ gave 117 ms p50 / 1.1 s p99, recall@10 0.37;
# the exact scan of those rows gave 146 ms p50 / 162 ms p99, recall@10 1.0 (bench_vectors.py, two runs under
# different load, docs/benchmarks.md). Exact and a bounded tail beat a slightly faster median for evidence.
EXACT_FILTER_MAX_ROWS = 20_000
_TIE_SLACK = 8  # extra rows fetched so the (score, item_id) tie-break is stable at the cut


@dataclass(frozen=True)
class VectorHit:
    item_id: str
    kind: str
    score: float  # 1 - cosine distance
    descriptor: str  # which descriptor ranked this hit
    camera: str
    class_name: str
    start_utc: dt.datetime
    source_id: str


@dataclass(frozen=True)
class IndexPlan:
    num_partitions: int
    num_sub_vectors: int


def vector_schema(dim: int, descriptor: str, weights_sha256: str) -> pa.Schema:
    """Arrow schema of a vector table, with the model identity in its metadata."""
    return pa.schema(
        [
            pa.field("item_id", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("descriptor", pa.string(), nullable=False),
            pa.field("weights_sha256", pa.string(), nullable=False),
            pa.field("camera", pa.string(), nullable=False),
            pa.field("class_name", pa.string(), nullable=False),
            pa.field("start_utc", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("source_id", pa.string(), nullable=False),
            pa.field(VECTOR_COLUMN, pa.list_(pa.float32(), dim), nullable=False),
        ],
        metadata={META_DESCRIPTOR: descriptor.encode(), META_WEIGHTS: weights_sha256.encode()},
    )


def table_name(descriptor: str) -> str:
    """A table name for one descriptor's vectors, e.g. "vectors_colour_hist_v1"."""
    return "vectors_" + "".join(c if c.isalnum() else "_" for c in descriptor.lower())


def vectors_to_arrow(
    vectors: np.ndarray,
    *,
    item_ids: Sequence[str],
    kinds: Sequence[str],
    descriptor: str,
    weights_sha256: str,
    cameras: Sequence[str],
    class_names: Sequence[str],
    start_utc: Sequence[dt.datetime] | np.ndarray,
    source_ids: Sequence[str],
) -> pa.Table:
    """Build rows for `vector_schema`; vectors (N, D) are L2-normalised here (zero rows stay zero)."""
    v = _normalise(np.asarray(vectors, np.float32))
    n, dim = v.shape
    for name, col in (("item_ids", item_ids), ("kinds", kinds), ("cameras", cameras),
                      ("class_names", class_names), ("start_utc", start_utc), ("source_ids", source_ids)):
        if len(col) != n:
            raise ValueError(f"{name} has {len(col)} rows, vectors have {n}")
    schema = vector_schema(dim, descriptor, weights_sha256)
    cols = {
        "item_id": pa.array(item_ids, pa.string()),
        "kind": pa.array(kinds, pa.string()),
        "descriptor": pa.array([descriptor] * n, pa.string()),
        "weights_sha256": pa.array([weights_sha256] * n, pa.string()),
        "camera": pa.array(cameras, pa.string()),
        "class_name": pa.array(class_names, pa.string()),
        "start_utc": pa.array(start_utc, pa.timestamp("us", tz="UTC")),
        "source_id": pa.array(source_ids, pa.string()),
        VECTOR_COLUMN: pa.FixedSizeListArray.from_arrays(pa.array(v.ravel(), pa.float32()), dim),
    }
    return pa.table(cols, schema=schema)


def open_or_create(db, descriptor: str, weights_sha256: str, dim: int):  # noqa: ANN001,ANN201 (lancedb types)
    """Open the descriptor's table, creating it empty if absent; refuses a table made by another model."""
    name = table_name(descriptor)
    try:
        table = db.open_table(name)
    except ValueError as e:  # lancedb: "Table '<name>' was not found"
        if "not found" not in str(e):
            raise
        return db.create_table(name, schema=vector_schema(dim, descriptor, weights_sha256))
    check_identity(table, descriptor, weights_sha256, dim=dim)
    return table


def add_vectors(table, rows: pa.Table) -> None:  # noqa: ANN001
    """Append rows; every row must carry the table's descriptor and weights."""
    descriptor, weights = table_identity(table)
    bad = set(rows.column("descriptor").to_pylist()) - {descriptor}
    bad |= {f"weights {w[:12]}" for w in set(rows.column("weights_sha256").to_pylist()) - {weights}}
    if bad:
        raise ModelError(f"vectors from {sorted(bad)} cannot go into table {table.name!r} "
                         f"of {_describe(descriptor, weights)}; use a separate index for that model")
    table.add(rows)


def table_identity(table) -> tuple[str, str]:  # noqa: ANN001
    """(descriptor, weights_sha256) of the model that built the table."""
    meta = table.schema.metadata or {}
    if META_DESCRIPTOR in meta:
        return meta[META_DESCRIPTOR].decode(), meta.get(META_WEIGHTS, b"").decode()
    first = table.search().select(["descriptor", "weights_sha256"]).limit(1).to_arrow()
    if first.num_rows == 0:
        raise ModelError(f"vector table {table.name!r} records no model identity and is empty; rebuild it")
    return first.column("descriptor")[0].as_py(), first.column("weights_sha256")[0].as_py()


def check_identity(table, descriptor: str, weights_sha256: str, *, dim: int | None = None) -> None:  # noqa: ANN001
    """Raise ModelError (one line, naming both models) unless the table was built by this model."""
    have = table_identity(table)
    if have != (descriptor, weights_sha256):
        raise ModelError(
            f"index {table.name!r} was built with {_describe(*have)} but the query uses "
            f"{_describe(descriptor, weights_sha256)}; search with the same model or re-index with this one")
    width = table.schema.field(VECTOR_COLUMN).type.list_size
    if dim is not None and dim != width:
        raise ModelError(f"index {table.name!r} holds {width}-d vectors but the query vector is {dim}-d "
                         f"({descriptor}); re-index with this model")


def index_plan(n_rows: int, dim: int) -> IndexPlan:
    """IVF_PQ sizing: ~sqrt(N) partitions (>= ~1000 rows each), ~dim/8 sub-vectors (64 B/vector at 512-d)."""
    partitions = int(min(max(round(math.sqrt(n_rows)), 16), max(n_rows // 1000, 16), 8192))
    # sub-vectors must divide dim: the divisor closest to dim/8 (8-d sub-vectors)
    divisors = [s for s in range(1, dim + 1) if dim % s == 0]
    sub = min(divisors, key=lambda s: (abs(s - dim / 8), s))
    return IndexPlan(partitions, sub)


def has_vector_index(table) -> bool:  # noqa: ANN001
    return any(VECTOR_COLUMN in ix.columns for ix in table.list_indices())


def ensure_index(table, *, min_rows: int = DEFAULT_INDEX_MIN_ROWS, scalar: bool = True) -> bool:  # noqa: ANN001
    """Build an IVF_PQ index once the table has `min_rows` rows; returns True when one exists afterwards.

    With `scalar`, also builds BITMAP indexes on camera/kind/class_name and a BTREE on start_utc (pre-filters
    then read an index rather than scanning a column). An existing vector index is kept and only extended with
    new rows (`optimize`); it is rebuilt when the unindexed share exceeds 25 %.
    """
    from lancedb.index import BTree, Bitmap, IvfPq

    n = table.count_rows()
    existing = {c for ix in table.list_indices() for c in ix.columns}
    if scalar and n > 0:
        for col, cfg in (("camera", Bitmap()), ("kind", Bitmap()), ("class_name", Bitmap()), ("start_utc", BTree())):
            if col not in existing:
                table.create_index(col, config=cfg)
    if VECTOR_COLUMN in existing:
        stats = table.index_stats(f"{VECTOR_COLUMN}_idx")
        if stats is not None and stats.num_unindexed_rows > 0.25 * n:
            existing.discard(VECTOR_COLUMN)
        else:
            if stats is not None and stats.num_unindexed_rows:
                table.optimize()
            return True
    if n < min_rows:
        return False
    dim = table.schema.field(VECTOR_COLUMN).type.list_size
    plan = index_plan(n, dim)
    table.create_index(VECTOR_COLUMN, replace=True, config=IvfPq(
        distance_type=DISTANCE, num_partitions=plan.num_partitions, num_sub_vectors=plan.num_sub_vectors))
    return True


def search(
    table,  # noqa: ANN001
    vector: np.ndarray,
    *,
    descriptor: str,
    weights_sha256: str,
    where: str | None = None,
    limit: int = 20,
    exclude_item: str | None = None,
    nprobes: int = DEFAULT_NPROBES,
    refine_factor: int = DEFAULT_REFINE_FACTOR,
) -> list[VectorHit]:
    """The `limit` rows most similar to `vector`, among rows matching `where` (pre-filter).

    Ordered by score descending, then item_id ascending (deterministic). Raises ModelError when the query's
    descriptor/weights are not the table's, QueryError on a bad vector or limit.
    """
    q = np.asarray(vector, np.float32).ravel()
    if limit < 1:
        raise QueryError(f"limit must be >= 1, got {limit}")
    check_identity(table, descriptor, weights_sha256, dim=q.size)
    if not np.all(np.isfinite(q)) or not np.any(q):
        raise QueryError(f"query vector ({descriptor}) is zero or not finite; it cannot rank anything")
    q = q / np.linalg.norm(q)
    clauses = [c for c in (where, None if exclude_item is None else f"item_id != {quote(exclude_item)}") if c]
    query = table.search(q, vector_column_name=VECTOR_COLUMN).distance_type(DISTANCE).limit(limit + _TIE_SLACK)
    flt = " AND ".join(f"({c})" for c in clauses) if clauses else None
    if has_vector_index(table):
        if flt is not None and table.count_rows(flt) <= EXACT_FILTER_MAX_ROWS:
            query = query.bypass_vector_index()
        else:
            query = query.nprobes(nprobes).refine_factor(refine_factor)
            if flt is not None:
                query = query.maximum_nprobes(max(nprobes, DEFAULT_MAX_NPROBES_FILTERED))
    if flt is not None:
        query = query.where(flt, prefilter=True)
    cols = ["item_id", "kind", "descriptor", "camera", "class_name", "start_utc", "source_id"]
    rows = query.select([*cols, "_distance"]).to_arrow().to_pylist()
    rows.sort(key=lambda r: (-round(1.0 - r["_distance"], 6), r["item_id"]))
    return [
        VectorHit(item_id=r["item_id"], kind=r["kind"], score=float(1.0 - r["_distance"]),
                  descriptor=r["descriptor"], camera=r["camera"], class_name=r["class_name"],
                  start_utc=r["start_utc"], source_id=r["source_id"])
        for r in rows[:limit]
    ]


def get_vector(table, item_id: str) -> np.ndarray:  # noqa: ANN001
    """The stored vector of one item (for "more like this" from a tube or scene)."""
    res = table.search().where(f"item_id = {quote(item_id)}").select([VECTOR_COLUMN]).limit(1).to_arrow()
    if res.num_rows == 0:
        raise QueryError(f"no vector stored for {item_id!r} in {table.name!r}; was it indexed with this model?")
    return np.asarray(res.column(VECTOR_COLUMN)[0].values, np.float32)


def build_where(
    *,
    cameras: Sequence[str] = (),
    kind: str | None = None,
    class_names: Sequence[str] = (),
    start_utc: dt.datetime | None = None,
    end_utc: dt.datetime | None = None,
) -> str | None:
    """A pre-filter SQL string from typed values (quoted safely); None when nothing is filtered."""
    clauses: list[str] = []
    if cameras:
        clauses.append(f"camera IN ({', '.join(quote(c) for c in cameras)})")
    if kind is not None:
        clauses.append(f"kind = {quote(kind)}")
    if class_names:
        clauses.append(f"class_name IN ({', '.join(quote(c) for c in class_names)})")
    for op, t in ((">=", start_utc), ("<", end_utc)):
        if t is not None:
            if t.tzinfo is None:
                raise QueryError(f"time bound {t.isoformat()} has no time zone; give UTC or an offset")
            utc = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
            clauses.append(f"start_utc {op} timestamp '{utc.isoformat(sep=' ')}'")
    return " AND ".join(clauses) or None


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _normalise(v: np.ndarray) -> np.ndarray:
    if v.ndim != 2:
        raise ValueError(f"vectors must be (N, D), got shape {v.shape}")
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


def _describe(descriptor: str, weights: str) -> str:
    return f"{descriptor!r} (weights sha256 {weights[:12]})" if weights else f"{descriptor!r} (weight-free)"
