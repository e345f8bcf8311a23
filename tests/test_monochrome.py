"""Black-and-white footage (a camera's infrared night mode): no colour is read from a picture that has none.

Under infrared a dark coat can look white, so the greys of a monochrome frame say nothing of an object's colour:
before, a person seen only at night was stored "white" and matched "white", "grey" or "black" queries like one seen
in daylight. Now such frames add no colour, the tube records how many of its samples were monochrome, and a colour
word is "not measurable" for an object seen only in them; an object seen in both keeps its daylight colours."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest

import synth
from conftest import REPO, index_motion_only, shared_path, vsearch_cli
from vsearch.catalogue.store import Store
from vsearch.catalogue.tube_rows import record_to_tube
from vsearch.indexers.colours import is_monochrome
from vsearch.query.engine import run_query
from vsearch.query.options import QueryOptions
from vsearch.query.text import build_query

START = dt.datetime(2026, 11, 20, 21, 0, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 11, 21, 9, tzinfo=dt.timezone.utc)
SWITCH_S = 6.0  # the camera turns to black-and-white here


def _frames(path: Path, every: int = 25) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for i, f in enumerate(c.decode(video=0)) if i % every == 0]


def _grey_copy(src: Path, dst: Path) -> Path:
    """What an NVR records from a camera in black-and-white mode: the same pictures with no chroma."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(src), "-t", "20",
                    "-vf", "hue=s=0", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(dst)],
                   check=True)
    return dst


def test_real_colour_footage_is_not_monochrome_and_its_grey_copy_is(tmp_path: Path) -> None:
    clip = REPO / "sample_clips" / "vtest.avi"
    assert not any(is_monochrome(f) for f in _frames(clip))
    assert all(is_monochrome(f) for f in _frames(_grey_copy(clip, tmp_path / "vtest-bw.mp4")))


def test_the_palest_daylight_footage_is_not_monochrome() -> None:
    """The car park clip is nearly grey (concrete, white and silver cars): every frame still counts as colour."""
    frames = _frames(shared_path("footage", "intel", "car-detection.mp4"), every=5)
    assert len(frames) > 50 and not any(is_monochrome(f) for f in frames)


@pytest.fixture(scope="module")
def night_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, dict[str, str]]:
    """One clip whose camera switches to black-and-white at `SWITCH_S`: a white car and a red car by day, a white
    car by night, and a yellow car crossing the switch."""
    root = tmp_path_factory.mktemp("night")
    size = (56, 30)
    objs = [
        synth.SynthObject(1, "white", [(2.2, 30, 40), (5.6, 610, 40)], size),
        synth.SynthObject(2, "red", [(2.2, 610, 120), (5.6, 30, 120)], size),
        synth.SynthObject(3, "white", [(6.6, 30, 230), (10.5, 610, 230)], size),
        synth.SynthObject(4, "yellow", [(2.5, 610, 315), (11.5, 30, 315)], size),
    ]
    video = synth.SynthVideo(root / "footage" / "cam1.mp4", 640, 360, 10, 12.0, objs)
    clip = synth.write_video(video, extra_args=("-vf", f"hue=s=0:enable='gte(t,{SWITCH_S})'")).path
    clip.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": START.isoformat()}))
    index_motion_only(clip.parent, root / "store")
    st = Store(root / "store", create=False)
    rows = sorted(st.tubes_arrow().to_pylist(), key=lambda r: r["first_pts_s"])
    assert len(rows) == 4, [(r["first_pts_s"], r["last_pts_s"]) for r in rows]
    names = {}
    for r in rows:  # which object each tube is: by where it starts
        t = record_to_tube(r)
        y = float(np.mean(t.boxes_xyxy[:, [1, 3]]))
        names[t.tube_id] = {40: "day-white", 120: "day-red", 230: "night-white", 315: "crossing-yellow"}[
            min((40, 120, 230, 315), key=lambda v: abs(v - y))]
    return st, names


def _status(st: Store, text: str) -> dict[str, str]:
    spec = build_query(text, QueryOptions(), now=NOW, cameras=st.cameras())
    return {h.tube_id: next(t.status for t in h.terms if t.term.startswith("colour")) for h in run_query(st, spec).hits}


def test_no_colour_is_read_from_black_and_white_frames(night_store: tuple[Store, dict[str, str]]) -> None:
    st, names = night_store
    by_name = {names[t.tube_id]: t for t in (record_to_tube(r) for r in st.tubes_arrow().to_pylist())}
    night = by_name["night-white"].attributes.appearance
    assert night.colours.pairs() == () and night.monochrome_samples >= 10
    crossing = by_name["crossing-yellow"].attributes.appearance
    assert crossing.monochrome_samples > 0 and dict(crossing.colours.pairs()).get("yellow", 0) >= 0.5
    for day in ("day-white", "day-red"):
        assert by_name[day].attributes.appearance.monochrome_samples == 0


def test_a_colour_word_is_not_measurable_for_an_object_seen_only_in_black_and_white(
        night_store: tuple[Store, dict[str, str]]) -> None:
    st, names = night_store
    white = {names[k]: v for k, v in _status(st, "white car").items()}
    assert white["day-white"] == "matched"
    assert white["night-white"] == "not measurable"  # before: "matched" (its infrared grey read as white)
    yellow = {names[k]: v for k, v in _status(st, "voiture jaune").items()}
    assert yellow["crossing-yellow"] == "matched"  # its daylight samples
    assert yellow["day-red"] == "not matched" and yellow["night-white"] == "not measurable"


def test_the_coverage_report_names_the_objects_a_colour_could_not_be_checked_on(
        night_store: tuple[Store, dict[str, str]]) -> None:
    """"No red car at night" must not be read from a camera that filmed the night in black-and-white: the report
    says which objects of which camera, over which times, were searched but not for their colour, and why."""
    st, names = night_store
    res = run_query(st, build_query("red car", QueryOptions(), now=NOW, cameras=st.cameras()))
    blind = [m for m in res.coverage.not_measured if str(m["term"]).startswith("colour")]
    assert len(blind) == 1, res.coverage.not_measured
    m = blind[0]
    night = next(r for r in st.tubes_arrow().to_pylist() if names[r["tube_id"]] == "night-white")
    assert (m["camera"], m["objects"]) == ("cam1", 1)
    assert dt.datetime.fromisoformat(m["first_start_utc"]) == night["start_utc"]
    assert dt.datetime.fromisoformat(m["last_start_utc"]) == night["start_utc"]
    assert "black-and-white" in str(m["reason"])
    assert res.coverage.to_dict()["not_measured"] == res.coverage.not_measured  # in --json and exhibits too
    # the object is still searched and listed, ranked on the other terms, not dropped
    assert night["tube_id"] in {h.tube_id for h in res.hits}
    # before the camera's switch, every object's colour was read: nothing to report
    by_day = QueryOptions(time_to=(START + dt.timedelta(seconds=SWITCH_S)).isoformat())
    day = run_query(st, build_query("red car", by_day, now=NOW, cameras=st.cameras()))
    assert day.hits and not [m for m in day.coverage.not_measured if str(m["term"]).startswith("colour")]


def test_search_prints_which_objects_it_could_not_check_a_colour_on(
        night_store: tuple[Store, dict[str, str]], tmp_path: Path) -> None:
    st, _ = night_store
    cfg = tmp_path / "vsearch.toml"
    cfg.write_text('site_name = "Test site"\nretention_days = 30\n[[investigators]]\nid = "opj-0421"\n'
                   'name = "Jeanne Martin"\nauthorisation_ref = "test"\nvalid_from = 2024-01-01\n'
                   'valid_until = 2030-12-31\n')
    r = vsearch_cli("search", "voiture rouge", "--store", str(st.root), "--config", str(cfg), "--investigator",
                    "opj-0421", "--case", "PV-2026-118", "--reason", "test")
    assert r.returncode == 0, r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.lstrip().startswith("not measurable colour=red"))
    assert "1 object(s) (starting cam1 2026-11-20T21:00:06" in line and "black-and-white" in line, line


def test_past_the_per_camera_limit_the_objects_are_counted_over_every_camera(
        night_store: tuple[Store, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    import vsearch.query.coverage as coverage

    st, _ = night_store
    spec = build_query("red car", QueryOptions(), now=NOW, cameras=st.cameras())
    per_camera = [m for m in run_query(st, spec).coverage.not_measured if str(m["term"]).startswith("colour")]
    monkeypatch.setattr(coverage, "NOT_MEASURED_PER_CAMERA_MAX", 0)
    overall = [m for m in run_query(st, spec).coverage.not_measured if str(m["term"]).startswith("colour")]
    assert [m["camera"] for m in per_camera] == ["cam1"] and [m["camera"] for m in overall] == [None]
    assert [{**m, "camera": None} for m in per_camera] == overall
