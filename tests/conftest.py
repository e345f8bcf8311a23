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
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("COLUMNS", "200")
    if builtin_models is None and unimportable is None:
        cmd = [str(Path(sys.executable).with_name("vsearch")), *args]
    else:
        code = ("import sys; from pathlib import Path; import vsearch.models.resolve as r; "
                "r.BUILTIN_DIR = Path(sys.argv[1]) if sys.argv[1] else r.BUILTIN_DIR; "
                "sys.modules.update({m: None for m in sys.argv[2].split(',') if m}); "
                "sys.argv = ['vsearch'] + sys.argv[3:]; from vsearch.cli.main import main; main()")
        cmd = [sys.executable, "-c", code, str(builtin_models or ""), unimportable or "", *args]
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


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
