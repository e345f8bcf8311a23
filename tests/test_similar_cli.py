"""'More like this' end to end: index two synthetic cameras, then `vsearch similar` (weight-free and tiny CLIP)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import synth
from conftest import save_tiny_clip, tubes_json, vsearch_cli
from test_search_cli import CONFIG


def _camera(d: Path, name: str, looks: list[tuple[str, str | None, tuple[int, int], int]], start: str) -> Path:
    """looks: (upper colour, lower colour or None, size, lane y); each crosses the frame after a 2 s settle."""
    objs = []
    for i, (colour, lower, size, y) in enumerate(looks):
        x0, x1 = (30, 610) if i % 2 == 0 else (610, 30)
        t0 = 2.0 + 0.3 * i
        objs.append(synth.SynthObject(i + 1, colour, [(t0, x0, y), (t0 + 4.0, x1, y)], size, lower_colour=lower))
    clip = synth.write_video(synth.SynthVideo(d / f"{name}.mp4", 640, 360, 25, 7.0, objs), seed=len(name)).path
    clip.with_name(clip.name + ".json").write_text(json.dumps({"camera": name, "start": start}))
    return clip


@pytest.fixture(scope="module")
def two_cameras(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("similar")
    d = root / "footage"
    _camera(d, "camA", [("red", None, (64, 36), 60), ("blue", None, (64, 36), 160),
                        ("white", "black", (24, 60), 280)], "2026-11-20T10:00:00+01:00")
    # camera B: the same objects, other lanes, sizes and order, plus distractors
    _camera(d, "camB", [("green", None, (70, 40), 40), ("white", "black", (28, 70), 115),
                        ("blue", None, (72, 40), 190), ("red", None, (72, 40), 260),
                        ("yellow", None, (70, 40), 325)], "2026-11-20T10:05:00+01:00")
    cfg = root / "vsearch.toml"
    cfg.write_text(CONFIG)
    return {"root": root, "footage": d, "config": cfg}


def _access(env: dict[str, Path], store: Path) -> list[str]:
    return ["--store", str(store), "--config", str(env["config"]), "--investigator", "opj-0421",
            "--case", "PV-2026-118", "--reason", "test"]


def _tubes(store: Path, camera: str) -> list[dict]:
    return tubes_json(store, store.parent / "vsearch.toml", "--camera", camera)


def _dominant(t: dict) -> str:
    cols = t["attributes"]["upper_colours"] or t["attributes"]["colours"]
    return max(cols, key=cols.get)


def test_same_object_on_camera_a_is_top_hit_on_camera_b_weight_free(two_cameras: dict[str, Path]) -> None:
    store = two_cameras["root"] / "store-colour"
    assert vsearch_cli("index", str(two_cameras["footage"]), "--store", str(store), "--detector", "motion",
                       "-q", builtin_models=two_cameras["root"] / "no-models").returncode == 0  # weight-free only
    a_tubes, b_tubes = _tubes(store, "camA"), _tubes(store, "camB")
    assert len(a_tubes) == 3 and len(b_tubes) == 5
    b_colour = {t["tube_id"]: _dominant(t) for t in b_tubes}
    b_times = {t["tube_id"]: (t["start_utc"], t["end_utc"]) for t in b_tubes}
    for t in a_tubes:
        r = vsearch_cli("similar", "--tube", f"tube:{t['tube_id']}", "--camera", "camB", "--json",
                        *_access(two_cameras, store))
        assert r.returncode == 0, r.stderr
        hits = json.loads(r.stdout)["hits"]
        assert hits and all(h["camera"] == "camB" for h in hits)
        assert hits[0]["descriptor"] == "colour-hist-v1"
        assert b_colour[hits[0]["tube_id"]] == _dominant(t), (t["tube_id"], hits[:2])
        assert t["tube_id"] not in [h["tube_id"] for h in hits]
        # a hit reports its tube's own first/last appearance (not the time of the crop that was embedded)
        for h in hits:
            want = tuple(dt.datetime.fromisoformat(b_times[h["tube_id"]][k]) for k in (0, 1))
            assert (dt.datetime.fromisoformat(h["start_utc"]), dt.datetime.fromisoformat(h["end_utc"])) == want


def _first_tube_window(env: dict[str, Path]) -> tuple[Path, dict, dict, tuple[dt.datetime, dt.datetime], set[str]]:
    """The weight-free store (indexed if no test made it yet), camA's first tube, camB's first tube, a window on
    its first 0.1 s only, and the camB tubes whose span overlaps that window."""
    store = env["root"] / "store-colour"
    if not store.exists():
        assert vsearch_cli("index", str(env["footage"]), "--store", str(store), "--detector", "motion",
                           "-q", builtin_models=env["root"] / "no-models").returncode == 0
    a_tube, b_tubes = _tubes(store, "camA")[0], _tubes(store, "camB")
    first = min(b_tubes, key=lambda t: t["start_utc"])
    lo = dt.datetime.fromisoformat(first["start_utc"])
    hi = lo + dt.timedelta(milliseconds=100)
    overlapping = {t["tube_id"] for t in b_tubes if dt.datetime.fromisoformat(t["start_utc"]) <= hi
                   and dt.datetime.fromisoformat(t["end_utc"]) >= lo}
    return store, a_tube, first, (lo, hi), overlapping


def test_time_window_keeps_every_tube_it_overlaps_like_search(two_cameras: dict[str, Path]) -> None:
    """`similar --from/--to` keeps the tubes whose span overlaps the window, as `search` does, even when the
    crop that was embedded lies outside it (the vector row's time is that crop's)."""
    store, a_tube, first, (lo, hi), overlapping = _first_tube_window(two_cameras)
    r = vsearch_cli("similar", "--tube", f"tube:{a_tube['tube_id']}", "--camera", "camB", "--from", lo.isoformat(),
                    "--to", hi.isoformat(), "--json", *_access(two_cameras, store))
    assert r.returncode == 0, r.stderr
    assert {h["tube_id"] for h in json.loads(r.stdout)["hits"]} == overlapping and first["tube_id"] in overlapping


@pytest.mark.parametrize("listed_max", [20_000, 0])
def test_a_time_scope_too_large_to_list_keeps_the_same_tubes(two_cameras: dict[str, Path], listed_max: int,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `_ID_LIST_MAX` tubes in scope, the ids are kept after the vector search instead of listed in its
    pre-filter: the same tubes (span overlapping the window) as the listed path. Before, that path fell back on
    the embedded crop's time and missed a tube whose crop lies outside the window."""
    from vsearch.catalogue.store import Store
    from vsearch.query import similar

    store, a_tube, first, (lo, hi), overlapping = _first_tube_window(two_cameras)
    monkeypatch.setattr(similar, "_ID_LIST_MAX", listed_max)
    hits = similar.like_tube(Store(store, create=False), a_tube["tube_id"],
                             similar.Scope(cameras=("camB",), time_from=lo, time_to=hi, limit=1))
    assert len(hits) == 1 and hits[0].tube_id in overlapping  # limit 1: asks for more neighbours until one is kept
    hits = similar.like_tube(Store(store, create=False), a_tube["tube_id"],
                             similar.Scope(cameras=("camB",), time_from=lo, time_to=hi))
    assert {h.tube_id for h in hits} == overlapping and first["tube_id"] in overlapping


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path, Path]:
    """A tiny open_clip architecture with random weights, saved like a user's checkpoint, plus a second one."""
    name = "vsearch-tiny-cli"
    config_path, (weights, other) = save_tiny_clip(tmp_path_factory.mktemp("clip"), name, (1, 2))
    return name, weights, other, config_path


def test_tiny_clip_pipeline_end_to_end_and_model_mismatch(two_cameras: dict[str, Path], tiny_clip) -> None:
    name, weights, other_weights, config = tiny_clip
    store = two_cameras["root"] / "store-clip"
    clip_opts = ["--clip-model", name, "--clip-weights", str(weights), "--clip-config", str(config)]
    r = vsearch_cli("index", str(two_cameras["footage"]), "--store", str(store), "--detector", "motion", "-q",
                    *clip_opts)
    assert r.returncode == 0, r.stderr
    src = json.loads(vsearch_cli("sources", "--store", str(store), "--json").stdout)
    assert all(f"openclip:{name}" in s["params"]["descriptors"] for s in src)
    a_tube = _tubes(store, "camA")[0]["tube_id"]
    r = vsearch_cli("similar", "--tube", a_tube, "--json", *_access(two_cameras, store))
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)["hits"]
    assert len(hits) == 7 and {h["descriptor"] for h in hits} == {f"openclip:{name}"}
    # words the parser cannot map are scored by CLIP and blended with the attribute terms
    r = vsearch_cli("search", "voiture rouge devant la boulangerie", *clip_opts, "--json",
                    *_access(two_cameras, store))
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["query"]["free_text"] and res["hits"]
    assert all(any(t["term"] == "clip-text" for t in h["terms"]) for h in res["hits"])
    # "rouge" ranks: with --strict it filters
    r = vsearch_cli("search", "voiture rouge devant la boulangerie", "--strict", *clip_opts, "--json",
                    *_access(two_cameras, store))
    assert r.returncode == 0, r.stderr
    strict = json.loads(r.stdout)["hits"]
    assert strict and all("red" in h["colours"] for h in strict)
    # an example image searched with the same model works; with other weights it is refused in one line
    thumb = Path(_tubes(store, "camB")[0]["thumb_path"])
    ok = vsearch_cli("similar", "--image", str(thumb), *clip_opts, "--json", *_access(two_cameras, store))
    assert ok.returncode == 0, ok.stderr
    bad = vsearch_cli("similar", "--image", str(thumb), "--clip-model", name, "--clip-weights", str(other_weights),
                      "--clip-config", str(config), *_access(two_cameras, store))
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1 and f"openclip:{name}" in bad.stderr, bad.stderr


def test_site_config_embed_settings_apply_to_index_and_similar(two_cameras: dict[str, Path], tiny_clip,
                                                               tmp_path: Path) -> None:
    name, weights, _, config = tiny_clip
    site = tmp_path / "vsearch.toml"
    site.write_text(CONFIG + f'\n[embed]\nclip_model = "{name}"\nclip_weights = "{weights}"\n'
                             f'clip_model_config = "{config}"\ncrops_per_tube = 2\n')
    store = tmp_path / "store"
    r = vsearch_cli("index", str(two_cameras["footage"] / "camA.mp4"), "--store", str(store), "--detector",
                    "motion", "--config", str(site), "-q")
    assert r.returncode == 0, r.stderr
    src = json.loads(vsearch_cli("sources", "--store", str(store), "--json").stdout)[0]
    assert f"openclip:{name}" in src["params"]["descriptors"] and src["params"]["embed"]["crops_per_tube"] == 2
    thumb = Path(_tubes(store, "camA")[0]["thumb_path"])
    r = vsearch_cli("similar", "--image", str(thumb), "--json", "--store", str(store), "--config", str(site),
                    "--investigator", "opj-0421", "--case", "PV-2026-118", "--reason", "test")
    assert r.returncode == 0, r.stderr
    assert {h["descriptor"] for h in json.loads(r.stdout)["hits"]} == {f"openclip:{name}"}
    # a config that exists but is invalid is an error, not silently ignored
    site.write_text(CONFIG + "\n[embed]\nclip_modle = 'typo'\n")
    r = vsearch_cli("index", str(two_cameras["footage"] / "camA.mp4"), "--store", str(tmp_path / "s2"),
                    "--config", str(site), "-q")
    assert r.returncode == 2 and "clip_modle" in r.stderr
