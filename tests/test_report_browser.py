"""report.html renders offline in a real browser (headless Chromium): timeline marks and thumbnails.

The screenshot is kept in test-artifacts/report.png. Skipped when /usr/bin/chromium is absent, unless CI=true
(then it fails: `.ci/run` installs the Debian `chromium` package).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from test_bundle import make_inputs
from vsearch.evidence.bundle import write_bundle
from vsearch.evidence.signing import SiteKey

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--window-size=1280,1100"]


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is missing on CI: install the Debian package `chromium`")
        pytest.skip("/usr/bin/chromium absent (apt-get install -y chromium); CI is not set")
    return CHROMIUM


def test_report_renders_timeline_and_thumbnails(chromium: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    bundle = tmp_path / "bundle"
    write_bundle(make_inputs(data), bundle, SiteKey.load_or_create(tmp_path / "keys"))
    # open the report from a copy in another folder: relative paths only, no network
    moved = tmp_path / "moved"
    shutil.copytree(bundle, moved)
    url = (moved / "report.html").as_uri()
    manifest = json.loads((moved / "manifest.json").read_text())

    with tempfile.TemporaryDirectory() as profile:
        dom = _chromium(["--dump-dom", url], Path(profile))
    assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-2000:]
    html = dom.stdout.decode()
    assert 'id="timeline"' in html
    assert html.count('class="mark"') == len(manifest["objects"]) == 3
    for o in manifest["objects"]:
        assert f'data-object-id="{o["object_id"]}"' in html
        assert f'src="{o["thumbnail"]["file"]}"' in html
    assert manifest["sources"][0]["sha256"] in html and "red car" in html

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        res = _chromium([f"--screenshot={shot}", url], Path(profile))
    assert res.returncode == 0 and shot.is_file(), res.stderr.decode(errors="replace")[-2000:]
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[1] == 1280
    b, g, r = (img[..., i].astype(int) for i in range(3))
    # timeline marks are #d00000 (pure-ish red); thumbnails are magenta JPEGs -> both must be painted
    red_marks = (r > 180) & (g < 40) & (b < 40)
    magenta = (r > 200) & (b > 200) & (g < 60)
    assert red_marks.sum() > 3 * 50, "timeline marks not rendered"
    assert magenta.sum() > 3 * 100 * 70, "thumbnails not rendered (missing images?)"
    n_components = cv2.connectedComponents(magenta.astype(np.uint8))[0]  # includes the background
    assert n_components - 1 >= 3, "expected three separate thumbnails"
