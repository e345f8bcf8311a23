"""The embedded LanceDB catalogue. This module is the one place that owns the store schema.

Layout of a store (a folder, default `./vsearch-data`, or an object-store prefix such as `s3://bucket/vsearch`,
see `catalogue.location`):
  lancedb/            LanceDB tables: meta, sources, tubes, scenes, locks, vectors_<descriptor>
  thumbs/<source>/    one JPEG per tube
  jobs/               JSON job reports

Consistency without multi-table transactions: everything derived from a source is keyed by its `source_id`
(the file's SHA-256). A source's rows are written first and its `sources` row last; a source without a
completed `sources` row is treated as not indexed, and its leftovers are deleted before it is redone. That is
what makes a killed job rerun finish with no duplicates and no holes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import lancedb
import numpy as np
import pyarrow as pa

from vsearch.catalogue import migrations, soft_columns
from vsearch.catalogue import vectors as vectorsearch
from vsearch.catalogue.location import StoreFiles, StoreLocation, describe_error
from vsearch.catalogue.migrations import SCHEMA_VERSION
from vsearch.errors import StoreError
from vsearch.indexers.base import SourceResult, VectorRecord
from vsearch.catalogue.tube_reads import TubeSnapshot, read_all
from vsearch.catalogue.tube_rows import COLOUR_MIN_FRACTION, record_to_tube, tube_to_record
from vsearch.records import Gap, Tube

UTC = dt.timezone.utc
TS = pa.timestamp("us", tz="UTC")

SOURCES_SCHEMA = pa.schema([
    pa.field("source_id", pa.string(), nullable=False),
    pa.field("path", pa.string()),
    pa.field("size_bytes", pa.int64()),
    pa.field("mtime_ns", pa.int64()),
    pa.field("sha256", pa.string()),
    pa.field("container", pa.string()),
    pa.field("codec", pa.string()),
    pa.field("width_px", pa.int32()),
    pa.field("height_px", pa.int32()),
    pa.field("fps_num", pa.int64()),
    pa.field("fps_den", pa.int64()),
    pa.field("duration_s", pa.float64()),
    pa.field("start_pts_s", pa.float64()),
    pa.field("camera", pa.string()),
    pa.field("start_utc", TS),
    pa.field("end_utc", TS),
    pa.field("start_origin", pa.string()),
    pa.field("clock_offset_s", pa.float64()),
    pa.field("status", pa.string()),  # ok | partial | failed
    pa.field("error", pa.string()),
    pa.field("frames_decoded", pa.int64()),  # source frames decoded
    pa.field("frames_sampled", pa.int64()),  # frames analysed at the analysis rate
    pa.field("gaps_json", pa.string()),
    pa.field("decoder", pa.string()),
    pa.field("detector", pa.string()),
    pa.field("stage_info_json", pa.string()),
    pa.field("params_json", pa.string()),
    pa.field("warnings_json", pa.string()),
    pa.field("analysis_width_px", pa.int32()),
    pa.field("analysis_height_px", pa.int32()),
    pa.field("n_tubes", pa.int32()),
    pa.field("indexed_utc", TS),
    pa.field("job_id", pa.string()),
    pa.field("identity_json", pa.string()),  # v2: the pipeline identity (`vsearch.indexing.identity`)
    pa.field("indexed_to_s", pa.float64()),  # v3: source pts the rows reach (None: written before v3, complete)
    pa.field("checkpoint_json", pa.string()),  # v3: where a rerun resumes (`indexing.checkpoint`); None: done
])

# The tube columns written from a `Tube` (`catalogue.tube_rows`); v4 adds the soft-evidence columns computed from
# them (`catalogue.soft_columns`), so TUBES_SCHEMA = TUBE_ROW_SCHEMA + SOFT_SCHEMA.
TUBE_ROW_SCHEMA = pa.schema([
    pa.field("tube_id", pa.string(), nullable=False),
    pa.field("source_id", pa.string()),
    pa.field("camera", pa.string()),
    pa.field("track_no", pa.int32()),
    pa.field("class_name", pa.string()),
    pa.field("class_source", pa.string()),
    pa.field("start_utc", TS),
    pa.field("end_utc", TS),
    pa.field("first_pts_s", pa.float64()),
    pa.field("last_pts_s", pa.float64()),
    pa.field("n_samples", pa.int32()),
    pa.field("frame_index", pa.list_(pa.int64())),
    pa.field("pts_s", pa.list_(pa.float64())),
    pa.field("boxes_xyxy", pa.list_(pa.float32())),  # flattened (T, 4), analysis pixels
    pa.field("scores", pa.list_(pa.float32())),
    pa.field("masks_rle", pa.list_(pa.string())),
    # flattened attributes for filtering; the full set is in attributes_json
    pa.field("colours", pa.list_(pa.string())),
    pa.field("upper_colours", pa.list_(pa.string())),
    pa.field("lower_colours", pa.list_(pa.string())),
    pa.field("direction8", pa.string()),
    pa.field("horizontal", pa.string()),
    pa.field("vertical", pa.string()),
    pa.field("speed_mean_fw_s", pa.float64()),
    pa.field("speed_max_fw_s", pa.float64()),
    pa.field("speed_mean_px_s", pa.float64()),
    pa.field("dwell_s", pa.float64()),
    pa.field("stationary_max_s", pa.float64()),
    pa.field("entry_edge", pa.string()),
    pa.field("exit_edge", pa.string()),
    pa.field("area_px", pa.float64()),
    pa.field("analysis_scale", pa.float64()),
    pa.field("thumb_path", pa.string()),
    pa.field("attributes_json", pa.string()),
])
TUBES_SCHEMA = pa.schema(list(TUBE_ROW_SCHEMA) + list(soft_columns.SOFT_SCHEMA))

SCENES_SCHEMA = pa.schema([
    pa.field("scene_id", pa.string(), nullable=False),
    pa.field("source_id", pa.string()),
    pa.field("camera", pa.string()),
    pa.field("pts_s", pa.float64()),
    pa.field("time_utc", TS),
    pa.field("jpeg", pa.binary()),
])

LOCKS_SCHEMA = pa.schema([
    pa.field("lock_id", pa.string(), nullable=False),
    pa.field("case_ref", pa.string()),
    pa.field("camera", pa.string()),
    pa.field("from_utc", TS),
    pa.field("to_utc", TS),
    pa.field("created_utc", TS),
    pa.field("investigator", pa.string()),
    pa.field("reason", pa.string()),
])

META_SCHEMA = pa.schema([pa.field("key", pa.string()), pa.field("value", pa.string())])

TABLES = {"meta": META_SCHEMA, "sources": SOURCES_SCHEMA, "tubes": TUBES_SCHEMA, "scenes": SCENES_SCHEMA,
          "locks": LOCKS_SCHEMA}

def tubes_table(rows: pa.Table) -> pa.Table:
    """Rows in `TUBE_ROW_SCHEMA` with their soft-evidence columns added: what is written to `tubes`."""
    return pa.Table.from_arrays(rows.columns + soft_columns.soft_table(rows).columns, schema=TUBES_SCHEMA)


def sql_str(value: str) -> str:
    """Quote a string literal for a LanceDB filter."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class SourceRow:
    """One catalogued file (the `sources` table as a typed record)."""

    source_id: str
    path: str
    size_bytes: int
    mtime_ns: int
    sha256: str
    status: str
    camera: str = ""
    container: str = ""
    codec: str = ""
    width_px: int = 0
    height_px: int = 0
    fps_num: int = 0
    fps_den: int = 1
    duration_s: float | None = None
    start_pts_s: float = 0.0
    start_utc: dt.datetime | None = None
    end_utc: dt.datetime | None = None
    start_origin: str = ""
    clock_offset_s: float | None = None
    error: str = ""
    frames_decoded: int = 0
    frames_sampled: int = 0
    gaps_json: str = "[]"
    decoder: str = ""
    detector: str = ""
    stage_info_json: str = "{}"
    params_json: str = "{}"
    warnings_json: str = "[]"
    analysis_width_px: int = 0
    analysis_height_px: int = 0
    n_tubes: int = 0
    indexed_utc: dt.datetime | None = None
    job_id: str = ""
    identity_json: str | None = None  # None: indexed before schema v2 recorded it
    indexed_to_s: float | None = None  # source pts the committed rows reach (None: before v3, complete)
    checkpoint_json: str | None = None  # a file stopped inside: where a rerun resumes (None: done)

    @property
    def identity(self) -> dict[str, object] | None:
        """What made this source's rows (stages, models and their weights' SHA-256, parameters, versions)."""
        return json.loads(self.identity_json) if self.identity_json else None

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den or 1)

    @property
    def gaps(self) -> list[Gap]:
        return [Gap(**g) for g in json.loads(self.gaps_json or "[]")]

    def to_dict(self) -> dict[str, object]:
        d = {k: getattr(self, k) for k in SOURCES_SCHEMA.names}
        for k in ("start_utc", "end_utc", "indexed_utc"):
            d[k] = d[k].isoformat() if d[k] is not None else None
        for k in ("gaps_json", "stage_info_json", "params_json", "warnings_json", "identity_json",
                  "checkpoint_json"):
            d[k.removesuffix("_json")] = json.loads(d.pop(k) or "null")
        d["fps"] = f"{self.fps_num}/{self.fps_den}"
        return d


def has_history(root: Path) -> bool:
    """Whether a store folder ever held indexed data (a `sources` data file or a job report), read from the file
    layout alone so it opens nothing: with history, a missing audit log means a deleted one."""
    root = Path(root)
    return any((root / "jobs").glob("*.json")) or any((root / "lancedb" / "sources.lance" / "data").glob("*"))


def _owner_only(folder: Path) -> None:
    """Person-derived data (crops, stills, boxes) must not be readable by other accounts: folders 0700. Only
    the folder's owner can change its mode; another authorised account opening the store leaves it as it is."""
    st = folder.stat()
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(folder, 0o700)


def _as_utc(v: dt.datetime | None) -> dt.datetime | None:
    return v.astimezone(UTC) if v is not None else None


class Store:
    """An open catalogue. Single writer (the job runner's main process); any number of readers."""

    def __init__(self, root: Path | str, *, create: bool = True, allow_heavy_migration: bool = False) -> None:
        """Open (or create) a store in a folder or at an object-store URI (`s3://bucket/prefix`); an older schema
        is migrated step by step (see `catalogue.migrations`), except steps marked heavy, which need
        `allow_heavy_migration` (the `vsearch migrate` command)."""
        self.location = StoreLocation.parse(root)
        self.uri = self.location.uri  # what messages name: the folder or the URI
        # The store folder; None on an object store (use `files` and `uri` there).
        self.root = self.location.local_path
        self.migrated: list[str] = []  # one line per migration step applied by this open
        self._allow_heavy = allow_heavy_migration
        if self.root is not None and self.root.exists() and not self.root.is_dir():
            raise StoreError(f"--store {self.root}: is a file, not a store folder; give a new or existing store folder")
        self.files = StoreFiles(self.location)
        if not create and not self.files.exists("lancedb"):
            raise StoreError(f"{self.uri}: no vsearch store here; run `vsearch index PATH --store {self.uri}` first")
        # Local folders (None on an object store): person-derived files stay readable by their owner only.
        self.thumbs_dir = self.root / "thumbs" if self.root is not None else None
        # Job reports are `files` (jobs/<id>.json, in the bucket for a remote store); the running-job lock and the
        # reports the planner reads stay on this machine for a remote store (the site folder).
        self.jobs_dir = (self.root if self.root is not None else self.location.site_dir) / "jobs"
        if self.root is not None:
            try:
                self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as e:
                raise StoreError(f"--store {self.root}: cannot create the store folder ({e.strerror or e})") from e
            _owner_only(self.root)
        try:
            self.db = lancedb.connect(self.location.child("lancedb"))
            existing = set(self._table_names())
        except (OSError, ValueError, RuntimeError) as e:
            raise StoreError(f"{self.uri}: cannot open the catalogue: {describe_error(e)}; check the URI and the "
                             "object-store settings (AWS_ENDPOINT_URL, credentials; docs/scale-out.md)") from e
        for name, schema in TABLES.items():
            if name not in existing:
                self.db.create_table(name, schema=schema, exist_ok=True)
        self._check_version()

    # -- schema --------------------------------------------------------------------------------------------
    def _table_names(self) -> list[str]:
        names: list[str] = []
        token = None
        while True:
            resp = self.db.list_tables(page_token=token)
            names.extend(resp.tables)
            token = resp.page_token
            if not token:
                return names

    def _check_version(self) -> None:
        found = self.schema_version()
        if found is None:  # a new store
            self._meta_set(migrations.VERSION_KEY, str(SCHEMA_VERSION))
            return
        migrations.check(self.uri, found, allow_heavy=self._allow_heavy)
        self.migrated = migrations.migrate(self.db, self._meta_set, found)
        if self.migrated:  # rewritten rows are outside the old scalar indices: rebuild them
            self.ensure_scalar_indices()

    def schema_version(self) -> int | None:
        meta = self.db.open_table("meta")
        rows = meta.search().where(f"key = {sql_str(migrations.VERSION_KEY)}").limit(None).to_arrow().to_pylist()
        return int(rows[0]["value"]) if rows else None

    def _meta_set(self, key: str, value: str) -> None:
        """Set one meta key in a single commit (an update never leaves the key missing, even if killed)."""
        meta = self.db.open_table("meta")
        cond = f"key = {sql_str(key)}"
        if meta.count_rows(cond):
            meta.update(where=cond, values={"value": value})
        else:
            meta.add(pa.table({"key": [key], "value": [value]}, schema=META_SCHEMA))

    def table(self, name: str) -> lancedb.table.Table:
        return self.db.open_table(name)

    # -- sources -------------------------------------------------------------------------------------------
    def sources(self, where: str | None = None) -> list[SourceRow]:
        q = self.table("sources").search()
        if where:
            q = q.where(where)
        rows = read_all(q).to_pylist()
        rows.sort(key=lambda r: (r["camera"] or "", r["start_utc"] or dt.datetime.min.replace(tzinfo=UTC), r["path"]))
        return [SourceRow(**{k: (_as_utc(v) if isinstance(v, dt.datetime) else v) for k, v in r.items()})
                for r in rows]

    def source(self, source_id: str) -> SourceRow | None:
        rows = self.sources(f"source_id = {sql_str(source_id)}")
        return rows[0] if rows else None

    def sources_at_path(self, path: str) -> list[SourceRow]:
        return self.sources(f"path = {sql_str(path)}")

    def cameras(self) -> list[str]:
        return sorted({r.camera for r in self.sources() if r.camera})

    # -- writing one source's results ------------------------------------------------------------------------
    def clear_source(self, source_id: str) -> None:
        """Remove every row derived from a source (leftovers of an interrupted run, or a retry)."""
        cond = f"source_id = {sql_str(source_id)}"
        for name in self._table_names():
            if name in ("tubes", "scenes", "sources") or name.startswith("vectors_"):
                self.table(name).delete(cond)
        self.files.delete_dir(f"thumbs/{source_id}")

    def replace_source_row(self, row: SourceRow) -> None:
        """Rewrite a source's catalogue row alone (its derived rows stay)."""
        self.table("sources").delete(f"source_id = {sql_str(row.source_id)}")
        self._add_source_row(row)

    def write_source(self, row: SourceRow, result: SourceResult | None) -> None:
        """Commit one source: derived rows first, the `sources` row last (it marks the source as done)."""
        self.clear_source(row.source_id)
        if result is not None:
            self._write_tubes(row, result)
            self._write_vectors(row, result)
            self._write_scenes(row, result)
        self._add_source_row(row)

    def _add_source_row(self, row: SourceRow) -> None:
        self.table("sources").add(pa.table({k: [getattr(row, k)] for k in SOURCES_SCHEMA.names}, schema=SOURCES_SCHEMA))

    def write_chunk(self, row: SourceRow, result: SourceResult) -> None:
        """Commit one more chunk of a source indexed chunk by chunk: its new rows are added (nothing earlier is
        cleared), then the `sources` row, carrying the progress and the checkpoint, is replaced in one commit."""
        self._write_tubes(row, result)
        self._write_vectors(row, result)
        self._write_scenes(row, result)
        data = pa.table({k: [getattr(row, k)] for k in SOURCES_SCHEMA.names}, schema=SOURCES_SCHEMA)
        (self.table("sources").merge_insert("source_id").when_matched_update_all().when_not_matched_insert_all()
         .execute(data))

    def clear_not_indexed(self, path: str) -> None:
        """Remove the placeholder row of a file a job stopped before (status `not_indexed`), once indexed."""
        self.table("sources").delete(f"path = {sql_str(path)} AND status = 'not_indexed'")

    def trim_source(self, source_id: str, last_tube_id: str, last_scene_id: str,
                    indexed: list[tuple[float, float]] | None = None) -> None:
        """Remove a source's rows beyond its last checkpoint (written by a chunk whose `sources` row was never
        committed: the job was killed in between), so the resumed run adds them once. Ids sort by number/time.
        `indexed`: the stretches [from, to) of the file its checkpoint covers (a file indexed window first); the
        scenes outside them are removed, whatever their ids."""
        cond = f"source_id = {sql_str(source_id)}"
        self.table("tubes").delete(f"{cond} AND tube_id > {sql_str(last_tube_id)}")
        if indexed is None:
            scene, item = f"scene_id > {sql_str(last_scene_id)}", f"item_id > {sql_str(last_scene_id)}"
        else:
            inside = " OR ".join(f"(pts_s >= {a!r} AND pts_s < {b!r})" for a, b in indexed) or "false"
            rows = read_all(self.table("scenes").search().where(f"{cond} AND NOT ({inside})")
                            .select(["scene_id"])).column("scene_id").to_pylist()
            ids = ", ".join(sql_str(x) for x in rows)
            scene = item = None
            if ids:
                scene, item = f"scene_id IN ({ids})", f"item_id IN ({ids})"
        if scene is not None:
            self.table("scenes").delete(f"{cond} AND {scene}")
        for name in self.vector_tables():
            scenes = f" OR (kind = 'scene' AND {item})" if item is not None else ""
            self.table(name).delete(f"{cond} AND ((kind = 'tube' AND item_id > {sql_str(last_tube_id)}){scenes})")

    def replace_tubes(self, row: SourceRow, result: SourceResult) -> None:
        """Rewrite committed tubes of a source under their ids (a tube stitched across the start of a stretch
        indexed earlier, `indexing.checkpoint`): each row replaced in one commit, then its vectors. Doing it
        again gives the same rows, so a job killed in between redoes it on resume."""
        if not result.tubes:
            return
        (self.table("tubes").merge_insert("tube_id").when_matched_update_all().when_not_matched_insert_all()
         .execute(self._tube_rows(row, result)))
        ids = ", ".join(sql_str(t.tube_id) for t in result.tubes)
        for name in self.vector_tables():
            self.table(name).delete(f"source_id = {sql_str(row.source_id)} AND kind = 'tube' AND item_id IN ({ids})")
        self._write_vectors(row, result)

    def _write_tubes(self, row: SourceRow, result: SourceResult) -> None:
        if not result.tubes:
            return
        self.table("tubes").add(self._tube_rows(row, result))

    def _tube_rows(self, row: SourceRow, result: SourceResult) -> pa.Table:
        scale = row.width_px / row.analysis_width_px if row.analysis_width_px else 1.0
        records = []
        for t in result.tubes:
            thumb_path = ""
            if t.tube_id in result.thumbnails:
                thumb_path = f"thumbs/{row.source_id}/{t.tube_id}.jpg"
                self.files.write_bytes(thumb_path, result.thumbnails[t.tube_id])
            records.append(tube_to_record(t, result.source.wall_time, scale, thumb_path))
        return tubes_table(pa.Table.from_pylist(records, schema=TUBE_ROW_SCHEMA))

    def _write_vectors(self, row: SourceRow, result: SourceResult) -> None:
        """One table per descriptor; the table records the model identity and refuses another model's vectors."""
        by_descriptor: dict[str, list[VectorRecord]] = {}
        for v in result.vectors:
            by_descriptor.setdefault(v.descriptor, []).append(v)
        classes = {t.tube_id: t.class_name for t in result.tubes}
        for descriptor, vecs in sorted(by_descriptor.items()):
            sha = vecs[0].weights_sha256
            table = vectorsearch.open_or_create(self.db, descriptor, sha, int(vecs[0].vector.shape[0]))
            vectorsearch.add_vectors(table, vectorsearch.vectors_to_arrow(
                np.stack([v.vector for v in vecs]), item_ids=[v.item_id for v in vecs],
                kinds=[v.kind for v in vecs], descriptor=descriptor, weights_sha256=sha,
                cameras=[row.camera] * len(vecs),
                class_names=[classes.get(v.item_id, "scene" if v.kind == "scene" else "other") for v in vecs],
                start_utc=[result.source.wall_time(v.pts_s) for v in vecs], source_ids=[row.source_id] * len(vecs)))

    def _write_scenes(self, row: SourceRow, result: SourceResult) -> None:
        if not result.scenes:
            return
        data = {
            "scene_id": [s.scene_id for s in result.scenes],
            "source_id": [row.source_id] * len(result.scenes),
            "camera": [row.camera] * len(result.scenes),
            "pts_s": [s.pts_s for s in result.scenes],
            "time_utc": [result.source.wall_time(s.pts_s) for s in result.scenes],
            "jpeg": [s.jpeg for s in result.scenes],
        }
        self.table("scenes").add(pa.table(data, schema=SCENES_SCHEMA))

    def ensure_vector_indices(self) -> None:
        """Scalar pre-filter indexes, and an IVF_PQ index once a vector table is large enough (see
        docs/embeddings.md); called at the end of each indexing job."""
        for name in self.vector_tables():
            vectorsearch.ensure_index(self.table(name))

    def vector_tables(self) -> list[str]:
        return sorted(n for n in self._table_names() if n.startswith("vectors_"))

    # -- plain files -----------------------------------------------------------------------------------------
    def file_ref(self, rel: str) -> str:
        """A stored file (a tube's `thumb_path`) as users see it: a path in the store folder, or a URI."""
        return self.location.child(rel) if rel else ""

    def read_file(self, rel: str) -> bytes:
        return self.files.read_bytes(rel)

    def write_job_report(self, job_id: str, data: bytes) -> str:
        """Store a job report under jobs/ (whole or not at all); returns where it is."""
        self.files.write_bytes(f"jobs/{job_id}.json", data)
        return self.file_ref(f"jobs/{job_id}.json")

    # -- tubes ---------------------------------------------------------------------------------------------
    def tubes_arrow(self, where: str | None = None, columns: list[str] | None = None) -> pa.Table:
        q = self.table("tubes").search()
        if where:
            q = q.where(where)
        if columns:
            q = q.select(columns)
        return read_all(q)

    def tubes_snapshot(self) -> TubeSnapshot:
        """The tubes table at its current version, for a search's several reads (row ids stay valid)."""
        return TubeSnapshot(self.table("tubes"))

    def tubes(self, where: str | None = None) -> list[Tube]:
        rows = self.tubes_arrow(where).to_pylist()
        rows.sort(key=lambda r: (r["start_utc"], r["tube_id"]))
        return [record_to_tube(r) for r in rows]

    def tube(self, tube_id: str) -> Tube | None:
        found = self.tubes(f"tube_id = {sql_str(tube_id)}")
        return found[0] if found else None

    def tube_record(self, tube_id: str) -> dict[str, object] | None:
        rows = self.tubes_arrow(f"tube_id = {sql_str(tube_id)}").to_pylist()
        return rows[0] if rows else None

    def ensure_scalar_indices(self) -> list[str]:
        """(Re)build the scalar indices the search pre-filter uses on `tubes` (and `sources` camera/time), so
        filters on camera, class, time, direction and colours read only matching rows. Idempotent; run it after
        an indexing job (the indices do not cover rows added later until rebuilt). Returns the indexed columns."""
        from lancedb.index import Bitmap, BTree, LabelList

        plan = {
            "tubes": {"camera": Bitmap(), "class_name": Bitmap(), "source_id": BTree(), "tube_id": BTree(),
                      "start_utc": BTree(), "end_utc": BTree(), "horizontal": Bitmap(), "vertical": Bitmap(),
                      "direction8": Bitmap(), "colours": LabelList(), "upper_colours": LabelList(),
                      "lower_colours": LabelList(), "dwell_s": BTree(), "stationary_max_s": BTree()},
            "sources": {"camera": Bitmap(), "start_utc": BTree(), "end_utc": BTree(), "source_id": BTree()},
        }
        done = []
        for name, columns in plan.items():
            table = self.table(name)
            if table.count_rows() == 0:
                continue  # an index needs data to train on; nothing to speed up yet
            for column, config in columns.items():
                table.create_index(column, config=config, replace=True)
                done.append(f"{name}.{column}")
        return done

    def counts(self) -> dict[str, int]:
        out = {name: self.table(name).count_rows() for name in ("sources", "tubes", "scenes", "locks")}
        for name in self.vector_tables():
            out[name] = self.table(name).count_rows()
        return out
