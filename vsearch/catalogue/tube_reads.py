"""Reading the tube columns of a search's candidates, by the cheaper of two paths for the share they cover.

LanceDB answers a filtered read through the scalar indices: it takes the matching rows range by range. For a
filter that keeps a large share of the table that is slow (420 k of 1 M tubes are 244 k ranges: about 60 ms per
narrow column, measured on 2 shared cores), while reading the same column for every row in one sequential pass
costs about 10 ms. So when the candidates are many, the index is asked only for their row ids (no column read,
about 30 ms for 420 k), the columns are read for every row in one pass, and the rows whose id the index gave are
kept. The filter is LanceDB's SQL in both paths, never evaluated a second way, so both give the same rows.

Both reads, and the later reads by row id (tie-breaks, hit rows), are made on one opened version of the table (a
`TubeSnapshot`): an opened LanceDB table stays at its version, so the row ids of one read are those of the next
even while an indexing job appends rows or a compaction rewrites the files.
"""

from __future__ import annotations

from dataclasses import dataclass

import lancedb
import numpy as np
import pyarrow as pa

# LanceDB's default batch of 1024 rows costs one round trip to its event loop per batch (about 0.7 ms each on
# 2 shared cores: 0.7 s for one column of 1 M rows); larger batches read the same rows in 2 % of that time.
READ_BATCH_ROWS = 1 << 17
# Above this share of the table a sequential pass is cheaper than the index's takes (about 10 ms per column for
# 1 M rows against 60 ms for 420 k taken: break-even near 1/6; 1/8 keeps a margin for columns that take well).
SCAN_SHARE = 1 / 8
ROW_ID = "_rowid"


def read_all(query: lancedb.query.LanceQueryBuilder) -> pa.Table:
    """Every row of a LanceDB query, in batches of READ_BATCH_ROWS."""
    return query.limit(None).to_batches(batch_size=READ_BATCH_ROWS).read_all()


@dataclass(frozen=True)
class TubeSnapshot:
    """One opened version of the tubes table, for all the reads of one search."""

    table: lancedb.table.Table

    def candidates(self, where: str | None, columns: list[str]) -> pa.Table:
        """`columns` plus ROW_ID of the rows matching `where` (all rows when None), in table order; the path
        (the index's takes, or one pass keeping the ids the index gave) follows the share of the table they
        cover."""
        if where is None:
            return read_all(self.table.search().select(columns).with_row_id(True))
        if self.table.count_rows(where) < SCAN_SHARE * self.table.count_rows():
            return read_all(self.table.search().where(where).select(columns).with_row_id(True))
        return self._scan(where, columns)

    def _scan(self, where: str, columns: list[str]) -> pa.Table:
        ids = np.sort(read_all(self.table.search().where(where).select([ROW_ID]).with_row_id(True))
                      .column(ROW_ID).to_numpy(), kind="stable")  # radix sort: linear, and the ids come sorted
        reader = self.table.search().select(columns).with_row_id(True).limit(None).to_batches(
            batch_size=READ_BATCH_ROWS)
        kept = []
        for batch in reader:
            rid = batch.column(ROW_ID).to_numpy()
            if not len(rid):
                continue
            near = ids[np.searchsorted(ids, rid.min()):np.searchsorted(ids, rid.max(), side="right")]
            kept.append(batch.filter(pa.array(np.isin(rid, near, assume_unique=True))))
        return pa.Table.from_batches(kept, schema=reader.schema)

    def take(self, row_ids: pa.Array | np.ndarray | list[int], columns: list[str]) -> pa.Table:
        """`columns` of these rows, in the order of `row_ids` (each id once)."""
        ids = np.asarray(row_ids, np.uint64)
        if not len(ids):
            return pa.schema([self.table.schema.field(c) for c in columns]).empty_table()
        got = self.table.take_row_ids([int(i) for i in ids]).select(columns).with_row_id().to_arrow()
        pos = {int(r): i for i, r in enumerate(got.column(ROW_ID).to_numpy())}
        return got.take(pa.array([pos[int(i)] for i in ids], pa.int64())).drop_columns([ROW_ID])
