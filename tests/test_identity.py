"""Pipeline identity: recorded per source and in the job report; a rerun re-indexes what another pipeline made."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import synth
from conftest import shared_path, vsearch_cli
from vsearch.catalogue.store import Store
from vsearch.indexing.identity import PipelineIdentity, StageIdentity, components_of
from vsearch.models.runtime import file_sha256

ATTRS = ("person-attributes-recognition-crossroad-0230", "vehicle-attributes-recognition-barrier-0039")


def _clip(folder: Path) -> Path:
    objs = [synth.SynthObject(1, "red", [(0.2, 30, 90), (2.8, 290, 90)], (40, 24))]
    clip = synth.write_video(synth.SynthVideo(folder / "cam.mp4", 320, 180, 10, 3.0, objs)).path
    clip.with_name("cam.mp4.json").write_text(json.dumps({"camera": "cam-a", "start": "2026-11-20T14:00:00+01:00"}))
    return clip


def _index(clip: Path, store: Path, models: Path, *extra: str, builtin_models: Path | None = None) -> dict:
    r = vsearch_cli("index", str(clip), "--store", str(store), "--models-dir", str(models), "--json", *extra,
                    builtin_models=builtin_models)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout) | {"stderr": r.stderr}


def test_adding_attribute_models_re_indexes_and_says_why(tmp_path: Path) -> None:
    shared = shared_path("models")
    models = tmp_path / "models"
    shutil.copytree(shared / "person-vehicle-bike-detection-2002", models / "person-vehicle-bike-detection-2002")
    clip, store = _clip(tmp_path / "footage"), tmp_path / "store"
    # The built-in set would supply the attribute models from the start: an empty built-in folder leaves the
    # configured folder (the detector only) as the whole model set, so adding models to it is a real change.
    no_builtin = tmp_path / "no-builtin"
    no_builtin.mkdir()
    first = _index(clip, store, models, builtin_models=no_builtin)
    assert first["counts"]["ok"] == 1
    names = {(c["stage"], c["name"]) for c in first["pipeline"]["components"]}
    assert ("detect", "pvb-2002") in names and not any(n in ATTRS for _, n in names)
    detector = next(c for c in first["pipeline"]["components"] if c["stage"] == "detect")
    assert len(detector["weights_sha256"]) == 64
    row = Store(store, create=False).sources()[0]
    assert row.identity == first["pipeline"]  # stored with the source, as in the job report

    same = _index(clip, store, models, builtin_models=no_builtin)  # nothing changed: skipped as before
    assert same["files"][0]["status"] == "skipped" and "unchanged" in same["files"][0]["message"]

    for name in ATTRS:
        shutil.copytree(shared / name, models / name)
    again = _index(clip, store, models, builtin_models=no_builtin)
    f = again["files"][0]
    assert f["status"] == "ok", f
    for name in ATTRS:
        assert f"describe {name} added" in f["message"], f["message"]
        assert any(f"describe {name} added" in w for w in again["warnings"])
        assert f"describe {name} added" in again["stderr"]  # the progress output says it too
    assert Store(store, create=False).sources()[0].identity == again["pipeline"]
    assert {c["name"] for c in again["pipeline"]["components"]} >= set(ATTRS)
    for c in again["pipeline"]["components"]:  # each model's weights: the hash of the .bin that was added
        if c["name"] in ATTRS:
            assert c["weights_sha256"] == file_sha256(next((models / c["name"]).glob("FP32/*.bin")))


def test_keep_existing_keeps_rows_of_another_pipeline(tmp_path: Path) -> None:
    clip, store, models = _clip(tmp_path / "footage"), tmp_path / "store", tmp_path / "no-models"
    first = _index(clip, store, models, "--detector", "motion")
    kept = _index(clip, store, models, "--detector", "motion", "--fps", "2.5", "--keep-existing")
    f = kept["files"][0]
    assert f["status"] == "skipped" and "--keep-existing" in f["message"] and "parameter fps 5.0 → 2.5" in f["message"]
    assert Store(store, create=False).sources()[0].identity == first["pipeline"]
    redone = _index(clip, store, models, "--detector", "motion", "--fps", "2.5")
    assert redone["files"][0]["status"] == "ok" and "parameter fps 5.0 → 2.5" in redone["files"][0]["message"]


def _ident(*components: StageIdentity, **params: object) -> PipelineIdentity:
    return PipelineIdentity.of(components, params)


@pytest.mark.parametrize("old,new,why", [
    (_ident(StageIdentity("detect", "pvb-2002", weights_sha256="a" * 64)),
     _ident(StageIdentity("detect", "pvb-2002", weights_sha256="b" * 64)), ["detect pvb-2002 weights aaaaaaaaaaaa… → bbbbbbbbbbbb…"]),
    (_ident(StageIdentity("track", "bytetrack-app-v1", "colour-hist")),
     _ident(StageIdentity("track", "bytetrack-app-v2", "colour-hist")),
     ["track bytetrack-app-v2 added", "track bytetrack-app-v1 removed"]),
    (_ident(StageIdentity("describe", "colours", "lab-11-v1")), _ident(StageIdentity("describe", "colours", "lab-12-v1")),
     ["describe colours version lab-11-v1 → lab-12-v1"]),
    (_ident(fps=5.0), _ident(fps=5.0), []),
    (None, _ident(), ["indexed before the pipeline identity was recorded (store schema v1)"]),
])
def test_differences_name_what_changed(old, new, why) -> None:  # noqa: ANN001
    assert new.differences(old) == why


def test_identity_round_trips_and_ignores_the_vsearch_version() -> None:
    a = _ident(StageIdentity("detect", "motion"), fps=5.0, descriptors=["colour-hist-v1"])
    back = PipelineIdentity.from_dict(json.loads(a.to_json()))
    assert back == a
    assert PipelineIdentity.from_dict({**a.to_dict(), "vsearch_version": "9.9"}).differences(a) == []
    assert components_of([a, None, a]) == [{"stage": "detect", "name": "motion", "version": "", "weights_sha256": ""}]
