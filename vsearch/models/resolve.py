"""Which copy of each model a run uses, and the built-in set that ships inside the package.

Per model, first verified copy wins:

1. the configured folder: `--models-dir`, else `$VSEARCH_MODELS`, else `models_dir` of the site config;
2. the user's installed models (`$XDG_DATA_HOME/vsearch/models`, where `vsearch models install` puts them);
3. the built-in set (`vsearch/models/builtin/`, package data): the permissive default models.

A corrupt or incomplete copy in folder 1 or 2 is passed over with a warning that names it (the next copy has the
same catalogue hash, so the result does not change). A built-in file that fails its check is refused: the
installation itself is damaged and nothing from it is trusted. Every file is checked against the catalogue hash
in `registry.CATALOGUE`; built-in files also against the folder's `SHA256SUMS`, which must agree with the
catalogue, so editing a file and its sums together is still caught.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from vsearch.errors import ModelError
from vsearch.models.descriptors import file_sha256
from vsearch.models.registry import CATALOGUE, ENV_VAR, ModelEntry, ModelStatus, list_models, user_models_dir

BUILTIN_DIR = Path(__file__).with_name("builtin")
SUMS_NAME = "SHA256SUMS"
# Exactly the models shipped as package data (Apache-2.0, ~18 MB together); tests check the folder holds these.
BUILTIN_KEYS = ("pvb-2002", "yolox-nano", "person-attributes-0230", "vehicle-attributes-0039", "reid-0288",
                "mobilenetv2-int8")

Origin = Literal["configured", "installed", "built-in", "missing"]


@dataclass(frozen=True)
class Layer:
    origin: Origin
    folder: Path


@dataclass(frozen=True)
class ResolvedModel:
    key: str
    origin: Origin
    path: Path | None  # the main file (.xml of an IR pair, or the .onnx); None when missing
    sha256: str  # catalogue SHA-256 of the main file (what was verified when path is set)
    passed_over: tuple[str, ...] = ()  # copies not used, each with the file at fault and why

    @property
    def weights_sha256(self) -> str:
        """Catalogue SHA-256 of the weights file (the .bin of an IR pair, else the main file): what the pipeline
        identity records, verified with the other files when the model was resolved (no second hashing)."""
        files = CATALOGUE[self.key].files
        return next((f.sha256 for f in files if f.relpath.endswith(".bin")), self.sha256)


@dataclass(frozen=True)
class ModelSet:
    """The copy chosen for every catalogue model (each one hash-verified), and the folders searched."""

    models: tuple[ResolvedModel, ...]
    layers: tuple[Layer, ...]

    def get(self, key: str) -> ResolvedModel:
        for m in self.models:
            if m.key == key:
                return m
        raise ModelError(f"unknown model {key!r}; known models: {', '.join(CATALOGUE)}")

    def path(self, key: str) -> Path | None:
        return self.get(key).path

    @property
    def warnings(self) -> list[str]:
        absent = [f"models folder {layer.folder} (--models-dir / {ENV_VAR} / site config) does not exist; "
                  "using the installed and built-in models" for layer in self.layers
                  if layer.origin == "configured" and not layer.folder.is_dir()]
        return absent + [f"model {m.key}: passed over {p}; using the {m.origin} copy" if m.path else
                         f"model {m.key}: passed over {p}" for m in self.models for p in m.passed_over]


def configured_dir(explicit: Path | None) -> Path | None:
    """`--models-dir` / site config value when given, else `$VSEARCH_MODELS`, else None."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else None


def layers(explicit: Path | None, *, builtin_dir: Path | None = None) -> tuple[Layer, ...]:
    """The folders searched, in order; `builtin_dir` replaces the package's built-in folder (tests)."""
    out = []
    conf = configured_dir(explicit)
    if conf is not None:
        out.append(Layer("configured", conf))
    user = user_models_dir()
    if conf is None or conf.resolve() != user.resolve():
        out.append(Layer("installed", user))
    out.append(Layer("built-in", BUILTIN_DIR if builtin_dir is None else builtin_dir))
    return tuple(out)


def _builtin_sums(builtin_dir: Path) -> dict[str, str]:
    sums = builtin_dir / SUMS_NAME
    try:
        lines = sums.read_text().splitlines()
    except OSError as e:
        raise ModelError(f"built-in model checksums {sums} cannot be read ({e.strerror or e}); the vsearch "
                         f"installation is damaged: {_REINSTALL}") from e
    out = {}
    for line in lines:
        digest, _, rel = line.strip().partition("  ")
        if rel:
            out[rel.removeprefix("./")] = digest
    return out


_REINSTALL = ("reinstall vsearch (`pip install --force-reinstall vsearch`), or install a good copy of the model "
              "with `vsearch models install DIR`")


def builtin_problem(entry: ModelEntry, builtin_dir: Path) -> str | None:
    """None when every file of a built-in model verifies, "" when the model is absent from the folder, else a
    one-line refusal naming the first bad file."""
    present = [mf for mf in entry.files if (builtin_dir / mf.relpath).is_file()]
    if not present:
        return ""
    sums = _builtin_sums(builtin_dir)
    for mf in entry.files:
        p = builtin_dir / mf.relpath
        if not p.is_file():
            return f"built-in model file {p} is missing; the vsearch installation is damaged: {_REINSTALL}"
        if sums.get(mf.relpath) != mf.sha256:
            return (f"built-in model file {p} is not listed in {builtin_dir / SUMS_NAME} with its catalogue "
                    f"SHA-256 {mf.sha256}; refusing it: {_REINSTALL}")
        actual = file_sha256(p)
        if actual != mf.sha256:
            return (f"built-in model file {p} fails its SHA-256 check (expected {mf.sha256}, got {actual}); "
                    f"refusing it: {_REINSTALL}")
    return None


def resolve_models(explicit: Path | None = None, *, builtin_dir: Path | None = None,
                   strict: bool = True) -> ModelSet:
    """Pick the copy of every catalogue model (see the module doc for the order).

    strict: a built-in file that fails its check raises ModelError (one line naming it); with strict=False
    (listings) that model is reported missing with the refusal as the reason. `builtin_dir` replaces the
    package's built-in folder (tests: a damaged copy, or an empty folder for "no models at all").
    """
    chosen = layers(explicit, builtin_dir=builtin_dir)
    # one pass per folder (hashes cached in the folder); the built-in folder is checked per model, on demand
    states = {layer.origin: {s.key: s for s in list_models(layer.folder)} for layer in chosen
              if layer.origin != "built-in" and layer.folder.is_dir()}
    return ModelSet(tuple(_pick(entry, chosen, states, strict) for entry in CATALOGUE.values()), chosen)


def _pick(entry: ModelEntry, chosen: tuple[Layer, ...], states: dict[str, dict[str, ModelStatus]],
          strict: bool) -> ResolvedModel:
    passed: list[str] = []
    for layer in chosen:
        if layer.origin == "built-in":
            problem = builtin_problem(entry, layer.folder) if entry.key in BUILTIN_KEYS else ""
            if problem is None:
                return ResolvedModel(entry.key, "built-in", layer.folder / entry.main_file.relpath,
                                     entry.main_file.sha256, tuple(passed))
            if problem and strict:
                raise ModelError(problem)
            if problem:
                passed.append(problem)
            continue
        st = states.get(layer.origin, {}).get(entry.key)
        if st is None or st.state == "missing":
            continue
        if st.state == "verified":
            return ResolvedModel(entry.key, layer.origin, st.path, entry.main_file.sha256, tuple(passed))
        passed.append(f"the {st.state} copy in {layer.folder} ({st.detail})")
    return ResolvedModel(entry.key, "missing", None, entry.main_file.sha256, tuple(passed))


def missing_runtime(module: str = "openvino") -> str | None:
    """A one-line "install this package" message when the inference runtime cannot be imported, else None."""
    if importlib.util.find_spec(module) is not None:
        return None
    return f"{module} is not installed (`pip install {module}`), so no model can run"
