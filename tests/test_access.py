"""Issue 12 on the CLI: who may read per-object data, store file modes, the anchored audit log, footage behind
links, and one-line errors instead of tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

import synth
from conftest import tubes_json, vsearch_cli
from test_search_cli import CONFIG

INV = ["--investigator", "opj-0421", "--case", "PV-2026-7", "--reason", "test"]


def _clip(path: Path, camera: str, start: str, seconds: float = 4.0, colour: str = "red") -> Path:
    objs = [synth.SynthObject(1, colour, [(1.5, 30, 90), (seconds - 0.2, 290, 90)], (30, 20))]
    synth.write_video(synth.SynthVideo(path, 320, 180, 25, seconds, objs))
    path.with_name(path.name + ".json").write_text(json.dumps({"camera": camera, "start": start}))
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("access")
    _clip(root / "footage" / "cam1.mp4", "cam1", "2026-11-20T14:00:00+01:00")
    store = root / "store"
    r = vsearch_cli("index", str(root / "footage"), "--store", str(store), "--detector", "motion", "-q")
    assert r.returncode == 0, r.stderr
    cfg = root / "vsearch.toml"
    cfg.write_text(CONFIG)
    return {"root": root, "store": store, "config": cfg}


def _log(store: Path) -> list[dict]:
    return [json.loads(line) for line in (store / "audit.jsonl").read_text().splitlines()]


def _fresh(site: dict[str, Path], name: str) -> Path:
    copy = site["root"] / name
    shutil.copytree(site["store"], copy)
    return copy


# ---------------------------------------------------------------------------------------------- #5 access
@pytest.mark.parametrize("command", [["tubes", "--with-boxes", "--json"], ["show", "tube:x", "--json"]])
def test_per_object_data_needs_an_investigator_and_the_refusal_is_logged(site: dict[str, Path],
                                                                         command: list[str]) -> None:
    store = site["store"]
    before = len(_log(store))
    r = vsearch_cli(*command, "--store", str(store), cwd=site["root"] / "footage")  # no config, no investigator
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stdout == ""
    r = vsearch_cli(*command, "--store", str(store), "--config", str(site["config"]), "--case", "PV", "--reason", "x")
    assert r.returncode == 2 and "--investigator" in r.stderr and r.stdout == ""
    r = vsearch_cli(*command, "--store", str(store), "--config", str(site["config"]), "--investigator", "opj-expired",
                    "--case", "PV", "--reason", "x")
    assert r.returncode == 3 and r.stdout == ""
    refused = _log(store)[before:]
    assert [e["action"] for e in refused] == ["refused"] * 3
    assert {e["params"]["requested_action"] for e in refused} == {command[0]}


def test_tubes_and_show_are_audited_like_search(site: dict[str, Path]) -> None:
    store, cfg = site["store"], site["config"]
    tubes = tubes_json(store, cfg, "--with-boxes")
    assert tubes and "boxes_xyxy" in tubes[0]
    entry = _log(store)[-1]
    assert entry["action"] == "tubes" and entry["investigator"] == "opj-0421" and entry["case"] == "TEST-CASE"
    assert entry["result"]["tube_ids"] == [t["tube_id"] for t in tubes]
    r = vsearch_cli("show", tubes[0]["tube_id"], "--store", str(store), "--config", str(cfg), *INV, "--json")
    assert r.returncode == 0, r.stderr
    assert _log(store)[-1]["action"] == "show" and _log(store)[-1]["result"]["tube_ids"] == [tubes[0]["tube_id"]]
    for open_cmd in ("sources", "status", "count"):  # open, and their help says so
        assert "open without an investigator" in " ".join(vsearch_cli(open_cmd, "--help").stdout.split())


def test_store_files_are_private(site: dict[str, Path]) -> None:
    paths = [site["store"], *site["store"].rglob("*")]
    assert any(p.suffix == ".jpg" for p in paths) and any(p.suffix == ".lance" for p in paths)
    loose = [f"{p} {stat.S_IMODE(p.stat().st_mode):o}" for p in paths if stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert loose == []


# ---------------------------------------------------------------------------------------------- #4 audit anchoring
def test_index_job_is_audited_at_start_and_anchors_the_log(site: dict[str, Path]) -> None:
    entries = [e for e in _log(site["store"]) if e["action"] == "index"]
    assert [e["result"]["state"] for e in entries[:2]] == ["started", "completed"]
    assert entries[0]["result"]["job_id"] == entries[1]["result"]["job_id"]
    (report,) = (site["store"] / "jobs").glob("*.json")
    head = json.loads(report.read_text())["audit_head"]
    assert (head["seq"], head["sha256"]) == (entries[0]["seq"], entries[0]["sha256"])


@pytest.mark.parametrize(("tamper", "why"), [
    ("truncate", "cut off the end"),
    ("drop_last", "cut off the end"),
    ("delete_log", "deleted"),
    ("delete_log_and_head", "deleted"),
])
def test_audit_verify_detects_truncation_and_deletion(site: dict[str, Path], tamper: str, why: str) -> None:
    store = _fresh(site, f"store-{tamper}")
    ok = vsearch_cli("audit", "verify", "--store", str(store))
    assert ok.returncode == 0, ok.stderr
    log = store / "audit.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    if tamper == "truncate":  # head -n 1 audit.jsonl > a && mv a audit.jsonl
        log.write_bytes(lines[0])
    elif tamper == "drop_last":
        log.write_bytes(b"".join(lines[:-1]))
    elif tamper == "delete_log":
        log.unlink()
    else:
        log.unlink()
        (store / "audit.jsonl.head").unlink()
    r = vsearch_cli("audit", "verify", "--store", str(store))
    assert r.returncode == 4 and why in r.stderr and "Traceback" not in r.stderr, r.stderr
    if tamper != "delete_log_and_head":  # and no new action is written on top of it
        r = vsearch_cli("tubes", "--store", str(store), "--config", str(site["config"]), *INV)
        assert r.returncode != 0 and "nothing was done" in r.stderr


def test_audit_verify_missing_log_file_is_an_error(site: dict[str, Path]) -> None:
    r = vsearch_cli("audit", "verify", "--log", str(site["root"] / "nonexistent.jsonl"))
    assert r.returncode == 2 and "no such audit log" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------------------------------------- #7 links
def test_linked_folders_are_followed_and_loops_and_dangling_links_reported(tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    _clip(usb / "cam2.mp4", "cam2", "2026-11-20T15:00:00+01:00", seconds=2.0, colour="blue")
    evidence = tmp_path / "evidence"
    _clip(evidence / "cam1.mp4", "cam1", "2026-11-20T14:00:00+01:00", seconds=2.0)
    os.symlink(usb, evidence / "usb-disk")
    os.symlink(usb, evidence / "same-disk-again")  # the same real files: indexed once
    os.symlink(evidence, evidence / "loop")
    os.symlink(tmp_path / "unplugged", evidence / "gone")
    r = vsearch_cli("index", str(evidence), "--store", str(tmp_path / "store"), "--detector", "motion", "--json")
    job = json.loads(r.stdout)
    by_name = {Path(f["path"]).name: f for f in job["files"]}
    assert {n for n, f in by_name.items() if f["status"] == "ok"} == {"cam1.mp4", "cam2.mp4"}
    assert by_name["loop"]["status"] == "skipped" and "loop" in by_name["loop"]["message"]
    assert by_name["gone"]["status"] == "failed" and "does not exist" in by_name["gone"]["message"]
    assert r.returncode == 1  # footage behind the dangling link is missing from this job
    assert sum("loop" in line for line in r.stderr.splitlines()) == 1
    assert sum("unplugged" in line for line in r.stderr.splitlines()) == 1


# ---------------------------------------------------------------------------------------------- #8 one-line errors
def test_bad_outputs_and_options_give_one_line_errors(site: dict[str, Path], tmp_path: Path) -> None:
    frame = ["frame", "--camera", "cam1", "--at", "2026-11-20T14:00:02+01:00", "--store", str(site["store"]),
             "--config", str(site["config"]), *INV]
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        ([*frame, "-o", str(tmp_path / "missing_dir" / "x.jpg")], "does not exist"),
        ([*frame, "-o", str(tmp_path)], "is a folder"),
        ([*frame, "-o", str(a_file)], "--force"),
        (["index", str(site["root"] / "footage"), "--store", str(tmp_path / "s"), "--tz", "Nowhere/X"], "--tz"),
        (["index", str(site["root"] / "footage"), "--store", str(a_file)], "is a file"),
    ]
    for args, why in cases:
        r = vsearch_cli(*args)
        assert r.returncode in (1, 2), (args, r.stderr)  # usage (2) or store (1) error, never a crash
        assert why in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert a_file.read_text() == "x"  # not overwritten
    ok = vsearch_cli(*frame, "-o", str(a_file), "--force")
    assert ok.returncode == 0, ok.stderr
    assert a_file.read_bytes()[:2] == b"\xff\xd8"


# ---------------------------------------------------------------------------------------------- #8 locks
def test_a_lock_keeps_the_asked_span_not_the_whole_file(tmp_path: Path) -> None:
    clip = tmp_path / "footage" / "cam1.mp4"
    objs = [synth.SynthObject(1, "red", [(2.0, 30, 60), (4.5, 290, 60)], (30, 20)),
            synth.SynthObject(2, "blue", [(6.5, 290, 130), (9.5, 30, 130)], (30, 20))]
    synth.write_video(synth.SynthVideo(clip, 320, 180, 25, 10.0, objs))
    clip.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": "2026-11-20T14:00:00+01:00"}))
    store, cfg = tmp_path / "store", tmp_path / "vsearch.toml"
    assert vsearch_cli("index", str(clip.parent), "--store", str(store), "--detector", "motion", "-q").returncode == 0
    cfg.write_text(CONFIG)
    access = ["--store", str(store), "--config", str(cfg), *INV]
    before = tubes_json(store, cfg)
    assert len(before) == 2
    r = vsearch_cli("lock", "--camera", "cam1", "--from", "2026-11-20T14:00:03+01:00", "--to",
                    "2026-11-20T14:00:04+01:00", *access)  # the case asks for 1 s of the red car
    assert r.returncode == 0, r.stderr
    rep = json.loads(vsearch_cli("purge", "--older-than", "1h", "--json", *access).stdout)
    assert rep["purged"] == [] and rep["kept_locked"][0]["tubes_purged_outside_locks"] == 1
    after = tubes_json(store, cfg)
    assert [t["tube_id"] for t in after] == [t["tube_id"] for t in before if t["first_pts_s"] < 5.0]
    assert len(list((store / "thumbs").rglob("*.jpg"))) == 1
    (src,) = json.loads(vsearch_cli("sources", "--store", str(store), "--json").stdout)
    assert src["status"] == "partial" and src["n_tubes"] == 1
    gaps = [(g["start_s"], g["end_s"]) for g in src["gaps"]]
    assert gaps == [(0.0, 3.0), (4.0, 10.0)] and "locked for PV-2026-7" in src["gaps"][0]["reason"]


def test_a_job_killed_mid_way_is_already_audited(tmp_path: Path) -> None:
    """The index job's entry is written before any data: a job killed after writing data is not unaudited."""
    from vsearch.evidence.audit import AuditLog
    from vsearch.indexing.job import run_index
    from vsearch.indexing.options import IndexOptions
    from vsearch.indexing.report import NullSink

    class Killed(NullSink):
        def file_done(self, outcome: object) -> None:  # the first file is in the store: now the job dies
            raise KeyboardInterrupt

    d = tmp_path / "footage"
    _clip(d / "a.mp4", "cam1", "2026-11-20T14:00:00+01:00", seconds=2.0)
    _clip(d / "b.mp4", "cam1", "2026-11-20T14:01:00+01:00", seconds=2.0, colour="blue")
    log = AuditLog(tmp_path / "store" / "audit.jsonl")
    with pytest.raises(KeyboardInterrupt):
        run_index([d], IndexOptions(store=tmp_path / "store", detector="motion"), Killed(), audit=log)
    (entry,) = log.entries()
    assert entry.action == "index" and entry.result["state"] == "started" and entry.result["files"] == 2
    assert log.verify().ok
