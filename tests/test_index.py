"""Foundation: batch indexing of real decoded video into the LanceDB store (CLI end to end)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import synth
from conftest import REPO, vsearch_cli
from vsearch.catalogue.store import Store


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _sidecar(video: Path, camera: str, start: str) -> None:
    video.with_name(video.name + ".json").write_text(json.dumps({"camera": camera, "start": start}))


def _clip(path: Path, seconds: float = 3.0, colour: str = "red", codec: str = "libx264", **kw) -> Path:
    objs = [synth.SynthObject(1, colour, [(0.2, 30, 90), (seconds - 0.2, 290, 90)], (30, 20))]
    synth.write_video(synth.SynthVideo(path, 320, 180, 25, seconds, objs), codec=codec, **kw)
    return path


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    d = tmp_path / "footage"
    good = _clip(d / "good.mp4")
    _sidecar(good, "cam-a", "2026-11-20T14:00:00+01:00")
    full = _clip(tmp_path / "full.mkv", seconds=4.0)
    data = full.read_bytes()
    trunc = d / "truncated.mkv"
    trunc.write_bytes(data[: int(len(data) * 0.6)])
    _sidecar(trunc, "cam-a", "2026-11-20T14:01:00+01:00")
    (d / "notes.mp4").write_text("these are the investigator's notes, not a video\n")
    _sidecar(d / "notes.mp4", "cam-a", "2026-11-20T14:02:00+01:00")
    (d / "empty.mkv").write_bytes(b"")
    return d


def test_sample_clip_indexes_with_sha256(tmp_path: Path, sample_clip: Path) -> None:
    store = tmp_path / "store"
    r = vsearch_cli("index", str(sample_clip.parent), "--store", str(store), "--quiet")
    assert r.returncode == 0, r.stderr + r.stdout
    assert "1 ok" in r.stdout
    rows = json.loads(vsearch_cli("sources", "--store", str(store), "--json").stdout)
    assert len(rows) == 1
    row = rows[0]
    assert row["sha256"] == _sha(sample_clip)
    assert row["camera"] == "pets-crossing"
    assert row["status"] == "ok"
    assert row["width_px"] == 768 and row["height_px"] == 576
    assert row["fps"] == "10/1"
    assert row["start_utc"].startswith("2009-03-12T14:02:00")
    assert abs(row["duration_s"] - 79.5) < 0.2
    assert row["frames_decoded"] == 795
    assert row["frames_sampled"] == 398  # 5 fps sampling of a 10 fps clip: every other frame, from frame 0


def test_index_forks_nothing_and_sends_no_telemetry(tmp_path: Path, sample_clip: Path) -> None:
    """With the default detector (OpenVINO), indexing the sample clip forks no process and writes nothing into
    the home folder. Importing OpenVINO used to start its usage telemetry: a client id written under ~/intel and
    a process forked to send the event, which made LanceDB warn "lancedb fork support is experimental"."""
    home = tmp_path / "home"
    home.mkdir()
    # an empty home (no opt-out file) and no CI variables: the conditions in which the telemetry would run
    env = {"HOME": str(home), "CI": "", "TF_BUILD": "", "JENKINS_URL": ""}
    r = vsearch_cli("index", str(sample_clip.parent), "--store", str(tmp_path / "store"), "--quiet",
                    "--fps", "1", env=env)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "1 ok" in r.stdout
    assert "fork" not in r.stderr.lower(), r.stderr
    assert not (home / "intel").exists()


def test_mixed_folder_reports_bad_files_and_goes_on(tmp_path: Path, mixed_folder: Path) -> None:
    store = tmp_path / "store"
    r = vsearch_cli("index", str(mixed_folder), "--store", str(store), "--quiet", "--detector", "motion")
    assert r.returncode == 1, r.stdout + r.stderr
    rows = {Path(x["path"]).name: x for x in json.loads(vsearch_cli("sources", "--store", str(store), "--json").stdout)}
    assert rows["good.mp4"]["status"] == "ok"
    assert rows["good.mp4"]["frames_decoded"] == 75
    assert rows["good.mp4"]["frames_sampled"] == 15  # 3 s at 5 fps
    assert rows["truncated.mkv"]["status"] == "partial"
    gaps = rows["truncated.mkv"]["gaps"]
    assert gaps and gaps[-1]["end_s"] > gaps[-1]["start_s"]
    assert rows["notes.mp4"]["status"] == "failed"
    assert rows["empty.mkv"]["status"] == "failed"
    # each bad file is named with a one-line reason
    for name in ("notes.mp4", "empty.mkv"):
        lines = [ln for ln in r.stdout.splitlines() if name in ln and "failed" in ln]
        assert len(lines) == 1, r.stdout
    assert "empty" in rows["empty.mkv"]["error"]


def test_rerun_skips_unchanged_and_detects_changed(tmp_path: Path) -> None:
    d = tmp_path / "f"
    clip = _clip(d / "a.mp4")
    _sidecar(clip, "cam-a", "2026-11-20T14:00:00Z")
    store = tmp_path / "store"
    assert vsearch_cli("index", str(d), "--store", str(store), "-q", "--detector", "motion").returncode == 0
    r2 = json.loads(vsearch_cli("index", str(d), "--store", str(store), "--json", "--detector", "motion").stdout)
    assert r2["counts"]["skipped"] == 1 and r2["counts"]["ok"] == 0
    _clip(d / "a.mp4", colour="blue")  # same path, new content
    r3 = json.loads(vsearch_cli("index", str(d), "--store", str(store), "--json", "--detector", "motion").stdout)
    assert r3["counts"]["ok"] == 1
    assert any("content changed" in w for w in r3["warnings"])
    assert len(Store(store).sources()) == 2


def test_bad_start_is_a_one_line_usage_error(tmp_path: Path) -> None:
    clip = _clip(tmp_path / "a.mp4")
    r = vsearch_cli("index", str(clip), "--start", "yesterday at noon", "--store", str(tmp_path / "s"))
    assert r.returncode == 2
    assert "--start" in r.stderr and "ISO-8601" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_missing_start_time_is_reported_per_file(tmp_path: Path) -> None:
    clip = _clip(tmp_path / "nostart.mp4")
    r = vsearch_cli("index", str(clip), "--store", str(tmp_path / "s"), "-q")
    assert r.returncode == 1
    assert "no start time" in r.stdout and "nostart.mp4" in r.stdout


def test_manifest_csv(tmp_path: Path) -> None:
    a = _clip(tmp_path / "v" / "a.mp4")
    b = _clip(tmp_path / "v" / "b.mkv", codec="mpeg4")
    man = tmp_path / "manifest.csv"
    man.write_text("path,camera,start\nv/a.mp4,north,2026-11-20T08:00:00+01:00\nv/b.mkv,south,2026-11-20T09:30:00\n")
    store = tmp_path / "s"
    assert vsearch_cli("index", str(man), "--store", str(store), "-q", "--detector", "motion").returncode == 0
    rows = {Path(r.path).name: r for r in Store(store).sources()}
    assert rows["a.mp4"].camera == "north" and rows["a.mp4"].start_utc.isoformat() == "2026-11-20T07:00:00+00:00"
    assert rows["b.mkv"].camera == "south" and rows["b.mkv"].start_utc.isoformat() == "2026-11-20T08:30:00+00:00"
    assert rows["a.mp4"].sha256 == _sha(a) and rows["b.mkv"].sha256 == _sha(b)


def test_sigkill_then_rerun_gives_the_same_rows(tmp_path: Path) -> None:
    d = tmp_path / "f"
    for i in range(4):
        clip = _clip(d / f"c{i}.mp4", seconds=3.0, colour=["red", "blue", "green", "yellow"][i])
        _sidecar(clip, "cam-k", f"2026-11-20T1{i}:00:00Z")
    ref_store, store = tmp_path / "ref", tmp_path / "killed"
    assert vsearch_cli("index", str(d), "--store", str(ref_store), "-q", "--detector", "motion").returncode == 0

    exe = Path(sys.executable).with_name("vsearch")
    proc = subprocess.Popen([str(exe), "index", str(d), "--store", str(store), "-q", "--detector", "motion"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    # kill once at least one file is committed but before the job finishes
    while time.monotonic() < deadline and proc.poll() is None:
        if (store / "lancedb" / "sources.lance").exists() and len(Store(store).sources()) >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "job finished before it could be killed; make the clips longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 1 <= len(Store(store).sources()) < 4

    assert vsearch_cli("index", str(d), "--store", str(store), "-q", "--detector", "motion").returncode == 0

    def rows(s: Path) -> tuple[list[tuple], list[tuple]]:
        st = Store(s)
        src = sorted((r.source_id, r.path, r.status, r.frames_decoded, r.n_tubes) for r in st.sources())
        tubes = sorted((t["tube_id"], t["n_samples"]) for t in st.tubes_arrow().to_pylist())
        return src, tubes

    assert rows(store) == rows(ref_store)


def test_readme_opens_with_the_two_commands() -> None:
    text = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    blocks = [b for b in text.split("```") if b.startswith("bash\n")]
    assert blocks[0].strip().splitlines()[1:] == ["bash scripts/demo.sh"]
    assert blocks[1].strip().splitlines()[1:] == ["bash scripts/test.sh"]
    assert "bash scripts/test.sh" in ci


def test_parallel_workers_give_the_same_rows(tmp_path: Path) -> None:
    d = tmp_path / "f"
    for i, colour in enumerate(("red", "green", "blue")):
        clip = _clip(d / f"w{i}.mp4", colour=colour)
        _sidecar(clip, "cam-w", f"2026-11-20T1{i}:00:00Z")
    serial, parallel = tmp_path / "s1", tmp_path / "s2"
    assert vsearch_cli("index", str(d), "--store", str(serial), "-q", "--detector", "motion").returncode == 0
    r = vsearch_cli("index", str(d), "--store", str(parallel), "-q", "--detector", "motion", "--workers", "2")
    assert r.returncode == 0, r.stderr

    def rows(s: Path) -> list[tuple]:
        st = Store(s)
        return sorted((t["tube_id"], t["n_samples"], tuple(t["pts_s"])) for t in st.tubes_arrow().to_pylist())

    assert rows(serial) == rows(parallel) and len(rows(serial)) == 3


def test_bad_option_value_is_a_usage_error(tmp_path: Path) -> None:
    r = vsearch_cli("index", str(tmp_path), "--fps", "0", "--store", str(tmp_path / "s"))
    assert r.returncode == 2
    assert "--fps" in r.stderr and "Traceback" not in r.stderr
    assert vsearch_cli("--help").returncode == 0
