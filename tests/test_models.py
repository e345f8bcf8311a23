"""Model catalogue, install from a folder, fetch over HTTP (a loopback server serving ../shared/models)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vsearch.models import registry as models
from vsearch.errors import ModelError
from vsearch.models.registry import CATALOGUE, ModelVerificationError

SHARED_MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"
SMALL = ["yolox-nano", "vehicle-attributes-0039"]  # a few MB: enough for the HTTP paths
YOLOX_REL = "yolox_nano/yolox_nano.onnx"


@pytest.fixture(scope="module")
def shared_models() -> Path:
    if not SHARED_MODELS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"shared model files missing in CI: {SHARED_MODELS}")
        pytest.skip(f"shared model files not present: {SHARED_MODELS}")
    return SHARED_MODELS


def flip_byte(path: Path, offset: int = 1234) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith((".tmp", ".part"))]


# ------------------------------------------------------------------------------------------------ catalogue

def test_catalogue_matches_shared_sha256sums(shared_models: Path) -> None:
    sums = {}
    for line in (shared_models / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split(maxsplit=1)
        sums[rel.removeprefix("./")] = digest
    catalogued = {mf.relpath: mf.sha256 for e in CATALOGUE.values() for mf in e.files}
    assert catalogued == sums
    for e in CATALOGUE.values():
        assert e.licence.startswith("Apache-2.0")
        for mf in e.files:
            assert mf.url.startswith("https://raw.githubusercontent.com/")
            assert (shared_models / mf.relpath).stat().st_size == mf.size_bytes


def test_catalogue_never_names_biometric_outputs() -> None:
    text = repr(CATALOGUE).lower()
    assert "male" not in text and "longhair" not in text and "face" not in text


def test_models_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VSEARCH_MODELS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert models.default_models_dir() == tmp_path / "xdg" / "vsearch" / "models"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert models.default_models_dir() == tmp_path / "home" / ".local" / "share" / "vsearch" / "models"
    monkeypatch.setenv("VSEARCH_MODELS", str(tmp_path / "env"))
    assert models.default_models_dir() == tmp_path / "env"
    assert models.resolve_models_dir(None) == tmp_path / "env"
    assert models.resolve_models_dir(tmp_path / "cli") == tmp_path / "cli"


# ------------------------------------------------------------------------------------------------ install

def test_install_all_from_shared_then_idempotent(shared_models: Path, tmp_path: Path) -> None:
    dst = tmp_path / "models"
    assert models.installed(dst) == {}
    report = models.install_from(shared_models, dst)
    every = sorted(mf.relpath for e in CATALOGUE.values() for mf in e.files)
    assert sorted(report.placed) == every and report.ok and not report.not_found
    found = models.installed(dst)
    assert set(found) == set(CATALOGUE)
    assert found["pvb-2002"] == dst / CATALOGUE["pvb-2002"].main_file.relpath
    for e in CATALOGUE.values():
        for mf in e.files:
            assert hashlib.sha256((dst / mf.relpath).read_bytes()).hexdigest() == mf.sha256
    assert all(s.state == "verified" for s in models.list_models(dst))
    again = models.install_from(shared_models, dst)
    assert again.placed == [] and sorted(again.already_present) == every
    assert leftovers(dst) == []


def test_install_refuses_a_corrupt_file_and_names_it(shared_models: Path, tmp_path: Path) -> None:
    src = tmp_path / "usb"
    for key in SMALL:
        for mf in CATALOGUE[key].files:
            (src / mf.relpath).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(shared_models / mf.relpath, src / mf.relpath)
    flip_byte(src / YOLOX_REL)
    dst = tmp_path / "models"
    with pytest.raises(ModelVerificationError) as info:
        models.install_from(src, dst, keys=SMALL)
    msg = str(info.value)
    assert str(src / YOLOX_REL) in msg and CATALOGUE["yolox-nano"].main_file.sha256 in msg
    assert hashlib.sha256((src / YOLOX_REL).read_bytes()).hexdigest() in msg  # the actual hash too
    assert not (dst / YOLOX_REL).exists()  # refused: nothing placed for it
    assert set(models.installed(dst)) == {"vehicle-attributes-0039"}  # the good model went in
    assert sorted(info.value.report.placed) == sorted(mf.relpath for mf in CATALOGUE["vehicle-attributes-0039"].files)
    assert leftovers(dst) == []


def test_install_skips_an_incomplete_model_and_finds_flat_files(shared_models: Path, tmp_path: Path) -> None:
    src = tmp_path / "flat"
    src.mkdir()
    pvb_xml, pvb_bin = CATALOGUE["pvb-2002"].files
    shutil.copy(shared_models / pvb_xml.relpath, src)  # .xml without its .bin
    shutil.copy(shared_models / YOLOX_REL, src)  # flat, not at its catalogue path
    dst = tmp_path / "models"
    report = models.install_from(src, dst, keys=["pvb-2002", "yolox-nano"])
    assert report.placed == [YOLOX_REL]
    assert sorted(report.not_found) == sorted([pvb_xml.relpath, pvb_bin.relpath])
    assert not (dst / pvb_xml.relpath).exists()
    assert set(models.installed(dst)) == {"yolox-nano"}


def test_install_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a directory"):
        models.install_from(tmp_path / "nope", tmp_path / "models")
    with pytest.raises(ModelError, match="unknown model 'resnet'"):
        models.install_from(tmp_path, tmp_path / "models", keys=["resnet"])
    assert models.install_from(tmp_path, tmp_path / "models", keys=[]).ok


def test_list_models_states_and_verify_cache(shared_models: Path, tmp_path: Path) -> None:
    dst = tmp_path / "models"
    models.install_from(shared_models, dst, keys=["yolox-nano", "pvb-2002"])
    (dst / CATALOGUE["pvb-2002"].files[1].relpath).unlink()
    states = {s.key: s for s in models.list_models(dst)}
    assert states["yolox-nano"].state == "verified"
    assert states["pvb-2002"].state == "incomplete" and ".bin" in states["pvb-2002"].detail
    assert states["reid-0288"].state == "missing"
    assert (dst / models.CACHE_NAME).is_file()
    # the cache is keyed by (size, mtime): a same-size change that keeps the mtime is not re-hashed ...
    yolox = dst / YOLOX_REL
    st = yolox.stat()
    flip_byte(yolox)
    os.utime(yolox, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "yolox-nano" in models.installed(dst)
    # ... any change of mtime is
    os.utime(yolox, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    states = {s.key: s for s in models.list_models(dst)}
    assert states["yolox-nano"].state == "corrupt" and YOLOX_REL in states["yolox-nano"].detail
    assert "yolox-nano" not in models.installed(dst)


# ------------------------------------------------------------------------------------------------ fetch

class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with single-range support (http.server has none); logs requests to `self.server.log`."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.log.append((self.path, self.headers.get("Range")))  # type: ignore[attr-defined]
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if not self.server.ranges or m is None or not path.is_file():  # type: ignore[attr-defined]
            return super().do_GET()
        data = path.read_bytes()
        start = int(m.group(1))
        if start >= len(data):
            self.send_error(416)
            return
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., tuple[str, list]]]:
    servers = []

    def start(root: Path, ranges: bool = True) -> tuple[str, list]:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(root)))
        server.log, server.ranges = [], ranges  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", server.log  # type: ignore[attr-defined]

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_fetch_from_loopback_and_resume(shared_models: Path, tmp_path: Path, serve) -> None:
    url, log = serve(shared_models)
    dst = tmp_path / "models"
    part = dst / (YOLOX_REL + ".part")
    part.parent.mkdir(parents=True)
    full = (shared_models / YOLOX_REL).read_bytes()
    part.write_bytes(full[:1_000_000])  # an interrupted earlier download
    report = models.fetch(dst, base_url=url, keys=SMALL)
    assert report.ok and sorted(report.placed) == sorted(mf.relpath for k in SMALL for mf in CATALOGUE[k].files)
    assert ("/" + YOLOX_REL, "bytes=1000000-") in log  # resumed, not restarted
    assert set(models.installed(dst)) == set(SMALL)
    assert (dst / YOLOX_REL).read_bytes() == full and leftovers(dst) == []
    log.clear()
    assert models.fetch(dst, base_url=url, keys=SMALL).placed == [] and log == []  # nothing left to fetch


def test_fetch_restarts_when_server_ignores_range(shared_models: Path, tmp_path: Path, serve) -> None:
    url, _ = serve(shared_models, ranges=False)
    dst = tmp_path / "models"
    part = dst / (YOLOX_REL + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes((shared_models / YOLOX_REL).read_bytes()[:5000])
    models.fetch(dst, base_url=url, keys=["yolox-nano"])
    assert "yolox-nano" in models.installed(dst)


def test_fetch_refuses_wrong_content(shared_models: Path, tmp_path: Path, serve) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "yolox_nano").mkdir(parents=True)
    shutil.copy(shared_models / YOLOX_REL, mirror / YOLOX_REL)
    flip_byte(mirror / YOLOX_REL)
    url, _ = serve(mirror)
    dst = tmp_path / "models"
    with pytest.raises(ModelVerificationError, match=re.escape(str(dst / YOLOX_REL))) as info:
        models.fetch(dst, base_url=url, keys=["yolox-nano"])
    assert CATALOGUE["yolox-nano"].main_file.sha256 in str(info.value)
    assert not (dst / YOLOX_REL).exists() and leftovers(dst) == []  # the bad download is not kept


def test_fetch_completes_a_finished_part(shared_models: Path, tmp_path: Path, serve) -> None:
    url, log = serve(shared_models)
    dst = tmp_path / "models"
    part = dst / (YOLOX_REL + ".part")
    part.parent.mkdir(parents=True)
    shutil.copy(shared_models / YOLOX_REL, part)  # downloaded completely, but not yet verified and placed
    assert models.fetch(dst, base_url=url, keys=["yolox-nano"]).placed == [YOLOX_REL]
    assert log == [("/" + YOLOX_REL, f"bytes={part.parent.joinpath('yolox_nano.onnx').stat().st_size}-")]


def test_fetch_reports_http_and_connection_errors(tmp_path: Path, serve) -> None:
    (tmp_path / "empty-mirror").mkdir()
    url, _ = serve(tmp_path / "empty-mirror")
    with pytest.raises(ModelError, match="HTTP 404"):
        models.fetch(tmp_path / "models", base_url=url, keys=["yolox-nano"])
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ModelError, match="vsearch models install"):
        models.fetch(tmp_path / "models", base_url=f"http://127.0.0.1:{port}", keys=["yolox-nano"], timeout_s=5)


def test_openvino_is_imported_without_its_telemetry(tmp_path: Path) -> None:
    """`import_openvino` in a fresh process, with an empty home and no CI variables (the conditions in which
    OpenVINO's telemetry runs): no process is forked, nothing is written under ~/intel, `convert_model` is still
    there (the converter runs on its no-op telemetry stub)."""
    import subprocess
    import sys

    code = ("import os, sys, time; forks = []; os.register_at_fork(before=lambda: forks.append(1)); "
            "from vsearch.models.runtime import import_openvino; ov = import_openvino(); time.sleep(2); "
            "print(len(forks), hasattr(ov, 'convert_model'))")
    env = {**os.environ, "HOME": str(tmp_path), "CI": "", "TF_BUILD": "", "JENKINS_URL": ""}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "True"], r.stdout + r.stderr
    assert not (tmp_path / "intel").exists()
