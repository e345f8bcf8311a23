"""The coverage report of a search: which footage was searched, which could not be, and which parts of the
requested window have no footage at all, so that "no match" is always stated with its limits."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass

import pyarrow as pa
import pyarrow.compute as pc

from vsearch.catalogue.store import SOURCES_SCHEMA, TS as TS_TYPE, SourceRow, Store, sql_str
from vsearch.query.spec import QuerySpec

UTC = dt.timezone.utc


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


_COVERAGE_COLUMNS = ["path", "camera", "sha256", "status", "start_utc", "end_utc", "duration_s", "gaps_json",
                     "start_pts_s", "error", "detector"]


def coverage_for(store: Store, spec: QuerySpec) -> Coverage:
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
