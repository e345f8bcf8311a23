"""A `--priority CAMERA@HH:MM-HH:MM` window inside a long file is indexed first (padded), then the rest of the
file; the finished file holds the rows of an uninterrupted run (real footage, person detector)."""

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

from conftest import shared_path, vsearch_cli
from vsearch.catalogue.store import Store
from vsearch.indexing import checkpoint as ckpt
from vsearch.indexing.control import DEADLINE_REASON, StopControl
from vsearch.indexing.job import IndexOptions, NullSink, run_index
from vsearch.indexing.plan import WINDOW_PAD_S, window_stretches
from vsearch.query.engine import run_query
from vsearch.query.spec import QuerySpec

UTC = dt.timezone.utc
START = "2026-11-20T10:00:00Z"  # 11:00 in Paris: the clip's minute 11:01-11:02 is t = 60-120 s
WINDOW = "lobby@11:01-11:02"
CHUNK = 20.0


def _clip_and_models() -> tuple[Path, Path]:
    return (shared_path("footage", "intel", "one-by-one-person-detection.mp4"), shared_path("models"))


def _opts(store: Path, **kw: object) -> IndexOptions:
    clip, models = _clip_and_models()
    return IndexOptions(store=store, models_dir=models, camera="lobby", start=START, chunk_s=CHUNK, **kw)


def _tubes(store: Path) -> list[dict]:
    return sorted(Store(store).tubes_arrow().to_pylist(), key=lambda r: (r["first_pts_s"], r["last_pts_s"]))


def _same_tubes(got: Path, want: Path) -> None:
    """The same tubes as an uninterrupted run: count, times, frame indices, boxes (ids follow commit order)."""
    a, b = _tubes(want), _tubes(got)
    assert len(a) == len(b) >= 5, ([(r["first_pts_s"], r["last_pts_s"]) for r in a],
                                    [(r["first_pts_s"], r["last_pts_s"]) for r in b])
    for x, y in zip(a, b):
        assert x["frame_index"] == y["frame_index"] and x["class_name"] == y["class_name"], (x["tube_id"], y["tube_id"])
        np.testing.assert_allclose(x["pts_s"], y["pts_s"], atol=1e-6)
        np.testing.assert_allclose(x["boxes_xyxy"], y["boxes_xyxy"], atol=1e-3, err_msg=y["tube_id"])
    ids = [r["tube_id"] for r in b]
    assert len(set(ids)) == len(ids)
    assert {r["item_id"] for name in Store(got).vector_tables() for r in Store(got).table(name).to_arrow()
            .to_pylist() if r["kind"] == "tube"} <= set(ids)
    done = Store(got).sources()[0]
    assert done.status == "ok" and done.checkpoint_json is None and done.n_tubes == len(a)
    assert Store(got).counts() == Store(want).counts()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted run of the whole clip."""
    store = tmp_path_factory.mktemp("ref") / "s"
    clip, _ = _clip_and_models()
    report = run_index([clip], _opts(store))
    assert report.files[0]["status"] == "ok"
    return store


class _Sink(NullSink):
    """Passes the deadline once the job has analysed a frame at `at_s` (the window's end)."""

    def __init__(self, at_s: float) -> None:
        self.at_s, self.passed, self.order = at_s, False, []

    def frame(self, path: str, pts_s: float) -> None:
        self.order.append(pts_s)
        self.passed = self.passed or pts_s >= self.at_s


def test_the_window_goes_first_a_deadline_leaves_the_rest_and_a_rerun_completes_the_file(
        tmp_path: Path, reference: Path) -> None:
    clip, _ = _clip_and_models()
    store = tmp_path / "s"
    deadline = dt.datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    sink = _Sink(120.0 + WINDOW_PAD_S - 1.0)
    control = StopControl(deadline_utc=deadline,
                          clock=lambda: deadline if sink.passed else deadline - dt.timedelta(hours=1))
    report = run_index([clip], _opts(store, priority=(WINDOW,)), sink=sink, control=control)
    f = report.files[0]
    lo, hi = 60.0 - WINDOW_PAD_S, 120.0 + WINDOW_PAD_S
    assert f["status"] == "stopped" and f["message"] == f"indexed {lo:.1f}–{hi:.1f} s; {DEADLINE_REASON}", f
    assert min(sink.order) >= lo - 30.0  # the window's run began with its overlap, not at the file's start
    assert report.not_done == [{"path": str(clip), "reason": f["message"]}]

    row = Store(store).sources()[0]
    assert row.status == "partial"
    assert [s[:2] for s in ckpt.Checkpoint.from_json(row.checkpoint_json).spans] == [(lo, hi)]
    # the window's objects are searchable; the coverage names the rest of the file as not indexed (deadline)
    result = run_query(Store(store), QuerySpec())
    in_window = [h for h in result.hits if h.last_pts_s >= lo]
    assert len(in_window) >= 3 and all(h.last_pts_s < hi + 30.0 for h in result.hits)
    t0 = dt.datetime.fromisoformat(START.replace("Z", "+00:00"))
    gaps = [(round((dt.datetime.fromisoformat(g["from_utc"]) - t0).total_seconds(), 1),
             round((dt.datetime.fromisoformat(g["to_utc"]) - t0).total_seconds(), 1), g["reason"])
            for g in result.coverage.gaps]
    assert gaps == [(0.0, lo, DEADLINE_REASON), (hi, pytest.approx(139.4, abs=0.1), DEADLINE_REASON)], gaps
    listing = vsearch_cli("sources", "--store", str(store))
    assert "indexed 10:00:55–10:02:05 of 2.3 min" in listing.stdout.replace("\n", ""), listing.stdout

    # a rerun indexes the rest: the tubes of an uninterrupted run, the window's tube ids unchanged
    window_ids = {r["tube_id"]: (r["first_pts_s"], r["last_pts_s"]) for r in _tubes(store)}
    again = run_index([clip], _opts(store, priority=(WINDOW,)))
    assert again.files[0]["status"] == "ok" and not again.not_done
    after = {r["tube_id"]: r for r in _tubes(store)}
    assert set(window_ids) <= set(after)
    assert all(after[k]["last_pts_s"] == pytest.approx(v[1]) for k, v in window_ids.items())
    _same_tubes(store, reference)
    assert not run_query(Store(store), QuerySpec()).coverage.gaps


def _lock(store: Path) -> dict:
    try:
        return json.loads((store / "jobs" / "running.json").read_text())
    except (OSError, ValueError):
        return {}


def test_sigkill_inside_the_window_resumes_with_the_tubes_of_an_uninterrupted_run(
        tmp_path: Path, reference: Path) -> None:
    clip, models = _clip_and_models()
    store = tmp_path / "killed"
    args = ["index", str(clip), "--models-dir", str(models), "--camera", "lobby", "--start", START, "--chunk",
            str(CHUNK), "--priority", WINDOW, "-q", "--json", "--store", str(store)]
    exe = Path(sys.executable).with_name("vsearch")
    proc = subprocess.Popen([str(exe), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 300
    while (_lock(store).get("indexed_to_s") or 0.0) < 80.0:  # the window's chunk to t = 80 s is committed
        assert proc.poll() is None and time.monotonic() < end, "the job ended or stalled before t = 80 s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    row = Store(store).sources()[0]
    ck = ckpt.Checkpoint.from_json(row.checkpoint_json)
    assert row.status == "partial" and ck.spans[0][0] == 60.0 - WINDOW_PAD_S and ck.indexed_to_s < 120.0, ck

    r = vsearch_cli(*args)
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)["files"][0]
    assert f["status"] == "ok" and f["resumed_from_s"] == ck.indexed_to_s, f
    _same_tubes(store, reference)


def test_stretches_spans_and_restart_points() -> None:
    spans = ckpt.add_span((), (55.0, 125.0, 120.0, 600))
    assert ckpt.missing(spans, 0.0, 139.4) == [(0.0, 55.0), (125.0, 139.4)]
    assert ckpt.missing(spans, 60.0, 130.0) == [(125.0, 130.0)] and ckpt.missing(spans, 60.0, 120.0) == []
    joined = ckpt.add_span(spans, (0.0, 55.0, 50.0, 250))
    assert joined == ((0.0, 125.0, 120.0, 600),)  # the later span's restart point is kept
    assert ckpt.missing(joined, 0.0, None) == [(125.0, None)]
    sha = "ab" * 32
    first = ckpt.stretch_start(None, sha, 0.0, 55.0, fps=5.0, back_s=25.0, chunk_s=20.0)
    assert (first.indexed_to_s, first.resume_pts_s, first.resume_frame_index, first.spans) == (55.0, 30.0, 150, ())
    ck = ckpt.Checkpoint(125.0, 120.0, 600, 3, "x", 400, 4000, 20.0, spans=spans)
    assert ckpt.stretch_start(ck, sha, 0.0, 125.0, fps=5.0, back_s=25.0, chunk_s=20.0) == ck
    head = ckpt.stretch_start(ck, sha, 0.0, 0.0, fps=5.0, back_s=25.0, chunk_s=20.0)
    assert (head.indexed_to_s, head.resume_pts_s, head.resume_frame_index, head.tubes) == (0.0, 0.0, 0, 3)
    assert head.last_scene_id < ckpt.scene_id(sha, 0.0)  # a rerun trims only what this stretch wrote
    legacy = ckpt.Checkpoint.from_json(json.dumps({**json.loads(ck.to_json()), "spans": None}))
    assert legacy.indexed(0.0) == ((0.0, 125.0, 120.0, 600),)


def test_window_stretches_of_a_file() -> None:
    start = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 11:00 in Paris
    terms = ("lobby@11:01-11:02", "yard@11:00-12:00", "@10:00-11:00", "@11:02-11:03")
    got = window_stretches(terms, "lobby", start, 0.0, 139.4, tz="Europe/Paris")
    assert got == [(55.0, 125.0), (115.0, 139.4)]  # padded, clipped to the file, in the order of the terms
    assert window_stretches(("lobby@11:01-11:02",), "lobby", start, 0.0, None, tz="Europe/Paris") == []
    assert window_stretches(("lobby",), "lobby", start, 0.0, 139.4, tz="Europe/Paris") == []
