"""Retention (CSI L252-5) and case locks.

Footage older than the retention period (default 30 days, counted from the end of the recording) has its index
data purged — tubes, embeddings, scene samples and thumbnails — unless a lock ties it to a judicial case. The
`sources` row is kept, marked `purged`, so coverage reports can say why that footage is no longer searchable.
Original files are never deleted unless the site config explicitly allows it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pyarrow as pa

from vsearch.errors import UsageError
from vsearch.catalogue import erase
from vsearch.catalogue.store import LOCKS_SCHEMA, SourceRow, Store, sql_str
from vsearch.records import Gap

UTC = dt.timezone.utc


@dataclass(frozen=True)
class Lock:
    lock_id: str
    case_ref: str
    camera: str
    from_utc: dt.datetime
    to_utc: dt.datetime
    created_utc: dt.datetime
    investigator: str
    reason: str

    def covers(self, src: SourceRow) -> bool:
        if src.camera != self.camera or src.start_utc is None:
            return False
        end = src.end_utc or src.start_utc
        return src.start_utc <= self.to_utc and end >= self.from_utc

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        for k in ("from_utc", "to_utc", "created_utc"):
            d[k] = d[k].isoformat()
        return d


@dataclass
class PurgeReport:
    cutoff_utc: str
    dry_run: bool
    purged: list[dict[str, object]] = field(default_factory=list)
    kept_locked: list[dict[str, object]] = field(default_factory=list)
    deleted_files: list[str] = field(default_factory=list)
    thumbnails_deleted: int = 0
    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # per table: old versions and bytes removed
    temp_files_deleted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def add_lock(store: Store, *, case_ref: str, camera: str, from_utc: dt.datetime, to_utc: dt.datetime,
             investigator: str, reason: str, now: dt.datetime | None = None) -> Lock:
    if to_utc <= from_utc:
        raise UsageError(f"--to ({to_utc.isoformat()}) must be after --from ({from_utc.isoformat()})")
    if camera not in store.cameras():
        raise UsageError(f"--camera {camera!r} is not indexed; known cameras: {', '.join(store.cameras()) or 'none'}")
    lock = Lock(lock_id=secrets.token_hex(8), case_ref=case_ref, camera=camera, from_utc=from_utc.astimezone(UTC),
                to_utc=to_utc.astimezone(UTC), created_utc=(now or dt.datetime.now(UTC)).astimezone(UTC),
                investigator=investigator, reason=reason)
    store.table("locks").add(pa.table({k: [v] for k, v in asdict(lock).items()}, schema=LOCKS_SCHEMA))
    return lock


def locks(store: Store) -> list[Lock]:
    rows = store.table("locks").to_arrow().to_pylist()
    return sorted((Lock(**{k: (v.astimezone(UTC) if isinstance(v, dt.datetime) else v) for k, v in r.items()})
                   for r in rows), key=lambda lk: (lk.created_utc, lk.lock_id))


def parse_age(value: str) -> dt.timedelta:
    """"30d", "12h", "90m" → timedelta (used by --older-than)."""
    units = {"d": "days", "h": "hours", "m": "minutes"}
    v = value.strip().lower()
    if len(v) < 2 or v[-1] not in units or not v[:-1].replace(".", "", 1).isdigit():
        raise UsageError(f"--older-than {value!r}: use a number and a unit, e.g. 30d, 12h or 90m")
    return dt.timedelta(**{units[v[-1]]: float(v[:-1])})


def purge(store: Store, *, older_than: dt.timedelta, now: dt.datetime | None = None, dry_run: bool = False,
          delete_sources: bool = False) -> PurgeReport:
    now = (now or dt.datetime.now(UTC)).astimezone(UTC)
    cutoff = now - older_than
    active_locks = locks(store)
    report = PurgeReport(cutoff_utc=cutoff.isoformat(), dry_run=dry_run)
    touched = False
    for src in store.sources():
        if src.status in ("purged", "not_indexed"):  # not_indexed: a job stopped before it; nothing to purge
            continue
        recorded_end = src.end_utc or src.start_utc
        if recorded_end is None or recorded_end >= cutoff:
            continue
        entry = {"path": src.path, "camera": src.camera, "sha256": src.sha256,
                 "end_utc": recorded_end.isoformat(), "tubes": src.n_tubes}
        holding = [lk for lk in active_locks if lk.covers(src)]
        if holding:  # keep what overlaps the locked spans, purge the rest of the file's index
            outside = _outside_locks(store, src, holding)
            report.kept_locked.append({**entry, "locks": sorted({lk.case_ref for lk in holding}),
                                       "kept_utc": [[lk.from_utc.isoformat(), lk.to_utc.isoformat()] for lk in holding],
                                       "tubes_purged_outside_locks": len(outside.tube_ids)})
            if not dry_run and (outside.tube_ids or outside.scene_ids or outside.gaps):
                report.thumbnails_deleted += erase.delete_items(store, src.source_id, outside.tube_ids,
                                                                outside.scene_ids)
                store.replace_source_row(replace(
                    src, status="partial", n_tubes=src.n_tubes - len(outside.tube_ids),
                    gaps_json=json.dumps([asdict(g) for g in [*src.gaps, *outside.gaps]])))
                touched = True
            continue
        report.purged.append(entry)
        if dry_run:
            continue
        touched = True
        report.thumbnails_deleted += len(list((store.thumbs_dir / src.source_id).glob("*")))
        store.write_source(replace(src, status="purged", n_tubes=0,
                                   error=f"index purged by retention on {now.date().isoformat()}"), None)
        if delete_sources and Path(src.path).is_file():
            Path(src.path).unlink()
            report.deleted_files.append(src.path)
    if touched:
        report.tables = erase.erase_history(store, ["sources", "tubes", "scenes", *store.vector_tables()])
        report.temp_files_deleted = _delete_temp_files(store.root)
    return report


@dataclass(frozen=True)
class _Outside:
    tube_ids: list[str]
    scene_ids: list[str]
    gaps: list[Gap]  # the stretches of the file whose index is purged, in source seconds


def _outside_locks(store: Store, src: SourceRow, holding: list[Lock]) -> _Outside:
    """What of a locked source lies outside every lock: tubes not overlapping a locked span, scene samples
    not inside one, and the purged stretches as gaps (so coverage reports say the rest is not searchable)."""
    windows = sorted((lk.from_utc, lk.to_utc) for lk in holding)
    cond = f"source_id = {sql_str(src.source_id)}"
    tubes = store.tubes_arrow(cond, columns=["tube_id", "start_utc", "end_utc"]).to_pylist()
    scenes = store.table("scenes").search().where(cond).select(["scene_id", "time_utc"]).limit(None).to_arrow()
    tube_ids = [r["tube_id"] for r in tubes
                if not any(r["start_utc"] <= to and r["end_utc"] >= fr for fr, to in windows)]
    scene_ids = [r["scene_id"] for r in scenes.to_pylist()
                 if not any(fr <= r["time_utc"] <= to for fr, to in windows)]
    assert src.start_utc is not None
    origin = src.start_utc
    pts = [(src.start_pts_s + (fr - origin).total_seconds(), src.start_pts_s + (to - origin).total_seconds())
           for fr, to in windows]
    end_pts = src.start_pts_s + (src.duration_s or 0.0)
    gaps, cursor = [], src.start_pts_s
    cases = ", ".join(sorted({lk.case_ref for lk in holding}))
    reason = f"index purged by retention outside the span(s) locked for {cases}"
    for a, b in pts:
        if a > cursor:
            gaps.append(Gap(round(cursor, 6), round(min(a, end_pts), 6), reason))
        cursor = max(cursor, b)
    if cursor < end_pts:
        gaps.append(Gap(round(cursor, 6), round(end_pts, 6), reason))
    already = {(g.start_s, g.end_s, g.reason) for g in src.gaps}
    return _Outside(tube_ids, scene_ids, [g for g in gaps if g.end_s > g.start_s and (g.start_s, g.end_s, g.reason)
                                          not in already])


def _delete_temp_files(root: Path) -> list[str]:
    """Leftovers of interrupted writes of job reports and audit heads (`.<name>.tmp`); Lance owns its folder."""
    gone = []
    for p in sorted(root.rglob(".*.tmp")):
        if p.is_file() and not p.is_symlink() and "lancedb" not in p.relative_to(root).parts:
            p.unlink()
            gone.append(str(p.relative_to(root)))
    return gone
