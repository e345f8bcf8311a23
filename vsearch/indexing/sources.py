"""Finding footage and tying each file to a camera and a wall-clock start time.

A PATH given to `vsearch index` is a video file, a folder (searched recursively for video extensions) or a
manifest CSV with columns `path,camera,start` (and optionally `priority`: a whole number, lowest indexed first,
`indexing.plan`). The start time of each file comes, in order of precedence,
from `--start`, the manifest, a sidecar JSON next to the file (`clip.mp4.json` or `clip.json`), or the
container's `creation_time`; with none of these the file is reported and skipped (never guessed).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from vsearch.errors import QueryError, SourceError, UsageError
from vsearch.query.spec import get_tz

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".ts", ".mts", ".m2ts", ".mpg", ".mpeg", ".webm", ".wmv", ".flv",
     ".3gp", ".dav", ".h264", ".264", ".asf"}
)
HASH_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class SourceSpec:
    """A file to index, with what the user told us about it (camera/start may still be unknown)."""

    path: Path
    camera: str | None = None
    start: dt.datetime | None = None
    start_origin: str | None = None  # "option", "manifest", "sidecar"
    clock_offset_s: float | None = None
    priority: int | None = None  # the manifest's `priority` column: indexed before files without, lowest first


def site_zone(tz: str) -> dt.tzinfo:
    """The `--tz` zone, or UsageError naming the option."""
    try:
        return get_tz(tz)
    except QueryError as e:
        raise UsageError(f"--tz {tz}: {e}") from e


def parse_start(value: str, *, tz: str, what: str) -> dt.datetime:
    """ISO-8601 → aware UTC datetime; naive values are read in the site's time zone `tz`."""
    try:
        t = dt.datetime.fromisoformat(value.strip())
    except ValueError as e:
        raise UsageError(f"{what}: {value!r} is not an ISO-8601 time; use e.g. 2026-11-26T14:00:00+01:00") from e
    if t.tzinfo is None:
        t = t.replace(tzinfo=site_zone(tz))
    return t.astimezone(dt.timezone.utc)


def read_sidecar(path: Path, *, tz: str) -> SourceSpec | None:
    for candidate in (path.with_name(path.name + ".json"), path.with_suffix(".json")):
        if not candidate.is_file():
            continue
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SourceError(f"{candidate}: sidecar is not valid JSON ({e}); fix or remove it") from e
        if not isinstance(data, dict):
            raise SourceError(f"{candidate}: sidecar must be a JSON object with camera/start")
        start = parse_start(str(data["start"]), tz=tz, what=str(candidate)) if data.get("start") else None
        offset = data.get("clock_offset_s")
        return SourceSpec(path, camera=data.get("camera"), start=start, start_origin="sidecar" if start else None,
                          clock_offset_s=float(offset) if offset is not None else None)
    return None


def _read_manifest(path: Path, *, tz: str) -> list[SourceSpec]:
    specs = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "path" not in reader.fieldnames:
            raise UsageError(f"{path}: manifest CSV needs a header 'path,camera,start'")
        for line_no, row in enumerate(reader, start=2):
            p = Path(row["path"].strip())
            if not p.is_absolute():
                p = path.parent / p
            start_txt = (row.get("start") or "").strip()
            start = parse_start(start_txt, tz=tz, what=f"{path}:{line_no} start") if start_txt else None
            prio_txt = (row.get("priority") or "").strip()
            if prio_txt and not re.fullmatch(r"\d+", prio_txt):
                raise UsageError(f"{path}:{line_no} priority: {prio_txt!r} is not a whole number (1 = first; "
                                 "leave it empty for files with no priority)")
            specs.append(SourceSpec(p, camera=(row.get("camera") or "").strip() or None, start=start,
                                    start_origin="manifest" if start else None,
                                    priority=int(prio_txt) if prio_txt else None))
    return specs


@dataclass(frozen=True)
class PathProblem:
    """Something inside an indexed folder that cannot be followed (a loop, a link to nothing), one line each."""

    path: Path
    kind: str  # "loop" | "dangling link" | "unreadable folder"
    message: str


@dataclass(frozen=True)
class Discovery:
    specs: list[SourceSpec]
    problems: list[PathProblem]


def _video_files(root: Path, problems: list[PathProblem]) -> list[Path]:
    """Video files under `root`, following links to folders (a mounted USB disk linked into the evidence
    folder is footage too). A real folder reached twice is read once; a link back to one of its own parent
    folders is a loop and a link to nothing is dangling: both are reported, never silently dropped."""
    found: list[Path] = []
    visited: set[tuple[int, int]] = set()

    def visit(folder: Path, ancestors: frozenset[tuple[int, int]]) -> None:
        st = folder.stat()
        key = (st.st_dev, st.st_ino)
        if key in ancestors:
            problems.append(PathProblem(folder, "loop", f"{folder}: link loop (leads back to "
                                        f"{folder.resolve()}, which contains it); not followed"))
            return
        if key in visited:
            return
        visited.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as e:
            problems.append(PathProblem(folder, "unreadable folder", f"{folder}: cannot be read "
                                        f"({e.strerror or e}); its footage is NOT indexed"))
            return
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink() and not path.exists():
                problems.append(PathProblem(path, "dangling link", f"{path}: link to {os.readlink(path)}, which "
                                            "does not exist (disk not mounted?); NOT indexed"))
            elif entry.is_dir():
                visit(path, ancestors | {key})
            elif entry.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS:
                found.append(path)

    visit(root, frozenset())
    return sorted(found)


def discover(paths: list[Path], *, camera: str | None, start: str | None, tz: str) -> Discovery:
    """Expand PATH arguments into files to index, in a stable order, each real file once, with what could not
    be followed inside folders (loops, dangling links)."""
    site_zone(tz)
    specs: list[SourceSpec] = []
    problems: list[PathProblem] = []
    for p in paths:
        if p.is_dir():
            specs.extend(SourceSpec(f) for f in _video_files(p, problems))
        elif p.is_file() and p.suffix.lower() == ".csv":
            specs.extend(_read_manifest(p, tz=tz))
        elif p.exists():
            specs.append(SourceSpec(p))
        else:
            raise UsageError(f"{p}: no such file or folder")
    if start is not None and len(specs) > 1:
        raise UsageError(
            f"--start applies to a single file but {len(specs)} were found; give each file a sidecar JSON "
            "or use a manifest CSV (path,camera,start)"
        )
    start_utc = parse_start(start, tz=tz, what="--start") if start is not None else None
    seen: set[Path] = set()
    out = []
    for s in specs:
        key = s.path.resolve()
        if key in seen:
            continue
        seen.add(key)
        out.append(SourceSpec(
            path=s.path,
            camera=camera or s.camera,
            start=start_utc or s.start,
            start_origin="option" if start_utc else s.start_origin,
            priority=s.priority,
        ))
    return Discovery(out, problems)


def resolve(spec: SourceSpec, creation_time: dt.datetime | None, *, tz: str) -> tuple[str, dt.datetime, str, float | None]:
    """Camera, start (UTC), where the start came from, and the camera clock offset for one file."""
    side = read_sidecar(spec.path, tz=tz)
    camera = spec.camera or (side.camera if side else None) or spec.path.parent.name or "camera"
    offset = side.clock_offset_s if side else None
    if spec.start is not None:
        return camera, spec.start, spec.start_origin or "option", offset
    if side is not None and side.start is not None:
        return camera, side.start, "sidecar", offset
    if creation_time is not None:
        return camera, creation_time.astimezone(dt.timezone.utc), "container creation_time", offset
    raise SourceError(
        f"{spec.path}: no start time; pass --start ISO-8601, add a sidecar {spec.path.name}.json "
        '({"camera": ..., "start": ...}) or list it in a manifest CSV'
    )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:  # read-only: originals are never modified
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()
