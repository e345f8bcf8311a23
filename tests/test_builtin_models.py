"""The built-in model set (package data) and which copy of each model a run uses.

Everything here runs without ../shared: the built-in folder is the reference data.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, vsearch_cli
from vsearch.errors import ModelError
from vsearch.models.registry import CATALOGUE, install_from, user_models_dir
from vsearch.models.resolve import BUILTIN_DIR, BUILTIN_KEYS, SUMS_NAME, resolve_models

PVB_BIN = "person-vehicle-bike-detection-2002/FP16/person-vehicle-bike-detection-2002.bin"
YOLOX_REL = "yolox_nano/yolox_nano.onnx"


def flip_byte(path: Path, offset: int = 1234) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def builtin_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "builtin-copy"
    shutil.copytree(BUILTIN_DIR, dst)
    return dst


# ------------------------------------------------------------------------------------------------ the folder

def test_builtin_folder_holds_exactly_the_default_set_with_licences() -> None:
    expected = {mf.relpath for k in BUILTIN_KEYS for mf in CATALOGUE[k].files}
    models = {p.relative_to(BUILTIN_DIR).as_posix() for p in BUILTIN_DIR.rglob("*")
              if p.is_file() and p.name not in ("LICENSE", "NOTICE", SUMS_NAME)}
    assert models == expected  # nothing else: no pvb-2004, nothing larger, no stray file
    assert "pvb-2004" not in BUILTIN_KEYS
    sums = {}
    for line in (BUILTIN_DIR / SUMS_NAME).read_text().splitlines():
        digest, rel = line.split("  ", 1)
        sums[rel] = digest
    assert sums == {mf.relpath: mf.sha256 for k in BUILTIN_KEYS for mf in CATALOGUE[k].files}
    total = sum(p.stat().st_size for p in BUILTIN_DIR.rglob("*") if p.is_file())
    assert total < 20_000_000, total
    for top in {rel.split("/")[0] for rel in expected}:
        text = (BUILTIN_DIR / top / "LICENSE").read_text()
        assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS" in text
    notice = (BUILTIN_DIR / "NOTICE").read_text()
    for author in ("Intel", "Open Model Zoo", "Megvii", "YOLOX", "ONNX Model Zoo"):
        assert author in notice
    for rel in expected:
        assert rel.split("/")[0] in notice


def test_git_stores_the_model_files_as_plain_files() -> None:
    """No LFS pointer or filter: a fresh clone (and a wheel built from it) holds the real bytes."""
    rel = (BUILTIN_DIR / YOLOX_REL).relative_to(REPO)
    attrs = subprocess.run(["git", "check-attr", "filter", "--", str(rel)], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout
    assert attrs.strip().endswith("unspecified"), attrs
    assert not (BUILTIN_DIR / YOLOX_REL).read_bytes().startswith(b"version https://git-lfs")


# ------------------------------------------------------------------------------------------------ resolution

def test_nothing_configured_gives_the_builtin_set() -> None:
    models = resolve_models()
    for m in models.models:
        if m.key in BUILTIN_KEYS:
            assert m.origin == "built-in" and m.path == BUILTIN_DIR / CATALOGUE[m.key].main_file.relpath
            assert m.sha256 == CATALOGUE[m.key].main_file.sha256
        else:
            assert m.origin == "missing" and m.path is None
    assert models.warnings == []
    assert [layer.origin for layer in models.layers] == ["installed", "built-in"]


def test_order_is_configured_then_installed_then_builtin_per_model(tmp_path: Path) -> None:
    configured, installed = tmp_path / "configured", user_models_dir()
    install_from(BUILTIN_DIR, configured, keys=["yolox-nano"])
    install_from(BUILTIN_DIR, installed, keys=["yolox-nano", "reid-0288"])
    models = resolve_models(configured)
    assert models.get("yolox-nano").origin == "configured"
    assert models.path("yolox-nano") == configured / YOLOX_REL
    assert models.get("reid-0288").origin == "installed"
    assert models.get("pvb-2002").origin == "built-in"
    assert models.get("pvb-2004").origin == "missing"
    assert resolve_models(None).get("yolox-nano").origin == "installed"


def test_environment_variable_is_the_configured_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_from(BUILTIN_DIR, tmp_path / "env", keys=["yolox-nano"])
    monkeypatch.setenv("VSEARCH_MODELS", str(tmp_path / "env"))
    assert resolve_models().get("yolox-nano").origin == "configured"
    install_from(BUILTIN_DIR, tmp_path / "opt", keys=["reid-0288"])
    explicit = resolve_models(tmp_path / "opt")  # --models-dir wins over the environment
    assert explicit.get("reid-0288").origin == "configured" and explicit.get("yolox-nano").origin == "built-in"


def test_a_corrupt_configured_copy_is_passed_over_by_name(tmp_path: Path) -> None:
    configured = tmp_path / "configured"
    install_from(BUILTIN_DIR, configured, keys=["yolox-nano"])
    flip_byte(configured / YOLOX_REL)
    models = resolve_models(configured)
    assert models.get("yolox-nano").origin == "built-in"
    (warning,) = models.warnings
    assert "yolox-nano" in warning and "corrupt" in warning and YOLOX_REL in warning and str(configured) in warning


def test_a_configured_folder_that_does_not_exist_is_said(tmp_path: Path) -> None:
    models = resolve_models(tmp_path / "typo")
    assert models.get("pvb-2002").origin == "built-in"
    assert any("typo" in w and "does not exist" in w for w in models.warnings)


def test_a_flipped_byte_in_a_builtin_file_is_refused_naming_it(tmp_path: Path) -> None:
    copy = builtin_copy(tmp_path)
    assert resolve_models(builtin_dir=copy).get("pvb-2002").origin == "built-in"  # the copy itself is good
    flip_byte(copy / PVB_BIN)
    with pytest.raises(ModelError) as info:
        resolve_models(builtin_dir=copy)
    msg = str(info.value)
    assert str(copy / PVB_BIN) in msg and "SHA-256" in msg and "\n" not in msg
    listed = resolve_models(builtin_dir=copy, strict=False).get("pvb-2002")  # a listing reports it instead
    assert listed.origin == "missing" and str(copy / PVB_BIN) in listed.passed_over[0]
    install_from(BUILTIN_DIR, user_models_dir(), keys=["pvb-2002"])  # a good installed copy comes first
    assert resolve_models(builtin_dir=copy).get("pvb-2002").origin == "installed"


def test_builtin_sums_must_agree_with_the_catalogue(tmp_path: Path) -> None:
    """Changing a file and its SHA256SUMS line together is still caught: the code holds the expected hash."""
    copy = builtin_copy(tmp_path)
    flip_byte(copy / YOLOX_REL)
    new = __import__("hashlib").sha256((copy / YOLOX_REL).read_bytes()).hexdigest()
    sums = copy / SUMS_NAME
    sums.write_text(sums.read_text().replace(CATALOGUE["yolox-nano"].main_file.sha256, new))
    with pytest.raises(ModelError, match=f"built-in model file {copy / YOLOX_REL}"):
        resolve_models(builtin_dir=copy)
    sums.unlink()
    with pytest.raises(ModelError, match=SUMS_NAME):
        resolve_models(builtin_dir=copy)


def test_a_missing_builtin_folder_means_missing_models(tmp_path: Path) -> None:
    models = resolve_models(builtin_dir=tmp_path / "none")
    assert all(m.origin == "missing" for m in models.models)


# ------------------------------------------------------------------------------------------------ CLI

def test_models_list_json_names_origin_and_sha256(tmp_path: Path) -> None:
    install_from(BUILTIN_DIR, tmp_path / "m", keys=["yolox-nano"])
    r = vsearch_cli("models", "list", "--json", env={"VSEARCH_MODELS": str(tmp_path / "m")})
    assert r.returncode == 0, r.stderr
    rows = {m["key"]: m for m in json.loads(r.stdout)}
    assert set(rows) == set(CATALOGUE)
    assert rows["yolox-nano"]["origin"] == "configured"
    assert rows["yolox-nano"]["path"] == str(tmp_path / "m" / YOLOX_REL)
    assert rows["pvb-2002"]["origin"] == "built-in" and rows["pvb-2004"]["origin"] == "missing"
    for key, m in rows.items():
        assert m["sha256"] == CATALOGUE[key].main_file.sha256 and m["licence"].startswith("Apache-2.0")
    text = vsearch_cli("models", "list").stdout
    assert "built-in" in text and CATALOGUE["pvb-2002"].main_file.sha256 in text


def test_models_list_reads_the_site_config_folder_after_the_environment(tmp_path: Path) -> None:
    install_from(BUILTIN_DIR, tmp_path / "site-models", keys=["yolox-nano"])
    install_from(BUILTIN_DIR, tmp_path / "env-models", keys=["reid-0288"])
    cfg = tmp_path / "vsearch.toml"
    cfg.write_text('site_name = "t"\nmodels_dir = "site-models"\n[[investigators]]\nid = "opj-1"\nname = "A"\n'
                   'authorisation_ref = "x"\nvalid_from = 2024-01-01\nvalid_until = 2099-12-31\n')

    def origins(**env: str) -> dict[str, str]:
        r = vsearch_cli("models", "list", "--json", "--config", str(cfg), env=env)
        assert r.returncode == 0, r.stderr
        return {m["key"]: m["origin"] for m in json.loads(r.stdout)}

    site = origins()
    assert site["yolox-nano"] == "configured" and site["reid-0288"] == "built-in"  # relative to the config file
    env = origins(VSEARCH_MODELS=str(tmp_path / "env-models"))
    assert env["yolox-nano"] == "built-in" and env["reid-0288"] == "configured"  # the environment wins


def test_index_refuses_a_damaged_builtin_model_in_one_line(tmp_path: Path, sample_clip: Path) -> None:
    copy = builtin_copy(tmp_path)
    flip_byte(copy / PVB_BIN)
    r = vsearch_cli("index", str(sample_clip), "--store", str(tmp_path / "s"), "-q", builtin_models=copy)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(copy / PVB_BIN) in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "s").exists() or "pvb" not in r.stdout
    r = vsearch_cli("models", "list", "--json", builtin_models=copy)  # the listing still works and says why
    assert r.returncode == 0, r.stderr
    row = next(m for m in json.loads(r.stdout) if m["key"] == "pvb-2002")
    assert row["origin"] == "missing" and str(copy / PVB_BIN) in row["passed_over"][0]


def test_without_openvino_the_job_says_what_to_install_and_falls_back_to_motion(tmp_path: Path,
                                                                                 sample_clip: Path) -> None:
    clip = tmp_path / "clips" / "vtest-4s.avi"
    clip.parent.mkdir()
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(sample_clip), "-t", "4",
                    "-c", "copy", str(clip)], check=True)
    clip.with_name(clip.name + ".json").write_text(sample_clip.with_name("vtest.avi.json").read_text())
    store = tmp_path / "s"
    r = vsearch_cli("index", str(clip.parent), "--store", str(store), "-q", unimportable="openvino")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert "DEGRADED MODE" in r.stderr and "pip install openvino" in r.stderr
    src = json.loads(vsearch_cli("sources", "--store", str(store), "--json").stdout)[0]
    assert src["status"] == "ok" and src["params"]["detector"] == "motion"
    assert src["params"]["descriptors"] == ["colour-hist-v1"]  # re-id needs OpenVINO too: skipped, not crashed
