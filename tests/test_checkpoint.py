"""Checkpoints inside a file, deadlines and stops at chunk boundaries (real decoding, real LanceDB, real kills)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import longclip
from conftest import shared_path, vsearch_cli
from vsearch.catalogue.store import Store
from vsearch.errors import UsageError
from vsearch.indexing.control import DEADLINE_REASON, StopControl, parse_deadline
from vsearch.indexing.job import run_index
from vsearch.indexing.options import IndexOptions
from vsearch.query.engine import run_query
from vsearch.query.spec import QuerySpec

UTC = dt.timezone.utc
START = "2026-11-20T10:00:00Z"


def _tubes(store: Path) -> dict[str, dict]:
    return {r["tube_id"]: r for r in Store(store).tubes_arrow().to_pylist()}


def _lock(store: Path) -> dict:
    try:
        return json.loads((store / "jobs" / "running.json").read_text())
    except (OSError, ValueError):
        return {}


def _popen(*args: str) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("vsearch")
    return subprocess.Popen([str(exe), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_lock(proc: subprocess.Popen, store: Path, indexed_to_s: float, timeout_s: float = 300) -> dict:
    """Wait until the running job has committed a chunk reaching `indexed_to_s` (its lock file says so)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and proc.poll() is None:
        lock = _lock(store)
        if (lock.get("indexed_to_s") or 0.0) >= indexed_to_s:
            return lock
        time.sleep(0.01)
    pytest.fail(f"the job ended or stalled before committing t = {indexed_to_s} s: {proc.poll()}")


def test_sigkill_at_75_percent_of_a_file_resumes_with_the_same_tubes(tmp_path: Path) -> None:
    """Kill -9 at ~75 % of a 139 s real clip (person detector): the rerun redoes < 50 % of the frames and the
    store then holds the rows of an uninterrupted run: same tube ids, frame indices, boxes, vectors."""
    clip = shared_path("footage", "intel", "one-by-one-person-detection.mp4")
    models = shared_path("models")
    args = ["index", str(clip), "--models-dir", str(models), "--camera", "lobby", "--start", START, "--chunk", "20",
            "-q", "--json"]
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    r = vsearch_cli(*args, "--store", str(ref))
    assert r.returncode == 0, r.stderr
    full = json.loads(r.stdout)["files"][0]

    proc = _popen(*args, "--store", str(killed))
    _wait_lock(proc, killed, 100.0)  # 100 s of 139.4 s committed: kill now
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    row = Store(killed).sources()[0]
    assert row.status == "partial" and row.checkpoint_json and row.indexed_to_s >= 100.0, row
    status = json.loads(vsearch_cli("status", "--store", str(killed), "--json").stdout)
    assert status["running_job"]["alive"] is False  # the lock of the killed job, seen as stale
    assert status["in_progress"][0]["indexed_to_s"] == row.indexed_to_s

    r = vsearch_cli(*args, "--store", str(killed))
    assert r.returncode == 0, r.stderr
    rerun = json.loads(r.stdout)["files"][0]
    assert rerun["resumed_from_s"] == row.indexed_to_s
    assert rerun["frames_sampled"] < 0.5 * full["frames_sampled"], (rerun, full)

    want, got = _tubes(ref), _tubes(killed)
    assert sorted(got) == sorted(want) and len(want) >= 5
    for tid, a in want.items():
        b = got[tid]
        assert a["frame_index"] == b["frame_index"] and a["class_name"] == b["class_name"], tid
        np.testing.assert_allclose(a["boxes_xyxy"], b["boxes_xyxy"], atol=1e-3, err_msg=tid)
    for name in Store(ref).vector_tables():
        va = {v["item_id"]: v["vector"] for v in Store(ref).table(name).to_arrow().to_pylist()}
        vb = {v["item_id"]: v["vector"] for v in Store(killed).table(name).to_arrow().to_pylist()}
        assert sorted(va) == sorted(vb), name
        for k in va:
            np.testing.assert_allclose(va[k], vb[k], atol=1e-5, err_msg=k)
    done = Store(killed).sources()[0]
    assert done.status == "ok" and done.checkpoint_json is None and done.n_tubes == len(want)
    assert Store(killed).counts() == Store(ref).counts()


def test_chunked_commits_give_the_rows_of_one_commit(tmp_path: Path) -> None:
    """Committing every 15 s gives the same tubes, scenes and vectors as committing the file at its end."""
    clip = longclip.crossing_stream(tmp_path / "long.mp4", duration_s=60.0).path
    base = ["index", str(clip), "--detector", "motion", "--camera", "x", "--start", START, "-q"]
    assert vsearch_cli(*base, "--store", str(tmp_path / "one"), "--chunk", "3600").returncode == 0
    assert vsearch_cli(*base, "--store", str(tmp_path / "many"), "--chunk", "15").returncode == 0
    one, many = _tubes(tmp_path / "one"), _tubes(tmp_path / "many")
    assert len(one) >= 15
    assert {k: (v["frame_index"], v["boxes_xyxy"]) for k, v in one.items()} == \
        {k: (v["frame_index"], v["boxes_xyxy"]) for k, v in many.items()}
    assert Store(tmp_path / "one").counts() == Store(tmp_path / "many").counts()


class _Clock:
    """A clock that passes the deadline after `calls` readings (the job reads it at each chunk boundary)."""

    def __init__(self, deadline: dt.datetime, calls: int) -> None:
        self.deadline, self.left = deadline, calls

    def __call__(self) -> dt.datetime:
        self.left -= 1
        return self.deadline - dt.timedelta(seconds=1) if self.left >= 0 else self.deadline


def test_deadline_stops_at_a_chunk_boundary_and_coverage_names_what_is_left(tmp_path: Path) -> None:
    a = longclip.crossing_stream(tmp_path / "f" / "a.mp4", duration_s=60.0).path
    b = longclip.crossing_stream(tmp_path / "f" / "b.mp4", duration_s=20.0).path
    for clip, start in ((a, "2026-11-20T11:00:00Z"), (b, "2026-11-20T10:00:00Z")):  # newest (a) goes first
        clip.with_name(clip.name + ".json").write_text(json.dumps({"camera": "x", "start": start}))
    store = tmp_path / "s"
    deadline = dt.datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    # readings: the plan, before file a, boundary 15 s; the next one (boundary 30 s) is past the deadline
    control = StopControl(deadline_utc=deadline, clock=_Clock(deadline, 3))
    opts = IndexOptions(store=store, detector="motion", chunk_s=15.0)
    report = run_index([a, b], opts, control=control)
    stopped = {Path(f["path"]).name: f for f in report.files}
    assert stopped["a.mp4"]["status"] == "stopped" and "t = 30.0 s" in stopped["a.mp4"]["message"]
    assert stopped["b.mp4"]["status"] == "not started"
    assert [Path(str(f["path"])).name for f in report.not_done] == ["a.mp4", "b.mp4"]
    assert report.not_done[0]["reason"] == f"indexed up to t = 30.0 s; {DEADLINE_REASON}"
    assert all(DEADLINE_REASON in str(f["reason"]) for f in report.not_done)

    cov = run_query(Store(store), QuerySpec()).coverage
    assert [Path(e["path"]).name for e in cov.not_searched] == ["b.mp4"]
    assert cov.not_searched[0]["reason"] == DEADLINE_REASON
    assert any(g["reason"] == DEADLINE_REASON and Path(g["path"]).name == "a.mp4" for g in cov.gaps)
    row_a = next(r for r in Store(store).sources() if r.path.endswith("a.mp4"))
    assert row_a.indexed_to_s == pytest.approx(30.0) and row_a.status == "partial"

    # the next run continues: the store then holds what one uninterrupted job writes
    again = run_index([a, b], opts)
    assert {Path(f["path"]).name: f["status"] for f in again.files} == {"a.mp4": "ok", "b.mp4": "ok"}
    ref = run_index([a, b], IndexOptions(store=tmp_path / "ref", detector="motion", chunk_s=15.0))
    assert not ref.not_done
    assert sorted(_tubes(store)) == sorted(_tubes(tmp_path / "ref"))
    assert [r.status for r in Store(store).sources()] == ["ok", "ok"]
    assert not run_query(Store(store), QuerySpec()).coverage.not_searched


def test_sigterm_stops_at_the_next_chunk_boundary_with_a_clear_line(tmp_path: Path) -> None:
    clip = longclip.crossing_stream(tmp_path / "long.mp4", duration_s=900.0).path  # runs long enough to watch
    store = tmp_path / "s"
    proc = _popen("index", str(clip), "--detector", "motion", "--camera", "x", "--start", START, "--chunk", "15",
                  "--store", str(store))
    _wait_lock(proc, store, 15.0)
    status = json.loads(vsearch_cli("status", "--store", str(store), "--json").stdout)
    assert status["running_job"]["alive"] is True and status["running_job"]["pid"] == proc.pid
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "SIGTERM: stopping at the next chunk boundary" in err and "Traceback" not in err
    assert "not done:" in out and "rerun to continue" in out
    row = Store(store).sources()[0]
    assert row.status == "partial" and 15.0 <= row.indexed_to_s < 900.0
    assert not (store / "jobs" / "running.json").exists()


def test_ctrl_c_in_the_terminal_stops_at_the_chunk_boundary_not_at_the_decoder(tmp_path: Path) -> None:
    """Ctrl-C reaches every process of the terminal's group, ffmpeg's too: the decoder goes on (it is in its own
    group) and the job stops at the next chunk boundary, the rest of the file not indexed yet — not recorded as an
    unreadable tail of a finished file."""
    clip = longclip.crossing_stream(tmp_path / "long.mp4", duration_s=900.0).path
    store = tmp_path / "s"
    exe = Path(sys.executable).with_name("vsearch")
    proc = subprocess.Popen([str(exe), "index", str(clip), "--detector", "motion", "--camera", "x", "--start", START,
                             "--chunk", "60", "--decoder", "ffmpeg", "--store", str(store)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_lock(proc, store, 60.0)  # the next boundary is a minute of footage away: ffmpeg, stopped, would end first
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "SIGINT: stopping at the next chunk boundary" in err and "not done:" in out, out + err
    row = Store(store).sources()[0]
    assert row.status == "partial" and row.checkpoint_json is not None and 120.0 <= row.indexed_to_s < 900.0
    assert "unreadable" not in (row.gaps_json or ""), row.gaps_json


@pytest.mark.parametrize("text, want", [
    ("+8h", "2026-12-02T05:30:00+00:00"),
    ("+90m", "2026-12-01T23:00:00+00:00"),
    ("07:00", "2026-12-02T06:00:00+00:00"),  # Europe/Paris is UTC+1 in December
    ("2026-12-02T06:30", "2026-12-02T05:30:00+00:00"),
    ("2026-12-02T06:30:00Z", "2026-12-02T06:30:00+00:00"),
])
def test_parse_deadline(text: str, want: str) -> None:
    now = dt.datetime(2026, 12, 1, 21, 30, tzinfo=UTC)
    assert parse_deadline(text, now=now).isoformat() == want


def test_bad_deadline_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--deadline 'tomorrow'"):
        parse_deadline("tomorrow")
    r = vsearch_cli("index", str(tmp_path), "--deadline", "tomorrow", "--store", str(tmp_path / "s"))
    assert r.returncode == 2 and "--deadline" in r.stderr and "Traceback" not in r.stderr


def test_priority_first_then_newest_first(tmp_path: Path) -> None:
    from vsearch.indexing.plan import ordered
    from vsearch.indexing.sources import SourceSpec

    def spec(name: str, camera: str, hour: int) -> SourceSpec:
        return SourceSpec(tmp_path / name, camera, dt.datetime(2026, 11, 20, hour, tzinfo=UTC))

    specs = [spec("n-08.mp4", "north", 8), spec("n-09.mp4", "north", 9), spec("s-07.mp4", "south", 7),
             spec("gate-06.mp4", "gate", 6), spec("s-10.mp4", "south", 10)]
    names = [s.path.name for s in ordered(specs, ("gate", "south"))]
    assert names == ["gate-06.mp4", "s-10.mp4", "s-07.mp4", "n-09.mp4", "n-08.mp4"]
    assert [s.path.name for s in ordered(specs, ())][:2] == ["s-10.mp4", "n-09.mp4"]


def test_plan_uses_the_last_measured_speed(tmp_path: Path) -> None:
    from vsearch.indexing.plan import make_plan
    from vsearch.indexing.sources import SourceSpec

    a = longclip.crossing_stream(tmp_path / "a.mp4", duration_s=20.0).path
    b = longclip.crossing_stream(tmp_path / "b.mp4", duration_s=20.0).path
    now = dt.datetime(2026, 12, 1, 22, 0, tzinfo=UTC)
    jobs = tmp_path / "jobs"
    no_rate = make_plan([SourceSpec(a), SourceSpec(b)], deadline_utc=now + dt.timedelta(seconds=5), now=now, fps=5.0,
                        width_px=640, jobs_dir=jobs)
    assert no_rate.x_realtime is None and "no earlier job" in no_rate.lines()[1]
    jobs.mkdir()
    (jobs / "20261201T210000Z-aaaaaa.json").write_text(json.dumps(
        {"job_id": "j1", "footage_s": 600.0, "wall_s": 100.0, "options": {"fps": 5.0, "width_px": 640}}))
    plan = make_plan([SourceSpec(a), SourceSpec(b)], deadline_utc=now + dt.timedelta(seconds=5), now=now, fps=5.0,
                     width_px=640, jobs_dir=jobs)
    assert plan.x_realtime == 6.0  # 30 s of footage fit in 5 s: all of a, 10 s of b
    assert [f.expected for f in plan.files] == ["done", "partly (to t = 10 s)"]
    assert "6.0× real time (measured by job j1)" in plan.lines()[1]


def test_a_passed_deadline_prints_the_plan_and_lists_what_is_not_done(tmp_path: Path) -> None:
    clip = longclip.crossing_stream(tmp_path / "a.mp4", duration_s=20.0).path
    store = tmp_path / "s"
    r = vsearch_cli("index", str(clip), "--detector", "motion", "--camera", "x", "--start", START,
                    "--store", str(store), "--deadline", "+0s")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "plan: 1 file(s) at 5 fps / 640 px, deadline" in r.stderr and "no estimate" in r.stderr
    assert f"not done: {clip}: {DEADLINE_REASON}" in r.stdout.replace("\n", "")
    rows = json.loads(vsearch_cli("sources", "--store", str(store), "--json").stdout)
    assert [(x["status"], x["error"]) for x in rows] == [("not_indexed", DEADLINE_REASON)]
    report = json.loads(next((store / "jobs").glob("2*.json")).read_text())
    assert report["not_done"] == [{"path": str(clip), "reason": DEADLINE_REASON}]
    # retention never treats the placeholder as indexed footage (nor deletes the file it names)
    from vsearch.evidence.retention import purge

    gone = purge(Store(store), older_than=dt.timedelta(0), delete_sources=True)
    assert gone.purged == [] and clip.is_file()


def test_a_second_job_on_a_store_being_indexed_is_refused(tmp_path: Path) -> None:
    clip = longclip.crossing_stream(tmp_path / "a.mp4", duration_s=5.0).path
    store = tmp_path / "s"
    (store / "jobs").mkdir(parents=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (store / "jobs" / "running.json").write_text(json.dumps({"job_id": "j-other", "pid": other.pid}))
        r = vsearch_cli("index", str(clip), "--detector", "motion", "--camera", "x", "--start", START,
                        "--store", str(store))
        assert r.returncode != 0 and "job j-other" in r.stderr and "Traceback" not in r.stderr, r.stderr
    finally:
        other.kill()
        other.wait()
    r = vsearch_cli("index", str(clip), "--detector", "motion", "--camera", "x", "--start", START, "-q",
                    "--store", str(store))  # the lock's process is gone: a stale lock does not block
    assert r.returncode == 0, r.stderr


def test_time_window_priorities_and_the_manifest_priority_column(tmp_path: Path) -> None:
    """`--priority gate@14:00-16:00` puts first the gate files whose footage (start + length, from the
    container) overlaps 14:00-16:00 local time; then the manifest's `priority` column, lowest first; then the
    rest newest first. Malformed terms and priorities are one clear line."""
    import shutil

    from vsearch.indexing.plan import Window, ordered, parse_priority
    from vsearch.indexing.sources import discover

    clip = longclip.crossing_stream(tmp_path / "clip.mp4", duration_s=4.0).path
    rows = [("g-1359.mp4", "gate", "2026-11-20T13:59:57", ""),  # its last 3 s are in the window
            ("g-1600.mp4", "gate", "2026-11-20T16:00:00", ""),  # starts as the window ends: not in it
            ("g-1500.mp4", "gate", "2026-11-21T15:00:00", "2"),  # in the window, another day
            ("y-1500.mp4", "yard", "2026-11-20T15:00:00", ""),  # in the window, another camera
            ("y-0900.mp4", "yard", "2026-11-20T09:00:00", "1"),
            ("y-1000.mp4", "yard", "2026-11-20T10:00:00", "3")]
    for name, *_ in rows:
        shutil.copy(clip, tmp_path / name)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,camera,start,priority\n" + "".join(f"{n},{c},{s},{p}\n" for n, c, s, p in rows))
    specs = discover([manifest], camera=None, start=None, tz="Europe/Paris").specs
    names = [s.path.name for s in ordered(specs, ("gate@14:00-16:00",), tz="Europe/Paris")]
    assert names == ["g-1500.mp4", "g-1359.mp4", "y-0900.mp4", "y-1000.mp4", "g-1600.mp4", "y-1500.mp4"]
    names = [s.path.name for s in ordered(specs, ("@14:00-16:00",), tz="Europe/Paris")]
    assert names[:3] == ["g-1500.mp4", "y-1500.mp4", "g-1359.mp4"]

    paris = Window("", dt.time(14), dt.time(16))
    from zoneinfo import ZoneInfo
    zone = ZoneInfo("Europe/Paris")
    at = lambda h, m=0: dt.datetime(2026, 11, 20, h, m, tzinfo=zone)  # noqa: E731
    assert paris.overlap_s(at(13), at(15), zone) == 3600.0 and paris.overlap_s(at(16), at(18), zone) == 0.0
    assert paris.overlap_s(at(13), at(13) + dt.timedelta(days=1, hours=2), zone) == 2 * 7200.0 - 3600.0
    night = parse_priority("cam 2@22:30-01:00")
    assert night == Window("cam 2", dt.time(22, 30), dt.time(1)) and night.overlap_s(at(0), at(2), zone) == 3600.0

    for bad in ("gate@14-16", "gate@25:00-26:00"):
        with pytest.raises(UsageError, match="CAMERA@HH:MM-HH:MM"):
            IndexOptions(priority=(bad,))
    r = vsearch_cli("index", str(manifest), "--store", str(tmp_path / "s"), "--priority", "gate@2pm")
    assert r.returncode != 0 and "--priority 'gate@2pm': a time window is CAMERA@HH:MM-HH:MM" in r.stderr
    assert "Traceback" not in r.stderr
    manifest.write_text("path,camera,start,priority\ng-1359.mp4,gate,2026-11-20T13:59:57,high\n")
    r = vsearch_cli("index", str(manifest), "--store", str(tmp_path / "s"))
    assert r.returncode != 0 and "m.csv:2 priority: 'high' is not a whole number" in r.stderr
