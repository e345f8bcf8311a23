"""The one model backend layer: every network (detectors, re-id, attribute models) is loaded and run here.

- `compiled_openvino` / `onnx_session`: a model compiled once per process (per file, thread count and input
  shape), shared by every stage that uses it;
- `ModelRunner`: one network behind `run(blob) -> {output name: array}`, lazily loaded, on OpenVINO or ONNX
  Runtime, with the SHA-256 of its weights for the pipeline identity;
- `find_ir`: where an Open Model Zoo IR sits in a models folder (FP32 preferred);
- `file_sha256`: hashes a weights file once per (path, size, mtime).

Which files a model kind needs, their hashes and licences are in `vsearch.models.registry`; this module only
loads what it is given.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vsearch.errors import ModelError, UsageError

Runtime = Literal["openvino", "onnxruntime"]
PRECISIONS = ("FP32", "FP16", "FP16-INT8")

_COMPILED: dict[tuple[object, ...], Any] = {}
_LOCK = threading.Lock()
_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, computed once per (path, size, mtime)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _LOCK:
        if key in _SHA_CACHE:
            return _SHA_CACHE[key]
    h = hashlib.sha256()
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    with _LOCK:
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def weights_file(path: Path) -> Path:
    """The file holding a model's weights: the `.bin` next to an OpenVINO `.xml`, else the model file."""
    p = Path(path)
    return p.with_suffix(".bin") if p.suffix == ".xml" and p.with_suffix(".bin").is_file() else p


def find_ir(models_dir: Path | None, name: str) -> Path | None:
    """`<models_dir>/<name>/<precision>/<name>.xml` (FP32 preferred), or None when absent."""
    if models_dir is None:
        return None
    for precision in PRECISIONS:
        xml = Path(models_dir) / name / precision / f"{name}.xml"
        if xml.is_file():
            return xml
    return None


def compiled_openvino(path: Path, threads: int, *, input_shape: tuple[int, ...] | None = None) -> Any:
    """OpenVINO compiled model for `path` (reshaped to `input_shape` if given, -1 = dynamic), compiled once per
    process per thread count and shape."""
    key = ("openvino", str(path), threads, input_shape)
    with _LOCK:
        if key not in _COMPILED:
            try:
                import openvino as ov
            except ImportError as e:
                raise ModelError("OpenVINO is not installed: `pip install openvino`, or use the ONNX runtime") from e
            try:
                core = ov.Core()
                model = core.read_model(str(path))
                if input_shape is not None:
                    model.reshape({model.inputs[0].any_name: list(input_shape)})
                _COMPILED[key] = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": int(threads)})
            except RuntimeError as e:
                raise ModelError(f"OpenVINO could not load {path}: {e}") from e
        return _COMPILED[key]


def onnx_session(path: Path, threads: int) -> Any:
    """ONNX Runtime session for `path` on the CPU, created once per process per thread count."""
    key = ("onnxruntime", str(path), threads)
    with _LOCK:
        if key not in _COMPILED:
            try:
                import onnxruntime as ort
            except ImportError as e:
                raise ModelError("onnxruntime is not installed: `pip install onnxruntime`") from e
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            try:
                _COMPILED[key] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            except (RuntimeError, ValueError) as e:  # ORT raises its own RuntimeError subclasses
                raise ModelError(f"ONNX Runtime could not load {path}: {e}") from e
        return _COMPILED[key]


class ModelRunner:
    """One network, lazily loaded; `run(blob)` returns its outputs by name (copies, safe to keep)."""

    def __init__(self, path: Path, runtime: Runtime = "openvino", threads: int = 2, *,
                 input_shape: tuple[int, ...] | None = None) -> None:
        if not Path(path).is_file():
            raise ModelError(f"model file {path} not found; install models with `vsearch models install DIR`")
        if runtime not in ("openvino", "onnxruntime"):
            raise UsageError(f"runtime must be 'openvino' or 'onnxruntime', got {runtime!r}")
        if threads < 1:
            raise UsageError(f"threads must be >= 1, got {threads}")
        if input_shape is not None and runtime != "openvino":
            raise UsageError("input_shape (reshaping) needs the OpenVINO runtime")
        self.path, self.runtime, self.threads, self.input_shape = Path(path), runtime, threads, input_shape
        self._request: Any = None
        self._session: Any = None

    @property
    def weights_sha256(self) -> str:
        return file_sha256(weights_file(self.path))

    def run(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        if self.runtime == "openvino":
            if self._request is None:
                compiled = compiled_openvino(self.path, self.threads, input_shape=self.input_shape)
                self._request = compiled.create_infer_request()
            self._request.infer({0: blob})
            return {o.get_any_name(): np.asarray(self._request.get_tensor(o).data).copy()
                    for o in self._request.model_outputs}
        if self._session is None:
            self._session = onnx_session(self.path, self.threads)
        name = self._session.get_inputs()[0].name
        outs = self._session.run(None, {name: blob})
        return {o.name: v for o, v in zip(self._session.get_outputs(), outs)}
