"""Running a structured query against the store: filter, score with reasons, rank, and report coverage.

Hard constraints (class, camera, time window, direction, colour presence, dwell, speed, stationary) narrow the
candidates, pushed down to LanceDB as a pre-filter (served by the scalar indices of
`Store.ensure_scalar_indices`); soft terms (colour fractions, carried items, appearance similarity) score what
remains. Only the columns a query needs are read (tube paths only for zone queries), filtering and scoring of
the candidates is vectorised (pyarrow / numpy), and hits with their explanations are built only for the ranks
returned. Every hit carries its per-term scores, so the ranking can be explained, and every search returns a
coverage report: what footage was searched and what was not.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

import numpy as np

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from vsearch.query.spec import ITEM_ATTRIBUTES, PARTS, QuerySpec
from vsearch.catalogue.store import COLOUR_MIN_FRACTION, SOURCES_SCHEMA, TS as TS_TYPE, SourceRow, Store, record_to_tube, sql_str
from vsearch.query import zones

UTC = dt.timezone.utc
# A colour term matches when it covers at least this share of the object (or garment). It is the threshold the
# store used to list colours in the `colours` / `upper_colours` / `lower_colours` columns, which is what makes
# the colour pre-filter exact.
COLOUR_MIN = COLOUR_MIN_FRACTION
ITEM_MIN = 0.5  # attribute-model probability for a carried item / garment
STATIONARY_MIN_S = 10.0  # "loitering / s'arrête": longest stationary period at least this long


@dataclass(frozen=True)
class TermScore:
    term: str  # e.g. "colour upper=white"
    score: float  # 0..1
    detail: str  # human-readable evidence, e.g. "white covers 64 % of the upper body"


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
        return "; ".join(f"{t.term} {t.score:.2f} ({t.detail})" for t in self.terms) or "matches all filters"

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["start_utc"] = self.start_utc.isoformat()
        d["end_utc"] = self.end_utc.isoformat()
        d["duration_s"] = round(self.duration_s, 3)
        d["why"] = self.why
        return d


@dataclass
class Coverage:
    """What a search looked at, and what it could not look at, so 'no match' can be stated with its limits."""

    cameras_requested: list[str]
    cameras_indexed: list[str]
    cameras_missing: list[str]  # requested but never indexed
    window_from: str | None
    window_to: str | None
    searched: list[dict[str, object]]  # sources overlapping the window, fully or partially readable
    not_searched: list[dict[str, object]]  # failed files (unreadable) that could be in the window
    gaps: list[dict[str, object]]  # unreadable spans inside searched sources, in wall-clock time
    uncovered: list[dict[str, object]]  # parts of the window, per camera, with no indexed footage at all
    descriptors: list[str]  # detector / descriptor / model used for the searched footage
    footage_searched_s: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class QueryResult:
    spec: QuerySpec
    hits: list[Hit]
    coverage: Coverage
    candidates: int  # tubes that passed the pre-filter

    def to_dict(self) -> dict[str, object]:
        return {"query": self.spec.to_dict(), "hits": [h.to_dict() for h in self.hits],
                "coverage": self.coverage.to_dict(), "candidates": self.candidates}


_PART_COLUMN = {"any": "colours", "upper": "upper_colours", "lower": "lower_colours"}
_HIT_COLUMNS = ["tube_id", "source_id", "camera", "class_name", "class_source", "start_utc", "end_utc",
                "first_pts_s", "last_pts_s", "colours", "upper_colours", "lower_colours", "direction8",
                "stationary_max_s", "thumb_path"]
_DAY_US = 86_400_000_000


def _prefilter(spec: QuerySpec) -> str | None:
    """The SQL filter of the hard constraints shared with counting (camera, class, time bounds, dwell, stationary)."""
    conds = []
    if spec.cameras:
        conds.append("camera IN (" + ", ".join(sql_str(c) for c in spec.cameras) + ")")
    if spec.classes:
        conds.append("class_name IN (" + ", ".join(sql_str(c) for c in sorted(spec.classes)) + ")")
    if spec.time_to is not None:
        conds.append(f"start_utc <= timestamp '{spec.time_to.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'")
    if spec.time_from is not None:
        conds.append(f"end_utc >= timestamp '{spec.time_from.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'")
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
    """The full pre-filter of a search: `_prefilter` plus direction, colour presence per part (colours on one
    part are alternatives) and speed bounds in frame widths per second. Exact, not an approximation: the
    Python checks after it would keep every row it keeps."""
    conds = [c for c in (_prefilter(spec),) if c]
    if spec.direction:
        conds.append(f"{_direction_column(spec.direction)} = {sql_str(spec.direction)}")
    for part in PARTS:
        names = sorted({c.name for c in spec.colours if c.part == part})
        if names:
            conds.append(f"array_has_any({_PART_COLUMN[part]}, [{', '.join(sql_str(n) for n in names)}])")
    if spec.min_speed is not None and spec.min_speed.unit == "fw/s":
        conds.append(f"speed_mean_fw_s >= {float(spec.min_speed.value)}")
    if spec.max_speed is not None and spec.max_speed.unit == "fw/s":
        conds.append(f"speed_mean_fw_s <= {float(spec.max_speed.value)}")
    return " AND ".join(conds) if conds else None


def _columns(spec: QuerySpec) -> list[str]:
    """Columns read for every candidate: what filtering and ranking need (the rest is read for hits only)."""
    cols = ["tube_id", "start_utc"]
    if spec.time_of_day_from is not None or spec.time_of_day_to is not None:
        cols.append("end_utc")
    if spec.min_speed is not None or spec.max_speed is not None:
        cols += ["source_id", "speed_mean_fw_s"]
    if spec.colours or spec.items:
        cols.append("attributes_json")
    if spec.zones:
        cols += ["source_id", "n_samples", "pts_s", "boxes_xyxy"]
    return list(dict.fromkeys(cols))


def _colour_terms(spec: QuerySpec, attrs: dict[str, object]) -> list[TermScore] | None:
    """Colours on the same part are alternatives (best one counts); different parts must all match."""
    out = []
    for part in PARTS:
        wanted = [c for c in spec.colours if c.part == part]
        if not wanted:
            continue
        fractions: dict[str, float] = attrs.get(_PART_COLUMN[part]) or {}
        if not fractions:
            return None  # e.g. no upper/lower split: not a person
        best = max(wanted, key=lambda c: (float(fractions.get(c.name, 0.0)), c.name))
        frac = float(fractions.get(best.name, 0.0))
        if frac < COLOUR_MIN:
            return None
        where = "object" if part == "any" else f"{part} body"
        shade = f" (shade '{best.shade}' not checked: palette colours only)" if best.shade else ""
        label = "colour" if part == "any" else f"colour {part}"
        out.append(TermScore(f"{label}={best.name}", frac,
                             f"{best.name} covers {frac:.0%} of the {where}{shade}"))
    return out


def _item_terms(spec: QuerySpec, attrs: dict[str, object]) -> list[TermScore] | None:
    models: dict[str, object] = attrs.get("models") or {}
    out = []
    for item in sorted(spec.items):
        key = ITEM_ATTRIBUTES[item]
        p = models.get(key)
        if p is None or float(p) < ITEM_MIN:
            return None
        out.append(TermScore(f"item={item}", float(p), f"attribute model: {key} p={float(p):.2f}"))
    return out


_ZONE_DETAIL = {"entered": "entered the zone", "crossed": "crossed the line"}


def _zone_terms(spec: QuerySpec, rec: dict[str, object], src: SourceRow | None) -> list[TermScore] | None:
    if not spec.zones:
        return []
    if src is None or not src.analysis_width_px:
        return None
    n = int(rec["n_samples"])
    boxes = np.asarray(rec["boxes_xyxy"], np.float32).reshape(n, 4)
    pts = zones.ground_points(boxes, src.analysis_width_px, src.analysis_height_px)
    times = np.asarray(rec["pts_s"], np.float64)
    out = []
    for z in spec.zones:
        shape = z.shape.normalised_for(src.width_px, src.height_px)
        if not zones.zone_test(z.mode, shape, times, pts, z.min_s):
            return None
        detail = _ZONE_DETAIL.get(z.mode) or f"stayed ≥ {z.min_s:g} s in the zone"
        out.append(TermScore(f"zone {z.mode}", 1.0, detail))
    return out


def _hard_terms(spec: QuerySpec, rec: dict[str, object]) -> list[TermScore]:
    hard = []
    if spec.classes:
        hard.append(TermScore(f"class={rec['class_name']}", 1.0, f"class from {rec['class_source']}"))
    if spec.direction:
        hard.append(TermScore(f"direction={spec.direction}", 1.0, f"moving {rec['direction8']}"))
    if spec.stationary:
        hard.append(TermScore("stationary", 1.0, f"stationary {rec['stationary_max_s']:.0f} s"))
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


def _parsed_attributes(spec: QuerySpec, table: pa.Table) -> pa.Table | None:
    """The colour fractions and item probabilities of every row, parsed from `attributes_json` in C++."""
    if not (spec.colours or spec.items) or table.num_rows == 0:
        return None
    fields = []
    for part in PARTS:
        names = sorted({c.name for c in spec.colours if c.part == part})
        if names:
            fields.append(pa.field(_PART_COLUMN[part], pa.struct([pa.field(c, pa.float64()) for c in names])))
    if spec.items:
        keys = sorted({ITEM_ATTRIBUTES[i] for i in spec.items})
        fields.append(pa.field("models", pa.struct([pa.field(k, pa.float64()) for k in keys])))
    col = pc.fill_null(table.column("attributes_json").combine_chunks(), "{}")
    col = pc.if_else(pc.equal(col, ""), "{}", col)
    offsets = pa.array([0, len(col)], pa.int32())
    text = pc.binary_join(pa.ListArray.from_arrays(offsets, col), "\n")[0].as_buffer()
    opts = pa_json.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore",
                                newlines_in_values=False)
    block = max(1 << 20, min(len(text) + 1, 1 << 26))
    return pa_json.read_json(pa.BufferReader(text), read_options=pa_json.ReadOptions(block_size=block),
                             parse_options=opts)


def _struct_field(parsed: pa.Table, column: str, name: str) -> np.ndarray:
    arr = pc.struct_field(parsed.column(column).combine_chunks(), name)
    return pc.fill_null(arr, 0.0).to_numpy(zero_copy_only=False).astype(np.float64)


def _soft_scores(spec: QuerySpec, parsed: pa.Table | None, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(rows passing the colour / item thresholds, per-term score arrays in the order terms are listed)."""
    ok = np.ones(n, bool)
    scores: list[np.ndarray] = []
    if parsed is None:
        return ok, scores
    for part in PARTS:
        names = sorted({c.name for c in spec.colours if c.part == part})
        if names:
            best = np.max(np.stack([_struct_field(parsed, _PART_COLUMN[part], c) for c in names]), axis=0)
            ok &= best >= COLOUR_MIN
            scores.append(best)
    for item in sorted(spec.items):
        p = _struct_field(parsed, "models", ITEM_ATTRIBUTES[item])
        present = pc.is_valid(pc.struct_field(parsed.column("models").combine_chunks(), ITEM_ATTRIBUTES[item]))
        ok &= present.to_numpy(zero_copy_only=False) & (p >= ITEM_MIN)
        scores.append(p)
    return ok, scores


class _SourceIndex:
    """Source rows needed by a search, loaded on demand: full rows for hits and zone tests, and the widths of
    all sources (as arrays, no Python object per source) only for speed bounds in pixels per second."""

    def __init__(self) -> None:
        self.rows: dict[str, SourceRow] = {}
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
        """Load the full rows of these sources (one query) for hits and zone tests."""
        missing = sorted(source_ids - set(self.rows))
        for lo in range(0, len(missing), 500):
            ids = ", ".join(sql_str(i) for i in missing[lo:lo + 500])
            self.rows.update((r.source_id, r) for r in store.sources(f"source_id IN ({ids})"))

    def row(self, source_id: str) -> SourceRow | None:
        return self.rows.get(source_id)


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


def _rank(table: pa.Table, score: np.ndarray, limit: int | None) -> list[int]:
    """Row positions in rank order: score descending, then start time, then tube id (deterministic)."""
    if table.num_rows == 0:
        return []
    keyed = pa.table({"score": score, "start_utc": table.column("start_utc"), "tube_id": table.column("tube_id")})
    keys = [("score", "descending"), ("start_utc", "ascending"), ("tube_id", "ascending")]
    if limit is not None and limit < table.num_rows:
        order = pc.select_k_unstable(keyed, k=limit, sort_keys=keys)
    else:
        order = pc.sort_indices(keyed, sort_keys=keys)
    return order.to_pylist()


def run_query(store: Store, spec: QuerySpec, *, similar: dict[str, TermScore] | None = None) -> QueryResult:
    """Evaluate `spec`. `similar` (tube_id → appearance score) comes from the vector search for --like/CLIP."""
    sources = _SourceIndex()
    table = store.tubes_arrow(search_filter(spec), columns=_columns(spec))
    candidates = table.num_rows
    if similar is not None:
        table = table.filter(pc.is_in(table.column("tube_id"), value_set=pa.array(sorted(similar), pa.string())))
    keep = _time_of_day_mask(spec, table) & _speed_mask(store, spec, table, sources)
    ok, soft = _soft_scores(spec, _parsed_attributes(spec, table), table.num_rows)
    keep &= ok
    if spec.zones:
        keep = _zone_mask(store, spec, table, keep, sources)
    table = table.filter(pa.array(keep))
    soft = [s[keep] for s in soft]
    if similar is not None:
        ids = table.column("tube_id").to_pylist()
        soft.append(np.array([similar[i].score for i in ids], np.float64))
    n_hard = int(bool(spec.classes)) + int(bool(spec.direction)) + int(spec.stationary) + len(spec.zones)
    n_terms = n_hard + len(soft)
    total = np.full(table.num_rows, float(n_hard))
    for s in soft:
        total = total + s
    score = np.round(total / n_terms, 4) if n_terms else np.ones(table.num_rows)
    order = _rank(table, score, spec.limit)
    rows = _hit_rows(store, spec, table.column("tube_id").take(pa.array(order, pa.int64())).to_pylist())
    sources.fetch(store, {r["source_id"] for r in rows})
    hits = [_hit(store, spec, rec, float(score[i]), sources, similar) for i, rec in zip(order, rows)]
    return QueryResult(spec, hits, _coverage_for(store, spec), candidates)


def _hit_rows(store: Store, spec: QuerySpec, tube_ids: list[str]) -> list[dict[str, object]]:
    """Full hit columns of the ranked tubes, in rank order (read by tube id, only for the ranks returned)."""
    cols = _HIT_COLUMNS + (["attributes_json"] if spec.colours or spec.items else [])
    by_id: dict[str, dict[str, object]] = {}
    for lo in range(0, len(tube_ids), 500):
        ids = ", ".join(sql_str(i) for i in tube_ids[lo:lo + 500])
        by_id.update((r["tube_id"], r) for r in store.tubes_arrow(f"tube_id IN ({ids})", columns=cols).to_pylist())
    return [by_id[i] for i in tube_ids]


def _zone_mask(store: Store, spec: QuerySpec, table: pa.Table, keep: np.ndarray, sources: _SourceIndex) -> np.ndarray:
    """Zone tests need each candidate's path: run only on rows that passed every other test."""
    keep = keep.copy()
    rows = np.flatnonzero(keep)
    recs = table.select(["source_id", "n_samples", "pts_s", "boxes_xyxy"]).take(pa.array(rows, pa.int64())).to_pylist()
    sources.fetch(store, {r["source_id"] for r in recs})
    for i, rec in zip(rows, recs):
        keep[i] = _zone_terms(spec, rec, sources.row(rec["source_id"])) is not None
    return keep


def _hit(store: Store, spec: QuerySpec, rec: dict[str, object], score: float, sources: _SourceIndex,
         similar: dict[str, TermScore] | None) -> Hit:
    src = sources.row(rec["source_id"])
    attrs = json.loads(rec.get("attributes_json") or "{}") if "attributes_json" in rec else {}
    terms = _hard_terms(spec, rec)
    terms += _colour_terms(spec, attrs) or []
    terms += _item_terms(spec, attrs) or []
    terms += [TermScore(f"zone {z.mode}", 1.0, _ZONE_DETAIL.get(z.mode) or f"stayed ≥ {z.min_s:g} s in the zone")
              for z in spec.zones]
    if similar is not None:
        terms.append(similar[rec["tube_id"]])
    start, end = rec["start_utc"].astimezone(UTC), rec["end_utc"].astimezone(UTC)
    return Hit(
        tube_id=rec["tube_id"], camera=rec["camera"], source_id=rec["source_id"],
        source_path=src.path if src else "", start_utc=start, end_utc=end,
        first_pts_s=rec["first_pts_s"], last_pts_s=rec["last_pts_s"], class_name=rec["class_name"],
        colours=list(rec["colours"] or []), upper_colours=list(rec["upper_colours"] or []),
        lower_colours=list(rec["lower_colours"] or []), direction=rec["direction8"],
        thumb_path=store.file_ref(rec["thumb_path"]),
        score=round(score, 4), terms=terms,
    )


_COVERAGE_COLUMNS = ["path", "camera", "sha256", "status", "start_utc", "end_utc", "duration_s", "gaps_json",
                     "start_pts_s", "error", "detector"]


def _coverage_for(store: Store, spec: QuerySpec) -> Coverage:
    """Coverage from the sources in scope only (camera / time pushed down), plus the list of indexed cameras."""
    t = store.table("sources").search().select(["camera", "status"]).limit(None).to_arrow()
    readable = pc.is_in(t.column("status"), value_set=pa.array(["ok", "partial"]))
    indexed = sorted(c for c in pc.unique(t.filter(readable).column("camera")).to_pylist() if c)
    conds = []
    if spec.cameras:
        conds.append("camera IN (" + ", ".join(sql_str(c) for c in spec.cameras) + ")")
    window = []
    if spec.time_to is not None:
        window.append(f"start_utc <= timestamp '{spec.time_to.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'")
    if spec.time_from is not None:
        lo = spec.time_from.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')
        window.append(f"(end_utc >= timestamp '{lo}' OR (end_utc IS NULL AND start_utc >= timestamp '{lo}'))")
    if window:
        conds.append("(start_utc IS NULL OR (" + " AND ".join(window) + "))")
    q = store.table("sources").search()
    if conds:
        q = q.where(" AND ".join(conds))
    scoped = q.select(_COVERAGE_COLUMNS).limit(None).to_arrow()
    return _coverage_table(spec, scoped, indexed)


def coverage(store: Store, spec: QuerySpec, sources: list[SourceRow], *,
             indexed_cameras: list[str] | None = None) -> Coverage:
    """What was searched for `spec` among `sources` (all sources, or a superset of those in scope together with
    `indexed_cameras`, the cameras with readable footage anywhere in the store)."""
    indexed = indexed_cameras if indexed_cameras is not None else sorted(
        {s.camera for s in sources if s.camera and s.status in ("ok", "partial")})
    table = pa.Table.from_pylist([{k: getattr(s, k) for k in _COVERAGE_COLUMNS} for s in sources],
                                 schema=pa.schema([SOURCES_SCHEMA.field(k) for k in _COVERAGE_COLUMNS]))
    return _coverage_table(spec, table, indexed)


def _iso(col: pa.ChunkedArray | pa.Array) -> list[str | None]:
    """`datetime.isoformat()` of UTC timestamps, vectorised (microseconds only when not zero)."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    base = pc.strftime(col.cast(pa.timestamp("s", tz="UTC"), safe=False), format="%Y-%m-%dT%H:%M:%S")
    us = pc.add(pc.multiply(pc.millisecond(col), 1000), pc.microsecond(col))
    frac = pc.if_else(pc.equal(us, 0), "", pc.binary_join_element_wise(
        ".", pc.utf8_lpad(pc.cast(us, pa.string()), width=6, padding="0"), ""))
    return pc.binary_join_element_wise(base, frac, "+00:00", "").to_pylist()


def _coverage_table(spec: QuerySpec, table: pa.Table, indexed: list[str]) -> Coverage:
    requested = list(spec.cameras) if spec.cameras else indexed
    lo, hi = spec.time_from, spec.time_to
    cam = table.column("camera")
    start, end = table.column("start_utc"), pc.coalesce(table.column("end_utc"), table.column("start_utc"))
    scope = pc.is_valid(start) if table.num_rows else pa.array([], pa.bool_())
    if hi is not None:
        scope = pc.and_kleene(scope, pc.less_equal(start, pa.scalar(hi.astimezone(UTC), TS_TYPE)))
    if lo is not None:
        scope = pc.and_kleene(scope, pc.greater_equal(end, pa.scalar(lo.astimezone(UTC), TS_TYPE)))
    scope = pc.or_(pc.is_null(start), pc.fill_null(scope, False))
    if spec.cameras:
        scope = pc.and_(scope, pc.fill_null(pc.is_in(cam, value_set=pa.array(requested, pa.string())), False))
    t = table.filter(scope)
    t = t.take(pc.sort_indices(t, sort_keys=[("camera", "ascending", "at_start"),
                                             ("start_utc", "ascending", "at_start"), ("path", "ascending", "at_start")]))
    ok = pc.fill_null(pc.is_in(t.column("status"), value_set=pa.array(["ok", "partial"])), False)
    entries = pa.table({"path": t.column("path"), "camera": t.column("camera"), "sha256": t.column("sha256"),
                        "status": t.column("status"), "start_utc": _iso(t.column("start_utc")),
                        "end_utc": _iso(t.column("end_utc"))}).to_pylist()
    ok_list = ok.to_pylist()
    searched = [e for e, good in zip(entries, ok_list) if good]
    not_searched = [{**e, "reason": err or e["status"]}
                    for e, good, err in zip(entries, ok_list, t.column("error").to_pylist()) if not good]
    good_t = t.filter(ok)
    footage = float(pc.sum(pc.fill_null(good_t.column("duration_s"), 0.0)).as_py() or 0.0)
    gaps = _gaps(good_t, lo, hi)
    detectors = t.filter(pc.fill_null(pc.not_equal(t.column("status"), "failed"), True)).column("detector")
    descriptors = sorted({d or "no detector recorded" for d in pc.unique(detectors).to_pylist()})
    return Coverage(
        cameras_requested=requested, cameras_indexed=indexed,
        cameras_missing=[c for c in requested if c not in indexed],
        window_from=lo.isoformat() if lo else None, window_to=hi.isoformat() if hi else None,
        searched=searched, not_searched=not_searched, gaps=gaps,
        uncovered=_uncovered(requested, good_t, lo, hi), descriptors=descriptors,
        footage_searched_s=round(footage, 3),
    )


def _gaps(t: pa.Table, lo: dt.datetime | None, hi: dt.datetime | None) -> list[dict[str, object]]:
    """Unreadable spans inside searched sources, in wall-clock time (only rows that have gaps are parsed)."""
    has = pc.fill_null(pc.not_equal(t.column("gaps_json"), "[]"), False)
    out = []
    for r in t.filter(pc.and_(has, pc.is_valid(t.column("start_utc")))).to_pylist():
        start = r["start_utc"].astimezone(UTC)
        for g in json.loads(r["gaps_json"] or "[]"):
            g_start = start + dt.timedelta(seconds=g["start_s"] - (r["start_pts_s"] or 0.0))
            g_end = start + dt.timedelta(seconds=g["end_s"] - (r["start_pts_s"] or 0.0))
            if (hi is None or g_start <= hi) and (lo is None or g_end >= lo):
                out.append({"path": r["path"], "camera": r["camera"], "from_utc": g_start.isoformat(),
                            "to_utc": g_end.isoformat(), "reason": g["reason"]})
    return out


def _uncovered(cameras: list[str], searched: pa.Table, lo: dt.datetime | None,
               hi: dt.datetime | None) -> list[dict[str, object]]:
    """Per camera, the parts of [lo, hi] not covered by any readable source (only for a bounded window)."""
    if lo is None or hi is None:
        return []
    timed = searched.filter(pc.is_valid(searched.column("start_utc")))
    cams = timed.column("camera").to_pylist()
    starts = [s.astimezone(UTC) for s in timed.column("start_utc").to_pylist()]
    ends = [e.astimezone(UTC) if e is not None else s
            for s, e in zip(starts, timed.column("end_utc").to_pylist())]
    out = []
    for cam in cameras:
        spans = sorted((a, b) for c, a, b in zip(cams, starts, ends) if c == cam)
        cursor = lo
        for a, b in spans:
            if a > cursor:
                out.append({"camera": cam, "from_utc": cursor.isoformat(), "to_utc": min(a, hi).isoformat()})
            cursor = max(cursor, b)
            if cursor >= hi:
                break
        if cursor < hi:
            out.append({"camera": cam, "from_utc": cursor.isoformat(), "to_utc": hi.isoformat()})
    return out


def tubes_for(store: Store, hits: list[Hit]):  # -> list[Tube]
    """The full tube records of the hits, in hit order (for synopsis and export)."""
    if not hits:
        return []
    ids = ", ".join(sql_str(h.tube_id) for h in hits)
    by_id = {r["tube_id"]: record_to_tube(r) for r in store.tubes_arrow(f"tube_id IN ({ids})").to_pylist()}
    return [by_id[h.tube_id] for h in hits if h.tube_id in by_id]
