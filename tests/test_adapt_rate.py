"""`--adapt-rate`: a job with a deadline lowers the analysis rate of the files that would not fit, never below
`--min-fps`, and records the rate used (source row, job report, `vsearch sources`, every search's coverage)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

import longclip
from conftest import vsearch_cli
from vsearch.catalogue.store import Store
from vsearch.errors import UsageError
from vsearch.indexing.control import StopControl
from vsearch.indexing.job import run_index
from vsearch.indexing.options import IndexOptions
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


class _FrameClock:
    """The job's clock, driven by the work done: every frame through the stages costs `cost_s` (so the speed the
    job measures is known exactly, and no test waits on real time). Also the job's progress sink."""

    def __init__(self, t0: dt.datetime, cost_s: float) -> None:
        self.t0, self.cost_s, self.frames = t0, cost_s, 0

    def __call__(self) -> dt.datetime:
        return self.t0 + dt.timedelta(seconds=self.frames * self.cost_s)

    def frame(self, path: str, pts_s: float) -> None:
        self.frames += 1

    def start(self, n_files: int) -> None: ...

    def file_started(self, path: str, duration_s: float | None) -> None: ...

    def file_done(self, outcome: object) -> None: ...

    def warn(self, text: str) -> None: ...



def _rates(store: Path) -> list[tuple[float, float, float]]:
    """(from s, to s, fps) of every stretch of the store's one file, from its gaps (asked rate 5 where none)."""
    (row,) = Store(store).sources()
    reduced = sorted((g.start_s, g.end_s, float(g.reason.split(": ")[1].split(" fps")[0]))
                     for g in row.gaps if is_reduced_rate(g))
    return reduced


def _found(store: Path, video) -> int:  # noqa: ANN001
    """Ground-truth crossings matched by a tube (IoU >= 0.3 at the tube sample nearest the crossing's middle)."""
    tubes = Store(store).tubes_arrow().to_pylist()
    found = 0
    for o in video.objects:
        t_mid = (o.waypoints[0][0] + o.waypoints[-1][0]) / 2
        truth = np.array(o.box(t_mid))
        for t in tubes:
            pts = np.array(t["pts_s"])
            k = int(np.argmin(np.abs(pts - t_mid)))
            if abs(pts[k] - t_mid) > 0.6:
                continue
            b = np.asarray(t["boxes_xyxy"], float).reshape(-1, 4)[k]
            ix = max(0.0, min(b[2], truth[2]) - max(b[0], truth[0]))
            iy = max(0.0, min(b[3], truth[3]) - max(b[1], truth[1]))
            inter = ix * iy
            union = (b[2] - b[0]) * (b[3] - b[1]) + (truth[2] - truth[0]) * (truth[3] - truth[1]) - inter
            if inter / union >= 0.3:
                found += 1
                break
    return found


def _chunked_job(clip: Path, store: Path, clock: _FrameClock, deadline: dt.datetime,  # noqa: ANN202
                 *, min_fps: float = 2.0):
    opts = IndexOptions(store=store, detector="motion", camera="x", start=START, adapt_rate=True, min_fps=min_fps,
                        chunk_s=10.0)
    return run_index([clip], opts, sink=clock, control=StopControl(deadline_utc=deadline, clock=clock))


def test_the_rate_is_lowered_inside_a_file_at_a_chunk_boundary(tmp_path: Path) -> None:
    """60 s of footage due in 25 s, on a new store (no speed known): the first 10-s chunk runs at the asked 5 fps
    and measures 2x real time (0.1 s per frame); from that boundary on the file is analysed at lower rates (never
    under the 2-fps floor; the overlap re-run at each change counts in the speed measured next), each stretch's
    rate in its coverage span, and every crossing of the ground truth is still found."""
    video = longclip.crossing_stream(tmp_path / "a.mp4", duration_s=60.0)
    store = tmp_path / "s"
    t0 = dt.datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    clock = _FrameClock(t0, 0.1)
    report = _chunked_job(video.path, store, clock, t0 + dt.timedelta(seconds=25))
    (f,) = report.files
    assert f["status"] == "ok" and not report.not_done
    spans = f["rate_spans"]
    assert spans[0] == [0.0, 10.0, 5.0]  # the measuring chunk, at the asked rate
    assert len(spans) >= 2 and all(2.0 <= fps < 5.0 for _, _, fps in spans[1:])
    assert [a for a, _, _ in spans[1:]] == [b for _, b, _ in spans[:-1]] and spans[-1][1] == pytest.approx(60.0)
    # 2x measured, 50 s left in 20 s: 2.5x needed, so 4 fps (5 fps x 2 / 2.5) from t = 10 s
    assert spans[1] == [10.0, 20.0, 4.0]
    assert any("from t = 10.0 s analysed at 4 fps (asked 5; --adapt-rate)" in w for w in report.warnings)
    lowered = _rates(store)
    assert lowered[0][:2] == (10.0, spans[1][1]) and [r[2] for r in lowered] == [s[2] for s in spans[1:] if s[2] < 5]
    cov = run_query(Store(store), QuerySpec()).coverage
    assert sorted(g["reason"] for g in cov.gaps) == sorted(reduced_rate_reason(fps, 5.0) for _, _, fps in lowered)
    assert clock() <= t0 + dt.timedelta(seconds=25 + 2)  # met within one chunk's time (10 s at 2 fps)
    assert _found(store, video) == len(video.objects)
    (row,) = Store(store).sources()
    assert row.status == "ok" and row.n_tubes == len(Store(store).tubes_arrow())
    lowest = min(fps for _, _, fps in spans)
    assert f"{lowest:g}–5 fps" in vsearch_cli("sources", "--store", str(store)).stdout  # the range of its rates


def test_a_file_with_chunks_at_different_rates_resumes_and_a_job_without_adapt_rate_redoes_it(tmp_path: Path) -> None:
    """A deadline that passes inside the file after the rate was lowered: the job stops at a boundary; the next
    job with --adapt-rate and time to spare continues the file at the asked rate from there (the earlier
    stretches keep their rates, tube numbers continue); a job without --adapt-rate indexes it again at 5 fps."""
    video = longclip.crossing_stream(tmp_path / "a.mp4", duration_s=60.0)
    store = tmp_path / "s"
    t0 = dt.datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    clock = _FrameClock(t0, 0.1)
    first = _chunked_job(video.path, store, clock, t0 + dt.timedelta(seconds=8))
    (f,) = first.files
    assert f["status"] == "stopped" and "not indexed (deadline)" in f["message"]
    stopped_at = f["rate_spans"][-1][1]
    assert f["rate_spans"][0] == [0.0, 10.0, 5.0] and 10.0 < stopped_at < 60.0
    (row,) = Store(store).sources()
    assert row.status == "partial" and row.indexed_to_s == stopped_at
    assert _rates(store) and _rates(store)[-1][1] == stopped_at

    later = _FrameClock(t0 + dt.timedelta(hours=1), 0.1)
    again = _chunked_job(video.path, store, later, t0 + dt.timedelta(hours=3))
    (g,) = again.files
    assert g["status"] == "ok" and g["resumed_from_s"] == stopped_at and g["rate_spans"] == [[stopped_at, 60.0, 5.0]]
    (row,) = Store(store).sources()
    assert row.status == "ok" and _rates(store)[-1][1] == stopped_at  # the stretches before keep their rates
    ids = sorted(t["tube_id"] for t in Store(store).tubes_arrow().to_pylist())
    assert ids == [f"{row.source_id[:16]}-{k:05d}" for k in range(1, len(ids) + 1)]
    assert _found(store, video) == len(video.objects)

    plain = run_index([video.path], IndexOptions(store=store, detector="motion", camera="x", start=START,
                                                 chunk_s=10.0))
    assert plain.files[0]["status"] == "ok"
    assert "parts were analysed at a lowered rate (--adapt-rate)" in plain.files[0]["message"]
    (row,) = Store(store).sources()
    assert not _rates(store) and row.frames_sampled >= 295
