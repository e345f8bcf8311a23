"""Synopsis, export, verify, lock and purge through the CLI on a synthetic indexed store."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

import synth
from conftest import tubes_json, vsearch_cli
from test_search_cli import CONFIG


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("evidence")
    d = root / "footage"
    for cam, start, colour in (("old-cam", "2026-10-01T10:00:00+02:00", "red"),
                               ("new-cam", "2026-11-25T10:00:00+01:00", "green")):
        objs = [synth.SynthObject(1, colour, [(2.0, 40, 90), (5.0, 290, 90)], (36, 24)),
                synth.SynthObject(2, "blue", [(2.5, 290, 140), (5.5, 40, 140)], (36, 24))]
        clip = synth.write_video(synth.SynthVideo(d / f"{cam}.mp4", 320, 180, 25, 6.0, objs)).path
        clip.with_name(clip.name + ".json").write_text(json.dumps({"camera": cam, "start": start}))
    store = root / "store"
    assert vsearch_cli("index", str(d), "--store", str(store), "--detector", "motion", "-q").returncode == 0
    cfg = root / "vsearch.toml"
    cfg.write_text(CONFIG)
    return {"root": root, "store": store, "config": cfg,
            "access": ["--store", str(store), "--config", str(cfg), "--investigator", "opj-0421",
                       "--case", "PV-2026-118", "--reason", "test"]}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_synopsis_is_deterministic(env: dict) -> None:
    outs = []
    for i in range(2):
        out = env["root"] / f"run{i}" / "syn.mp4"  # same file name: the sidecar names its video
        out.parent.mkdir()
        r = vsearch_cli("synopsis", "--camera", "new-cam", "-o", str(out), *env["access"])
        assert r.returncode == 0, r.stderr
        assert "condensation" in r.stdout and "collision rate" in r.stdout
        outs.append((_sha(out), _sha(out.with_suffix(".json")), _sha(out.with_suffix(".vtt"))))
    assert outs[0] == outs[1]
    sidecar = json.loads((env["root"] / "run0" / "syn.json").read_text())
    assert len(sidecar["tubes"]) == 2 and sidecar["metrics"]["objects"] == 2


def test_export_verifies_and_a_flipped_byte_is_named(env: dict) -> None:
    bundle = env["root"] / "bundle"
    r = vsearch_cli("export", "--colour", "green", "-o", str(bundle), "--zip", *env["access"])
    assert r.returncode == 0, r.stderr
    site = ["--store", str(env["store"]), "--config", str(env["config"])]
    ok = vsearch_cli("verify", str(bundle), *site)
    assert ok.returncode == 0, ok.stderr
    fp = json.loads((bundle / "manifest.json").read_text())["signing"]["public_key_sha256"]
    assert fp in ok.stdout and "Test site" in ok.stdout and fp in (bundle / "VERIFY.txt").read_text()
    assert vsearch_cli("verify", str(bundle.with_suffix(".zip")), *site).returncode == 0
    copy = env["root"] / "elsewhere" / "bundle"
    shutil.copytree(bundle, copy)
    # a third party with only the published fingerprint, or the site's public key file
    assert vsearch_cli("verify", str(copy), "--trusted-key", fp).returncode == 0
    assert vsearch_cli("verify", str(copy), "--trusted-key", str(env["store"] / "keys" / "site_ed25519.pub.pem")
                       ).returncode == 0
    # no trusted key given: intact but untrusted, a distinct exit naming the fingerprint
    r = vsearch_cli("verify", str(copy), env={"VSEARCH_STORE": ""})
    assert r.returncode == 5 and fp in r.stderr and "Traceback" not in r.stderr
    assert vsearch_cli("verify", str(copy), "--trusted-key", "ab" * 32).returncode == 5
    r = vsearch_cli("verify", str(copy), "--trusted-key", str(env["root"] / "nope.pem"))
    assert r.returncode == 2 and "--trusted-key" in r.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["case"] == "PV-2026-118"
    # what indexed each exported source travels with the exhibit: every stage/model with its version and hash
    stored = {r["sha256"]: r for r in json.loads(vsearch_cli("sources", "--json", "--store",
                                                              str(env["store"])).stdout)}
    for s in manifest["sources"]:
        assert s["pipeline"]["components"] and s["pipeline"]["vsearch_version"]
        assert s["pipeline"] == json.loads(stored[s["sha256"]]["identity_json"]) \
            if "identity_json" in stored[s["sha256"]] else s["pipeline"]["components"]
    stages = {m["stage"] for m in manifest["models"]}
    assert {"detect", "track", "describe"} <= stages, manifest["models"]
    span = next(p for p in copy.rglob("*") if p.parent.name == "spans")
    data = bytearray(span.read_bytes())
    data[len(data) // 2] ^= 0x01
    span.write_bytes(bytes(data))
    r = vsearch_cli("verify", str(copy), *site)
    assert r.returncode == 4 and span.name in r.stderr
    log = json.loads(vsearch_cli("audit", "show", "--json", "--store", str(env["store"]), "--config",
                                 str(env["config"])).stdout)
    exports = [e for e in log if e["action"] == "export"]
    assert exports and exports[-1]["outputs"]["manifest.json"] == _sha(bundle / "manifest.json")


def test_foreign_site_bundle_is_untrusted(env: dict) -> None:
    """Another site's vsearch (its own store and key) exports a bundle: valid, but not signed by this site."""
    foreign = env["root"] / "foreign-store"
    shutil.copytree(env["store"], foreign, ignore=shutil.ignore_patterns("keys", "audit.jsonl*"))
    bundle = env["root"] / "foreign-bundle"
    r = vsearch_cli("export", "--colour", "green", "-o", str(bundle), *env["access"][2:], "--store", str(foreign))
    assert r.returncode == 0, r.stderr
    theirs = json.loads((bundle / "manifest.json").read_text())["signing"]["public_key_sha256"]
    assert vsearch_cli("verify", str(bundle), "--store", str(foreign), "--config", str(env["config"])).returncode == 0
    r = vsearch_cli("verify", str(bundle), "--store", str(env["store"]), "--config", str(env["config"]))
    assert r.returncode == 5 and theirs in r.stderr and "UNTRUSTED" in r.stderr


def _assert_no_version_holds(store: Path, source_id: str, tube_ids: set[str]) -> None:
    """Issue 12 #6: open every remaining version of every table; none may return a purged row (nor, for
    `sources`, the row as it was before the purge)."""
    import lancedb

    db = lancedb.connect(str(store / "lancedb"))
    names = db.list_tables().tables
    assert any(n.startswith("vectors_") for n in names) and "scenes" in names
    for name in names:
        table = db.open_table(name)
        for v in table.list_versions():
            table.checkout(v["version"])
            rows = table.to_arrow().to_pylist()
            cols = set(table.schema.names)
            for r in rows:
                held = (r.get("source_id") == source_id and (name != "sources" or r.get("status") != "purged")) or \
                       (cols & {"tube_id", "item_id"} and (r.get("tube_id") or r.get("item_id")) in tube_ids)
                assert not held, (name, v["version"], {k: r[k] for k in cols & {"source_id", "tube_id", "status"}})
    blobs = b"".join(p.read_bytes() for p in (store / "lancedb").rglob("*") if p.is_file())
    assert not [t for t in tube_ids if t.encode() in blobs]  # not even in data files or indices


def test_purge_keeps_locked_and_removes_expired(env: dict) -> None:
    store, access = env["store"], env["access"]
    # lock the new camera's footage to a case; both clips are older than 1 hour, the old one older than 30 days
    r = vsearch_cli("lock", "--camera", "new-cam", "--from", "2026-11-25T09:00:00+01:00",
                    "--to", "2026-11-25T11:00:00+01:00", *access)
    assert r.returncode == 0, r.stderr
    dry = json.loads(vsearch_cli("purge", "--older-than", "1h", "--dry-run", "--json", *access).stdout)
    assert [Path(p["path"]).name for p in dry["purged"]] == ["old-cam.mp4"]
    assert [Path(p["path"]).name for p in dry["kept_locked"]] == ["new-cam.mp4"]
    assert len(tubes_json(store, env["config"])) == 4  # dry run: nothing gone
    purged_sha = dry["purged"][0]["sha256"]
    purged_tubes = {t["tube_id"] for t in tubes_json(store, env["config"]) if t["source_id"] == purged_sha}
    assert purged_tubes
    rep = json.loads(vsearch_cli("purge", "--older-than", "1h", "--json", *access).stdout)
    assert len(rep["purged"]) == 1 and rep["thumbnails_deleted"] == len(purged_tubes)
    assert {"tubes", "scenes", "sources"} <= set(rep["tables"])
    assert sum(v["old_versions_removed"] for v in rep["tables"].values()) > 0
    _assert_no_version_holds(store, purged_sha, purged_tubes)
    left = tubes_json(store, env["config"])
    assert {t["camera"] for t in left} == {"new-cam"}
    srcs = {s["camera"]: s for s in json.loads(vsearch_cli("sources", "--store", str(store), "--json").stdout)}
    assert srcs["old-cam"]["status"] == "purged" and Path(srcs["old-cam"]["path"]).is_file()  # original kept
    assert not list((store / "thumbs" / srcs["old-cam"]["sha256"]).glob("*.jpg"))
    # re-running the index job does not bring purged footage back
    again = json.loads(vsearch_cli("index", str(env["root"] / "footage"), "--store", str(store), "--detector", "motion",
                                   "--json").stdout)
    assert again["counts"]["skipped"] == 2 and any("purged" in f["message"] for f in again["files"])
    # the purge itself is in the audit log, and the chain holds
    log = json.loads(vsearch_cli("audit", "show", "--json", "--store", str(store), "--config", str(env["config"])).stdout)
    assert [e["action"] for e in log].count("purge") == 2
    assert vsearch_cli("audit", "verify", "--store", str(store), "--config", str(env["config"])).returncode == 0


def test_export_cars_on_real_highway_footage_verifies_against_the_site(tmp_path: Path) -> None:
    """Issue 12 #3: the detector finds cars from the first frame of video02.avi, whose first video packet has
    pts 0.04 s; the export used to abort with 'no video packet at or before 0.000s'."""
    from conftest import shared_path

    clip = shared_path("footage", "highway", "video02.avi")
    env = {"VSEARCH_MODELS": str(tmp_path / "models")}
    assert vsearch_cli("models", "install", str(shared_path("models")), env=env).returncode == 0
    store = tmp_path / "store"
    r = vsearch_cli("index", str(clip), "--camera", "highway", "--start", "2026-11-20T14:00:00+01:00", "--store",
                    str(store), "-q", env=env)
    assert r.returncode == 0, r.stderr
    cfg = tmp_path / "vsearch.toml"
    cfg.write_text(CONFIG)
    site = ["--store", str(store), "--config", str(cfg)]
    r = vsearch_cli("export", "--class", "car", "-o", str(tmp_path / "b"), *site, "--investigator", "opj-0421",
                    "--case", "PV-1", "--reason", "test", "--no-synopsis", "--no-passages", env=env)
    assert r.returncode == 0, r.stderr
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    spans = [sp for s in m["sources"] for sp in s["spans"]]
    assert spans and spans[0]["copy_start_in_source_s"] == 0.04 and spans[0]["starts_at_first_packet"]
    assert not any(s["failed_spans"] for s in m["sources"]) and m["audit_head"]["seq"] >= 2
    r = vsearch_cli("verify", str(tmp_path / "b"), *site)
    assert r.returncode == 0, r.stderr
