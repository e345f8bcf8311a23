"""Running a structured query against the store: filter, score with reasons, rank, and report coverage.

Hard constraints (class, camera, time window, direction, dwell, speed, stationary, zones, colours typed as
options, and every term of a --strict query) narrow the candidates, pushed down to LanceDB as a pre-filter where
SQL can say them (served by the scalar indices of `Store.ensure_scalar_indices`); soft terms
(`vsearch.query.terms`: colours, garments, items, vehicle types, motion, appearance similarity) score what
remains, and rank it: a weakly measured word never empties the list. Only the columns a query needs are read
(the terms' soft-evidence columns, `vsearch.catalogue.soft_columns`; tube paths only for zone queries), filtering and scoring of
the candidates is vectorised (pyarrow / numpy), and hits with their explanations are built only for the ranks
returned. Every hit carries its per-term scores, so the ranking can be explained, and every search returns a
coverage report (`vsearch.query.coverage`): what footage was searched and what was not. Commands call
`vsearch.query.search.execute`, not `run_query`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import ClassVar

import numpy as np

import pyarrow as pa
import pyarrow.compute as pc

from vsearch.catalogue.store import COLOUR_MIN_FRACTION, SourceRow, Store, record_to_tube, sql_str
from vsearch.catalogue.tube_reads import ROW_ID, TubeSnapshot, read_all
from vsearch.query import zones
from vsearch.query.camera_reference import reference_columns, reference_of, reference_parts
from vsearch.query.coverage import Coverage, coverage_for, not_measured
from vsearch.query.spec import QuerySpec
from vsearch.query.term_base import (MATCHED, NEUTRAL, WEIGHT, Candidates, Evidence, Status, Term, evidence_columns,
                                     status)
from vsearch.query.terms import terms_for

UTC = dt.timezone.utc
# A colour term matches when it covers at least this share of the object (or garment). It is the threshold the
# store used to list colours in the `colours` / `upper_colours` / `lower_colours` columns, which is what makes
# the colour pre-filter exact.
COLOUR_MIN = COLOUR_MIN_FRACTION
STATIONARY_MIN_S = 10.0  # "loitering / s'arrête": longest stationary period at least this long


@dataclass(frozen=True)
class TermScore:
    term: str  # e.g. "colour upper=white"
    score: float | None  # 0..1; None when not measurable for this object
    detail: str  # human-readable evidence, e.g. "white covers 64 % of the upper body"
    status: Status = "matched"


@dataclass
class Hit:
    tube_id: str
    camera: str
    source_id: str
    source_path: str
    start_utc: dt.datetime
    end_utc: dt.datetime
    first_pts_s: float
    last_pts_s: float
    class_name: str
    colours: list[str]
    upper_colours: list[str]
    lower_colours: list[str]
    direction: str
    thumb_path: str
    score: float
    terms: list[TermScore] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.last_pts_s - self.first_pts_s

    @property
    def why(self) -> str:
        return "; ".join(f"{t.term} {t.status}" + (f" {t.score:.2f}" if t.score is not None else "") + f" ({t.detail})"
                         for t in self.terms) or "matches all filters"

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["start_utc"] = self.start_utc.isoformat()
        d["end_utc"] = self.end_utc.isoformat()
        d["duration_s"] = round(self.duration_s, 3)
        d["why"] = self.why
        return d


@dataclass
class QueryResult:
    spec: QuerySpec
    hits: list[Hit]
    coverage: Coverage
    candidates: int  # tubes that passed the pre-filter

    def to_dict(self) -> dict[str, object]:
        return {"query": self.spec.to_dict(), "hits": [h.to_dict() for h in self.hits],
                "coverage": self.coverage.to_dict(), "candidates": self.candidates}


_HIT_COLUMNS = ["tube_id", "source_id", "camera", "class_name", "class_source", "start_utc", "end_utc",
                "first_pts_s", "last_pts_s", "colours", "upper_colours", "lower_colours", "direction8",
                "stationary_max_s", "thumb_path"]
_DAY_US = 86_400_000_000


def scope_sql(cameras: tuple[str, ...] | list[str], time_from: dt.datetime | None,
              time_to: dt.datetime | None) -> list[str]:
    """Tubes-table conditions of a scope: these cameras, and a [start, end] that overlaps [from, to]."""
    conds = ["camera IN (" + ", ".join(sql_str(c) for c in cameras) + ")"] if cameras else []
    if time_to is not None:
        conds.append(f"start_utc <= timestamp '{time_to.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'")
    if time_from is not None:
        conds.append(f"end_utc >= timestamp '{time_from.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'")
    return conds


def _prefilter(spec: QuerySpec) -> str | None:
    """The SQL filter of the hard constraints shared with counting (camera, class, time bounds, dwell, stationary)."""
    conds = scope_sql(spec.cameras, spec.time_from, spec.time_to)
    if spec.classes:
        conds.append("class_name IN (" + ", ".join(sql_str(c) for c in sorted(spec.classes)) + ")")
    if spec.min_dwell_s is not None:
        conds.append(f"dwell_s >= {float(spec.min_dwell_s)}")
    if spec.stationary:
        conds.append(f"stationary_max_s >= {STATIONARY_MIN_S}")
    return " AND ".join(conds) if conds else None


def _direction_column(direction: str) -> str:
    if direction in ("left", "right"):
        return "horizontal"
    if direction in ("up", "down"):
        return "vertical"
    return "direction8"


def search_filter(spec: QuerySpec) -> str | None:
    """The full pre-filter of a search: `_prefilter` plus direction, speed bounds in frame widths per second and
    the SQL of every required term (hard colours; every term of a --strict query that has one). Exact, not an
    approximation: the checks after it would keep every row it keeps."""
    conds = [c for c in (_prefilter(spec),) if c]
    if spec.direction:
        conds.append(f"{_direction_column(spec.direction)} = {sql_str(spec.direction)}")
    conds += [sql for t in terms_for(spec) if t.required and (sql := t.sql())]
    if spec.min_speed is not None and spec.min_speed.unit == "fw/s":
        conds.append(f"speed_mean_fw_s >= {float(spec.min_speed.value)}")
    if spec.max_speed is not None and spec.max_speed.unit == "fw/s":
        conds.append(f"speed_mean_fw_s <= {float(spec.max_speed.value)}")
    return " AND ".join(conds) if conds else None


def _columns(spec: QuerySpec, terms: list[Term], *, similar: bool = False) -> list[str]:
    """Columns read for every candidate: what filtering and ranking need (the rest is read for hits only). The
    tube id only breaks ties of score and start time, so the ranking reads it with the hit columns, for the rows
    at the cut (`_rank`); the vector search's per-tube scores need it for every candidate."""
    cols = ["start_utc"] + (["tube_id"] if similar else [])
    if spec.time_of_day_from is not None or spec.time_of_day_to is not None:
        cols.append("end_utc")
    if spec.min_speed is not None or spec.max_speed is not None:
        cols += ["source_id", "speed_mean_fw_s"]
    cols += evidence_columns(terms) + [c for t in terms for c in t.columns()]
    cols += reference_columns(reference_parts(terms))
    if spec.zones:
        cols += ["source_id", "n_samples", "pts_s", "boxes_xyxy"]
    return list(dict.fromkeys(cols))


_ZONE_DETAIL = {"entered": "entered the zone", "crossed": "crossed the line"}


def _zone_ok(spec: QuerySpec, rec: dict[str, object], src: SourceRow | None) -> bool:
    if src is None or not src.analysis_width_px:
        return False
    n = int(rec["n_samples"])
    boxes = np.asarray(rec["boxes_xyxy"], np.float32).reshape(n, 4)
    pts = zones.ground_points(boxes, src.analysis_width_px, src.analysis_height_px)
    times = np.asarray(rec["pts_s"], np.float64)
    return all(zones.zone_test(z.mode, z.shape.normalised_for(src.width_px, src.height_px), times, pts, z.min_s)
               for z in spec.zones)


def _hard_terms(spec: QuerySpec, rec: dict[str, object]) -> list[TermScore]:
    hard = []
    if spec.classes:
        hard.append(TermScore(f"class={rec['class_name']}", 1.0, f"class from {rec['class_source']}"))
    if spec.direction:
        hard.append(TermScore(f"direction={spec.direction}", 1.0, f"moving {rec['direction8']}"))
    if spec.stationary:
        hard.append(TermScore("stationary", 1.0, f"stationary {rec['stationary_max_s']:.0f} s"))
    hard += [TermScore(f"zone {z.mode}", 1.0, _ZONE_DETAIL.get(z.mode) or f"stayed ≥ {z.min_s:g} s in the zone")
             for z in spec.zones]
    return hard


# -- vectorised evaluation of the candidates ------------------------------------------------------------------
def _time_of_day_mask(spec: QuerySpec, table: pa.Table) -> np.ndarray:
    """`spec.overlaps_time` for every row at once, comparing local wall-clock times (see `QuerySpec`)."""
    n = table.num_rows
    if spec.time_of_day_from is None and spec.time_of_day_to is None or n == 0:
        return np.ones(n, bool)
    local_type = pa.timestamp("us", tz=spec.tz)

    def local_us(name: str) -> np.ndarray:
        col = table.column(name).combine_chunks().cast(local_type)
        return pc.local_timestamp(col).cast(pa.int64()).to_numpy(zero_copy_only=False)

    ls, le = local_us("start_utc"), local_us("end_utc")
    t0 = spec.time_of_day_from or dt.time(0, 0)
    t1 = spec.time_of_day_to

    def us_of(t: dt.time) -> int:
        return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond

    w0_off = us_of(t0)
    w1_off = _DAY_US if t1 is None else us_of(t1) + (0 if t1 > t0 else _DAY_US)
    day0 = (ls // _DAY_US) * _DAY_US
    ok = (le - ls) >= _DAY_US
    for k in (-1, 0, 1):
        d = day0 + k * _DAY_US
        ok |= (ls <= d + w1_off) & (le >= d + w0_off)
    return ok


def _ranking_score(terms: list[Term], evidence: list[Evidence], n: int) -> np.ndarray:
    """Weighted mean of the soft scores (a not-measurable term counts NEUTRAL); 1 when nothing is soft."""
    weights = [WEIGHT[t.kind] for t in terms]
    if not sum(weights):
        return np.ones(n)
    total = np.zeros(n)
    for w, e in zip(weights, evidence):
        total += w * np.where(np.isfinite(e.score), e.score, NEUTRAL)
    return np.round(total / sum(weights), 4)


class _SourceIndex:
    """Source rows needed by a search, loaded on demand: full rows for hits and zone tests, and the widths of
    all sources (as arrays, no Python object per source) only for speed bounds in pixels per second."""

    def __init__(self) -> None:
        self.rows: dict[str, SourceRow] = {}
        self._paths: dict[str, str] = {}
        self._ids: pa.Array | None = None
        self._width_px = np.zeros(0)

    def widths(self, store: Store, source_ids: pa.ChunkedArray) -> np.ndarray:
        """Source width of each row, NaN where the source is unknown."""
        if self._ids is None:
            t = store.table("sources").search().select(["source_id", "width_px"]).limit(None).to_arrow()
            self._ids = t.column("source_id").combine_chunks()
            self._width_px = pc.fill_null(t.column("width_px"), 0).to_numpy(zero_copy_only=False).astype(float)
        pos = pc.fill_null(pc.index_in(source_ids, value_set=self._ids), -1).to_numpy(zero_copy_only=False)
        return np.where(pos >= 0, self._width_px[np.maximum(pos, 0)], np.nan)

    def fetch(self, store: Store, source_ids: set[str]) -> None:
        """Load the full rows of these sources (one query) for zone tests."""
        for where in _source_id_in(source_ids - set(self.rows)):
            self.rows.update((r.source_id, r) for r in store.sources(where))

    def fetch_paths(self, store: Store, source_ids: set[str]) -> None:
        """Load the paths of these sources, all a hit shows of its source: two columns, not the full rows (a
        third of the time of `fetch` for the 50 hits of a search)."""
        for where in _source_id_in(source_ids - set(self.rows) - set(self._paths)):
            t = read_all(store.table("sources").search().where(where).select(["source_id", "path"]))
            self._paths.update(zip(t.column("source_id").to_pylist(), t.column("path").to_pylist()))

    def row(self, source_id: str) -> SourceRow | None:
        return self.rows.get(source_id)

    def path(self, source_id: str) -> str:
        """The path of a source loaded by `fetch` or `fetch_paths` ("" for a source the store does not have)."""
        row = self.rows.get(source_id)
        return row.path if row is not None else self._paths.get(source_id, "")


def _source_id_in(source_ids: set[str], per_query: int = 500) -> list[str]:
    """SQL conditions selecting these sources, at most `per_query` ids each (sorted: the same queries each time)."""
    ids = sorted(source_ids)
    return [f"source_id IN ({', '.join(sql_str(i) for i in ids[lo:lo + per_query])})"
            for lo in range(0, len(ids), per_query)]


def _speed_mask(store: Store, spec: QuerySpec, table: pa.Table, sources: _SourceIndex) -> np.ndarray:
    n = table.num_rows
    if spec.min_speed is None and spec.max_speed is None or n == 0:
        return np.ones(n, bool)
    width = sources.widths(store, table.column("source_id"))
    speed = pc.fill_null(table.column("speed_mean_fw_s"), np.nan).to_numpy().astype(np.float64)
    ok = np.isfinite(width) & np.isfinite(speed)
    with np.errstate(divide="ignore", invalid="ignore"):
        if spec.min_speed is not None:
            lo = spec.min_speed.value if spec.min_speed.unit == "fw/s" else spec.min_speed.value / width
            ok &= speed >= lo
        if spec.max_speed is not None:
            hi = spec.max_speed.value if spec.max_speed.unit == "fw/s" else spec.max_speed.value / width
            ok &= speed <= hi
    return ok


_RANK_KEYS = [("score", "descending"), ("start_utc", "ascending"), ("tube_id", "ascending")]


def _rank(snap: TubeSnapshot, table: pa.Table, score: np.ndarray,
          limit: int | None) -> tuple[np.ndarray, list[dict[str, object]]]:
    """Row positions in rank order (score descending, then start time, then tube id: deterministic), with their
    hit columns. The tube id only decides between rows equal in score and start: the first `limit` rows by those
    two are found first, and only the rows tied with the last of them can change places by tube id, so the hit
    columns (tube id included) are read for those rows alone, in one take."""
    n = table.num_rows
    start = table.column("start_utc")
    rows = np.arange(n)
    if limit is not None and limit < n:
        rows = _cut(score, start, limit)
    fetched = snap.take(table.column(ROW_ID).take(pa.array(rows, pa.int64())), _HIT_COLUMNS)
    keyed = pa.table({"score": score[rows], "start_utc": start.take(pa.array(rows, pa.int64())),
                      "tube_id": fetched.column("tube_id")})
    order = pc.sort_indices(keyed, sort_keys=_RANK_KEYS).to_numpy()[:limit]
    return rows[order], fetched.take(pa.array(order, pa.int64())).to_pylist()


def _cut(score: np.ndarray, start: pa.ChunkedArray, limit: int) -> np.ndarray:
    """The rows among the first `limit` by (score descending, start ascending), with every row tied with the
    last of them in both keys: the rows better than that last key, or equal to it. The last key is found by
    two partial sorts (the `limit`-th score, then the start among the rows of that score), linear in the
    candidates. Scores are finite (`_ranking_score`); a missing start sorts last, as Arrow sorts nulls."""
    start_us = pc.fill_null(start.cast(pa.int64()), np.iinfo(np.int64).max).to_numpy()
    kth = np.partition(-score, limit - 1)[limit - 1]
    better, level = score > -kth, score == -kth
    at = limit - int(better.sum())  # how many of the rows at the `limit`-th score are within the first `limit`
    level_start = start_us[level]
    last_start = np.partition(level_start, at - 1)[at - 1]
    return np.flatnonzero(better | (level & (start_us <= last_start)))


def run_query(store: Store, spec: QuerySpec, *, similar: dict[str, TermScore] | None = None) -> QueryResult:
    """Evaluate `spec` (use `vsearch.query.search.execute`, which also computes `similar`: tube_id → appearance
    score from the vector search for --like/CLIP)."""
    sources = _SourceIndex()
    terms = terms_for(spec)
    snap = store.tubes_snapshot()
    table = snap.candidates(search_filter(spec), _columns(spec, terms, similar=similar is not None))
    candidates = table.num_rows
    parts = reference_parts(terms)  # the camera-relative rules' yardstick: every candidate, before --like cuts
    reference = reference_of(table, parts) if parts and table.num_rows else None
    if similar is not None:
        table = table.filter(pc.is_in(table.column("tube_id"), value_set=pa.array(sorted(similar), pa.string())))
    keep = _time_of_day_mask(spec, table) & _speed_mask(store, spec, table, sources)
    cands = Candidates(table, reference)
    evidence = [t.evaluate(cands) for t in terms]
    if similar is not None:
        ids = table.column("tube_id").to_pylist()
        like = np.array([similar[i].score for i in ids], np.float64)
        terms, evidence = terms + [LikeTerm(similar)], evidence + [Evidence(like, like)]
    for t, e in zip(terms, evidence):
        if t.required:
            keep &= np.nan_to_num(e.score, nan=-1.0) >= MATCHED
    if spec.zones:
        keep = _zone_mask(store, spec, table, keep, sources)
    if not keep.all():
        table = table.filter(pa.array(keep))
        evidence = [e.take(keep) for e in evidence]
    score = _ranking_score(terms, evidence, table.num_rows)
    order, rows = _rank(snap, table, score, spec.limit)
    sources.fetch_paths(store, {r["source_id"] for r in rows})
    hits = []
    for i, rec in zip(order, rows):
        explained = [TermScore(t.label, _rounded(e.score[i]),
                               t.explain(e.score[i], e.value[i], e.choice_at(i), e.extra_at(i)), status(e.score[i]))
                     for t, e in zip(terms, evidence)]
        hits.append(_hit(store, spec, rec, float(score[i]), sources, _hard_terms(spec, rec) + explained))
    cov = replace(coverage_for(store, spec), not_measured=not_measured(snap, table, terms, evidence))
    return QueryResult(spec, hits, cov, candidates)


def _rounded(score: float) -> float | None:
    return round(float(score), 4) if np.isfinite(score) else None


@dataclass(frozen=True)
class LikeTerm:
    """Appearance similarity (--like) and/or CLIP text similarity, computed by the vector search."""

    scores: dict[str, TermScore]
    required: bool = False
    kind: str = "like"
    reference: ClassVar[frozenset[str]] = frozenset()

    @property
    def label(self) -> str:
        return next(iter(self.scores.values())).term if self.scores else "like"

    def explain(self, score: float, value: float, choice: int = 0, extra: float = np.nan) -> str:
        return next(iter(self.scores.values())).detail if self.scores else ""


def _zone_mask(store: Store, spec: QuerySpec, table: pa.Table, keep: np.ndarray, sources: _SourceIndex) -> np.ndarray:
    """Zone tests need each candidate's path: run only on rows that passed every other test."""
    keep = keep.copy()
    rows = np.flatnonzero(keep)
    recs = table.select(["source_id", "n_samples", "pts_s", "boxes_xyxy"]).take(pa.array(rows, pa.int64())).to_pylist()
    sources.fetch(store, {r["source_id"] for r in recs})
    for i, rec in zip(rows, recs):
        keep[i] = _zone_ok(spec, rec, sources.row(rec["source_id"]))
    return keep


def _hit(store: Store, spec: QuerySpec, rec: dict[str, object], score: float, sources: _SourceIndex,
         terms: list[TermScore]) -> Hit:
    start, end = rec["start_utc"].astimezone(UTC), rec["end_utc"].astimezone(UTC)
    return Hit(
        tube_id=rec["tube_id"], camera=rec["camera"], source_id=rec["source_id"],
        source_path=sources.path(rec["source_id"]), start_utc=start, end_utc=end,
        first_pts_s=rec["first_pts_s"], last_pts_s=rec["last_pts_s"], class_name=rec["class_name"],
        colours=list(rec["colours"] or []), upper_colours=list(rec["upper_colours"] or []),
        lower_colours=list(rec["lower_colours"] or []), direction=rec["direction8"],
        thumb_path=store.file_ref(rec["thumb_path"]),
        score=round(score, 4), terms=terms,
    )


def tubes_for(store: Store, hits: list[Hit]):  # -> list[Tube]
    """The full tube records of the hits, in hit order (for synopsis and export)."""
    if not hits:
        return []
    ids = ", ".join(sql_str(h.tube_id) for h in hits)
    by_id = {r["tube_id"]: record_to_tube(r) for r in store.tubes_arrow(f"tube_id IN ({ids})").to_pylist()}
    return [by_id[h.tube_id] for h in hits if h.tube_id in by_id]
