from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/synth.py


def shared_path(*parts: str) -> Path:
    """A path under ../shared; skip where it is absent, but fail in CI (CI=true) — reference data is required."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        msg = f"{p} is absent: this test needs the project's shared footage/models (../shared next to the repo)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return p


def vsearch_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600,
                builtin_models: Path | None = None, unimportable: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `vsearch` console script in a subprocess.

    builtin_models: the package's built-in model folder is replaced by this one (a damaged copy, or an empty
    folder for a run with no model at all); unimportable: that module cannot be imported, as on a machine where
    it is not installed. Either runs the same entry point, `vsearch.cli.main:main`, through `python -c`."""
    # COLUMNS forced wide: pytest-xdist workers inherit the terminal's 80 columns, which shrinks rich tables
    # and cuts the cells the tests read
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    if builtin_models is None and unimportable is None:
        cmd = [str(Path(sys.executable).with_name("vsearch")), *args]
    else:
        code = ("import sys; from pathlib import Path; import vsearch.models.resolve as r; "
                "r.BUILTIN_DIR = Path(sys.argv[1]) if sys.argv[1] else r.BUILTIN_DIR; "
                "sys.modules.update({m: None for m in sys.argv[2].split(',') if m}); "
                "sys.argv = ['vsearch'] + sys.argv[3:]; from vsearch.cli.main import main; main()")
        cmd = [sys.executable, "-c", code, str(builtin_models or ""), unimportable or "", *args]
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


def index_motion_only(footage: Path, store: Path) -> None:
    """Index `footage` into `store` with the motion detector and no model at all (no attribute model, the
    built-in set left out), as the v1 code ran; fails the test with the command's output if indexing fails."""
    no_models = store.parent / "no-models"
    no_models.mkdir(exist_ok=True)
    r = vsearch_cli("index", str(footage), "--store", str(store), "--detector", "motion", "-q",
                    "--models-dir", str(no_models), builtin_models=no_models)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(autouse=True)
def _no_user_models(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never see the developer's own models: no VSEARCH_MODELS, and an empty XDG data folder (so the
    "installed" layer is empty and the built-in models are what a test gets unless it configures others)."""
    monkeypatch.delenv("VSEARCH_MODELS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


@pytest.fixture
def sample_clip() -> Path:
    return REPO / "sample_clips" / "vtest.avi"


def save_tiny_clip(root: Path, name: str, seeds: tuple[int, ...]) -> tuple[Path, list[Path]]:
    """A tiny open_clip architecture (registered under `name`) with random weights per seed, each saved like a
    user's checkpoint, so tests load it back through the same path as real ViT-B-32 weights."""
    import json

    import open_clip
    import torch

    cfg = {"embed_dim": 32,
           "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2}}
    config_path = root / f"{name}.json"
    config_path.write_text(json.dumps(cfg))
    open_clip.add_model_config(str(config_path))
    weights = []
    for seed in seeds:
        torch.manual_seed(seed)
        model, _, _ = open_clip.create_model_and_transforms(name, pretrained=None)
        torch.save(model.state_dict(), root / f"tiny-{seed}.pt")
        weights.append(root / f"tiny-{seed}.pt")
    return config_path, weights


def tubes_json(store: Path, config: Path, *args: str) -> list[dict]:
    """`vsearch tubes --json` as an authorised investigator (per-object data needs one; see docs/legal.md)."""
    import json

    r = vsearch_cli("tubes", *args, "--store", str(store), "--config", str(config), "--investigator", "opj-0421",
                    "--case", "TEST-CASE", "--reason", "test", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def cluster_module(name: str):  # noqa: ANN201 - the module
    """Import a module of the optional `vsearch[cluster]` extra (moto, ray): skip where it is not installed,
    but fail in CI (CI=true), which installs requirements.txt."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        msg = f"{name} is not installed: this test needs the cluster extra (pip install -r requirements.txt)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """A real S3-compatible server (moto's server mode) on a free loopback port, for the whole session."""
    import logging
    import socket

    server_mod = cluster_module("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh bucket on the loopback S3 server, and the standard variables that point vsearch at it (also set
    in this process). The bucket is named in `VSEARCH_TEST_BUCKET`; site state goes under tmp_path."""
    import secrets

    boto3 = cluster_module("boto3")
    bucket = "vs-" + secrets.token_hex(4)
    env = {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true", "VSEARCH_STATE_DIR": str(tmp_path / "site-state"),
           "VSEARCH_TEST_BUCKET": bucket}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return env
