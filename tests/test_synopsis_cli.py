"""Synopsis acceptance end to end: index a 10-minute synthetic clip, query 6 of its 12 objects, render, decode."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

import synth
from conftest import vsearch_cli
from test_search_cli import CONFIG

MATCH = "red"
OTHERS = ["green", "blue", "yellow", "white", "purple", "orange"]


def _frames(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(float(f.pts * s.time_base), f.to_ndarray(format="bgr24")) for f in c.decode(s)]


def _near(img: np.ndarray, colour: str, tol: int = 45) -> np.ndarray:
    return np.all(np.abs(img.astype(np.int16) - np.array(synth.BGR[colour], np.int16)) <= tol, axis=-1)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("synopsis-e2e")
    objs = []
    for k in range(12):  # one object at a time, 30 s each, 12 over 10 minutes; even ones are red
        t0, y = 12.0 + 48.0 * k, 40 + 25 * (k % 5)
        colour = MATCH if k % 2 == 0 else OTHERS[k // 2]
        xs = (20, 300) if k % 3 else (300, 20)
        objs.append(synth.SynthObject(k, colour, [(t0, xs[0], y), (t0 + 30.0, xs[1], y)], (28, 18)))
    clip = synth.write_video(synth.SynthVideo(root / "f" / "cam.mp4", 320, 180, 5, 600.0, objs)).path
    clip.with_name("cam.mp4.json").write_text(json.dumps({"camera": "cam-s", "start": "2026-11-20T08:00:00Z"}))
    store, cfg = root / "store", root / "vsearch.toml"
    cfg.write_text(CONFIG)
    assert vsearch_cli("index", str(clip.parent), "--store", str(store), "--detector", "motion", "-q").returncode == 0
    out = root / "syn.mp4"
    r = vsearch_cli("synopsis", "--colour", MATCH, "-o", str(out), "--max-duration", "60", "--store", str(store),
                    "--config", str(cfg), "--investigator", "opj-0421", "--case", "PV-1", "--reason", "test")
    assert r.returncode == 0, r.stderr
    return {"out": out, "map": json.loads(out.with_suffix(".json").read_text()), "stdout": r.stdout,
            "access": ["--store", str(store), "--config", str(cfg), "--investigator", "opj-0421", "--case", "PV-1",
                       "--reason", "test"], "root": root}


def test_six_matching_objects_in_under_a_minute(rendered: dict) -> None:
    smap = rendered["map"]
    assert len(smap["tubes"]) == 6
    assert smap["duration_s"] <= 60.0
    assert smap["metrics"]["condensation_ratio"] > 5
    assert "condensation" in rendered["stdout"] and "budget 0.05" in rendered["stdout"]
    assert "shorter than" in rendered["stdout"] and "label overlaps 0" in rendered["stdout"]
    assert smap["metrics"]["collision_rate"] <= 0.05 and smap["metrics"]["label_overlaps"] == 0


@pytest.mark.parametrize("args, named", [(["--max-collision", "1.5"], "--max-collision"),
                                         (["--density", "0"], "--density"),
                                         (["--speed-up", "0.5"], "--speed-up")])
def test_bad_synopsis_options_are_one_clear_line(rendered: dict, args: list[str], named: str) -> None:
    out = rendered["root"] / "bad.mp4"
    r = vsearch_cli("synopsis", "--colour", MATCH, "-o", str(out), *args, *rendered["access"])
    assert r.returncode == 2 and named in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not out.exists()


def test_each_object_is_where_the_source_map_says_and_labelled(rendered: dict) -> None:
    frames = _frames(rendered["out"])
    times = np.array([t for t, _ in frames])
    for tube in rendered["map"]["tubes"]:
        for s_t, _, box in tube["samples"][2:-2:5]:
            img = frames[int(np.argmin(np.abs(times - s_t)))][1]
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            inside = _near(img[y0:y1, x0:x1], MATCH)
            assert inside.mean() > 0.4, (tube["tube_id"], s_t)
            # its label is where the source map says: bright text with a dark outline, clear of every object
            k = int(np.argmin(np.abs(times - s_t)))
            pos = [t["tube_id"] for t in rendered["map"]["tubes"]].index(tube["tube_id"])
            rows = rendered["map"]["frame_objects"][k]
            (row,) = [o for o in rows if o[0] == pos]
            lx0, ly0, lx1, ly1 = row[6:10]
            roi = img[ly0:ly1, lx0:lx1].max(axis=2)
            assert (roi >= 190).sum() > 5 and (roi <= 60).sum() > 5, (tube["tube_id"], s_t)
            for o in rows:
                assert min(lx1, o[3]) <= max(lx0, o[1]) or min(ly1, o[4]) <= max(ly0, o[2]), (tube["tube_id"], s_t)


def test_non_matching_objects_never_appear(rendered: dict) -> None:
    for t, img in _frames(rendered["out"]):
        for colour in ("green", "blue", "yellow", "purple", "orange"):
            assert _near(img, colour, 30).sum() < 20, (t, colour)


def test_by_direction_groups_the_headings_and_keeps_every_object(rendered: dict) -> None:
    """`--by-direction` reaches the planner: the option is recorded in the source map, every object is still
    there, and the objects heading east all play before (or all after) those heading west."""
    out = rendered["root"] / "by-direction.mp4"
    r = vsearch_cli("synopsis", "--colour", MATCH, "-o", str(out), "--by-direction", *rendered["access"])
    assert r.returncode == 0, r.stderr
    smap = json.loads(out.with_suffix(".json").read_text())
    assert smap["options"]["by_direction"] is True
    assert len(smap["tubes"]) == 6

    def heading(t: dict) -> int:
        return 1 if t["samples"][-1][2][0] > t["samples"][0][2][0] else -1  # box x at the last vs first sample
    spans = sorted((t["synopsis_start_s"], heading(t)) for t in smap["tubes"])
    order = [h for _, h in spans]
    assert order == sorted(order) or order == sorted(order, reverse=True), spans
