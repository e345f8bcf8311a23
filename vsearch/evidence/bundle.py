"""Evidentiary export bundle: native-format span copies, manifest, SHA256SUMS, Ed25519 signature, offline report.

Layout (all paths relative, so a copied folder or its zip still verifies)::

    manifest.json        what was exported and how (deterministic, signed)
    manifest.json.sig    raw Ed25519 signature of manifest.json
    public_key.pem       the site's public key
    signature.json       signing time + a signature over (manifest hash, key fingerprint, time)
    SHA256SUMS           `sha256sum -c` list of every file except itself and signature.json
    VERIFY.txt           how to check the bundle with standard tools
    report.html          offline report (query, coverage, timeline, thumbnails, hashes)
    spans/               stream copies of the source spans, in the source's container
    thumbnails/          one JPEG per object
    synopsis/, passages/ rendered videos and their source maps, when given

Everything but signature.json is byte-identical when the same inputs are exported again. The span copies are
made by `streamcopy`, VERIFY.txt and report.html by `report_html`; `verify` checks a bundle.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vsearch import __version__
from vsearch.evidence.audit import canonical_json, utc_iso
from vsearch.evidence.layout import (CHUNK, FORMAT, MANIFEST, MANIFEST_SIG, PUBLIC_KEY, REPORT, SIGNATURE, SUMS,
                                     VERIFY_TXT, json_file, safe_name, sums_text)
from vsearch.evidence.report_html import render_report, verify_text
from vsearch.evidence.signing import SiteKey, fingerprint
from vsearch.evidence.streamcopy import ExportError, copy_span_covering, secs
from vsearch.errors import SourceError, UsageError, VerificationError
from vsearch.indexing.sources import sha256_file
from vsearch.site import Investigator

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

__all__ = ["BundleReport", "ExportError", "ExportInputs", "ExportObject", "ExportSource", "ExportVideo",
           "sha256_file", "write_bundle"]


# ---------------------------------------------------------------------------------------------- inputs / outputs
@dataclass(frozen=True)
class ExportSource:
    """One original recording and the spans of it to copy (source pts seconds, as in the index)."""

    path: Path
    sha256: str  # SHA-256 of the whole original, as recorded when indexed; re-checked on export
    camera: str
    start_utc: dt.datetime  # camera-clock wall time at pts == start_pts_s
    spans_s: tuple[tuple[float, float], ...]
    start_pts_s: float = 0.0
    clock_offset_s: float | None = None  # camera clock minus true UTC; None -> site config value, if any
    pipeline: dict[str, object] | None = None  # what indexed it (`indexing.identity`); None before schema v2


@dataclass(frozen=True)
class ExportObject:
    """One object (tube) in the result; times are source pts seconds."""

    object_id: str
    source_sha256: str
    camera: str
    first_pts_s: float
    last_pts_s: float
    label: str
    score: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    thumbnail_jpeg: bytes | None = None


@dataclass(frozen=True)
class ExportVideo:
    """A rendered synopsis or passages video and its source map (copied byte for byte)."""

    kind: str  # "synopsis" | "passages"
    video: Path
    source_map: Path | None = None


@dataclass(frozen=True)
class ExportInputs:
    case: str
    investigator: Investigator
    reason: str
    query: Mapping[str, Any]
    parameters: Mapping[str, Any]
    coverage: Mapping[str, Any]
    models: Sequence[Mapping[str, str]]  # [{"name": ..., "sha256": ...}]
    sources: Sequence[ExportSource]
    objects: Sequence[ExportObject]
    videos: Sequence[ExportVideo] = ()
    site_name: str = ""
    recipients: tuple[str, ...] = ()
    camera_clock_offsets_s: Mapping[str, float] = field(default_factory=dict)
    software_version: str = __version__
    audit_head: Mapping[str, Any] | None = None  # signed head of the site's audit log when the export began


@dataclass(frozen=True)
class BundleReport:
    out_dir: Path
    zip_path: Path | None
    zip_sha256: str | None
    manifest_sha256: str
    files: dict[str, str]  # every file in the bundle except signature.json -> sha256
    signed_at_utc: str
    public_key_sha256: str
    spans: int
    objects: int
    failed_spans: tuple[str, ...] = ()  # one line per span that could not be copied (recorded in the manifest)



def _merge_spans(spans: Sequence[tuple[float, float]], where: str) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in spans):
        if not end > start >= 0:
            raise UsageError(f"{where}: span ({start}, {end}) must satisfy 0 <= start < end (source seconds)")
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _camera_offset(src: ExportSource, offsets: Mapping[str, float]) -> float | None:
    return src.clock_offset_s if src.clock_offset_s is not None else offsets.get(src.camera)


def _times(src: ExportSource, pts_s: float, offset: float | None) -> dict[str, str | None]:
    camera_time = src.start_utc + dt.timedelta(seconds=pts_s - src.start_pts_s)
    return {"camera_clock_utc": utc_iso(camera_time),
            "corrected_utc": None if offset is None else utc_iso(camera_time - dt.timedelta(seconds=offset))}


# ---------------------------------------------------------------------------------------------- writer
def write_bundle(inputs: ExportInputs, out_dir: Path, key: SiteKey, zip: bool = False) -> BundleReport:
    """Write the bundle into `out_dir` (must not exist or be empty); with `zip`, also `<out_dir>.zip`.

    The bundle is built in a hidden sibling folder and renamed into place, so `out_dir` never holds half a
    bundle. Raises VerificationError when an original no longer matches its indexed SHA-256, SourceError when
    it is missing. A span that cannot be stream-copied is recorded (manifest `failed_spans`, each object's
    `span_copy_error`, report.html) and the rest is exported.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(f"export folder {out_dir} is not empty; choose a new folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        manifest_sha, all_files, signed_at, fp, n_spans, n_objects, failed = _write_files(inputs, staging, key)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out_dir.exists():
        out_dir.rmdir()
    os.rename(staging, out_dir)
    zip_path = _write_zip(out_dir) if zip else None
    return BundleReport(out_dir, zip_path, None if zip_path is None else sha256_file(zip_path), manifest_sha,
                        all_files, signed_at, fp, n_spans, n_objects, failed)


def _write_files(inputs: ExportInputs, out_dir: Path, key: SiteKey
                 ) -> tuple[str, dict[str, str], str, str, int, int, tuple[str, ...]]:
    for sub in ("spans", "thumbnails"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}

    def put(rel: str, data: bytes) -> str:
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / rel).write_bytes(data)
        files[rel] = hashlib.sha256(data).hexdigest()
        return files[rel]

    sources = sorted(inputs.sources, key=lambda s: (s.camera, s.start_utc, s.sha256))
    by_sha = {s.sha256: s for s in sources}
    src_entries = [_export_source(s, inputs, out_dir, files) for s in sources]
    entries_by_sha = {e["sha256"]: e for e in src_entries}
    for obj in inputs.objects:
        if obj.source_sha256 not in by_sha:
            raise UsageError(f"object {obj.object_id} refers to source {obj.source_sha256[:16]} "
                             f"which is not among the exported sources")
    obj_entries = []
    for obj in sorted(inputs.objects, key=lambda o: (o.camera, by_sha[o.source_sha256].start_utc, o.first_pts_s,
                                                     o.object_id)):
        src = by_sha[obj.source_sha256]
        offset = _camera_offset(src, inputs.camera_clock_offsets_s)
        entry: dict[str, Any] = {
            "object_id": obj.object_id, "camera": obj.camera, "source_sha256": obj.source_sha256,
            "label": obj.label, "score": obj.score, "attributes": dict(obj.attributes),
            "first_pts_s": secs(obj.first_pts_s), "last_pts_s": secs(obj.last_pts_s),
            "start": _times(src, obj.first_pts_s, offset), "end": _times(src, obj.last_pts_s, offset),
            "camera_clock_offset_s": offset, "thumbnail": None,
            "span_copy_error": _span_error(entries_by_sha[obj.source_sha256], obj)}
        if obj.thumbnail_jpeg is not None:
            rel = f"thumbnails/{safe_name(obj.object_id)}.jpg"
            entry["thumbnail"] = {"file": rel, "sha256": put(rel, obj.thumbnail_jpeg)}
        obj_entries.append(entry)
    videos = {}
    for v in sorted(inputs.videos, key=lambda v: v.kind):
        if v.kind in videos:
            raise UsageError(f"two {v.kind} videos given; export one of each at most")
        entry = {"file": f"{safe_name(v.kind)}/{v.kind}{v.video.suffix.lower()}", "source_map": None}
        entry["sha256"] = put(entry["file"], _read_input(v.video))
        if v.source_map is not None:
            entry["source_map"] = f"{safe_name(v.kind)}/source_map{v.source_map.suffix.lower()}"
            entry["source_map_sha256"] = put(entry["source_map"], _read_input(v.source_map))
        videos[v.kind] = entry

    pub_pem = key.public_pem()
    fp = fingerprint(pub_pem)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "software": {"name": "vsearch", "version": inputs.software_version},
        "site_name": inputs.site_name,
        "case": inputs.case,
        "investigator": inputs.investigator.model_dump(mode="json"),
        "reason": inputs.reason,
        "recipients": list(inputs.recipients),
        "query": _plain(inputs.query), "parameters": _plain(inputs.parameters),
        "coverage": _plain(inputs.coverage),
        "models": sorted((_plain(m) for m in inputs.models), key=lambda m: json.dumps(m, sort_keys=True)),
        "camera_clock_offsets_s": {**dict(inputs.camera_clock_offsets_s),
                                   **{s.camera: s.clock_offset_s for s in sources if s.clock_offset_s is not None}},
        "clock_offset_convention": "offset = camera clock - true UTC; corrected_utc = camera_clock_utc - offset",
        "time_convention": "source seconds are presentation timestamps (pts x time base) of the original file",
        "sources": src_entries,
        "objects": obj_entries,
        "videos": videos,
        "audit_head": None if inputs.audit_head is None else _plain(inputs.audit_head),
        "signing": {"algorithm": "Ed25519", "public_key_file": PUBLIC_KEY, "public_key_sha256": fp,
                    "signature_file": MANIFEST_SIG},
    }
    put(VERIFY_TXT, verify_text(manifest).encode("utf-8"))
    put(REPORT, render_report(manifest, files).encode("utf-8"))
    manifest["files"] = dict(sorted(files.items()))
    manifest_bytes = json_file(manifest)
    (out_dir / MANIFEST).write_bytes(manifest_bytes)
    (out_dir / MANIFEST_SIG).write_bytes(key.sign(manifest_bytes))
    (out_dir / PUBLIC_KEY).write_bytes(pub_pem)
    all_files = dict(files)
    for name in (MANIFEST, MANIFEST_SIG, PUBLIC_KEY):
        all_files[name] = sha256_file(out_dir / name)
    (out_dir / SUMS).write_bytes(sums_text(all_files))
    manifest_sha = all_files[MANIFEST]
    signed_at = utc_iso(dt.datetime.now(dt.timezone.utc))
    statement = {"manifest_sha256": manifest_sha, "public_key_sha256": fp, "signed_at_utc": signed_at}
    (out_dir / SIGNATURE).write_bytes(json_file({
        "algorithm": "Ed25519", "signed_file": MANIFEST, "signature_file": MANIFEST_SIG,
        "public_key_file": PUBLIC_KEY, **statement,
        "statement_signature_b64": base64.b64encode(key.sign(canonical_json(statement))).decode("ascii")}))
    all_files[SUMS] = sha256_file(out_dir / SUMS)
    failed = tuple(f"{s['file_name']} [{f['requested_start_s']}s, {f['requested_end_s']}s): {f['error']}"
                   for s in src_entries for f in s["failed_spans"])
    return (manifest_sha, dict(sorted(all_files.items())), signed_at, fp, sum(len(s["spans"]) for s in src_entries),
            len(obj_entries), failed)


def _plain(obj: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(dict(obj), sort_keys=True, ensure_ascii=False, allow_nan=False, default=str))


def _read_input(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise SourceError(f"cannot read {path} for export: {e}") from e


def _export_source(src: ExportSource, inputs: ExportInputs, out_dir: Path, files: dict[str, str]) -> dict:
    path = Path(src.path)
    if not path.is_file():
        raise SourceError(f"original {path} (camera {src.camera}) is missing; it is needed for the span copies")
    actual = sha256_file(path)
    if actual != src.sha256:
        raise VerificationError(f"original {path} has SHA-256 {actual}, but {src.sha256} when it was indexed: "
                                f"the file changed since indexing; do not export it, have it examined")
    offset = _camera_offset(src, inputs.camera_clock_offsets_s)
    spans, failed = [], []
    for start, end in _merge_spans(src.spans_s, f"source {path}"):
        rel = (f"spans/{safe_name(src.camera)}_{src.sha256[:12]}_{int(round(start * 1000)):09d}-"
               f"{int(round(end * 1000)):09d}{path.suffix.lower()}")
        try:
            probe = copy_span_covering(path, start, end, out_dir / rel)
        except ExportError as e:  # one span that cannot be copied must not cost the case the others
            (out_dir / rel).unlink(missing_ok=True)
            failed.append({"requested_start_s": secs(start), "requested_end_s": secs(end), "error": str(e),
                           "requested_start": _times(src, start, offset), "requested_end": _times(src, end, offset)})
            continue
        files[rel] = sha256_file(out_dir / rel)
        spans.append({
            "file": rel, "sha256": files[rel], "size_bytes": (out_dir / rel).stat().st_size,
            "requested_start_s": secs(start), "requested_end_s": secs(end), **probe,
            "requested_start_offset_in_copy_s": secs(max(0.0, start - probe["copy_start_in_source_s"])),
            "copy_start": _times(src, probe["copy_start_in_source_s"], offset),
            "requested_start": _times(src, start, offset), "requested_end": _times(src, end, offset),
            "method": "ffmpeg stream copy (-c copy), keyframe-aligned start, no re-encoding"})
    return {"file_name": path.name, "original_path": str(path), "sha256": actual, "size_bytes": path.stat().st_size,
            "camera": src.camera, "start_utc_camera_clock": utc_iso(src.start_utc), "start_pts_s": src.start_pts_s,
            "camera_clock_offset_s": offset, "pipeline": src.pipeline, "spans": spans, "failed_spans": failed}


def _span_error(source: Mapping[str, Any], obj: ExportObject) -> str | None:
    """Why the native copy of this object's time is missing from the bundle, or None when it is there."""
    for f in source["failed_spans"]:
        if f["requested_start_s"] <= obj.last_pts_s and obj.first_pts_s <= f["requested_end_s"]:
            return f["error"]
    return None


def _write_zip(out_dir: Path) -> Path:
    zip_path = out_dir.with_name(out_dir.name + ".zip")
    top = out_dir.name
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as zf:
        for f in sorted(p for p in out_dir.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{top}/{f.relative_to(out_dir).as_posix()}", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            with open(f, "rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
    return zip_path


