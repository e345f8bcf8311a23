"""Vector search over a real LanceDB in tmp_path: round-trip, pre-filters, ANN index, model-mismatch errors."""

from __future__ import annotations

import datetime as dt

import lancedb
import numpy as np
import pytest

from vsearch.catalogue import vectors as vs
from vsearch.errors import ModelError, QueryError

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
DESC, SHA = "openclip:test", "ab" * 32


def _rows(n: int, dim: int, *, seed: int = 0, descriptor: str = DESC, sha: str = SHA, cams: int = 4):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim)).astype(np.float32)
    rows = vs.vectors_to_arrow(
        v, item_ids=[f"t{i:05d}" for i in range(n)], kinds=["tube"] * n, descriptor=descriptor,
        weights_sha256=sha, cameras=[f"cam{i % cams}" for i in range(n)],
        class_names=["person" if i % 2 else "car" for i in range(n)],
        start_utc=[T0 + dt.timedelta(seconds=i) for i in range(n)], source_ids=["src"] * n)
    return v / np.linalg.norm(v, axis=1, keepdims=True), rows


@pytest.fixture
def table(tmp_path):
    db = lancedb.connect(tmp_path / "db")
    t = vs.open_or_create(db, DESC, SHA, 16)
    v, rows = _rows(400, 16)
    vs.add_vectors(t, rows)
    return t, v


def test_round_trip_exact_match_first(table):
    t, v = table
    hits = vs.search(t, v[123], descriptor=DESC, weights_sha256=SHA, limit=5)
    assert hits[0].item_id == "t00123" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].descriptor == DESC and hits[0].camera == "cam3" and hits[0].class_name == "person"
    assert hits[0].start_utc == T0 + dt.timedelta(seconds=123)
    np.testing.assert_allclose(vs.get_vector(t, "t00123"), v[123], atol=1e-6)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_prefilter_returns_only_and_enough_matching_rows(table):
    t, v = table
    where = vs.build_where(cameras=["cam1"], class_names=["person"], start_utc=T0 + dt.timedelta(seconds=100),
                           end_utc=T0 + dt.timedelta(seconds=300))
    hits = vs.search(t, v[0], descriptor=DESC, weights_sha256=SHA, where=where, limit=100)
    expected = {f"t{i:05d}" for i in range(100, 300) if i % 4 == 1}
    assert {h.item_id for h in hits} == expected  # all 50 matching rows, none outside the filter
    exact = sorted(expected, key=lambda i: -float(v[int(i[1:])] @ v[0]))
    assert [h.item_id for h in hits[:5]] == exact[:5]


def test_exclude_item_and_tie_break_by_item_id(tmp_path):
    db = lancedb.connect(tmp_path / "db")
    t = vs.open_or_create(db, DESC, SHA, 4)
    same = np.tile(np.array([[1, 0, 0, 0]], np.float32), (6, 1))
    rows = vs.vectors_to_arrow(same, item_ids=["e", "b", "f", "a", "d", "c"], kinds=["tube"] * 6, descriptor=DESC,
                               weights_sha256=SHA, cameras=["x"] * 6, class_names=["car"] * 6,
                               start_utc=[T0] * 6, source_ids=["s"] * 6)
    vs.add_vectors(t, rows)
    hits = vs.search(t, same[0], descriptor=DESC, weights_sha256=SHA, limit=3, exclude_item="a")
    assert [h.item_id for h in hits] == ["b", "c", "d"]


def test_mismatched_model_fails_with_one_line_naming_both(table):
    t, v = table
    with pytest.raises(ModelError) as e:
        vs.search(t, v[0], descriptor="colour-hist-v1", weights_sha256="", limit=3)
    msg = str(e.value)
    assert "\n" not in msg and "openclip:test" in msg and "colour-hist-v1" in msg
    with pytest.raises(ModelError, match="weights sha256 cdcdcdcdcdcd"):
        vs.search(t, v[0], descriptor=DESC, weights_sha256="cd" * 32, limit=3)
    with pytest.raises(ModelError, match="16-d"):
        vs.search(t, np.ones(8, np.float32), descriptor=DESC, weights_sha256=SHA, limit=3)
    _, other = _rows(3, 16, descriptor="reid-0288", sha="ef" * 32)
    with pytest.raises(ModelError, match="reid-0288"):
        vs.add_vectors(t, other)
    vs.search(t, v[0], descriptor=DESC, weights_sha256=SHA, limit=3)  # the right model still works


def test_reopened_table_keeps_identity(tmp_path, table):
    t, _ = table
    db = lancedb.connect(tmp_path / "db")  # the fixture's database
    again = db.open_table(vs.table_name(DESC))
    assert vs.table_identity(again) == (DESC, SHA)
    with pytest.raises(ModelError, match="built with 'openclip:test'"):
        vs.open_or_create(db, DESC, "00" * 32, 16)


def test_bad_queries(table):
    t, v = table
    with pytest.raises(QueryError):
        vs.search(t, np.zeros(16, np.float32), descriptor=DESC, weights_sha256=SHA)
    with pytest.raises(QueryError):
        vs.search(t, v[0], descriptor=DESC, weights_sha256=SHA, limit=0)
    with pytest.raises(QueryError, match="time zone"):
        vs.build_where(start_utc=dt.datetime(2026, 1, 1))
    assert vs.build_where(cameras=["it's"]) == "camera IN ('it''s')"
    assert vs.build_where() is None


@pytest.mark.parametrize("exact_max", [vs.EXACT_FILTER_MAX_ROWS, 10])  # exact scan / ANN probe under a filter
def test_index_built_only_above_threshold_and_filtered_search_still_complete(tmp_path, monkeypatch, exact_max):
    monkeypatch.setattr(vs, "EXACT_FILTER_MAX_ROWS", exact_max)
    db = lancedb.connect(tmp_path / "db")
    t = vs.open_or_create(db, DESC, SHA, 16)
    v, rows = _rows(3000, 16, seed=1, cams=50)
    vs.add_vectors(t, rows)
    assert vs.ensure_index(t, min_rows=5000) is False and not vs.has_vector_index(t)
    assert vs.ensure_index(t, min_rows=2000) is True and vs.has_vector_index(t)
    where = vs.build_where(cameras=["cam7"])  # 60 of 3000 rows (2 %)
    hits = vs.search(t, v[7], descriptor=DESC, weights_sha256=SHA, where=where, limit=20)
    assert len(hits) == 20 and all(h.camera == "cam7" for h in hits)
    assert hits[0].item_id == "t00007"
    if exact_max > 60:  # answered exactly: the true top 20 in order
        cam7 = np.arange(7, 3000, 50)
        exact = cam7[np.argsort(-(v[cam7] @ v[7]), kind="stable")][:20]
        assert [h.item_id for h in hits] == [f"t{i:05d}" for i in exact]
    assert vs.ensure_index(t, min_rows=2000) is True  # idempotent


@pytest.mark.parametrize(("n", "dim", "parts", "subs"), [(100_000, 512, 100, 64), (1_000_000, 512, 1000, 64),
                                                         (10_000_000, 512, 3162, 64), (3000, 16, 16, 2),
                                                         (20_000, 520, 20, 65), (20_000, 256, 20, 32),
                                                         (20_000, 517, 20, 47)])
def test_index_plan(n, dim, parts, subs):
    plan = vs.index_plan(n, dim)
    assert (plan.num_partitions, plan.num_sub_vectors) == (parts, subs)
