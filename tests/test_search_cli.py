"""Query engine end to end: synthetic footage with exact ground truth, indexed, then searched via the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import synth
from conftest import vsearch_cli

CONFIG = """\
site_name = "Test site"
retention_days = 30
[[investigators]]
id = "opj-0421"
name = "Jeanne Martin"
authorisation_ref = "test authorisation"
valid_from = 2024-01-01
valid_until = 2030-12-31
[[investigators]]
id = "opj-expired"
name = "Old Agent"
authorisation_ref = "expired"
valid_from = 2020-01-01
valid_until = 2021-01-01
"""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("search")
    d = root / "footage"
    objs = [
        # objects enter after the 2 s the background model needs to settle at the start of a file
        synth.SynthObject(1, "red", [(2.0, 600, 120), (5.5, 40, 120)], (64, 36), kind="car"),   # red, to the left
        synth.SynthObject(2, "red", [(2.0, 40, 250), (5.5, 600, 250)], (64, 36), kind="car"),   # red, to the right
        synth.SynthObject(3, "blue", [(6.0, 600, 180), (9.5, 40, 180)], (64, 36), kind="car"),  # blue, to the left
    ]
    clip = synth.write_video(synth.SynthVideo(d / "cam1.mp4", 640, 360, 25, 10.0, objs)).path
    clip.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": "2026-11-20T14:01:00+01:00"}))
    bad = d / "cam1-broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)  # corrupt: header then garbage
    bad.with_name("cam1-broken.mp4.json").write_text(json.dumps({"camera": "cam1", "start": "2026-11-20T14:03:00+01:00"}))
    store = root / "store"
    r = vsearch_cli("index", str(d), "--store", str(store), "--detector", "motion", "-q")
    assert r.returncode == 1, r.stdout + r.stderr  # the broken file fails, the batch goes on
    cfg = root / "vsearch.toml"
    cfg.write_text(CONFIG)
    return {"store": store, "config": cfg}


def _search(env: dict[str, Path], *args: str, investigator: str = "opj-0421") -> tuple[int, dict | None, str]:
    r = vsearch_cli("search", *args, "--store", str(env["store"]), "--config", str(env["config"]),
                    "--investigator", investigator, "--case", "PV-2026-118", "--reason", "witness statement",
                    "--json")
    data = json.loads(r.stdout) if r.returncode == 0 else None
    return r.returncode, data, r.stderr


def test_french_and_english_give_the_same_query_and_hits(indexed: dict[str, Path]) -> None:
    rc_fr, fr, err_fr = _search(indexed, "voiture rouge vers la gauche entre 14h et 14h05")
    rc_en, en, err_en = _search(indexed, "red car heading left between 2pm and 2:05pm")
    assert rc_fr == 0 and rc_en == 0, err_fr + err_en
    q_fr, q_en = dict(fr["query"]), dict(en["query"])
    q_fr.pop("language"), q_en.pop("language")
    assert q_fr == q_en
    assert [h["tube_id"] for h in fr["hits"]] == [h["tube_id"] for h in en["hits"]]
    # "rouge" ranks, it does not filter: the red car first, the blue car (same time, same way) after it
    assert len(fr["hits"]) == 2
    assert [t["status"] for t in fr["hits"][1]["terms"] if t["term"] == "colour=red"] == ["not matched"]
    _, strict, _ = _search(indexed, "voiture rouge vers la gauche entre 14h et 14h05", "--strict")
    assert [h["tube_id"] for h in strict["hits"]] == [fr["hits"][0]["tube_id"]]
    hit = fr["hits"][0]
    assert hit["horizontal"] if "horizontal" in hit else hit["direction"] in ("W", "NW", "SW")
    assert "red" in hit["colours"]
    assert any(t["term"].startswith("colour=red") for t in hit["terms"])
    # seen from 2.0 s to 5.5 s after 14:01:00 local (13:01 UTC), within one sample period (0.2 s)
    assert "2026-11-20T13:01:01.8" <= hit["start_utc"] <= "2026-11-20T13:01:02.2"
    assert "2026-11-20T13:01:05.3" <= hit["end_utc"] <= "2026-11-20T13:01:05.7"


def test_blue_and_all_cars(indexed: dict[str, Path]) -> None:
    _, blue, _ = _search(indexed, "--colour", "blue")
    assert len(blue["hits"]) == 1 and blue["hits"][0]["start_utc"].startswith("2026-11-20T13:01:06")
    _, left, _ = _search(indexed, "--direction", "left")
    assert len(left["hits"]) == 2


def test_unknown_word_is_reported(indexed: dict[str, Path]) -> None:
    rc, data, _ = _search(indexed, "voiture rouge zigouigoui")
    assert rc == 0
    assert "zigouigoui" in data["query"]["unknown_words"]


@pytest.mark.parametrize("args, needle", [
    (["--from", "25:99"], "--from"),
    (["--zone", "entered:0.1,0.1 0.2"], "--zone"),
    (["--camera", "nope"], "--camera"),
])
def test_bad_arguments_exit_2_with_one_line(indexed: dict[str, Path], args: list[str], needle: str) -> None:
    rc, _, err = _search(indexed, *args)
    assert rc == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1, err


def test_coverage_lists_the_corrupt_file_as_not_searched(indexed: dict[str, Path]) -> None:
    rc, data, _ = _search(indexed, "--camera", "cam1", "--from", "2026-11-20T14:00:00+01:00",
                          "--to", "2026-11-20T14:10:00+01:00", "--colour", "green")
    assert rc == 0
    assert data["hits"] == []
    cov = data["coverage"]
    assert [Path(n["path"]).name for n in cov["not_searched"]] == ["cam1-broken.mp4"]
    assert [Path(s["path"]).name for s in cov["searched"]] == ["cam1.mp4"]
    assert cov["uncovered"]  # 14:00-14:01 and after 14:01:10 have no readable footage


def test_unauthorised_investigator_is_refused_and_logged(indexed: dict[str, Path]) -> None:
    rc, _, err = _search(indexed, "voiture", investigator="opj-expired")
    assert rc == 3 and "refused" in err
    log = vsearch_cli("audit", "show", "--store", str(indexed["store"]), "--config", str(indexed["config"]), "--json")
    entries = json.loads(log.stdout)
    assert entries[-1]["action"] == "refused" and entries[-1]["investigator"] == "opj-expired"
    assert vsearch_cli("audit", "verify", "--store", str(indexed["store"]), "--config",
                       str(indexed["config"])).returncode == 0


def test_count_uses_the_same_filter_as_search(indexed: dict[str, Path]) -> None:
    def total(*args: str) -> int:
        r = vsearch_cli("count", *args, "--store", str(indexed["store"]), "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["total"]

    assert total() == 3
    assert total("voiture rouge") == 2
    assert total("voiture rouge vers la gauche") == 1
    # count runs the search itself (strict: a count has no ranking): same tubes as `search --strict`
    for text in ("voiture rouge", "voiture rouge vers la gauche", "personne avec un sac"):
        _, res, _ = _search(indexed, text, "--strict")
        assert total(text) == len(res["hits"]), text
    assert total("personne avec un sac") == 0  # no attribute model on this store: a bag is not measurable
