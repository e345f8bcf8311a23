"""Store schema migrations on a real v1 store written by the code before schema v2 (tests/fixtures/store-v1)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from conftest import REPO, vsearch_cli
from vsearch.catalogue import migrations
from vsearch.catalogue.store import SCHEMA_VERSION, Store
from vsearch.errors import StoreError
from vsearch.query.engine import run_query
from vsearch.query.spec import QueryOptions
from vsearch.query.text import build_query

FIXTURE = REPO / "tests" / "fixtures" / "store-v1"
NOW = dt.datetime(2026, 11, 21, 9, tzinfo=dt.timezone.utc)  # as in make_fixture.py


@pytest.fixture
def v1_store(tmp_path: Path) -> Path:
    dst = tmp_path / "store"
    shutil.copytree(FIXTURE / "store", dst)
    return dst


def _version(root: Path) -> int | None:
    import lancedb

    rows = lancedb.connect(str(root / "lancedb")).open_table("meta").to_arrow().to_pylist()
    return next((int(r["value"]) for r in rows if r["key"] == "schema_version"), None)


def test_v1_store_opens_migrated_and_gives_the_same_hits(v1_store: Path) -> None:
    assert _version(v1_store) == 1
    store = Store(v1_store, create=False)
    assert store.migrated and store.migrated[0].startswith("schema v1 → v2")
    assert _version(v1_store) == SCHEMA_VERSION == 2
    expected = json.loads((FIXTURE / "expected_hits.json").read_text())
    assert expected[""] and expected["voiture rouge"]  # the fixture holds hits to compare with
    for text, want in expected.items():
        spec = build_query(text, QueryOptions(), now=NOW, cameras=store.cameras())
        got = [h.to_dict() for h in run_query(store, spec).hits]
        for h in got:
            del h["source_path"]
            h["thumb_path"] = str(Path(h["thumb_path"]).relative_to(v1_store))
        assert got == want, text
    tubes = store.tubes()  # every row reads back as a typed tube
    assert len(tubes) == len(expected[""]) and all(t.attributes is not None for t in tubes)
    assert [r.identity for r in store.sources()] == [None]  # v1 did not record it: the next job re-indexes
    assert Store(v1_store, create=False).migrated == []  # once only


def test_a_step_killed_half_way_is_run_again_without_harm(v1_store: Path) -> None:
    import lancedb

    db = lancedb.connect(str(v1_store / "lancedb"))
    migrations.MIGRATIONS[0].apply(db)  # the step ran, the version was not bumped (killed)
    store = Store(v1_store, create=False)
    assert _version(v1_store) == 2
    for rec in store.tubes_arrow().to_pylist():
        assert rec["attributes_json"].count("models_provenance") == 1


def test_a_store_newer_than_the_code_is_refused(v1_store: Path) -> None:
    Store(v1_store, create=False)._meta_set("schema_version", str(SCHEMA_VERSION + 1))
    with pytest.raises(StoreError, match=r"schema v3 is newer than this vsearch \(reads up to v2\)"):
        Store(v1_store, create=False)
    r = vsearch_cli("status", "--store", str(v1_store))
    assert r.returncode != 0 and "newer than this vsearch" in r.stderr and "Traceback" not in r.stderr


def test_a_heavy_step_is_not_run_on_open_but_by_vsearch_migrate(v1_store: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    heavy = migrations.Migration(1, "a step that rewrites big tables", migrations.MIGRATIONS[0].apply, heavy=True)
    monkeypatch.setattr(migrations, "MIGRATIONS", (heavy,))
    with pytest.raises(StoreError, match="run `vsearch migrate --store"):
        Store(v1_store, create=False)
    assert _version(v1_store) == 1  # nothing was written
    assert Store(v1_store, create=False, allow_heavy_migration=True).migrated
    assert _version(v1_store) == 2


def test_migrate_command(v1_store: Path) -> None:
    r = vsearch_cli("migrate", "--store", str(v1_store))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "migrated schema v1 → v2" in r.stdout
    again = vsearch_cli("migrate", "--store", str(v1_store), "--json")
    assert json.loads(again.stdout) == {"store": str(v1_store), "schema_version": 2, "applied": []}


def test_a_new_store_is_created_at_the_current_version(tmp_path: Path) -> None:
    Store(tmp_path / "new")
    assert _version(tmp_path / "new") == SCHEMA_VERSION
