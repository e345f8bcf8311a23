"""Schema v4's soft-evidence columns (`vsearch.catalogue.soft_columns`) on a real store indexed from a synthetic
clip: a v3 store migrated to v4 gives the same rows and hits as the store v4 wrote, a migration killed half-way
resumes, and the query terms read these columns (not `attributes_json`, never zeros in place of evidence)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import lancedb
import pytest

import synth
from conftest import index_motion_only, vsearch_cli
from vsearch.catalogue import migrations
from vsearch.catalogue.soft_columns import (DONE_MARKER, MODEL_KEYS, SOFT_SCHEMA, TONE_PARTS, column_of,
                                            presence_column)
from vsearch.catalogue.store import TUBE_ROW_SCHEMA, Store, tubes_table
from vsearch.indexers.colours import PALETTE
from vsearch.query.engine import run_query
from vsearch.query.options import QueryOptions
from vsearch.query.spec import ITEM_ATTRIBUTES, VEHICLE_TYPES
from vsearch.query.text import build_query

NOW = dt.datetime(2026, 11, 21, 9, tzinfo=dt.timezone.utc)
START = dt.datetime(2026, 11, 20, 13, 0, tzinfo=dt.timezone.utc)
QUERIES = ["red car", "voiture rouge qui entre", "person in a yellow top and black trousers", "dark green person",
           "light blue", "car coming towards the camera", "personne qui s'éloigne de la caméra", "white van",
           "a lorry", "person with a bag and a hat", ""]


@pytest.fixture(scope="module")
def v4_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("soft")
    car, person = (56, 30), (22, 56)
    objs = [
        synth.SynthObject(1, "red", [(2.5, 30, 40), (6.5, 610, 40)], car, kind="car"),
        synth.SynthObject(2, "blue", [(2.5, 610, 120), (7.0, 30, 120)], car, kind="car"),
        synth.SynthObject(3, "green", [(3.0, 610, 230), (8.0, 30, 230)], person, lower_colour="black", kind="person"),
        synth.SynthObject(4, "yellow", [(3.0, 30, 315), (9.0, 610, 315)], person, lower_colour="black",
                          kind="person"),
    ]
    clip = synth.write_video(synth.SynthVideo(root / "footage" / "cam1.mp4", 640, 360, 10, 12.0, objs)).path
    clip.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": START.isoformat()}))
    index_motion_only(clip.parent, root / "store")
    return root / "store"


def as_v3(store: Path, dst: Path) -> Path:
    """A copy of `store` as the v3 code wrote it: v3's tube columns are exactly v4's `TUBE_ROW_SCHEMA` (the
    rows `tube_rows` makes did not change), without the soft columns, at schema version 3."""
    shutil.copytree(store, dst)
    db = lancedb.connect(str(dst / "lancedb"))
    db.open_table("tubes").drop_columns(SOFT_SCHEMA.names)
    db.open_table("meta").update(where=f"key = '{migrations.VERSION_KEY}'", values={"value": "3"})
    assert db.open_table("tubes").schema.names == TUBE_ROW_SCHEMA.names
    return dst


def hits(store: Store, text: str) -> list[dict]:
    spec = build_query(text, QueryOptions(), now=NOW, cameras=store.cameras())
    out = [h.to_dict() for h in run_query(store, spec).hits]
    for h in out:
        h["thumb_path"] = Path(h["thumb_path"]).name
    return out


def rows(store: Store) -> list[dict]:
    return sorted(store.tubes_arrow().to_pylist(), key=lambda r: r["tube_id"])


def test_a_migrated_v3_store_has_the_rows_and_gives_the_hits_of_a_v4_store(v4_store: Path, tmp_path: Path) -> None:
    old = as_v3(v4_store, tmp_path / "v3")
    with pytest.raises(Exception, match="run `vsearch migrate --store"):  # heavy: not on a plain open
        Store(old, create=False)
    r = vsearch_cli("migrate", "--store", str(old))
    assert r.returncode == 0 and "migrated schema v3 → v4" in r.stdout, r.stdout + r.stderr
    migrated, fresh = Store(old, create=False), Store(v4_store, create=False)
    assert rows(migrated) == rows(fresh)  # every column, the soft ones included
    assert migrated.table("tubes").schema == fresh.table("tubes").schema
    for text in QUERIES:
        got = hits(migrated, text)
        assert got and got == hits(fresh, text), text


def test_a_migration_killed_between_rewriting_and_deleting_resumes(v4_store: Path, tmp_path: Path) -> None:
    old = as_v3(v4_store, tmp_path / "v3")
    tubes = lancedb.connect(str(old / "lancedb")).open_table("tubes")
    tubes.add_columns(SOFT_SCHEMA)  # what the step commits first
    n = tubes.count_rows()
    filled = tubes.search().select(TUBE_ROW_SCHEMA.names).limit(None).to_arrow()
    tubes.add(tubes_table(filled.cast(TUBE_ROW_SCHEMA)))  # the rewritten rows committed, then killed
    assert tubes.count_rows() == 2 * n
    store = Store(old, create=False, allow_heavy_migration=True)
    assert store.migrated == [f"schema v3 → v4: {migrations.MIGRATIONS[2].summary}"]
    assert rows(store) == rows(Store(v4_store, create=False))  # no duplicate, none lost
    assert store.table("tubes").count_rows(f"{DONE_MARKER} IS NULL") == 0


def test_terms_score_from_the_soft_columns_not_the_json(v4_store: Path, tmp_path: Path) -> None:
    """Scores quote the stored shares (never a zero read in place of evidence); the JSON blob is not read; and
    changing a soft column changes the score, so the column is what the term reads."""
    root = tmp_path / "store"
    shutil.copytree(v4_store, root)
    store = Store(root, create=False)
    before = hits(store, "red car")
    red = before[0]
    attrs = json.loads(store.tube_record(red["tube_id"])["attributes_json"])
    colour = next(t for t in red["terms"] if t["term"] == "colour=red")
    assert colour["detail"] == f"red covers {attrs['colours']['red']:.0%} of the object"
    assert attrs["colours"]["red"] > 0.5 and colour["status"] == "matched"
    tubes = store.table("tubes")
    tubes.update(values={"attributes_json": "{}"})  # the blob is for `show` and export, not for ranking
    assert hits(store, "red car") == before
    tubes.update(where=f"tube_id = '{red['tube_id']}'", values={"colours_red": 0.05})
    after = next(h for h in hits(store, "red car") if h["tube_id"] == red["tube_id"])
    colour = next(t for t in after["terms"] if t["term"] == "colour=red")
    assert colour["detail"] == "red covers 5% of the object" and after["score"] < red["score"]


def test_every_word_of_the_vocabulary_has_its_column_and_sensitive_outputs_have_none() -> None:
    for keys in ITEM_ATTRIBUTES.values():
        assert all(column_of("models", k)[0] in SOFT_SCHEMA.names for k in keys)
    for vtype in VEHICLE_TYPES:
        assert column_of("models", f"vehicle_type_p_{vtype}")[0] in SOFT_SCHEMA.names
    for part in ("colours", "upper_colours", "lower_colours", "head_colours"):
        assert all(column_of(part, c)[0] in SOFT_SCHEMA.names for c in PALETTE)
    assert all(presence_column(p) == "tones_measured" for p in TONE_PARTS)
    for sensitive in ("is_male", "has_longhair", "age"):  # docs/legal.md: never a column, never a score
        assert sensitive not in MODEL_KEYS
        with pytest.raises(KeyError, match="no soft-evidence column"):
            column_of("models", sensitive)
    with pytest.raises(KeyError):
        column_of("colours_tones", "grey~blue")  # no term reads it: not stored, so never read as a zero


def test_a_term_reading_evidence_without_a_column_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A vocabulary word whose attribute has no column (added to the vocabulary without its column and
    migration) is an error naming the term, never a score read as zeros or "not measurable"."""
    from vsearch.errors import StoreError
    from vsearch.query import spec as spec_module
    from vsearch.query.terms import ItemTerm, evidence_columns

    monkeypatch.setitem(spec_module.ITEM_ATTRIBUTES, "scarf", ("has_scarf",))
    with pytest.raises(StoreError, match=r"query term item=scarf: no soft-evidence column holds models.has_scarf"):
        evidence_columns([ItemTerm("scarf", False)])


def test_the_writer_and_the_migration_compute_the_same_columns(v4_store: Path) -> None:
    table = Store(v4_store, create=False).tubes_arrow()
    again = tubes_table(table.select(TUBE_ROW_SCHEMA.names).cast(TUBE_ROW_SCHEMA))
    assert again.select(SOFT_SCHEMA.names).to_pylist() == table.select(SOFT_SCHEMA.names).to_pylist()
