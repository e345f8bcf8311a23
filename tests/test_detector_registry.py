"""Adding a detector is one `DETECTORS` entry: `make_detector`, "auto" and the CLI choices all follow it."""

from __future__ import annotations

from pathlib import Path

import pytest

from vsearch.errors import UsageError
from vsearch.indexers import detect
from vsearch.models.resolve import Layer, ModelSet, ResolvedModel
from vsearch.records import Detections, Frame


class _Fake:
    name = "fake-det"
    degraded = False
    weights_sha256 = "f" * 64

    def __init__(self, path: Path, motion: detect.MotionDetector) -> None:
        self.path, self.motion = path, motion

    def detect(self, frame: Frame) -> Detections:
        return Detections.empty(frame.index, frame.pts_s, self.name)

    def reset(self) -> None: ...


def test_a_new_registry_entry_is_built_by_name_and_preferred_by_auto(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "fake.onnx"
    weights.write_bytes(b"weights")
    kind = detect.DetectorKind("fake-det", lambda p, s, m: _Fake(p, m), auto_rank=-1)
    monkeypatch.setitem(detect.DETECTORS, "fake-det", kind)
    monkeypatch.setattr(detect, "DETECTOR_CHOICES", ("auto", "motion", *detect.DETECTORS))
    # a resolved set holding the new kind's file (resolution itself is tested in test_builtin_models.py)
    models = ModelSet((ResolvedModel("fake-det", "configured", weights, "e" * 64),), (Layer("configured", tmp_path),))
    for name in ("fake-det", "auto"):
        choice = detect.make_detector(name, models)
        assert isinstance(choice.detector, _Fake) and choice.detector.path == weights and choice.warning is None
        assert choice.detector.motion is choice.motion  # model detectors get the shared mask model


def test_cli_choices_come_from_the_registry() -> None:
    assert detect.DETECTOR_CHOICES == ("auto", "motion", *detect.DETECTORS)
    with pytest.raises(UsageError, match="detector must be one of auto, motion, pvb-2002"):
        detect.make_detector("yolo-v99")
