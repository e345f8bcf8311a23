"""`--adapt-rate`: a job with a deadline lowers the analysis rate of the files that would not fit, never below
`--min-fps`, and records the rate used (source row, job report, `vsearch sources`, every search's coverage)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import longclip
from conftest import vsearch_cli
from vsearch.catalogue.store import Store
from vsearch.errors import UsageError
from vsearch.indexing.control import StopControl
from vsearch.indexing.job import IndexOptions, run_index
from vsearch.indexing.rate import choose_rate, is_reduced_rate, reduced_rate_reason
from vsearch.query.engine import run_query
from vsearch.query.spec import QuerySpec

UTC = dt.timezone.utc
START = "2026-11-20T10:00:00Z"
DEADLINE = dt.datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize("x_realtime, footage_s, time_s, want", [
    (10.0, 100.0, 20.0, 5.0),  # fits at the rate asked for
    (10.0, 400.0, 20.0, 2.5),  # needs 20x: half the rate
    (10.0, 300.0, 20.0, 3.0),  # needs 15x: 3.33 fps, rounded down to a 0.5 step
    (1.0, 400.0, 20.0, 2.0),  # far too slow: the floor
    (None, 400.0, 20.0, 5.0),  # no measured speed yet: the rate asked for
])
def test_choose_rate(x_realtime: float | None, footage_s: float, time_s: float, want: float) -> None:
    assert choose_rate(5.0, 2.0, x_realtime=x_realtime, footage_left_s=footage_s, time_left_s=time_s) == want


def _store_with_speed(store: Path, x_realtime: float) -> None:
    """An earlier job in this store measured `x_realtime` at 5 fps / 640 px (what the plan reads)."""
    (store / "jobs").mkdir(parents=True)
    (store / "jobs" / "20261201T210000Z-aaaaaa.json").write_text(json.dumps(
        {"job_id": "j1", "footage_s": 60.0 * x_realtime, "wall_s": 60.0, "options": {"fps": 5.0, "width_px": 640}}))


def _job(clip: Path, store: Path, *, seconds_left: float, adapt: bool = True, min_fps: float = 2.0):  # noqa: ANN202
    opts = IndexOptions(store=store, detector="motion", camera="x", start=START, adapt_rate=adapt, min_fps=min_fps)
    now = DEADLINE - dt.timedelta(seconds=seconds_left)  # the clock stands still: the deadline never passes
    return run_index([clip], opts, control=StopControl(deadline_utc=DEADLINE, clock=lambda: now))


def test_a_tight_deadline_lowers_the_rate_and_records_it(tmp_path: Path) -> None:
    clip = longclip.crossing_stream(tmp_path / "a.mp4", duration_s=20.0).path
    store = tmp_path / "s"
    _store_with_speed(store, 10.0)
    report = _job(clip, store, seconds_left=1.0)  # 20 s of footage in 1 s: 20x needed, 10x measured
    (f,) = report.files
    assert f["status"] == "ok" and f["analysis_fps"] == 2.5
    assert any("analysed at 2.5 fps, not 5 (--adapt-rate)" in w for w in report.warnings)
    row = Store(store).sources()[0]
    assert row.status == "ok" and json.loads(row.params_json)["fps"] == 2.5
    assert json.loads(row.identity_json)["params"]["fps"] == 2.5
    assert 45 <= row.frames_sampled <= 55  # 20 s at 2.5 fps
    assert [(g.start_s, g.end_s, g.reason) for g in row.gaps] == [(0.0, 20.0, reduced_rate_reason(2.5, 5.0))]
    cov = run_query(Store(store), QuerySpec()).coverage
    assert [g["reason"] for g in cov.gaps] == [reduced_rate_reason(2.5, 5.0)] and not cov.not_searched
    table = vsearch_cli("sources", "--store", str(store)).stdout
    assert "2.5 fps" in table

    # a job with --adapt-rate keeps it; one without indexes it again at the rate asked for
    assert _job(clip, store, seconds_left=1.0).files[0]["status"] == "skipped"
    again = run_index([clip], IndexOptions(store=store, detector="motion", camera="x", start=START))
    assert again.files[0]["status"] == "ok" and "parameter fps 2.5 → 5.0" in again.files[0]["message"]
    row = Store(store).sources()[0]
    assert json.loads(row.params_json)["fps"] == 5.0 and not row.gaps and row.frames_sampled >= 95


def test_the_rate_never_goes_below_the_floor(tmp_path: Path) -> None:
    clip = longclip.crossing_stream(tmp_path / "a.mp4", duration_s=20.0).path
    store = tmp_path / "s"
    _store_with_speed(store, 1.0)
    report = _job(clip, store, seconds_left=1.0, min_fps=2.0)  # would need 0.25 fps
    assert report.files[0]["analysis_fps"] == 2.0
    assert all(not is_reduced_rate(g) or "2 fps instead of 5 fps" in g.reason for g in Store(store).sources()[0].gaps)


def test_enough_time_keeps_the_rate(tmp_path: Path) -> None:
    clip = longclip.crossing_stream(tmp_path / "a.mp4", duration_s=20.0).path
    store = tmp_path / "s"
    _store_with_speed(store, 10.0)
    report = _job(clip, store, seconds_left=3600.0)
    assert report.files[0]["analysis_fps"] == 5.0 and Store(store).sources()[0].gaps == []


def test_bad_rate_options_are_one_clear_line(tmp_path: Path) -> None:
    clip = longclip.crossing_stream(tmp_path / "a.mp4", duration_s=2.0).path
    base = ["index", str(clip), "--detector", "motion", "--camera", "x", "--start", START, "--store", str(tmp_path / "s")]
    r = vsearch_cli(*base, "--adapt-rate")
    assert r.returncode != 0 and "give --deadline too" in r.stderr and "Traceback" not in r.stderr
    r = vsearch_cli(*base, "--adapt-rate", "--deadline", "+1h", "--min-fps", "8")
    assert r.returncode != 0 and "--min-fps must be above 0 and at most --fps (5)" in r.stderr
    with pytest.raises(UsageError):
        IndexOptions(adapt_rate=True, workers=2)
