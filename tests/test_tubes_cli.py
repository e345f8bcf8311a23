"""Issue acceptance on the CLI: degraded mode, installing models, tubes listing with thumbnails."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from conftest import shared_path, tubes_json, vsearch_cli
from test_search_cli import CONFIG


def test_nothing_configured_indexes_with_the_builtin_detector(tmp_path: Path, sample_clip: Path) -> None:
    """A fresh install with no models folder at all (no VSEARCH_MODELS, no ../shared, nothing installed: the
    conftest empties the user's data folder) detects with the built-in pvb-2002, not degraded motion."""
    # a short real clip: the first 12 s of the sample footage, same sidecar
    clip_dir = tmp_path / "clips"
    clip_dir.mkdir()
    import subprocess

    import imageio_ffmpeg

    clip = clip_dir / "vtest-12s.avi"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(sample_clip), "-t", "12",
                    "-c", "copy", str(clip)], check=True)
    clip.with_name(clip.name + ".json").write_text(sample_clip.with_name("vtest.avi.json").read_text())

    listed = json.loads(vsearch_cli("models", "list", "--json").stdout)
    assert {m["key"]: m["origin"] for m in listed}["pvb-2002"] == "built-in"
    r = vsearch_cli("index", str(clip_dir), "--store", str(tmp_path / "s2"))
    assert r.returncode == 0, r.stderr
    assert "DEGRADED" not in r.stderr and "Traceback" not in r.stderr
    src = json.loads(vsearch_cli("sources", "--store", str(tmp_path / "s2"), "--json").stdout)[0]
    assert src["params"]["detector"] == "pvb-2002"
    assert src["params"]["descriptors"] == ["colour-hist-v1", "reid-0288"]
    assert "pvb-2002" in vsearch_cli("sources", "--store", str(tmp_path / "s2")).stdout  # the listing names it

    (tmp_path / "vsearch.toml").write_text(CONFIG)
    tubes = tubes_json(tmp_path / "s2", tmp_path / "vsearch.toml", "--camera", "pets-crossing")
    assert len(tubes) >= 3
    persons = [t for t in tubes if t["class_name"] == "person"]
    assert persons, [t["class_name"] for t in tubes]
    for t in tubes:
        for key in ("colours", "direction8", "speed_mean_px_s", "dwell_s", "stationary_max_s", "entry_edge",
                    "exit_edge", "start_utc", "end_utc", "first_pts_s", "last_pts_s"):
            assert key in t, key
        assert t["attributes"]["colours"], t["tube_id"]
        img = cv2.imread(t["thumb_path"])
        assert img is not None and img.shape[0] > 8 and img.shape[1] > 4
    for p in persons:
        assert "upper_colours" in p["attributes"] and "is_male" not in json.dumps(p)
    assert any("has_bag" in json.dumps(p) for p in persons)  # the built-in attribute model ran


def test_installed_models_come_before_the_builtin_ones(tmp_path: Path) -> None:
    env = {"VSEARCH_MODELS": str(tmp_path / "models")}
    r = vsearch_cli("models", "install", str(shared_path("models")), env=env)
    assert r.returncode == 0, r.stderr
    listed = {m["key"]: m["origin"] for m in json.loads(vsearch_cli("models", "list", "--json", env=env).stdout)}
    assert listed["pvb-2002"] == "configured" and listed["pvb-2004"] == "configured"


def test_corrupt_model_file_is_refused(tmp_path: Path) -> None:
    shared_models = shared_path("models")
    src = tmp_path / "usb"
    (src / "yolox_nano").mkdir(parents=True)
    data = bytearray((shared_models / "yolox_nano" / "yolox_nano.onnx").read_bytes())
    data[1000] ^= 0xFF
    (src / "yolox_nano" / "yolox_nano.onnx").write_bytes(bytes(data))
    r = vsearch_cli("models", "install", str(src), "--models-dir", str(tmp_path / "m"))
    assert r.returncode != 0
    assert "yolox_nano.onnx" in r.stderr
    assert not (tmp_path / "m" / "yolox_nano" / "yolox_nano.onnx").exists()
