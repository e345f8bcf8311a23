"""A store on object storage (S3 API, a real moto server on loopback): every command that takes --store works on
an s3:// URI and gives what the same store in a folder gives; site secrets and the audit log stay on local disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import synth
from conftest import cluster_module, vsearch_cli
from test_search_cli import CONFIG  # the test site: one authorised, one expired investigator
from vsearch.catalogue.location import StoreLocation
from vsearch.catalogue.store import Store
from vsearch.errors import UsageError


def cars_folder(root: Path, n_files: int = 2) -> Path:
    """`n_files` clips from one camera, each with a red car going right and a blue one going left."""
    d = root / "footage"
    for i in range(n_files):
        objs = [synth.SynthObject(1, "red", [(2.0, 40, 120), (5.0, 600, 120)], (64, 36), kind="car"),
                synth.SynthObject(2, "blue", [(2.2, 600, 250), (5.2, 40, 250)], (64, 36), kind="car")]
        clip = synth.write_video(synth.SynthVideo(d / f"cam1-{i}.mp4", 640, 360, 25, 6.0, objs), seed=i).path
        clip.with_name(clip.name + ".json").write_text(
            json.dumps({"camera": "cam1", "start": f"2026-11-20T14:0{i}:00+01:00"}))
    return d


def search_ids(store: str, config: Path, *args: str, env: dict[str, str] | None = None) -> list[str]:
    r = vsearch_cli("search", *args, "--store", store, "--config", str(config), "--investigator", "opj-0421",
                    "--case", "PV-2026-118", "--reason", "test", "--json", env=env)
    assert r.returncode == 0, r.stderr
    return [h["tube_id"] for h in json.loads(r.stdout)["hits"]]


def tube_rows(store: str) -> list[tuple]:
    st = Store(store, create=False)
    return sorted((t["tube_id"], t["class_name"], tuple(t["pts_s"]), tuple(round(b, 3) for b in t["boxes_xyxy"]),
                   t["attributes_json"]) for t in st.tubes_arrow().to_pylist())


@pytest.mark.parametrize("value, uri, remote", [
    ("s3://bucket/a/b/", "s3://bucket/a/b", True),
    ("gs://bucket/vsearch", "gs://bucket/vsearch", True),
    ("az://container/vsearch", "az://container/vsearch", True),
    ("/data/store", "/data/store", False),
    ("file:///data/store", "/data/store", False),
])
def test_store_location_parses_folders_and_uris(value: str, uri: str, remote: bool) -> None:
    loc = StoreLocation.parse(value)
    assert (loc.uri, loc.is_remote) == (uri, remote)
    assert loc.child("lancedb") == (f"{uri}/lancedb" if remote else str(Path(uri) / "lancedb"))


@pytest.mark.parametrize("value", ["http://host/store", "s3://bucket-only"])
def test_store_location_refuses_what_it_cannot_open(value: str) -> None:
    with pytest.raises(UsageError, match="--store"):
        StoreLocation.parse(value)


def test_site_state_of_a_remote_store_is_on_local_disk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VSEARCH_STATE_DIR", str(tmp_path / "state"))
    assert StoreLocation.parse("s3://bkt/cases/store").site_dir == tmp_path / "state" / "s3" / "bkt" / "cases" / "store"
    assert StoreLocation.parse(tmp_path / "s").site_dir == tmp_path / "s"


def test_bad_store_uri_is_a_one_line_usage_error(tmp_path: Path) -> None:
    r = vsearch_cli("status", "--store", "ftp://host/store")
    assert r.returncode == 2
    assert "--store ftp://host/store" in r.stderr and "Traceback" not in r.stderr


def test_s3_store_gives_what_a_folder_gives(s3_env: dict[str, str], tmp_path: Path) -> None:
    d = cars_folder(tmp_path)
    cfg = tmp_path / "vsearch.toml"
    cfg.write_text(CONFIG)
    local, remote = str(tmp_path / "local"), f"s3://{s3_env['VSEARCH_TEST_BUCKET']}/cases/store"
    for store in (local, remote):
        r = vsearch_cli("index", str(d), "--store", store, "-q", "--detector", "motion", env=s3_env)
        assert r.returncode == 0, r.stderr + r.stdout
    assert tube_rows(remote) == tube_rows(local) and len(tube_rows(local)) >= 4

    ids = search_ids(local, cfg, "--class", "car")
    assert ids and search_ids(remote, cfg, "--class", "car", env=s3_env) == ids
    assert search_ids(remote, cfg, "red car", env=s3_env) == search_ids(local, cfg, "red car")
    access = ["--config", str(cfg), "--investigator", "opj-0421", "--case", "PV-2026-118", "--reason", "test"]
    counts = [json.loads(vsearch_cli("count", "--class", "car", "--store", s, "--json", env=s3_env).stdout)
              for s in (local, remote)]
    assert counts[0] == counts[1]
    like = [[h["tube_id"] for h in json.loads(vsearch_cli("similar", "--tube", ids[0], "--store", s, "--json",
                                                          *access, env=s3_env).stdout)["hits"]]
            for s in (local, remote)]
    assert like[0] and like[0] == like[1]
    # an evidentiary export from the bucket: thumbnails read from S3, signed with the key on local disk
    bundle = tmp_path / "bundle"
    r = vsearch_cli("export", "--class", "car", "-o", str(bundle), "--no-synopsis", "--no-passages",
                    "--store", remote, *access, env=s3_env)
    assert r.returncode == 0, r.stderr
    assert vsearch_cli("verify", str(bundle), "--store", remote, env=s3_env).returncode == 0  # the site's key
    # listings on the URI
    for cmd, guard in (("sources", []), ("tubes", access), ("status", [])):  # per-object data needs an access
        r = vsearch_cli(cmd, "--store", remote, "--json", *guard, env=s3_env)
        assert r.returncode == 0, r.stderr
    status = json.loads(vsearch_cli("status", "--store", remote, "--json", env=s3_env).stdout)
    assert status["store"] == remote and status["sources"] == {"ok": 2}

    # thumbnails and job reports are in the bucket, byte for byte what the folder holds
    st_local, st_remote = Store(local), Store(remote)
    rec = st_local.tubes_arrow(columns=["tube_id", "thumb_path"]).to_pylist()[0]
    assert rec["thumb_path"].startswith("thumbs/")
    assert st_remote.read_file(rec["thumb_path"]) == (Path(local) / rec["thumb_path"]).read_bytes()
    assert st_remote.file_ref(rec["thumb_path"]) == f"{remote}/{rec['thumb_path']}"
    s3 = cluster_module("boto3").client("s3", endpoint_url=s3_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_env["VSEARCH_TEST_BUCKET"])["Contents"]]
    assert any(k.startswith("cases/store/jobs/") and k.endswith(".json") for k in keys)
    # ... but the audit log (indexing and the searches above) is on this machine's disk, not in the bucket
    assert not any("audit" in k or "keys/" in k for k in keys)
    audit = Path(s3_env["VSEARCH_STATE_DIR"]) / "s3" / s3_env["VSEARCH_TEST_BUCKET"] / "cases" / "store" / "audit.jsonl"
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    actions = [e["action"] for e in entries]
    index_states = [e["result"].get("state") for e in entries if e["action"] == "index"]
    assert index_states == ["started", "completed"]  # one job, logged when it starts and when it ends
    assert actions.count("search") == 3 and actions.count("export") == 1
    assert (audit.parent / "keys").is_dir()

    # a rerun skips every file (resumability reads the remote sources table)
    r = vsearch_cli("index", str(d), "--store", remote, "-q", "--detector", "motion", "--json", env=s3_env)
    assert r.returncode == 0 and json.loads(r.stdout)["counts"]["skipped"] == 2


def test_missing_remote_store_is_a_clear_error(s3_env: dict[str, str]) -> None:
    r = vsearch_cli("status", "--store", f"s3://{s3_env['VSEARCH_TEST_BUCKET']}/nothing-here", env=s3_env)
    assert r.returncode == 1
    assert "no vsearch store here" in r.stderr and "Traceback" not in r.stderr


def test_missing_bucket_is_a_one_line_error(s3_env: dict[str, str], tmp_path: Path) -> None:
    d = cars_folder(tmp_path, n_files=1)
    r = vsearch_cli("index", str(d), "--store", "s3://no-such-bucket/store", "-q", "--detector", "motion",
                    env=s3_env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "s3://no-such-bucket/store: cannot open the catalogue: the bucket does not exist" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
