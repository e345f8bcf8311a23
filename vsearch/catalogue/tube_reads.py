"""Reading the tube columns of a search's candidates, by the cheapest of three paths for how many they are.

LanceDB answers a filtered read through the scalar indices: it evaluates the filter on the indices, then takes
the matching rows range by range. For a filter that keeps a large share of the table the takes are slow (420 k of
1 M tubes are 244 k ranges: about 60 ms per narrow column, measured on 2 shared cores), while reading a column
for every row in one sequential pass costs about 10 ms. So a search first asks the index for the matching row
ids alone (no column read), then, by their number:
- a large share of the table (SCAN_SHARE): one sequential pass over every row, keeping the rows with those ids;
- a few (TAKE_ROWS): those rows by id (LanceDB's take, no second evaluation of the filter);
- in between: LanceDB's filtered read (evaluating the filter again costs less than taking that many rows by id).
The filter is LanceDB's SQL in every path, never evaluated a second way, so all give the same rows.

All reads of one search (candidates, tie-breaks, hit rows) are made on one opened version of the table (a
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
# Measured at 1 M tubes (bench/bench_query.py, docs/benchmarks.md): the filtered read wins at 2.4 % of the table
# (31 against 47 ms), the sequential pass at 10 % (46 against 64 ms) and beyond (42 %: 123 against 516 ms).
SCAN_SHARE = 1 / 20
# LanceDB's take by row id returns batches of 1 024 rows: as cheap as the filtered read up to about a thousand
# rows (and it skips the filter's second evaluation, 25-30 ms for a time range), slower beyond.
TAKE_ROWS = 2048
ROW_ID = "_rowid"


def read_all(query: lancedb.query.LanceQueryBuilder) -> pa.Table:
    """Every row of a LanceDB query, in batches of READ_BATCH_ROWS."""
    return query.limit(None).to_batches(batch_size=READ_BATCH_ROWS).read_all()


@dataclass(frozen=True)
class TubeSnapshot:
    """One opened version of the tubes table, for all the reads of one search."""

    table: lancedb.table.Table

    def candidates(self, where: str | None, columns: list[str]) -> pa.Table:
        """`columns` plus ROW_ID of the rows matching `where` (all rows when None), by the cheapest path."""
        if where is None:
            return self.by_index(None, columns)
        ids = self._ids(where)
        if len(ids) >= SCAN_SHARE * self.table.count_rows():
            return self._scan(ids, columns)
        if len(ids) <= TAKE_ROWS:
            return self._take(ids, columns)
        return self.by_index(where, columns)

    def by_index(self, where: str | None, columns: list[str]) -> pa.Table:
        """The matching rows as LanceDB reads them: filter on the scalar indices, then the rows range by range."""
        q = self.table.search().select(columns).with_row_id(True)
        return read_all(q.where(where) if where is not None else q)

    def by_scan(self, where: str, columns: list[str]) -> pa.Table:
        """The matching rows by one sequential pass over every row, keeping those whose id the index gave."""
        return self._scan(self._ids(where), columns)

    def by_take(self, where: str, columns: list[str]) -> pa.Table:
        """The matching rows taken by the ids the index gave."""
        return self._take(self._ids(where), columns)

    def _ids(self, where: str) -> np.ndarray:
        ids = read_all(self.table.search().where(where).select([ROW_ID]).with_row_id(True)).column(ROW_ID)
        return np.sort(ids.to_numpy(), kind="stable")  # radix sort: linear, and the ids come sorted

    def _scan(self, ids: np.ndarray, columns: list[str]) -> pa.Table:
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

    def _take(self, ids: np.ndarray, columns: list[str]) -> pa.Table:
        return self.take(ids, columns, keep_row_id=True)  # the ids come sorted: table order, as the other paths

    def take(self, row_ids: pa.Array | np.ndarray | list[int], columns: list[str], *,
             keep_row_id: bool = False) -> pa.Table:
        """`columns` (and ROW_ID with `keep_row_id`) of these rows, in the order of `row_ids` (each id once)."""
        ids = np.asarray(row_ids, np.uint64)
        if not len(ids):
            fields = [self.table.schema.field(c) for c in columns] + [pa.field(ROW_ID, pa.uint64())] * keep_row_id
            return pa.schema(fields).empty_table()
        got = self.table.take_row_ids([int(i) for i in ids]).select(columns).with_row_id().to_arrow()
        pos = {int(r): i for i, r in enumerate(got.column(ROW_ID).to_numpy())}
        got = got.take(pa.array([pos[int(i)] for i in ids], pa.int64()))
        return got if keep_row_id else got.drop_columns([ROW_ID])
