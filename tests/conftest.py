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


def vsearch_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the real `vsearch` console script in a subprocess."""
    exe = Path(sys.executable).with_name("vsearch")
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("COLUMNS", "200")
    return subprocess.run([str(exe), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def sample_clip() -> Path:
    return REPO / "sample_clips" / "vtest.avi"
