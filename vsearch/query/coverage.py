"""The coverage report of a search: which footage was searched, which could not be, and which parts of the
requested window have no footage at all, so that "no match" is always stated with its limits."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vsearch.catalogue.store import SOURCES_SCHEMA, TS as TS_TYPE, SourceRow, Store, sql_str
from vsearch.catalogue.tube_reads import ROW_ID, TubeSnapshot, read_all
from vsearch.query.spec import QuerySpec
from vsearch.query.term_base import NOT_MEASURED_WHY, Evidence, Term

UTC = dt.timezone.utc


class FileEntries(Sequence[dict[str, object]]):
    """The per-file entries of a coverage report (path, camera, sha256, status, start/end as ISO text, and the
    reason for a file not searched), kept as the Arrow columns they come from until read. An unscoped search
    lists every file of the store (36 000 at 50 cameras × 30 days): making their dicts took most of the
    report's time, while the terminal only counts them. Counting is free; the dicts are made once, on the
    first read (`--json`, an exhibit's record), with the same content and order."""

    def __init__(self, table: pa.Table, *, reason: bool = False) -> None:
        self._table, self._reason, self._dicts = table, reason, None

    def __len__(self) -> int:
        return self._table.num_rows

    def __getitem__(self, i: int | slice) -> Any:  # an entry, or a list of entries for a slice (as a list)
        return self.to_list(copy=False)[i]

    def __iter__(self) -> Iterator[dict[str, object]]:
        return iter(self.to_list(copy=False))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileEntries):
            other = other.to_list(copy=False)
        return isinstance(other, list) and self.to_list(copy=False) == other

    __hash__ = None  # type: ignore[assignment]  # mutable content, as the list it stands for

    def __repr__(self) -> str:
        return f"FileEntries({len(self)} files)"

    def to_list(self, *, copy: bool = True) -> list[dict[str, object]]:
        """The entries as a list of dicts (a new list of new dicts unless `copy` is False)."""
        if self._dicts is None:
            entries = _entries(self._table)
            if self._reason:
                entries = [{**e, "reason": err or e["status"]}
                           for e, err in zip(entries, self._table.column("error").to_pylist())]
            self._dicts = entries
        return [dict(e) for e in self._dicts] if copy else self._dicts


@dataclass
class Coverage:
    """What a search looked at, and what it could not look at, so 'no match' can be stated with its limits."""

    cameras_requested: list[str]
    cameras_indexed: list[str]
    cameras_missing: list[str]  # requested but never indexed
    window_from: str | None
    window_to: str | None
    searched: Sequence[dict[str, object]]  # sources overlapping the window, fully or partially readable
    not_searched: Sequence[dict[str, object]]  # failed files (unreadable) that could be in the window
    gaps: list[dict[str, object]]  # unreadable spans inside searched sources, in wall-clock time
    uncovered: list[dict[str, object]]  # parts of the window, per camera, with no indexed footage at all
    descriptors: list[str]  # detector / descriptor / model used for the searched footage
    footage_searched_s: float = 0.0
    # per query term and camera, the objects in scope on which that term could not be measured at all (colours of
    # a camera in black-and-white mode at night, ...): they were searched, but not for that term
    # (`not_measured`)
    not_measured: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        d = asdict(replace(self, searched=[], not_searched=[]))
        d["searched"], d["not_searched"] = _listed(self.searched), _listed(self.not_searched)
        return d


def _listed(entries: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    return entries.to_list() if isinstance(entries, FileEntries) else [dict(e) for e in entries]


_COVERAGE_COLUMNS = ["path", "camera", "sha256", "status", "start_utc", "end_utc", "duration_s", "gaps_json",
                     "start_pts_s", "error", "detector"]


def coverage_for(store: Store, spec: QuerySpec) -> Coverage:
    """Coverage from the sources in scope only (camera / time pushed down), plus the list of indexed cameras."""
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
    scoped = read_all(q.select(_COVERAGE_COLUMNS))
    every = read_all(store.table("sources").search().select(["camera", "status"])) if conds else scoped
    readable = pc.is_in(every.column("status"), value_set=pa.array(["ok", "partial"]))
    indexed = sorted(c for c in pc.unique(every.filter(readable).column("camera")).to_pylist() if c)
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


def _iso(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """`datetime.isoformat()` of UTC timestamps, vectorised (microseconds only when not zero). Arrow's cast to
    text is "YYYY-MM-DD HH:MM:SS.ffffff" for every value; its `strftime` takes 6 us per value (0.2 s for an
    unscoped search's 36 000 files) and truncated times before 1970 to the wrong second."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    text = col.cast(pa.timestamp("us")).cast(pa.string())
    base = pc.replace_substring(pc.utf8_slice_codeunits(text, 0, 19), " ", "T", max_replacements=1)
    us = pc.add(pc.multiply(pc.millisecond(col), 1000), pc.microsecond(col))
    frac = pc.if_else(pc.equal(us, 0), "", pc.utf8_slice_codeunits(text, 19, 26))
    return pc.binary_join_element_wise(base, frac, "+00:00", "")


def _entries(t: pa.Table) -> list[dict[str, object]]:
    """One dict per source (path, camera, sha256, status, start/end as ISO text), built from whole columns (a
    dict display per row: twice as fast as `Table.to_pylist` for the 36 000 files of an unscoped search)."""
    cols = [t.column("path"), t.column("camera"), t.column("sha256"), t.column("status"), _iso(t.column("start_utc")),
            _iso(t.column("end_utc"))]
    return [{"path": p, "camera": c, "sha256": h, "status": s, "start_utc": a, "end_utc": b}
            for p, c, h, s, a, b in zip(*(col.to_pylist() for col in cols))]


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
    # the rows in scope, in report order, as positions: the whole rows are copied once, into searched and not
    # searched, not at each step (36 000 files in an unscoped search)
    rows = pc.indices_nonzero(scope)
    keys = table.select(["camera", "start_utc", "path"]).take(rows)
    order = rows.take(pc.sort_indices(keys, sort_keys=[("camera", "ascending", "at_start"),
                                                       ("start_utc", "ascending", "at_start"),
                                                       ("path", "ascending", "at_start")]))
    status = table.column("status").take(order)
    ok = pc.fill_null(pc.is_in(status, value_set=pa.array(["ok", "partial"])), False)
    good_t, bad_t = table.take(order.filter(ok)), table.take(order.filter(pc.invert(ok)))
    footage = float(pc.sum(pc.fill_null(good_t.column("duration_s"), 0.0)).as_py() or 0.0)
    gaps = _gaps(good_t, lo, hi)
    detectors = table.column("detector").take(order.filter(pc.fill_null(pc.not_equal(status, "failed"), True)))
    descriptors = sorted({d or "no detector recorded" for d in pc.unique(detectors).to_pylist()})
    return Coverage(
        cameras_requested=requested, cameras_indexed=indexed,
        cameras_missing=[c for c in requested if c not in indexed],
        window_from=lo.isoformat() if lo else None, window_to=hi.isoformat() if hi else None,
        searched=FileEntries(good_t), not_searched=FileEntries(bad_t, reason=True), gaps=gaps,
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
    """Per camera, the parts of [lo, hi] not covered by any readable source (only for a bounded window). Times
    are compared as integer microseconds; a datetime is made only for the bounds reported (a week of 50
    cameras is 8 500 files: building a datetime for each took most of the coverage report)."""
    if lo is None or hi is None:
        return []
    timed = searched.filter(pc.is_valid(searched.column("start_utc")))
    starts = timed.column("start_utc").cast(pa.int64()).to_pylist()
    ends = pc.coalesce(timed.column("end_utc"), timed.column("start_utc")).cast(pa.int64()).to_pylist()
    by_camera: dict[str, list[tuple[int, int]]] = {}
    for c, a, b in zip(timed.column("camera").to_pylist(), starts, ends):
        by_camera.setdefault(c, []).append((a, b))
    lo_us, hi_us = _us(lo), _us(hi)
    out = []
    for cam in cameras:
        cursor, cursor_us = lo, lo_us  # the bound reported, and its instant
        for a, b in sorted(by_camera.get(cam, [])):
            if a > cursor_us:
                out.append({"camera": cam, "from_utc": cursor.isoformat(),
                            "to_utc": (_utc(a) if a <= hi_us else hi).isoformat()})
            if b > cursor_us:
                cursor, cursor_us = _utc(b), b
            if cursor_us >= hi_us:
                break
        if cursor_us < hi_us:
            out.append({"camera": cam, "from_utc": cursor.isoformat(), "to_utc": hi.isoformat()})
    return out


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def _us(t: dt.datetime) -> int:
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


def _utc(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


# above this many objects a term could not be measured on, the report gives one line for all the cameras in scope:
# their cameras are read by row (measured at 1 M tubes: 10 ms for 2 000 objects, 60 ms for 20 000), and reading the
# camera of every candidate instead added ~230 ms to a 30-day query of 420 000 (a store indexed before an attribute
# existed), while a night in black-and-white on a few cameras is a few thousand objects
NOT_MEASURED_PER_CAMERA_MAX = 20_000


def not_measured(snap: TubeSnapshot, table: pa.Table, terms: list[Term],
                 evidence: list[Evidence]) -> list[dict[str, object]]:
    """Per term and camera, the objects in scope (past the hard filters) that the term could not be measured on:
    how many, the first and last of their start times, and why. "Not matched" must not be read where nothing was
    measured: a red coat filmed by a camera in black-and-white mode at night is searched, but not for its colour.
    The ranking reads no camera for its candidates; the cameras of those objects alone are read here (camera None:
    more than `NOT_MEASURED_PER_CAMERA_MAX` objects, counted over every camera in scope)."""
    out: list[dict[str, object]] = []
    for t, e in zip(terms, evidence):
        blind = ~np.isfinite(e.score)
        n = int(blind.sum())
        if t.kind not in NOT_MEASURED_WHY or not n:
            continue
        mask = pa.array(blind)
        starts = table.column("start_utc").filter(mask)
        if n > NOT_MEASURED_PER_CAMERA_MAX:
            span = pc.min_max(starts)
            groups = [{"camera": None, "n": n, "first": span["min"].as_py(), "last": span["max"].as_py()}]
        else:
            cams = snap.take(table.column(ROW_ID).filter(mask).combine_chunks(), ["camera"]).column("camera")
            agg = pa.table({"camera": cams, "t": starts}).group_by("camera", use_threads=False).aggregate(
                [("t", "count", pc.CountOptions(mode="all")), ("t", "min"), ("t", "max")])
            groups = sorted(({"camera": r["camera"], "n": r["t_count"], "first": r["t_min"], "last": r["t_max"]}
                             for r in agg.to_pylist()), key=lambda g: g["camera"] or "")
        out += [{"term": t.label, "camera": g["camera"], "objects": g["n"], "first_start_utc": _iso_utc(g["first"]),
                 "last_start_utc": _iso_utc(g["last"]), "reason": NOT_MEASURED_WHY[t.kind]} for g in groups]
    return out


def _iso_utc(t: dt.datetime | None) -> str | None:
    return t.astimezone(UTC).isoformat() if t is not None else None
