"""Export bundle: native span copies, determinism, signature, verification of every file kind."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import warnings
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from synth import crossing_scene
from vsearch.evidence.bundle import ExportInputs, ExportObject, ExportSource, ExportVideo, sha256_file, write_bundle
from vsearch.evidence.verify import TrustedKey, UntrustedSignerError, require_trusted, verify_bundle
from vsearch.errors import ConfigError, UsageError, VerificationError
from vsearch.evidence.signing import SiteKey
from vsearch.site import Investigator

START = dt.datetime(2025, 5, 4, 21, 10, 0, tzinfo=dt.timezone.utc)
INV = Investigator(id="opj-1", name="Jeanne Martin", authorisation_ref="AP 2024-117",
                   valid_from=dt.date(2025, 1, 1), valid_until=dt.date(2025, 12, 31))


def jpeg(bgr: tuple[int, int, int]) -> bytes:
    img = np.zeros((90, 120, 3), np.uint8)
    img[:] = bgr
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def make_inputs(data: Path) -> ExportInputs:
    """Two cameras (MP4 and MPEG-TS sources), three objects with thumbnails, a synopsis with a source map."""
    mp4 = data / "cam01.mp4"
    ts = data / "cam02.ts"
    if not mp4.exists():
        crossing_scene(mp4, duration_s=6.0)
        crossing_scene(ts, duration_s=6.0)
        (data / "synopsis_map.json").write_text('{"segments": []}\n')
    sha_mp4, sha_ts = sha256_file(mp4), sha256_file(ts)
    sources = [
        ExportSource(mp4, sha_mp4, "cam01", START, ((2.5, 4.0), (3.5, 4.5)), start_pts_s=0.0),
        ExportSource(ts, sha_ts, "cam02", START + dt.timedelta(seconds=30), ((2.5, 4.0),), start_pts_s=1.4,
                     clock_offset_s=-3.0),
    ]
    objects = [
        ExportObject("obj-red", sha_mp4, "cam01", 2.6, 4.2, "car", 0.91, {"colour": "red"}, jpeg((255, 0, 255))),
        ExportObject("obj-blue", sha_mp4, "cam01", 3.0, 4.4, "car", 0.88, {"colour": "blue"}, jpeg((255, 0, 255))),
        ExportObject("obj-walk", sha_ts, "cam02", 2.6, 3.9, "person", None, {}, jpeg((255, 0, 255))),
    ]
    return ExportInputs(
        case="PV 2025/118", investigator=INV, reason="armed robbery", site_name="CSU Test",
        query={"text": "red car", "cameras": ["cam01", "cam02"]}, parameters={"k": 50, "pad_s": 1.0},
        coverage={"indexed_s": 12.0, "gaps": [], "cameras": 2}, models=[{"name": "motion", "sha256": ""}],
        sources=sources, objects=objects, videos=[ExportVideo("synopsis", mp4, data / "synopsis_map.json")],
        recipients=("Parquet de Lyon",), camera_clock_offsets_s={"cam01": 12.5})


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SiteKey:
    return SiteKey.load_or_create(tmp_path_factory.mktemp("store") / "keys")


@pytest.fixture(scope="module")
def bundle(data: Path, key: SiteKey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exports") / "bundle"
    rep = write_bundle(make_inputs(data), out, key, zip=True)
    assert rep.zip_path == out.with_name("bundle.zip") and rep.spans == 2 and rep.objects == 3
    return out


def test_untouched_bundle_verifies(bundle: Path) -> None:
    rep = verify_bundle(bundle)
    assert rep.ok, rep.problems
    assert rep.first_bad is None and rep.files_checked == len([p for p in bundle.rglob("*") if p.is_file()])


def test_manifest_records_spans_hashes_and_times(bundle: Path, data: Path) -> None:
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["case"] == "PV 2025/118" and m["investigator"]["id"] == "opj-1"
    assert m["recipients"] == ["Parquet de Lyon"]
    cam01, cam02 = m["sources"]
    assert cam01["sha256"] == sha256_file(data / "cam01.mp4")
    # the two overlapping spans of cam01 were merged into one copy, keyframe-aligned (GOP = 2 s)
    (sp,) = cam01["spans"]
    assert sp["file"].endswith(".mp4") and (sp["requested_start_s"], sp["requested_end_s"]) == (2.5, 4.5)
    assert sp["copy_start_in_source_s"] == 2.0 and sp["requested_start_offset_in_copy_s"] == 0.5
    assert sp["starts_on_keyframe"] and sp["packets_identical_to_source"]
    assert sp["copy_end_in_source_s"] >= 4.5
    # MPEG-TS stays MPEG-TS; its pts start at 1.4 s, the keyframe before 2.5 s is 1.4 s
    (sp2,) = cam02["spans"]
    assert sp2["file"].endswith(".ts") and sp2["copy_start_in_source_s"] <= 2.5 and sp2["packets_identical_to_source"]
    # times: camera clock and corrected UTC (offset = camera - true UTC)
    assert cam01["camera_clock_offset_s"] == 12.5 and cam02["camera_clock_offset_s"] == -3.0
    red = next(o for o in m["objects"] if o["object_id"] == "obj-red")
    assert red["start"]["camera_clock_utc"] == "2025-05-04T21:10:02.600000Z"
    assert red["start"]["corrected_utc"] == "2025-05-04T21:09:50.100000Z"
    walk = next(o for o in m["objects"] if o["object_id"] == "obj-walk")
    assert walk["start"]["camera_clock_utc"] == "2025-05-04T21:10:31.200000Z"  # 30 s + (2.6 - 1.4)
    assert m["camera_clock_offsets_s"] == {"cam01": 12.5, "cam02": -3.0}
    assert m["videos"]["synopsis"]["file"] == "synopsis/synopsis.mp4"
    assert set(m["files"]) == {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()} - {
        "manifest.json", "manifest.json.sig", "public_key.pem", "SHA256SUMS", "signature.json"}
    sums = (bundle / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == len(m["files"]) + 3


def test_reexport_is_identical_except_signature(bundle: Path, data: Path, key: SiteKey, tmp_path: Path) -> None:
    again = tmp_path / "again"
    write_bundle(make_inputs(data), again, key)
    names = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    differing = [n for n in names if sha256_file(bundle / n) != sha256_file(again / n)]
    assert differing in ([], ["signature.json"])  # only the signing time may differ
    assert verify_bundle(again).ok


def _flip(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    i = min(int(len(data) * at), len(data) - 2)
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


FILE_KINDS = ["spans/*.mp4", "spans/*.ts", "thumbnails/obj-red.jpg", "synopsis/synopsis.mp4",
              "synopsis/source_map.json", "report.html", "VERIFY.txt", "manifest.json", "manifest.json.sig",
              "public_key.pem", "SHA256SUMS", "signature.json"]


@pytest.mark.parametrize("pattern", FILE_KINDS)
@pytest.mark.parametrize("at", [0.05, 0.5, 0.97])
def test_flipped_byte_is_named(bundle: Path, tmp_path: Path, pattern: str, at: float) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    (target,) = copy.glob(pattern)
    _flip(target, at)
    rep = verify_bundle(copy)
    assert not rep.ok
    assert rep.first_bad == target.relative_to(copy).as_posix(), rep.problems


def test_missing_and_added_files_are_named(bundle: Path, tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    (copy / "thumbnails" / "obj-blue.jpg").unlink()
    rep = verify_bundle(copy)
    assert not rep.ok and rep.first_bad == "thumbnails/obj-blue.jpg" and "missing" in rep.problems[0]
    shutil.copy(bundle / "thumbnails" / "obj-blue.jpg", copy / "thumbnails" / "obj-blue.jpg")
    assert verify_bundle(copy).ok
    (copy / "thumbnails" / "extra.jpg").write_bytes(b"x")
    rep = verify_bundle(copy)
    assert not rep.ok and rep.first_bad == "thumbnails/extra.jpg"
    (copy / "thumbnails" / "extra.jpg").unlink()
    (copy / "signature.json").unlink()
    assert verify_bundle(copy).first_bad == "signature.json"


def test_copied_bundle_and_zip_verify(bundle: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(bundle, moved)
    assert verify_bundle(moved).ok
    z = bundle.with_name("bundle.zip")
    assert verify_bundle(z).ok
    z2 = tmp_path / "copy.zip"
    shutil.copy(z, z2)
    assert verify_bundle(z2).ok


def test_flipped_byte_in_zip_member_is_named(bundle: Path, tmp_path: Path) -> None:
    z = tmp_path / "b.zip"
    shutil.copy(bundle.with_name("bundle.zip"), z)
    with zipfile.ZipFile(z) as zf:
        info = zf.getinfo("bundle/thumbnails/obj-walk.jpg")
    data = bytearray(z.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0x01
    z.write_bytes(bytes(data))
    rep = verify_bundle(z)
    assert not rep.ok and rep.first_bad == "thumbnails/obj-walk.jpg", rep.problems


def _resign(bundle: Path, out: Path, forger: SiteKey, case: str) -> Path:
    """What a forger with any copy of vsearch can do: edit the manifest, re-sign everything with a fresh key and
    recompute every hash, so the bundle is internally consistent."""
    import base64

    from vsearch.evidence.audit import canonical_json
    from vsearch.evidence.layout import json_file, sums_text

    shutil.copytree(bundle, out)
    m = json.loads((out / "manifest.json").read_text())
    m["case"] = case
    m["signing"]["public_key_sha256"] = forger.fingerprint
    data = json_file(m)
    (out / "manifest.json").write_bytes(data)
    (out / "manifest.json.sig").write_bytes(forger.sign(data))
    (out / "public_key.pem").write_bytes(forger.public_pem())
    files = {**m["files"], **{n: sha256_file(out / n) for n in ("manifest.json", "manifest.json.sig", "public_key.pem")}}
    (out / "SHA256SUMS").write_bytes(sums_text(files))
    st = {"manifest_sha256": files["manifest.json"], "public_key_sha256": forger.fingerprint,
          "signed_at_utc": "2025-05-05T00:00:00.000000Z"}
    (out / "signature.json").write_bytes(json_file({
        "algorithm": "Ed25519", "signed_file": "manifest.json", "signature_file": "manifest.json.sig",
        "public_key_file": "public_key.pem", **st,
        "statement_signature_b64": base64.b64encode(forger.sign(canonical_json(st))).decode()}))
    return out


def test_signer_is_named_and_only_a_trusted_key_passes(bundle: Path, key: SiteKey, tmp_path: Path) -> None:
    site = [TrustedKey(key.fingerprint, "site")]
    rep = verify_bundle(bundle, site)
    assert rep.ok and rep.trusted and rep.signer_fingerprint == key.fingerprint and rep.site_name == "CSU Test"
    require_trusted(rep, bundle)
    untrusted = verify_bundle(bundle)  # nobody said which key to trust: intact, but not trusted
    assert untrusted.ok and not untrusted.trusted
    with pytest.raises(UntrustedSignerError, match=key.fingerprint) as e:
        require_trusted(untrusted, bundle)
    assert e.value.exit_code == 5


def test_forged_resigned_bundle_is_refused(bundle: Path, key: SiteKey, tmp_path: Path) -> None:
    forger = SiteKey.load_or_create(tmp_path / "forger")
    forged = _resign(bundle, tmp_path / "forged", forger, "PV 2025/999")
    rep = verify_bundle(forged, [TrustedKey(key.fingerprint, "site")])
    assert rep.ok and not rep.trusted and rep.signer_fingerprint == forger.fingerprint  # consistent, yet refused
    with pytest.raises(UntrustedSignerError, match=forger.fingerprint):
        require_trusted(rep, forged)


def _rezip(bundle: Path, out: Path, extra: list[tuple[zipfile.ZipInfo | str, bytes]], first: bool = True) -> Path:
    genuine = [(f"bundle/{p.relative_to(bundle).as_posix()}", p.read_bytes())
               for p in sorted(bundle.rglob("*")) if p.is_file()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name we write on purpose
        with zipfile.ZipFile(out, "w") as zf:
            for name, data in (extra + genuine if first else genuine + extra):
                zf.writestr(name, data)
    return out


def _link_member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(("member", "why"), [
    ("bundle/report.html", "more than once"),          # forged copy before the genuine one: unzip extracts it
    ("bundle/spans/", "directory entry"),
    (_link_member("bundle/thumbnails/x.jpg"), "symbolic link"),
    ("other/report.html", "outside the bundle layout"),
    ("bundle/notes/readme.txt", "outside the bundle layout"),
    ("bundle/../evil.txt", "outside the bundle layout"),
])
def test_zip_with_duplicate_or_foreign_members_is_refused(bundle: Path, tmp_path: Path,
                                                          member: zipfile.ZipInfo | str, why: str) -> None:
    z = _rezip(bundle, tmp_path / "b.zip", [(member, b"<html>forged</html>")])
    assert verify_bundle(_rezip(bundle, tmp_path / "plain.zip", [])).ok  # the same zip without it is fine
    rep = verify_bundle(z)
    assert not rep.ok and any(why in p for p in rep.problems), rep.problems


def test_changed_original_is_refused(data: Path, key: SiteKey, tmp_path: Path) -> None:
    inputs = make_inputs(data)
    src = tmp_path / "cam01.mp4"
    shutil.copy(inputs.sources[0].path, src)
    _flip(src)
    bad = ExportInputs(**{**inputs.__dict__, "sources": [ExportSource(**{**inputs.sources[0].__dict__,
                                                                          "path": src})]})
    with pytest.raises(VerificationError, match="changed since indexing"):
        write_bundle(bad, tmp_path / "out", key)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam01.mp4"]  # no half-written bundle left


def test_refuses_non_empty_output(data: Path, key: SiteKey, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        write_bundle(make_inputs(data), tmp_path / "out", key)


def test_site_key_is_private_and_stable(tmp_path: Path) -> None:
    k1 = SiteKey.load_or_create(tmp_path / "keys")
    priv = tmp_path / "keys" / "site_ed25519.pem"
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert SiteKey.load_or_create(tmp_path / "keys").fingerprint == k1.fingerprint
    os.chmod(priv, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        SiteKey.load_or_create(tmp_path / "keys")


@pytest.mark.skipif(shutil.which("sha256sum") is None or shutil.which("openssl") is None,
                    reason="sha256sum or openssl not installed")
def test_verify_txt_instructions_work_with_standard_tools(bundle: Path, key: SiteKey) -> None:
    def run(cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, shell=True, cwd=bundle, capture_output=True, text=True, check=False)

    text = (bundle / "VERIFY.txt").read_text()
    assert key.fingerprint in text
    cmds = [line.strip() for line in text.splitlines()
            if line.strip().startswith(("sha256sum -c", "openssl pkeyutl", "openssl pkey -pubin", "python3 -c"))]
    assert len(cmds) == 4
    for cmd in cmds:
        res = run(cmd)
        assert res.returncode == 0, (cmd, res.stdout, res.stderr)
        if cmd.startswith("openssl pkey -pubin"):
            assert key.fingerprint in res.stdout
        if cmd.startswith("openssl pkeyutl"):
            assert "Signature Verified Successfully" in res.stdout


def test_span_before_the_first_packet_starts_at_it_and_an_uncopyable_span_is_recorded(key: SiteKey,
                                                                                       tmp_path: Path) -> None:
    """highway/video02.avi: its first video packet has pts 0.04 s (and seeking to it yields no video)."""
    from conftest import shared_path

    clip = shared_path("footage", "highway", "video02.avi")
    sha = sha256_file(clip)
    src = ExportSource(clip, sha, "highway", START, ((0.0, 0.03), (4.0, 6.0), (10.0, 12.0)))
    src_first = ExportSource(clip, sha, "highway", START, ((0.0, 2.0),))
    objects = [ExportObject("early", sha, "highway", 0.0, 0.02, "car"),  # ends before the first packet
               ExportObject("later", sha, "highway", 4.5, 5.5, "car")]
    inputs = ExportInputs(case="PV 1", investigator=INV, reason="r", query={}, parameters={}, coverage={},
                          models=[], sources=[src], objects=objects, site_name="CSU Test")
    rep = write_bundle(inputs, tmp_path / "b", key)
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    (s,) = m["sources"]
    assert [(sp["requested_start_s"], sp["requested_end_s"]) for sp in s["spans"]] == [(4.0, 6.0), (10.0, 12.0)]
    assert [(f["requested_start_s"], f["requested_end_s"]) for f in s["failed_spans"]] == [(0.0, 0.03)]
    assert "before its first video packet" in s["failed_spans"][0]["error"]
    errors = {o["object_id"]: o["span_copy_error"] for o in m["objects"]}
    assert errors["later"] is None and "first video packet" in errors["early"]
    assert len(rep.failed_spans) == 1 and "Spans NOT copied" in (tmp_path / "b" / "report.html").read_text()
    assert verify_bundle(tmp_path / "b", [TrustedKey(key.fingerprint, "site")]).trusted

    first = write_bundle(ExportInputs(**{**inputs.__dict__, "sources": [src_first], "objects": objects[1:]}),
                         tmp_path / "first", key)
    (sp,) = json.loads((tmp_path / "first" / "manifest.json").read_text())["sources"][0]["spans"]
    assert (sp["requested_start_s"], sp["copy_start_in_source_s"], sp["starts_at_first_packet"]) == (0.0, 0.04, True)
    assert sp["requested_start_offset_in_copy_s"] == 0.0 and sp["packets_identical_to_source"]
    assert sp["video_packets"] >= 45 and not first.failed_spans
