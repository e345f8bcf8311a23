"""The catalogue of supported model files and the ways to get them onto a machine.

A models directory holds the files at the relative paths of the catalogue (the layout of the project's
shared `models/` folder). `install_from` copies them from a folder or USB stick (the normal case on an
air-gapped workstation); `fetch` downloads them where internet exists. Both verify every SHA-256 before a
file is placed, and place it atomically, so a models directory never holds a half-written or unverified file.
`installed` reports which models are present *and* verified; verification results are cached by
(size, mtime) in a small JSON file in the directory so files are not re-hashed on every run.
Which copy of each model a run uses (configured folder, installed models, built-in set) is decided in
`vsearch.models.resolve`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vsearch.indexing.sources import sha256_file
from vsearch.errors import ModelError

ENV_VAR = "VSEARCH_MODELS"
CACHE_NAME = ".vsearch-verified.json"
_CHUNK = 1 << 20

ModelState = Literal["verified", "missing", "incomplete", "corrupt"]


@dataclass(frozen=True)
class ModelFile:
    relpath: str  # POSIX path inside the models directory
    sha256: str
    size_bytes: int
    url: str  # canonical public download source (pinned commit)


@dataclass(frozen=True)
class ModelEntry:
    key: str
    purpose: str
    licence: str
    provenance: str
    files: tuple[ModelFile, ...]

    @property
    def main_file(self) -> ModelFile:
        """The file a runtime opens (.xml of an IR pair, or the .onnx)."""
        return self.files[0]


def _gh(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


_OMZ = ("lsdace30095/cmrpack23", "cb2d3538ec96")
_ATTR = ("VictorHidalgoUCLM/NeuralComputeStick2", "d399810cc1c1")
_REID = ("yas-sim/object-tracking-line-crossing-area-intrusion", "7d474dd0fb35")
_YOLOX = ("hamacom2004jp/iinfer", "c7f9a3c5216c6f8b3e8b35886f863dffa2dc0bf9")
_MARP = ("Lawrence-lugs/MARP", "92ce10f77c2359b68699e6fe9a16d09c106532c8")


def _ir(name: str, precision: str, src: tuple[str, str], xml: tuple[str, int], binf: tuple[str, int]) -> tuple[ModelFile, ...]:
    rel = f"{name}/{precision}/{name}"
    return (
        ModelFile(f"{rel}.xml", xml[0], xml[1], _gh(src[0], src[1], f"intel/{rel}.xml")),
        ModelFile(f"{rel}.bin", binf[0], binf[1], _gh(src[0], src[1], f"intel/{rel}.bin")),
    )


_OMZ_LICENCE = "Apache-2.0 (Intel Open Model Zoo)"

CATALOGUE: dict[str, ModelEntry] = {
    e.key: e
    for e in (
        ModelEntry(
            "pvb-2002",
            "person / vehicle / bike detector for elevated CCTV views (default detector)",
            _OMZ_LICENCE, f"github.com/{_OMZ[0]} @ {_OMZ[1]}",
            _ir("person-vehicle-bike-detection-2002", "FP16", _OMZ,
                ("ddc0b2af817f0163ed944512b4261dad0b8a77fa6ca7866aa030b134f95fae41", 255048),
                ("2899097a995554b7f5b95a3722623f1aecc14adf275beb043e5b27d722ab1b72", 3642626)),
        ),
        ModelEntry(
            "pvb-2004",
            "person / vehicle / bike detector, smaller input (faster, less accurate)",
            _OMZ_LICENCE, f"github.com/{_OMZ[0]} @ {_OMZ[1]}",
            _ir("person-vehicle-bike-detection-2004", "FP16", _OMZ,
                ("70a7f947edee6b535b5f82e8b729590c8c398abc8198b1e9c102c835b7f26f7b", 1227251),
                ("121ece188d8291c210f0f89428c54d9b6d6cabe580a6fe9d6f24d0b1c159c7a5", 3906044)),
        ),
        ModelEntry(
            "yolox-nano",
            "COCO detector: finer vehicle types (car, bus, truck, motorbike, bicycle) and persons",
            "Apache-2.0 (Megvii YOLOX)", f"github.com/{_YOLOX[0]} @ {_YOLOX[1][:12]}",
            (ModelFile("yolox_nano/yolox_nano.onnx",
                       "d39bee73564e338080378b0ad567fbb40e818b55bbfaf971de82a0267ed16b8a", 3713911,
                       _gh(*_YOLOX, "models/yolox_nano.onnx")),),
        ),
        ModelEntry(
            "person-attributes-0230",
            "clothing attributes of a person crop (bag, backpack, hat, sleeves, trousers, coat) and colour points",
            _OMZ_LICENCE, f"github.com/{_ATTR[0]} @ {_ATTR[1]}",
            _ir("person-attributes-recognition-crossroad-0230", "FP32", _ATTR,
                ("871ebc205557431b7d78dacfa12a8ea88718fb83caf20dbc0eb612e814a3e4d5", 190069),
                ("717aa86c9eeca18ed49931494c50967559042338203ea69362b73276b51f8a97", 2939240)),
        ),
        ModelEntry(
            "vehicle-attributes-0039",
            "vehicle colour and type (car, bus, truck, van) from a vehicle crop",
            _OMZ_LICENCE, f"github.com/{_ATTR[0]} @ {_ATTR[1]}",
            _ir("vehicle-attributes-recognition-barrier-0039", "FP32", _ATTR,
                ("3ed1d4cc6fc1becf763a39c95154917a7b81eda2d77f7bcd6ee56b0e7409e6ad", 39740),
                ("fc556ae02cecb5c19d7bed84f8b4b289144dde11509d2ad12f38eee3cdba43d9", 2504028)),
        ),
        ModelEntry(
            "reid-0288",
            "clothing-appearance descriptor of a person crop, for 'more like this' across cameras",
            _OMZ_LICENCE, f"github.com/{_REID[0]} @ {_REID[1]}",
            _ir("person-reidentification-retail-0288", "FP32", _REID,
                ("30f452b2ed2763f7bf429eea23f8f243ad0e7f3cdd7226db6888f1660efb3424", 450664),
                ("6496b8d51741703c9e9c7f6474cb96c60de1856d7b4fd77235e48cea146066a5", 728052)),
        ),
        ModelEntry(
            "mobilenetv2-int8",
            "ImageNet classifier for finer vehicle labels on crops (minivan, pickup, school bus, moped...)",
            "Apache-2.0 (ONNX Model Zoo)", f"github.com/{_MARP[0]} @ {_MARP[1][:12]}; class names: pytorch/hub",
            (
                ModelFile("mobilenetv2-12-int8/mobilenetv2-12-int8.onnx",
                          "83530ad811bc31d2b60a5599a21265a5057608c9b044b4ee758cc22f2309f54f", 3655640,
                          _gh(*_MARP, "onnx_models/mobilenetv2-12-int8.onnx")),
                ModelFile("mobilenetv2-12-int8/imagenet_classes.txt",
                          "e697a491aa735cc6c2aaf982f8e86e8fc7b0a1ea7750a2cc6a2bdfc1e109012f", 10473,
                          _gh("pytorch/hub", "master", "imagenet_classes.txt")),
            ),
        ),
    )
}


@dataclass(frozen=True)
class ModelStatus:
    key: str
    purpose: str
    state: ModelState
    path: Path  # the main file (where it is, or where it would go)
    detail: str = ""  # which files are missing or corrupt


@dataclass
class InstallReport:
    models_dir: Path
    placed: list[str] = field(default_factory=list)  # relpaths copied/downloaded and verified
    already_present: list[str] = field(default_factory=list)  # relpaths already verified in models_dir
    not_found: list[str] = field(default_factory=list)  # relpaths missing in the source, or of a model that is
    # incomplete there (a model is installed whole or not at all)
    refused: list[str] = field(default_factory=list)  # one message per refused file

    @property
    def ok(self) -> bool:
        return not self.refused


class ModelVerificationError(ModelError):
    """One or more files were refused (wrong or corrupt); `report` says what was placed all the same."""

    def __init__(self, report: InstallReport) -> None:
        super().__init__("refused model file(s), not installed:\n  " + "\n  ".join(report.refused)
                         + "\nGet a good copy (see `vsearch models list` for the canonical sources) and retry.")
        self.report = report


# ---------------------------------------------------------------------------------------------- locations

def user_models_dir() -> Path:
    """The user's installed models: `$XDG_DATA_HOME/vsearch/models` (default `~/.local/share/vsearch/models`)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser() / "vsearch" / "models"


def default_models_dir() -> Path:
    """Where `install`/`fetch` put files: `$VSEARCH_MODELS` if set, else `user_models_dir()`."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else user_models_dir()


def resolve_models_dir(explicit: Path | None) -> Path:
    """An explicit directory (option / config) wins over the environment and the default."""
    return Path(explicit).expanduser() if explicit is not None else default_models_dir()


def entries(keys: Iterable[str] | None) -> list[ModelEntry]:
    if keys is None:
        return list(CATALOGUE.values())
    out = []
    for k in keys:
        if k not in CATALOGUE:
            raise ModelError(f"unknown model {k!r}; known models: {', '.join(CATALOGUE)}")
        out.append(CATALOGUE[k])
    return out


# ---------------------------------------------------------------------------------------------- hashing

class _VerifyCache:
    """relpath -> (size, mtime_ns, sha256) of files already hashed, stored as JSON in the models dir."""

    def __init__(self, models_dir: Path) -> None:
        self.path = models_dir / CACHE_NAME
        self.data: dict[str, dict[str, object]] = {}
        self.dirty = False
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text())
            except (OSError, ValueError):
                loaded = {}  # a damaged cache only costs a re-hash
            if isinstance(loaded, dict):
                self.data = loaded

    def sha256(self, relpath: str, path: Path) -> str:
        st = path.stat()
        rec = self.data.get(relpath)
        if rec and rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns:
            return str(rec["sha256"])
        digest = sha256_file(path)
        self.data[relpath] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        self.dirty = True
        return digest

    def remember(self, relpath: str, path: Path, sha256: str) -> None:
        st = path.stat()
        self.data[relpath] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
        self.dirty = True

    def save(self) -> None:
        folder = self.path.parent
        if not self.dirty or not folder.is_dir() or not folder.stat().st_mode & 0o222:
            return  # a folder marked read-only (even to root) is left untouched
        try:
            fd, tmp = tempfile.mkstemp(prefix=".cache-", dir=folder)
            with os.fdopen(fd, "w") as f:
                json.dump(self.data, f, indent=1, sort_keys=True)
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
        except OSError:
            pass  # read-only models dir (e.g. a mounted share): verification still happened, just not cached
        self.dirty = False


def _file_state(cache: _VerifyCache, models_dir: Path, mf: ModelFile) -> Literal["ok", "missing", "corrupt"]:
    p = models_dir / mf.relpath
    if not p.is_file():
        return "missing"
    if p.stat().st_size != mf.size_bytes:
        return "corrupt"
    return "ok" if cache.sha256(mf.relpath, p) == mf.sha256 else "corrupt"


# ---------------------------------------------------------------------------------------------- queries

def list_models(models_dir: Path) -> list[ModelStatus]:
    """Every catalogue entry with its state in `models_dir`."""
    models_dir = Path(models_dir)
    cache = _VerifyCache(models_dir)
    out = []
    for e in CATALOGUE.values():
        states = {mf.relpath: _file_state(cache, models_dir, mf) for mf in e.files}
        bad = [r for r, s in states.items() if s == "corrupt"]
        missing = [r for r, s in states.items() if s == "missing"]
        if bad:
            state: ModelState = "corrupt"
            detail = "wrong size or SHA-256: " + ", ".join(bad)
        elif len(missing) == len(e.files):
            state, detail = "missing", ""
        elif missing:
            state, detail = "incomplete", "missing: " + ", ".join(missing)
        else:
            state, detail = "verified", ""
        out.append(ModelStatus(e.key, e.purpose, state, models_dir / e.main_file.relpath, detail))
    cache.save()
    return out


def installed(models_dir: Path) -> dict[str, Path]:
    """key -> path of the main file, for every model whose files are all present and hash-verified."""
    return {s.key: s.path for s in list_models(models_dir) if s.state == "verified"}


# ---------------------------------------------------------------------------------------------- install

class _SourceFiles:
    """Finds catalogue files in a source folder: at their catalogue path, else a unique file of the same name
    anywhere below it (the folder is scanned once, only if needed)."""

    def __init__(self, src_dir: Path) -> None:
        self.src_dir = src_dir
        self._by_name: dict[str, list[Path]] | None = None

    def find(self, mf: ModelFile) -> Path | None:
        direct = self.src_dir / mf.relpath
        if direct.is_file():
            return direct
        if self._by_name is None:
            wanted = {Path(f.relpath).name for e in CATALOGUE.values() for f in e.files}
            self._by_name = {}
            for p in self.src_dir.rglob("*"):
                if p.name in wanted and p.is_file():
                    self._by_name.setdefault(p.name, []).append(p)
        hits = self._by_name.get(Path(mf.relpath).name, [])
        return hits[0] if len(hits) == 1 else None


def _refusal(what: str, mf: ModelFile, actual: str, size: int) -> str:
    return (f"{what}: expected sha256 {mf.sha256} ({mf.size_bytes} bytes), "
            f"got {actual} ({size} bytes) - wrong or corrupt file")


def _copy_verified(src: Path, dst: Path, mf: ModelFile) -> str | None:
    """Copy src to dst through a temp file in dst's folder, hashing what is written; place only if it matches.
    Returns a refusal message, or None when placed."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    size = 0
    try:
        with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            while chunk := fin.read(_CHUNK):
                h.update(chunk)
                fout.write(chunk)
                size += len(chunk)
            fout.flush()
            os.fsync(fout.fileno())
        if h.hexdigest() != mf.sha256:
            return _refusal(str(src), mf, h.hexdigest(), size)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
        return None
    finally:
        tmp.unlink(missing_ok=True)


def install_from(src_dir: Path, models_dir: Path, keys: Iterable[str] | None = None) -> InstallReport:
    """Copy every catalogue file found under `src_dir` into `models_dir`, verifying each SHA-256.

    A model is installed only when all of its files are found and verify; files are placed atomically.
    Raises ModelVerificationError (after placing every good model) when any file was refused, naming the
    file and its expected and actual hash; ModelError when `src_dir` is not a directory.
    """
    src_dir, models_dir = Path(src_dir), Path(models_dir)
    if not src_dir.is_dir():
        raise ModelError(f"model source {src_dir} is not a directory; give the folder (or USB stick) holding "
                         "the model files")
    report = InstallReport(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    cache = _VerifyCache(models_dir)
    source = _SourceFiles(src_dir)
    for e in entries(keys):
        todo: list[tuple[ModelFile, Path]] = []
        for mf in e.files:
            if _file_state(cache, models_dir, mf) == "ok":
                report.already_present.append(mf.relpath)
                continue
            found = source.find(mf)
            if found is None:
                report.not_found.append(mf.relpath)
            else:
                todo.append((mf, found))
        if not todo:
            continue
        if any(mf.relpath in report.not_found for mf in e.files):
            report.not_found.extend(mf.relpath for mf, _ in todo if mf.relpath not in report.not_found)
            continue  # incomplete model in the source: place nothing of it
        refusals = []
        for mf, found in todo:  # verify the whole model before placing any of its files
            digest = sha256_file(found)
            if digest != mf.sha256:
                refusals.append(_refusal(str(found), mf, digest, found.stat().st_size))
        if not refusals:
            for mf, found in todo:
                msg = _copy_verified(found, models_dir / mf.relpath, mf)
                if msg is None:
                    report.placed.append(mf.relpath)
                    cache.remember(mf.relpath, models_dir / mf.relpath, mf.sha256)
                else:  # the copy itself differs from what was verified (failing medium)
                    refusals.append(msg)
        report.refused.extend(refusals)
    cache.save()
    if report.refused:
        raise ModelVerificationError(report)
    return report


# ---------------------------------------------------------------------------------------------- fetch

def _download(url: str, part: Path, timeout_s: float) -> None:
    """Download url into part, resuming from part's current size with an HTTP Range request."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "vsearch-models"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout_s)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to fetch: the .part is already complete
            return
        raise ModelError(f"download of {url} failed: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise ModelError(f"download of {url} failed: {e}; check the network, or copy the files and use "
                         "`vsearch models install DIR`") from e
    with resp:
        mode = "ab" if have and resp.status == 206 else "wb"  # server ignored the Range: start over
        with open(part, mode) as f:
            while chunk := resp.read(_CHUNK):
                f.write(chunk)


def fetch(models_dir: Path, base_url: str | None = None, keys: Iterable[str] | None = None,
          timeout_s: float = 60.0) -> InstallReport:
    """Download missing or corrupt model files into `models_dir`, resuming `.part` files, verifying SHA-256.

    `base_url` replaces the catalogue URLs by `{base_url}/{relpath}` (a local mirror). A file whose hash
    does not match is deleted and reported; raises ModelVerificationError at the end if any was refused,
    ModelError when a download fails.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    report = InstallReport(models_dir)
    cache = _VerifyCache(models_dir)
    try:
        for e in entries(keys):
            for mf in e.files:
                if _file_state(cache, models_dir, mf) == "ok":
                    report.already_present.append(mf.relpath)
                    continue
                url = f"{base_url.rstrip('/')}/{mf.relpath}" if base_url else mf.url
                dst = models_dir / mf.relpath
                dst.parent.mkdir(parents=True, exist_ok=True)
                part = dst.with_name(dst.name + ".part")
                if part.exists() and part.stat().st_size > mf.size_bytes:
                    part.unlink()  # longer than the real file: cannot be a prefix of it
                _download(url, part, timeout_s)
                digest = sha256_file(part)
                if digest != mf.sha256:
                    size = part.stat().st_size
                    part.unlink()
                    report.refused.append(_refusal(f"{dst} (from {url})", mf, digest, size))
                    continue
                os.replace(part, dst)
                report.placed.append(mf.relpath)
                cache.remember(mf.relpath, dst, mf.sha256)
    finally:
        cache.save()
    if report.refused:
        raise ModelVerificationError(report)
    return report
