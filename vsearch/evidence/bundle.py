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

Everything but signature.json is byte-identical when the same inputs are exported again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

import av
import imageio_ffmpeg

from vsearch.indexing.sources import sha256_file
from vsearch import __version__
from vsearch.evidence.audit import canonical_json, utc_iso
from vsearch.errors import SourceError, UsageError, VerificationError, VsearchError
from vsearch.evidence.signing import SiteKey, fingerprint, verify_signature
from vsearch.site import Investigator

FORMAT = "vsearch-export/1"
MANIFEST, MANIFEST_SIG, PUBLIC_KEY, SIGNATURE, SUMS, VERIFY_TXT, REPORT = (
    "manifest.json", "manifest.json.sig", "public_key.pem", "signature.json", "SHA256SUMS", "VERIFY.txt",
    "report.html")
SIGNATURE_KEYS = frozenset({"algorithm", "signed_file", "signature_file", "public_key_file", "manifest_sha256",
                            "public_key_sha256", "signed_at_utc", "statement_signature_b64"})
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CHUNK = 1 << 20


class ExportError(VsearchError):
    """A span could not be copied or the bundle could not be written."""


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


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    first_bad: str | None  # bundle-relative name of the first file that does not hold
    problems: list[str]
    files_checked: int


# ---------------------------------------------------------------------------------------------- helpers
def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"


def _secs(x: float | Fraction) -> float:
    return round(float(x), 6)


def _json_file(obj: Any) -> bytes:
    """Readable yet deterministic JSON for bundle files."""
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


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


# ---------------------------------------------------------------------------------------------- span copies
def copy_span(src: Path, start_s: float, end_s: float, out: Path) -> None:
    """Stream-copy `src` from the pts `start_s` to `end_s` (source seconds) into `out`: same container, no
    re-encoding. Call it with `start_s` on a keyframe (see `keyframes_before`); `-seek_timestamp 1` makes
    `-ss` an absolute pts even when the file does not start at 0; `+bitexact` keeps the bytes reproducible."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-loglevel", "error", "-seek_timestamp", "1",
           "-ss", f"{start_s:.6f}", "-i", str(src), "-t", f"{end_s - start_s:.6f}", "-map", "0", "-ignore_unknown",
           "-c", "copy", "-fflags", "+bitexact", "-avoid_negative_ts", "make_zero", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise ExportError(f"stream copy of {src} [{start_s:.3f}s, {end_s:.3f}s) into {out.suffix} failed: "
                          f"{proc.stderr.strip()[-800:] or 'empty output'}")


def keyframes_before(src: Path, start_s: float, n: int = 3) -> list[float]:
    """Presentation times of up to `n` video keyframes at or before `start_s`, latest first (the first packet
    of the file when there is none)."""
    with av.open(str(src)) as c:
        vs = c.streams.video[0]
        tb = vs.time_base
        c.seek(max(0, int((start_s - 60.0) / tb)), stream=vs, backward=True, any_frame=False)
        keys: list[float] = []
        for pkt in _video_packets(c):
            pts = pkt.pts if pkt.pts is not None else pkt.dts
            if pts is None:
                continue
            if float(pts * tb) > start_s + 1e-6:
                break
            if pkt.is_keyframe or not keys:
                keys.append(float(pts * tb))
    if not keys:
        raise ExportError(f"{src} has no video packet at or before {start_s:.3f}s; check the span")
    return keys[::-1][:n]


def copy_span_covering(src: Path, start_s: float, end_s: float, out: Path) -> dict[str, Any]:
    """Copy a span that starts on the keyframe at or before `start_s`, probing the result; falls back to an
    earlier keyframe when the container's seek lands late (MPEG-TS). Returns `probe_copy`'s answer."""
    for key_s in keyframes_before(src, start_s):
        copy_span(src, key_s, end_s, out)
        probe = probe_copy(src, out, key_s)
        if probe["copy_start_in_source_s"] <= start_s + 1e-6:
            return probe
    raise ExportError(f"stream copy of {src} could not be made to start at or before {start_s:.3f}s "
                      f"(seeking in this container lands after the requested start)")


def _video_packets(container: av.container.InputContainer) -> Iterator[av.Packet]:
    stream = container.streams.video[0]
    for pkt in container.demux(stream):
        if pkt.size:
            yield pkt


def probe_copy(src: Path, copy: Path, start_s: float) -> dict[str, Any]:
    """Locate a span copy in its source by matching video packet bytes.

    Returns the source pts of the copy's first and end (last + duration) video packets, the packet count,
    whether the copy starts on a keyframe, and whether every video packet is byte-identical to consecutive
    packets of the source.
    """
    with av.open(str(copy)) as c:
        copied = [(hashlib.sha256(bytes(p)).digest(), p.is_keyframe) for p in _video_packets(c)]
    if not copied:
        raise ExportError(f"span copy {copy} has no video packets")
    with av.open(str(src)) as s:
        vs = s.streams.video[0]
        tb = vs.time_base
        s.seek(max(0, int((start_s - 10.0) / tb)), stream=vs, backward=True, any_frame=False)
        first_pts: Fraction | None = None
        last_end: Fraction | None = None
        matched = 0
        for pkt in _video_packets(s):
            pts = pkt.pts if pkt.pts is not None else pkt.dts
            if first_pts is None:
                if pts is not None and pts * tb > start_s + 1e-6:
                    break
                if hashlib.sha256(bytes(pkt)).digest() != copied[0][0]:
                    continue
                first_pts = pts * tb
            if matched == len(copied) or hashlib.sha256(bytes(pkt)).digest() != copied[matched][0]:
                break
            matched += 1
            last_end = (pts + (pkt.duration or 0)) * tb
    if first_pts is None or last_end is None:
        raise ExportError(f"span copy {copy} does not start with a video packet of {src} at or before "
                          f"{start_s:.3f}s; the copy cannot be located in its source")
    return {"copy_start_in_source_s": _secs(first_pts), "copy_end_in_source_s": _secs(last_end),
            "video_packets": len(copied), "starts_on_keyframe": bool(copied[0][1]),
            "packets_identical_to_source": matched == len(copied)}


# ---------------------------------------------------------------------------------------------- writer
def write_bundle(inputs: ExportInputs, out_dir: Path, key: SiteKey, zip: bool = False) -> BundleReport:
    """Write the bundle into `out_dir` (must not exist or be empty); with `zip`, also `<out_dir>.zip`.

    The bundle is built in a hidden sibling folder and renamed into place, so `out_dir` never holds half a
    bundle. Raises VerificationError when an original no longer matches its indexed SHA-256, SourceError when
    it is missing, ExportError when a span cannot be stream-copied.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise UsageError(f"export folder {out_dir} is not empty; choose a new folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        manifest_sha, all_files, signed_at, fp, n_spans, n_objects = _write_files(inputs, staging, key)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out_dir.exists():
        out_dir.rmdir()
    os.rename(staging, out_dir)
    zip_path = _write_zip(out_dir) if zip else None
    return BundleReport(out_dir, zip_path, None if zip_path is None else sha256_file(zip_path), manifest_sha,
                        all_files, signed_at, fp, n_spans, n_objects)


def _write_files(inputs: ExportInputs, out_dir: Path, key: SiteKey
                 ) -> tuple[str, dict[str, str], str, str, int, int]:
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
            "first_pts_s": _secs(obj.first_pts_s), "last_pts_s": _secs(obj.last_pts_s),
            "start": _times(src, obj.first_pts_s, offset), "end": _times(src, obj.last_pts_s, offset),
            "camera_clock_offset_s": offset, "thumbnail": None}
        if obj.thumbnail_jpeg is not None:
            rel = f"thumbnails/{_safe_name(obj.object_id)}.jpg"
            entry["thumbnail"] = {"file": rel, "sha256": put(rel, obj.thumbnail_jpeg)}
        obj_entries.append(entry)
    videos = {}
    for v in sorted(inputs.videos, key=lambda v: v.kind):
        if v.kind in videos:
            raise UsageError(f"two {v.kind} videos given; export one of each at most")
        entry = {"file": f"{_safe_name(v.kind)}/{v.kind}{v.video.suffix.lower()}", "source_map": None}
        entry["sha256"] = put(entry["file"], _read_input(v.video))
        if v.source_map is not None:
            entry["source_map"] = f"{_safe_name(v.kind)}/source_map{v.source_map.suffix.lower()}"
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
        "signing": {"algorithm": "Ed25519", "public_key_file": PUBLIC_KEY, "public_key_sha256": fp,
                    "signature_file": MANIFEST_SIG},
    }
    put(VERIFY_TXT, verify_text(manifest).encode("utf-8"))
    put(REPORT, render_report(manifest, files).encode("utf-8"))
    manifest["files"] = dict(sorted(files.items()))
    manifest_bytes = _json_file(manifest)
    (out_dir / MANIFEST).write_bytes(manifest_bytes)
    (out_dir / MANIFEST_SIG).write_bytes(key.sign(manifest_bytes))
    (out_dir / PUBLIC_KEY).write_bytes(pub_pem)
    all_files = dict(files)
    for name in (MANIFEST, MANIFEST_SIG, PUBLIC_KEY):
        all_files[name] = sha256_file(out_dir / name)
    (out_dir / SUMS).write_bytes(_sums_text(all_files))
    manifest_sha = all_files[MANIFEST]
    signed_at = utc_iso(dt.datetime.now(dt.timezone.utc))
    statement = {"manifest_sha256": manifest_sha, "public_key_sha256": fp, "signed_at_utc": signed_at}
    (out_dir / SIGNATURE).write_bytes(_json_file({
        "algorithm": "Ed25519", "signed_file": MANIFEST, "signature_file": MANIFEST_SIG,
        "public_key_file": PUBLIC_KEY, **statement,
        "statement_signature_b64": base64.b64encode(key.sign(canonical_json(statement))).decode("ascii")}))
    all_files[SUMS] = sha256_file(out_dir / SUMS)
    return (manifest_sha, dict(sorted(all_files.items())), signed_at, fp, sum(len(s["spans"]) for s in src_entries),
            len(obj_entries))


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
    spans = []
    for start, end in _merge_spans(src.spans_s, f"source {path}"):
        rel = (f"spans/{_safe_name(src.camera)}_{src.sha256[:12]}_{int(round(start * 1000)):09d}-"
               f"{int(round(end * 1000)):09d}{path.suffix.lower()}")
        probe = copy_span_covering(path, start, end, out_dir / rel)
        files[rel] = sha256_file(out_dir / rel)
        spans.append({
            "file": rel, "sha256": files[rel], "size_bytes": (out_dir / rel).stat().st_size,
            "requested_start_s": _secs(start), "requested_end_s": _secs(end), **probe,
            "requested_start_offset_in_copy_s": _secs(start - probe["copy_start_in_source_s"]),
            "copy_start": _times(src, probe["copy_start_in_source_s"], offset),
            "requested_start": _times(src, start, offset), "requested_end": _times(src, end, offset),
            "method": "ffmpeg stream copy (-c copy), keyframe-aligned start, no re-encoding"})
    return {"file_name": path.name, "original_path": str(path), "sha256": actual, "size_bytes": path.stat().st_size,
            "camera": src.camera, "start_utc_camera_clock": utc_iso(src.start_utc), "start_pts_s": src.start_pts_s,
            "camera_clock_offset_s": offset, "spans": spans}


def _sums_text(files: Mapping[str, str]) -> bytes:
    return "".join(f"{h}  {rel}\n" for rel, h in sorted(files.items())).encode("utf-8")


def _write_zip(out_dir: Path) -> Path:
    zip_path = out_dir.with_name(out_dir.name + ".zip")
    top = out_dir.name
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as zf:
        for f in sorted(p for p in out_dir.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{top}/{f.relative_to(out_dir).as_posix()}", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3
            with open(f, "rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
    return zip_path


# ---------------------------------------------------------------------------------------------- verification
class _Reader:
    """Uniform access to the files of a bundle folder or zip (names relative to the bundle root)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        self.problems: list[tuple[str, str]] = []
        if path.is_dir():
            self._names = []
            for p in sorted(path.rglob("*")):
                rel = p.relative_to(path).as_posix()
                if p.is_symlink():
                    self.problems.append((rel, f"{rel}: is a symbolic link, not a file"))
                elif p.is_file():
                    self._names.append(rel)
        else:
            self.zip = zipfile.ZipFile(path)
            members = [n for n in self.zip.namelist() if not n.endswith("/")]
            tops = {n.split("/", 1)[0] for n in members}
            if len(tops) == 1 and all("/" in n for n in members):
                self.prefix = next(iter(tops)) + "/"
            self._names = sorted(n[len(self.prefix):] for n in members)

    def names(self) -> list[str]:
        return self._names

    def read(self, rel: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(self.prefix + rel)
        return (self.path / rel).read_bytes()

    def sha256(self, rel: str) -> str:
        if self.zip is None:
            return sha256_file(self.path / rel)
        h = hashlib.sha256()
        with self.zip.open(self.prefix + rel) as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def verify_bundle(path: Path) -> VerifyReport:
    """Check a bundle folder or zip: every file's hash, no missing or extra file, the manifest signature,
    the signature record and the manifest's own cross-references. `first_bad` names the first failing file."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path} does not exist; give an export folder or its .zip")
    try:
        reader = _Reader(path)
    except zipfile.BadZipFile as e:
        return VerifyReport(False, path.name, [f"{path.name}: not a readable zip ({e})"], 0)
    try:
        problems = list(reader.problems)
        problems += _check(reader)
        return VerifyReport(not problems, problems[0][0] if problems else None, [p[1] for p in problems],
                            len(reader.names()))
    finally:
        reader.close()


def _check(r: _Reader) -> list[tuple[str, str]]:
    names = set(r.names())
    missing = [n for n in (MANIFEST, MANIFEST_SIG, PUBLIC_KEY, SUMS, SIGNATURE) if n not in names]
    if missing:
        return [(n, f"{n}: missing") for n in missing]
    actual: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for n in sorted(names):
        try:
            actual[n] = r.sha256(n)
        except (zipfile.BadZipFile, OSError, EOFError) as e:  # zip CRC errors name the damaged member
            problems.append((n, f"{n}: cannot be read ({e})"))
    if problems:
        return problems
    sums, sums_problem = _parse_sums(r.read(SUMS))
    manifest_bytes, pem = r.read(MANIFEST), r.read(PUBLIC_KEY)
    if not verify_signature(pem, r.read(MANIFEST_SIG), manifest_bytes):
        culprits = [n for n in (MANIFEST, MANIFEST_SIG, PUBLIC_KEY) if sums.get(n) not in (None, actual[n])]
        who = culprits[0] if culprits else MANIFEST
        return [(who, f"{who}: the Ed25519 signature of {MANIFEST} does not verify with {PUBLIC_KEY}")]
    try:
        manifest = json.loads(manifest_bytes)
        listed: dict[str, str] = manifest["files"]
        fp = manifest["signing"]["public_key_sha256"]
    except (ValueError, KeyError, TypeError) as e:
        return [(MANIFEST, f"{MANIFEST}: signed but not a vsearch manifest ({e})")]
    for rel in listed:
        if not _safe_rel(rel):
            problems.append((MANIFEST, f"{MANIFEST}: unsafe file name {rel!r}"))
    for rel, h in sorted(listed.items()):
        if rel not in actual:
            problems.append((rel, f"{rel}: listed in the manifest but missing"))
        elif actual[rel] != h:
            problems.append((rel, f"{rel}: SHA-256 {actual[rel]} does not match the manifest ({h})"))
    control = {MANIFEST, MANIFEST_SIG, PUBLIC_KEY, SUMS, SIGNATURE}
    for rel in sorted(names - set(listed) - control):
        problems.append((rel, f"{rel}: not listed in the manifest (added file)"))
    if fingerprint(pem) != fp:
        problems.append((PUBLIC_KEY, f"{PUBLIC_KEY}: fingerprint differs from the manifest's {fp}"))
    expected_sums = _sums_text({**listed, **{n: actual[n] for n in (MANIFEST, MANIFEST_SIG, PUBLIC_KEY)}})
    if sums_problem or r.read(SUMS) != expected_sums:
        problems.append((SUMS, f"{SUMS}: {sums_problem or 'does not match the signed manifest'}"))
    problems += _check_signature_record(r.read(SIGNATURE), actual, pem)
    problems += _check_cross_refs(manifest, listed)
    return problems


def _parse_sums(data: bytes) -> tuple[dict[str, str], str | None]:
    out: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return out, "not UTF-8 text"
    for no, line in enumerate(text.splitlines(), start=1):
        m = re.fullmatch(r"([0-9a-f]{64})  (.+)", line)
        if m is None or not _safe_rel(m.group(2)):
            return out, f"line {no} is not '<sha256>  <relative path>'"
        out[m.group(2)] = m.group(1)
    return out, None


def _safe_rel(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel


def _check_signature_record(data: bytes, actual: Mapping[str, str], pem: bytes) -> list[tuple[str, str]]:
    try:
        rec = json.loads(data)
        if not isinstance(rec, dict) or set(rec) != SIGNATURE_KEYS:
            raise ValueError(f"fields must be {sorted(SIGNATURE_KEYS)}")
        sig = base64.b64decode(rec["statement_signature_b64"], validate=True)
    except (ValueError, TypeError) as e:
        return [(SIGNATURE, f"{SIGNATURE}: not a valid signature record ({e})")]
    statement = {k: rec[k] for k in ("manifest_sha256", "public_key_sha256", "signed_at_utc")}
    checks = [
        (_json_file(rec) == data, "not in its canonical form"),
        ((rec["algorithm"], rec["signed_file"], rec["signature_file"], rec["public_key_file"])
         == ("Ed25519", MANIFEST, MANIFEST_SIG, PUBLIC_KEY), "names the wrong files or algorithm"),
        (rec["manifest_sha256"] == actual[MANIFEST], "manifest_sha256 is not the manifest's hash"),
        (rec["public_key_sha256"] == fingerprint(pem), "public_key_sha256 is not the key's fingerprint"),
        (verify_signature(pem, sig, canonical_json(statement)), "the signature over the signing time does not "
                                                                "verify"),
    ]
    return [(SIGNATURE, f"{SIGNATURE}: {why}") for ok, why in checks if not ok][:1]


def _check_cross_refs(manifest: Mapping[str, Any], listed: Mapping[str, str]) -> list[tuple[str, str]]:
    """Hashes quoted inside the manifest (spans, thumbnails, videos) must agree with its file list."""
    refs: list[tuple[str, str]] = []
    for s in manifest.get("sources", []):
        refs += [(sp["file"], sp["sha256"]) for sp in s.get("spans", [])]
    refs += [(o["thumbnail"]["file"], o["thumbnail"]["sha256"]) for o in manifest.get("objects", [])
             if o.get("thumbnail")]
    for v in manifest.get("videos", {}).values():
        refs.append((v["file"], v["sha256"]))
        if v.get("source_map"):
            refs.append((v["source_map"], v["source_map_sha256"]))
    return [(MANIFEST, f"{MANIFEST}: {rel} is quoted with SHA-256 {h} but listed with {listed.get(rel)}")
            for rel, h in refs if listed.get(rel) != h][:1]


# ---------------------------------------------------------------------------------------------- VERIFY.txt
def verify_text(manifest: Mapping[str, Any]) -> str:
    fp = manifest["signing"]["public_key_sha256"]
    return f"""\
How to verify this vsearch export bundle with standard tools
=============================================================
Case: {manifest['case']}    Site: {manifest['site_name']}    Software: vsearch {manifest['software']['version']}
Site public key fingerprint (SHA-256 of its DER SubjectPublicKeyInfo):
    {fp}

Run these commands inside this folder (unzip first if you received the .zip).

1. Every file is intact (all files except SHA256SUMS and signature.json are listed):
       sha256sum -c SHA256SUMS
   Every line must end in "OK".

2. The manifest was signed by the key in public_key.pem (OpenSSL 3 or later):
       openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.json.sig
   It must print "Signature Verified Successfully".

3. The key is the site's key:
       openssl pkey -pubin -in public_key.pem -outform DER | sha256sum
   must print the fingerprint above, and that fingerprint must be the one the site declared to you
   independently of this bundle (a forger could replace the key and re-sign everything).

4. The files are the ones listed in the signed manifest:
       python3 -c 'import json; [print(h + "  " + p) for p, h in sorted(json.load(open("manifest.json"))["files"].items())]' | sha256sum -c
   Every line must end in "OK".

5. The originals: manifest.json gives, for each source recording, the SHA-256 of the whole original file;
   compare it with the original kept by the site:  sha256sum <original file>

Files in spans/ are stream copies (no re-encoding) of the originals, in their native container. A copy starts
at the keyframe at or before the requested start; manifest.json gives for each copy the requested span, the
span actually copied (source presentation time, in seconds), whether every video packet is byte-identical to
the original's, and the camera clock offset used to correct times (offset = camera clock - true UTC).
signature.json records when the bundle was signed (the exporting machine's clock).

With vsearch installed, the same checks run with:  vsearch verify <this folder or its .zip>
"""


# ---------------------------------------------------------------------------------------------- report.html
_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#111;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px} td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;
vertical-align:top} td.h{font-family:monospace;font-size:11px;word-break:break-all}
.thumbs{display:flex;flex-wrap:wrap;gap:10px} figure.thumb{margin:0;width:164px;font-size:11px}
figure.thumb img{width:160px;height:auto;border:2px solid #333;display:block}
svg text{font-size:11px;font-family:system-ui,sans-serif} .meta{color:#444;font-size:13px}
"""
_MARK_COLOUR = "#d00000"


def _e(x: Any) -> str:
    return html.escape(x if isinstance(x, str) else json.dumps(x, sort_keys=True, ensure_ascii=False))


def _kv_table(d: Mapping[str, Any], cls: str) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in sorted(d.items()))
    return f'<table class="{cls}">{rows or "<tr><td>(none)</td></tr>"}</table>'


def _obj_time(o: Mapping[str, Any], which: str) -> dt.datetime:
    t = o[which]["corrected_utc"] or o[which]["camera_clock_utc"]
    return dt.datetime.fromisoformat(t.replace("Z", "+00:00"))


def _timeline_svg(objects: Sequence[Mapping[str, Any]]) -> str:
    if not objects:
        return '<p class="timeline-empty">No objects.</p>'
    cams = sorted({o["camera"] for o in objects})
    t0 = min(_obj_time(o, "start") for o in objects)
    t1 = max(_obj_time(o, "end") for o in objects)
    span_s = max((t1 - t0).total_seconds(), 1.0)
    left, width, row_h = 140, 820, 34
    height = 30 + row_h * len(cams)
    parts = [f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{height}" '
             f'role="img" aria-label="timeline of objects per camera">']
    for i, cam in enumerate(cams):
        y = 20 + i * row_h
        parts.append(f'<text x="4" y="{y + row_h / 2 + 4:.1f}">{_e(cam)}</text>'
                     f'<rect x="{left}" y="{y + 4}" width="{width}" height="{row_h - 8}" fill="#eee"/>')
    for k in range(5):
        x = left + width * k / 4
        t = t0 + dt.timedelta(seconds=span_s * k / 4)
        parts.append(f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{height}" stroke="#999" stroke-width="0.5"/>'
                     f'<text x="{x - 30:.1f}" y="11">{t.strftime("%H:%M:%S")}</text>')
    lanes: dict[str, list[float]] = {}  # camera -> end x of the last mark in each lane (overlaps stack)
    placed = []
    for o in sorted(objects, key=lambda o: (o["camera"], _obj_time(o, "start"))):
        x0 = left + width * (_obj_time(o, "start") - t0).total_seconds() / span_s
        w = max(width * (_obj_time(o, "end") - _obj_time(o, "start")).total_seconds() / span_s, 4.0)
        ends = lanes.setdefault(o["camera"], [])
        lane = next((i for i, end in enumerate(ends) if end < x0), len(ends))
        ends[lane:lane + 1] = [x0 + w]
        placed.append((o, x0, w, lane))
    for o, x0, w, lane in placed:
        n = len(lanes[o["camera"]])
        h = (row_h - 12) / n
        y = 20 + cams.index(o["camera"]) * row_h + 6 + lane * h
        parts.append(f'<rect class="mark" data-object-id="{_e(o["object_id"])}" x="{x0:.1f}" y="{y:.1f}" '
                     f'width="{w:.1f}" height="{max(h - 1, 2):.1f}" fill="{_MARK_COLOUR}"><title>'
                     f'{_e(o["object_id"])} {_e(o["label"])} {_e(o["start"]["camera_clock_utc"])}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def render_report(manifest: Mapping[str, Any], files: Mapping[str, str]) -> str:
    """Self-contained offline HTML (no scripts, no network; thumbnails are relative files of the bundle)."""
    objs = manifest["objects"]
    corrected = all(o["start"]["corrected_utc"] for o in objs)
    thumbs = "".join(
        f'<figure class="thumb" data-object-id="{_e(o["object_id"])}"><img src="{_e(o["thumbnail"]["file"])}" '
        f'alt="object {_e(o["object_id"])}"><figcaption>{_e(o["object_id"])}<br>{_e(o["camera"])} · '
        f'{_e(o["label"])}<br>{_e(o["start"]["corrected_utc"] or o["start"]["camera_clock_utc"])}</figcaption>'
        f'</figure>' for o in objs if o["thumbnail"])
    src_rows = "".join(
        f'<tr><td>{_e(s["camera"])}</td><td>{_e(s["file_name"])}</td><td class="h">{_e(s["sha256"])}</td>'
        f'<td>{s["size_bytes"]}</td><td>{_e(s["camera_clock_offset_s"])}</td></tr>' for s in manifest["sources"])
    span_rows = "".join(
        f'<tr><td>{_e(sp["file"])}</td><td>{sp["requested_start_s"]}–{sp["requested_end_s"]}</td>'
        f'<td>{sp["copy_start_in_source_s"]}–{sp["copy_end_in_source_s"]}</td>'
        f'<td>{_e(sp["packets_identical_to_source"])}</td></tr>'
        for s in manifest["sources"] for sp in s["spans"])
    file_rows = "".join(f'<tr><td>{_e(rel)}</td><td class="h">{h}</td></tr>'
                        for rel, h in sorted(files.items()) if rel != REPORT)
    model_rows = "".join(f'<tr><td>{_e(m.get("name", ""))}</td><td class="h">{_e(m.get("sha256", ""))}</td></tr>'
                         for m in manifest["models"])
    inv = manifest["investigator"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'">
<title>vsearch export – case {_e(manifest['case'])}</title><style>{_CSS}</style></head>
<body>
<h1>vsearch export – case {_e(manifest['case'])}</h1>
<p class="meta">Site: {_e(manifest['site_name'])} · Investigator: {_e(inv['name'])} ({_e(inv['id'])}, {_e(inv['authorisation_ref'])})
· Reason: {_e(manifest['reason'])} · Software: vsearch {_e(manifest['software']['version'])}
· Signing key SHA-256: <span class="h">{_e(manifest['signing']['public_key_sha256'])}</span></p>
<h2>Query</h2>{_kv_table(manifest['query'], 'query')}
<h2>Timeline ({'UTC, corrected for camera clock offsets' if corrected else 'camera clock, offsets not all known'})</h2>
{_timeline_svg(objs)}
<h2>Objects ({len(objs)})</h2><div class="thumbs">{thumbs}</div>
<h2>Coverage</h2>{_kv_table(manifest['coverage'], 'coverage')}
<h2>Parameters</h2>{_kv_table(manifest['parameters'], 'parameters')}
<h2>Sources (originals)</h2><table class="sources"><tr><th>camera</th><th>file</th><th>SHA-256 of the original</th>
<th>bytes</th><th>clock offset (s)</th></tr>{src_rows}</table>
<h2>Span copies (source seconds: requested, copied)</h2><table class="spans"><tr><th>file</th><th>requested</th>
<th>copied</th><th>packets identical</th></tr>{span_rows}</table>
<h2>Models</h2><table class="models">{model_rows or '<tr><td>(none)</td></tr>'}</table>
<h2>File hashes (SHA-256)</h2><table class="hashes">{file_rows}</table>
<p class="meta">Check this bundle as described in VERIFY.txt. The manifest (manifest.json) is signed; this page is
a convenience view of it.</p>
</body></html>
"""
