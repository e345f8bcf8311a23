"""Numbered store schema migrations, applied step by step when a store is opened (or by `vsearch migrate`).

Each step takes a store from version N to N+1 and is idempotent: a step killed half-way is simply run again
(the version in the `meta` table is bumped only after the step's last write). A step marked `heavy` rewrites
large tables; it is not run implicitly on open: the user is told, in one line, to run `vsearch migrate`.
A store newer than this code is refused, never read with the wrong schema.

History:
  v1 → v2  sources gain `identity_json` (the pipeline identity, empty for sources indexed before v2: they are
           re-indexed by the next job, which says why); tube attributes gain `models_provenance` (which
           attribute model, with its weights' SHA-256, produced `models`; "unrecorded" for v1 rows that have
           model outputs, since v1 did not record it).
  v2 → v3  sources gain `indexed_to_s` (how far into the file its rows reach: a long file is committed chunk by
           chunk) and `checkpoint_json` (where a rerun resumes a file whose indexing stopped inside it; empty
           once the file is done). Rows written before v3 are complete files: `indexed_to_s` stays empty.
  v3 → v4  tubes gain the soft-evidence columns (`catalogue.soft_columns`: colour and tone shares, item and
           vehicle-type probabilities, box growth and shape), computed from each row's stored
           `attributes_json` and boxes by the same function the writer uses, so a migrated row equals a row
           written by v4. Heavy (every tube row is rewritten): run by `vsearch migrate`. Resumable: the
           columns are added empty first, then the rows are rewritten filled, a group of sources at a time; a
           rerun continues with the groups not done. (LanceDB's merge_insert could update the columns in
           place, but it joins the whole table per batch: 5 min for 200 k tubes, and out of memory in one go.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from vsearch.catalogue import soft_columns
from vsearch.errors import StoreError

SCHEMA_VERSION = 4
SOFT_BATCH_ROWS = 20_000  # tube rows rewritten per commit by the v3 → v4 step (whole sources, 500 at most)
VERSION_KEY = "schema_version"
UNRECORDED = "unrecorded (indexed before schema v2)"


@dataclass(frozen=True)
class Migration:
    from_version: int
    summary: str
    apply: Callable[[object], None]  # given the LanceDB connection
    heavy: bool = False  # rewrites big tables: only by an explicit `vsearch migrate`

    @property
    def to_version(self) -> int:
        return self.from_version + 1


def _columns(db: object, table: str) -> list[str]:
    return db.open_table(table).schema.names  # type: ignore[attr-defined]


def _v1_to_v2(db: object) -> None:
    sources = db.open_table("sources")  # type: ignore[attr-defined]
    if "identity_json" not in sources.schema.names:
        sources.add_columns(pa.field("identity_json", pa.string()))
    tubes = db.open_table("tubes")  # type: ignore[attr-defined]
    if tubes.count_rows() == 0:
        return
    # Attributes JSON is written with sorted keys ('{"area_px": ...'): a new key can go first. Done in one
    # SQL update inside LanceDB (no row is read into Python); rows already carrying the key are left alone.
    def provenance(model: str) -> str:
        key = '{"models_provenance": {"model": "' + model + '", "weights_sha256": ""}, '
        return "'" + key.replace("'", "''") + "'"

    tubes.update(
        where="attributes_json NOT LIKE '%\"models_provenance\"%'",
        values_sql={"attributes_json": (
            f"concat(CASE WHEN attributes_json LIKE '%\"models\": {{}}%' THEN {provenance('')} "
            f"ELSE {provenance(UNRECORDED)} END, substr(attributes_json, 2))")},
    )


def _v2_to_v3(db: object) -> None:
    sources = db.open_table("sources")  # type: ignore[attr-defined]
    for name, kind in (("indexed_to_s", pa.float64()), ("checkpoint_json", pa.string())):
        if name not in sources.schema.names:
            sources.add_columns(pa.field(name, kind))


def _v3_to_v4(db: object) -> None:
    """Rewrite every tube row with its soft columns, a group of sources at a time: the group's rows are added
    again with the columns filled (one commit), then its unfilled rows are deleted (one commit). A run killed
    between the two leaves a group whose sources have both; the rerun only deletes the unfilled copies."""
    tubes = db.open_table("tubes")  # type: ignore[attr-defined]
    missing = [f for f in soft_columns.SOFT_SCHEMA if f.name not in tubes.schema.names]
    if missing:  # one commit: either every column is there (empty) or none is
        tubes.add_columns(pa.schema(missing))
    empty = f"{soft_columns.DONE_MARKER} IS NULL"
    pending = tubes.search().where(empty).select(["source_id"]).limit(None).to_arrow().column("source_id")
    counts = pc.value_counts(pending.combine_chunks()).to_pylist() if len(pending) else []
    group: list[str] = []
    rows = 0
    for c in sorted(counts, key=lambda c: c["values"] or ""):
        group.append(c["values"])
        rows += c["counts"]
        if rows >= SOFT_BATCH_ROWS or len(group) >= 500:
            _fill_sources(tubes, group, empty)
            group, rows = [], 0
    if group:
        _fill_sources(tubes, group, empty)
    if (left := tubes.count_rows(empty)) > 0:
        raise StoreError(f"tubes: {left} rows without a source_id could not be migrated to v4; re-index into a "
                         "new --store")


def _fill_sources(tubes: object, source_ids: list[str], empty: str) -> None:
    from vsearch.catalogue.store import TUBE_ROW_SCHEMA, sql_str, tubes_table  # store imports this module

    def where(ids: list[str]) -> str:
        return "source_id IN (" + ", ".join(sql_str(i) for i in ids if i is not None) + ")"

    filled = set(tubes.search().where(f"{where(source_ids)} AND NOT ({empty})")  # type: ignore[attr-defined]
                 .select(["source_id"]).limit(None).to_arrow().column("source_id").to_pylist())
    todo = [i for i in source_ids if i not in filled]
    if todo:
        rows = (tubes.search().where(f"{where(todo)} AND {empty}")  # type: ignore[attr-defined]
                .select(TUBE_ROW_SCHEMA.names).limit(None).to_arrow())
        tubes.add(tubes_table(rows.cast(TUBE_ROW_SCHEMA)))  # type: ignore[attr-defined]
    tubes.delete(f"{where(source_ids)} AND {empty}")  # type: ignore[attr-defined]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "record the pipeline identity of each source and the provenance of attribute-model outputs",
              _v1_to_v2),
    Migration(2, "record per-file progress and the checkpoint a rerun resumes from", _v2_to_v3),
    Migration(3, "store each tube's soft evidence (colour shares, model probabilities, box trend) as columns",
              _v3_to_v4, heavy=True),
)
assert [m.from_version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION)), "one step per version"


def pending(found: int) -> list[Migration]:
    return [m for m in MIGRATIONS if m.from_version >= found]


def check(root: Path, found: int, *, allow_heavy: bool = False) -> None:
    """Refuse a store this code cannot read, or one whose next step must be run explicitly."""
    if found > SCHEMA_VERSION:
        raise StoreError(f"{root}: store schema v{found} is newer than this vsearch (reads up to "
                         f"v{SCHEMA_VERSION}); use a newer vsearch, or re-index into a new --store")
    heavy = [m for m in pending(found) if m.heavy and not allow_heavy]
    if heavy:
        raise StoreError(f"{root}: store schema v{found} needs a migration to v{SCHEMA_VERSION} that rewrites "
                         f"its tables; run `vsearch migrate --store {root}` (back the store up first)")


def migrate(db: object, meta_set: Callable[[str, str], None], found: int) -> list[str]:
    """Apply every pending step in order; returns one line per step applied."""
    done = []
    for m in pending(found):
        try:
            m.apply(db)
        except (OSError, RuntimeError, ValueError) as e:  # LanceDB reports I/O and resource errors so
            raise StoreError(f"schema v{m.from_version} → v{m.to_version} stopped: {e}; free disk space or memory "
                             "and run `vsearch migrate` again (it continues where it stopped)") from e
        meta_set(VERSION_KEY, str(m.to_version))
        meta_set(f"migrated_v{m.from_version}_to_v{m.to_version}_utc", dt.datetime.now(dt.timezone.utc).isoformat())
        done.append(f"schema v{m.from_version} → v{m.to_version}: {m.summary}")
    return done
