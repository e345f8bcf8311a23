"""How a search reads the store (`vsearch.catalogue.tube_reads`, `vsearch.query.engine._rank`) and builds its
coverage report (`vsearch.query.coverage`), on real LanceDB stores: the index's takes and the sequential pass
give the same candidates and the same ranked hits; a limited ranking that reads tube ids only at its cut breaks
ties as the full sort does; the coverage of a store with hundreds of files equals a per-file computation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import synth
from conftest import index_motion_only
from vsearch.catalogue import tube_reads
from vsearch.catalogue.store import SOURCES_SCHEMA, SourceRow, Store
from vsearch.query.coverage import Coverage, FileEntries, _iso, coverage_for
from vsearch.query.engine import _cut, run_query
from vsearch.query.options import QueryOptions
from vsearch.query.spec import QuerySpec
from vsearch.query.text import build_query

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 21, 9, tzinfo=UTC)
START = dt.datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
COPIES = 8  # copies of each indexed tube: identical scores and start times, so ties are the rule


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The tubes of a real indexed clip, each copied COPIES times under new ids (same attributes, same start),
    written in four commits (four fragments), some copies deleted, scalar indices built."""
    root = tmp_path_factory.mktemp("reads")
    car, person = (56, 30), (22, 56)
    objs = [synth.SynthObject(1, "red", [(2.5, 30, 40), (6.5, 610, 40)], car, kind="car"),
            synth.SynthObject(2, "blue", [(2.5, 30, 120), (6.5, 610, 120)], car, kind="car"),
            synth.SynthObject(3, "green", [(3.0, 610, 230), (8.0, 30, 230)], person, lower_colour="black",
                              kind="person")]
    clip = synth.write_video(synth.SynthVideo(root / "footage" / "cam1.mp4", 640, 360, 10, 12.0, objs)).path
    clip.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": START.isoformat()}))
    index_motion_only(clip.parent, root / "indexed")
    indexed = Store(root / "indexed", create=False)
    rows = indexed.tubes_arrow()
    assert rows.num_rows >= 3
    st = Store(root / "many")
    st.table("sources").add(indexed.table("sources").search().limit(None).to_arrow())
    tubes = st.table("tubes")
    for part in range(4):
        copies = [rows.set_column(rows.schema.get_field_index("tube_id"), "tube_id",
                                  pc.binary_join_element_wise(rows.column("tube_id"), f"{k:02d}", "-"))
                  for k in range(part * COPIES // 4, (part + 1) * COPIES // 4)]
        tubes.add(pa.concat_tables(copies))
    tubes.delete("tube_id LIKE '%-03'")
    assert tubes.count_rows() == rows.num_rows * (COPIES - 1)
    st.ensure_scalar_indices()
    return st


@pytest.mark.parametrize("where", ["class_name IN ('car')", "array_has_any(colours, ['red', 'green'])",
                                   f"start_utc >= timestamp '{START:%Y-%m-%d %H:%M:%S}'", "class_name = 'bus'"])
def test_index_takes_and_sequential_pass_give_the_same_rows(many: Store, monkeypatch: pytest.MonkeyPatch,
                                                            where: str) -> None:
    monkeypatch.setattr(tube_reads, "READ_BATCH_ROWS", 5)  # several batches per fragment
    snap = many.tubes_snapshot()
    cols = ["tube_id", "start_utc", "colours_red"]
    by_index, by_scan, by_take = snap.by_index(where, cols), snap.by_scan(where, cols), snap.by_take(where, cols)
    assert by_index.num_rows == by_scan.num_rows == by_take.num_rows == snap.table.count_rows(where)
    key = [(tube_reads.ROW_ID, "ascending")]
    assert by_index.sort_by(key).equals(by_scan.sort_by(key))
    assert by_index.sort_by(key).equals(by_take.sort_by(key))
    got = sorted(by_scan.column("tube_id").to_pylist())
    assert got == sorted(many.tubes_arrow(where, ["tube_id"]).column("tube_id").to_pylist())
    assert not [t for t in got if t.endswith("-03")]  # deleted rows stay deleted on the sequential pass


def test_take_returns_rows_in_the_order_asked(many: Store) -> None:
    snap = many.tubes_snapshot()
    rows = snap.by_index(None, ["tube_id"])
    ids = rows.column(tube_reads.ROW_ID).to_pylist()[::-3]
    got = snap.take(ids, ["tube_id"]).column("tube_id").to_pylist()
    assert got == [rows.column("tube_id")[rows.column(tube_reads.ROW_ID).to_pylist().index(i)].as_py() for i in ids]
    assert snap.take([], ["tube_id"]).num_rows == 0


def _hits(store: Store, text: str, limit: int | None) -> tuple[int, list[tuple[str, float, str]]]:
    spec = build_query(text, QueryOptions(limit=limit), now=NOW, cameras=store.cameras())
    res = run_query(store, spec)
    return res.candidates, [(h.tube_id, h.score, h.why) for h in res.hits]


@pytest.mark.parametrize("text", ["red car", "", "person in green", "white van coming towards the camera"])
@pytest.mark.parametrize("limit", [1, 3, 10, None])
def test_every_read_path_ranks_identically(many: Store, monkeypatch: pytest.MonkeyPatch, text: str,
                                           limit: int | None) -> None:
    got = []
    for share, take_rows in ((2.0, -1), (2.0, 10**9), (0.0, -1)):  # filtered read, take by id, sequential pass
        monkeypatch.setattr(tube_reads, "SCAN_SHARE", share)
        monkeypatch.setattr(tube_reads, "TAKE_ROWS", take_rows)
        got.append(_hits(many, text, limit))
    assert got[0] == got[1] == got[2]
    assert got[0][1]


@pytest.mark.parametrize("text", ["", "red car", "person in green"])
def test_a_limited_ranking_cuts_ties_by_tube_id_as_the_full_sort(many: Store, text: str) -> None:
    """Every copy of a tube has its score and start: a cut inside them must keep the smallest tube ids, in
    order, exactly as the full ranking (which reads every tube id) does."""
    _, full = _hits(many, text, None)
    spec = build_query(text, QueryOptions(limit=None), now=NOW, cameras=many.cameras())
    hits = run_query(many, spec).hits
    assert [(-h.score, h.start_utc, h.tube_id) for h in hits] == sorted((-h.score, h.start_utc, h.tube_id)
                                                                        for h in hits)
    for limit in (1, 2, COPIES - 2, COPIES, COPIES + 1, len(full)):
        assert _hits(many, text, limit)[1] == full[:limit]


def test_iso_text_equals_isoformat_before_1970_and_with_microseconds() -> None:
    rng = random.Random(3)
    values = [dt.datetime(1900, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=rng.uniform(0, 6e9)) for _ in range(300)]
    values += [v.replace(microsecond=0) for v in values[:50]] + [None, dt.datetime(1969, 12, 31, 23, 59, 59, 500000,
                                                                                   tzinfo=UTC)]
    got = _iso(pa.array(values, pa.timestamp("us", tz="UTC"))).to_pylist()
    assert got == [v.isoformat() if v is not None else None for v in values]


# -- coverage of many files against a per-file computation ------------------------------------------------
def _sources(n_per_camera: int) -> list[SourceRow]:
    """Files of 4 cameras with holes between them, some failed or partial (with gaps), one without a start time
    and one without an end time."""
    rng = random.Random(7)
    out = []
    for cam in ("cam1", "cam2", "cam3", "cam4"):
        t = START - dt.timedelta(hours=rng.uniform(0, 3))
        for k in range(n_per_camera):
            dur = rng.choice([600.0, 1800.0, 3600.0]) * rng.uniform(0.5, 1.0)
            status = rng.choices(["ok", "partial", "failed"], [0.85, 0.1, 0.05])[0]
            start = t.replace(microsecond=rng.choice([0, rng.randrange(1, 10**6)]))
            gaps = [{"start_s": 5.0, "end_s": 9.5, "reason": "corrupt packets"}] if status == "partial" else []
            sid = f"{cam}-{k:04d}".ljust(64, "0")
            out.append(SourceRow(
                source_id=sid, path=f"/nvr/{cam}/{k:04d}.mp4", size_bytes=1, mtime_ns=0, sha256=sid, status=status,
                camera=cam, duration_s=None if status == "failed" else dur, start_utc=start,
                end_utc=None if (cam, k) == ("cam2", 5) else start + dt.timedelta(seconds=dur),
                error="cannot decode" if status == "failed" else "", gaps_json=json.dumps(gaps),
                detector=rng.choice(["motion", "pvb-2002"])))
            t = start + dt.timedelta(seconds=dur + rng.choice([0.0, 0.0, 120.0, 900.0]))
    out.append(SourceRow(source_id="x" * 64, path="/nvr/cam3/undated.mp4", size_bytes=1, mtime_ns=0, sha256="x" * 64,
                         status="ok", camera="cam3", duration_s=60.0, detector="motion"))
    return out


def _per_file(spec: QuerySpec, rows: list[SourceRow]) -> dict[str, object]:
    """The coverage report computed file by file with datetimes (the report's definition)."""
    lo, hi = spec.time_from, spec.time_to
    readable = ("ok", "partial")
    indexed = sorted({r.camera for r in rows if r.status in readable})
    requested = list(spec.cameras) if spec.cameras else indexed

    def in_scope(r: SourceRow) -> bool:
        if spec.cameras and r.camera not in spec.cameras:
            return False
        end = r.end_utc or r.start_utc
        return r.start_utc is None or ((hi is None or r.start_utc <= hi) and (lo is None or end >= lo))

    scoped = sorted((r for r in rows if in_scope(r)),
                    key=lambda r: (r.camera, r.start_utc is not None, r.start_utc or START, r.path))

    def entry(r: SourceRow) -> dict[str, object]:
        return {"path": r.path, "camera": r.camera, "sha256": r.sha256, "status": r.status,
                "start_utc": r.start_utc.isoformat() if r.start_utc else None,
                "end_utc": r.end_utc.isoformat() if r.end_utc else None}

    good = [r for r in scoped if r.status in readable]
    uncovered = []
    for cam in requested if lo is not None and hi is not None else []:
        cursor = lo
        for a, b in sorted((r.start_utc, r.end_utc or r.start_utc) for r in good if r.camera == cam and r.start_utc):
            if a > cursor:
                uncovered.append({"camera": cam, "from_utc": cursor.isoformat(), "to_utc": min(a, hi).isoformat()})
            cursor = max(cursor, b)
            if cursor >= hi:
                break
        if cursor < hi:
            uncovered.append({"camera": cam, "from_utc": cursor.isoformat(), "to_utc": hi.isoformat()})
    return {"cameras_indexed": indexed, "cameras_missing": [c for c in requested if c not in indexed],
            "searched": [entry(r) for r in good],
            "not_searched": [{**entry(r), "reason": r.error or r.status} for r in scoped if r.status not in readable],
            "uncovered": uncovered, "footage_searched_s": round(sum(r.duration_s or 0.0 for r in good), 3),
            "descriptors": sorted({r.detector or "no detector recorded" for r in scoped if r.status != "failed"}),
            "gaps": [g for r in good if r.start_utc for g in _gaps_in(r, lo, hi)]}


def _gaps_in(r: SourceRow, lo: dt.datetime | None, hi: dt.datetime | None) -> list[dict[str, object]]:
    out = []
    for g in json.loads(r.gaps_json):
        a = r.start_utc + dt.timedelta(seconds=g["start_s"] - r.start_pts_s)
        b = r.start_utc + dt.timedelta(seconds=g["end_s"] - r.start_pts_s)
        if (hi is None or a <= hi) and (lo is None or b >= lo):
            out.append({"path": r.path, "camera": r.camera, "from_utc": a.isoformat(), "to_utc": b.isoformat(),
                        "reason": g["reason"]})
    return out


@pytest.mark.parametrize("scope", [
    {}, {"time_from": START, "time_to": START + dt.timedelta(hours=20)},
    {"cameras": ("cam2", "cam9"), "time_from": START - dt.timedelta(hours=1), "time_to": START + dt.timedelta(days=2)},
    {"time_from": START + dt.timedelta(hours=7, minutes=13, seconds=1, microseconds=5)},
])
def test_coverage_of_many_files_equals_the_per_file_computation(tmp_path: Path, scope: dict) -> None:
    rows = _sources(60)
    store = Store(tmp_path / "store")
    store.table("sources").add(pa.Table.from_pylist([{k: getattr(r, k) for k in SOURCES_SCHEMA.names} for r in rows],
                                                    schema=SOURCES_SCHEMA))
    spec = QuerySpec(**scope)
    cov = coverage_for(store, spec).to_dict()
    want = _per_file(spec, rows)
    assert len(want["searched"]) > (100 if not scope.get("cameras") else 20) and want["not_searched"] and want["gaps"]
    assert {k: cov[k] for k in want} == want


@pytest.mark.parametrize("scope", [{}, {"cameras": ("cam2", "cam9"), "time_from": START - dt.timedelta(hours=1),
                                        "time_to": START + dt.timedelta(days=2)}])
def test_coverage_files_read_without_to_dict_are_the_per_file_entries(tmp_path: Path, scope: dict) -> None:
    """The report keeps its file lists as Arrow columns (`FileEntries`): counting, indexing, slicing, iterating
    and comparing them give the per-file entries, and `to_dict` hands out copies (the report is unchanged by a
    caller editing them), in the field order of the dataclass."""
    rows = _sources(60)
    store = Store(tmp_path / "store")
    store.table("sources").add(pa.Table.from_pylist([{k: getattr(r, k) for k in SOURCES_SCHEMA.names} for r in rows],
                                                    schema=SOURCES_SCHEMA))
    spec = QuerySpec(**scope)
    cov, want = coverage_for(store, spec), _per_file(spec, rows)
    for name in ("searched", "not_searched"):
        files, expected = getattr(cov, name), want[name]
        assert isinstance(files, FileEntries) and len(files) == len(expected) > 0
        assert files == expected and list(files) == expected and files[1:3] == expected[1:3]
        assert files[-1] == expected[-1] and expected[0] in files
    out = cov.to_dict()
    assert list(out) == [f.name for f in dataclasses.fields(Coverage)]
    out["searched"][0]["path"] = "edited"
    out["not_searched"].clear()
    assert cov.to_dict() == json.loads(json.dumps(cov.to_dict())) != out
    assert cov.searched[0]["path"] == want["searched"][0]["path"] and len(cov.not_searched) == len(want["not_searched"])
    assert dataclasses.replace(cov, searched=list(want["searched"])) == cov  # a list of the same entries compares equal


@pytest.mark.parametrize("seed", range(6))
def test_the_cut_of_a_limited_ranking_is_the_first_rows_of_the_full_sort_and_their_ties(seed: int) -> None:
    """`_cut` (two partial sorts) keeps exactly the first `limit` rows by (score descending, start ascending)
    of a full sort, plus the rows equal to the last of them in both keys, with many ties of each key."""
    rng = np.random.default_rng(seed)
    n = 400
    score = np.round(rng.choice(rng.random(12), n), 4)  # few distinct scores and starts: ties at every cut
    start_us = rng.choice(rng.integers(0, 10**9, 9), n)
    start = pa.chunked_array([pa.array(start_us[:150], pa.int64()), pa.array(start_us[150:], pa.int64())]).cast(
        pa.timestamp("us", tz="UTC"))
    order = sorted(range(n), key=lambda i: (-score[i], start_us[i]))
    for limit in (1, 2, 7, 50, 199, n - 1):
        last = order[limit - 1]
        want = set(order[:limit]) | {i for i in range(n) if score[i] == score[last] and start_us[i] == start_us[last]}
        assert _cut(score, start, limit).tolist() == sorted(want)
