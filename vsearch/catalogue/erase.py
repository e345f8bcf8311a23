"""Deleting index data for good (retention): what a purge removes must not be readable in any table version,
data file, index or thumbnail afterwards."""

from __future__ import annotations

import datetime as dt

from vsearch.catalogue.store import Store, sql_str


def delete_items(store: Store, source_id: str, tube_ids: list[str], scene_ids: list[str]) -> int:
    """Delete some tubes and scene samples of a source, their vectors and thumbnails (retention outside a
    locked span). Returns the number of thumbnail files deleted."""
    src = f"source_id = {sql_str(source_id)}"
    for name, column, ids in (("tubes", "tube_id", tube_ids), ("scenes", "scene_id", scene_ids)):
        if ids:
            store.table(name).delete(f"{src} AND {column} IN ({', '.join(sql_str(i) for i in ids)})")
    items = tube_ids + scene_ids
    for name in store.vector_tables():
        if items:
            store.table(name).delete(f"{src} AND item_id IN ({', '.join(sql_str(i) for i in items)})")
    gone = 0
    for tube_id in tube_ids:
        thumb = store.thumbs_dir / source_id / f"{tube_id}.jpg"
        if thumb.is_file():
            thumb.unlink()
            gone += 1
    return gone


def erase_history(store: Store, names: list[str]) -> dict[str, dict[str, int]]:
    """Make deleted rows unrecoverable in the tables `names`: a Lance table keeps every old version (a
    `checkout` of one returns rows deleted since), data files keep deleted rows behind deletion marks, and
    indices keep their values. So: drop the indices, compact (fragments whose rows are all deleted, as a
    purged source's are, are dropped; others are rewritten), rebuild the indices, then delete every version
    but the latest and every file it no longer uses. Only for a purge: a reader holding an old version at
    that moment fails."""
    def size(name: str) -> int:
        return sum(f.stat().st_size for f in (store.root / "lancedb" / f"{name}.lance").rglob("*") if f.is_file())

    before = {name: (len(store.table(name).list_versions()), size(name)) for name in names}
    for name in names:
        table = store.table(name)
        for ix in table.list_indices():
            table.drop_index(ix.name)
        table.optimize(cleanup_older_than=dt.timedelta(0), delete_unverified=True)
    store.ensure_scalar_indices()
    store.ensure_vector_indices()
    removed: dict[str, dict[str, int]] = {}
    for name in names:
        table = store.table(name)
        table.optimize(cleanup_older_than=dt.timedelta(0), delete_unverified=True)
        removed[name] = {"old_versions_removed": before[name][0] - len(table.list_versions()),
                         "bytes_removed": max(0, before[name][1] - size(name))}
    return removed
