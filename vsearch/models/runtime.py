"""The one model backend layer: every network (detectors, re-id, attribute models) is loaded and run here.

- `compiled_openvino` / `onnx_session`: a model compiled once per process (per file, thread count and input
  shape), shared by every stage that uses it;
- `ModelRunner`: one network behind `run(blob) -> {output name: array}`, lazily loaded, on OpenVINO or ONNX
  Runtime, with the SHA-256 of its weights for the pipeline identity; `submit(blob)` starts it without waiting
  (OpenVINO runs it in its own threads, without the GIL, so Python work goes on meanwhile) and returns a `Pending`;
- streams (`compiled_openvino(..., streams=)`): how OpenVINO spreads a network over the cores (one stream on
  every thread, or several requests at once, one per stream);
- `find_ir`: where an Open Model Zoo IR sits in a models folder (FP32 preferred);
- `file_sha256`: hashes a weights file once per (path, size, mtime);
- `import_openvino`: OpenVINO without its usage telemetry (an offline tool sends nothing, and forks nothing).

Which files a model kind needs, their hashes and licences are in `vsearch.models.registry`; this module only
loads what it is given.
"""

from __future__ import annotations

import hashlib
import sys
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


def import_openvino() -> Any:
    """`import openvino`, with its usage telemetry off. Importing openvino imports its model converter
    (`openvino.tools.ovc`), which, unless the user opted out, writes a client id under ~/intel and sends an
    "import" event to Google Analytics from a process it forks (multiprocessing's default start) off a thread of
    its own. vsearch runs offline on evidence: it must not try the network nor write into the home folder, and
    that fork, made while LanceDB's async runtime is running, is what makes LanceDB warn "lancedb fork support is
    experimental". With `openvino_telemetry` unimportable, openvino uses its built-in no-op stub
    (`openvino.tools.ovc.telemetry_stub`), as when that package is not installed."""
    sys.modules.setdefault("openvino_telemetry", None)  # None: `import openvino_telemetry` raises ImportError
    import openvino

    return openvino


def compiled_openvino(path: Path, threads: int, *, input_shape: tuple[int, ...] | None = None,
                      streams: int = 1) -> Any:
    """OpenVINO compiled model for `path` (reshaped to `input_shape` if given, -1 = dynamic), compiled once per
    process per thread count, stream count and shape. One stream: every request uses all `threads` (latency);
    more: that many requests run at once, sharing the threads (throughput)."""
    key = ("openvino", str(path), threads, input_shape, streams)
    with _LOCK:
        if key not in _COMPILED:
            try:
                ov = import_openvino()
            except ImportError as e:
                raise ModelError("OpenVINO is not installed: `pip install openvino`, or use the ONNX runtime") from e
            try:
                core = ov.Core()
                model = core.read_model(str(path))
                if input_shape is not None:
                    model.reshape({model.inputs[0].any_name: list(input_shape)})
                config: dict[str, object] = {"INFERENCE_NUM_THREADS": int(threads)}
                if streams > 1:
                    config.update({"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": int(streams)})
                _COMPILED[key] = core.compile_model(model, "CPU", config)
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


class Pending:
    """One inference started by `ModelRunner.submit`; `result()` waits for it (once) and returns its outputs."""

    def __init__(self, request: Any = None, outputs: dict[str, np.ndarray] | None = None,
                 blob: np.ndarray | None = None) -> None:
        self._request, self._outputs = request, outputs
        self._blob = blob  # the input, read in place by the running network: kept alive until it is done

    @property
    def done(self) -> bool:
        return self._outputs is not None

    def result(self) -> dict[str, np.ndarray]:
        if self._outputs is None:
            req, self._request = self._request, None
            req.wait()  # releases the GIL
            self._outputs = {o.get_any_name(): np.asarray(req.get_tensor(o).data).copy() for o in req.model_outputs}
            self._blob = None
        return self._outputs


class ModelRunner:
    """One network, lazily loaded; `run(blob)` returns its outputs by name (copies, safe to keep). `submit(blob)`
    starts it and returns at once; up to `in_flight` submitted inferences run or wait at the same time (OpenVINO:
    one infer request each; submitting more first waits for the oldest). ONNX Runtime runs `submit` at once."""

    def __init__(self, path: Path, runtime: Runtime = "openvino", threads: int = 2, *,
                 input_shape: tuple[int, ...] | None = None, streams: int = 1, in_flight: int = 1) -> None:
        if not Path(path).is_file():
            raise ModelError(f"model file {path} not found; install models with `vsearch models install DIR`")
        if runtime not in ("openvino", "onnxruntime"):
            raise UsageError(f"runtime must be 'openvino' or 'onnxruntime', got {runtime!r}")
        if threads < 1:
            raise UsageError(f"threads must be >= 1, got {threads}")
        if streams < 1 or in_flight < 1:
            raise UsageError(f"streams and in_flight must be >= 1, got {streams} and {in_flight}")
        if input_shape is not None and runtime != "openvino":
            raise UsageError("input_shape (reshaping) needs the OpenVINO runtime")
        self.path, self.runtime, self.threads, self.input_shape = Path(path), runtime, threads, input_shape
        self.streams, self.in_flight = streams, in_flight
        self._requests: list[Any] = []
        self._pending: list[Pending | None] = []  # the last Pending of each request
        self._turn = 0
        self._session: Any = None

    @property
    def weights_sha256(self) -> str:
        return file_sha256(weights_file(self.path))

    def run(self, blob: np.ndarray) -> dict[str, np.ndarray]:
        return self.submit(blob).result()

    def submit(self, blob: np.ndarray) -> Pending:
        """Start the network on `blob` and return without waiting. The network reads `blob` in place (no copy of
        a 3 MB detector input per frame): the caller must not change it until the result is read."""
        if self.runtime == "openvino":
            if not self._requests:
                compiled = compiled_openvino(self.path, self.threads, input_shape=self.input_shape,
                                             streams=self.streams)
                self._requests = [compiled.create_infer_request() for _ in range(self.in_flight)]
                self._pending = [None] * self.in_flight
            k, self._turn = self._turn, (self._turn + 1) % len(self._requests)
            if (previous := self._pending[k]) is not None:
                previous.result()  # the request is reused: its last result is read out first, so it stays valid
            req = self._requests[k]
            req.start_async({0: blob}, share_inputs=True)
            self._pending[k] = Pending(req, blob=blob)
            return self._pending[k]  # type: ignore[return-value]
        if self._session is None:
            self._session = onnx_session(self.path, self.threads)
        name = self._session.get_inputs()[0].name
        outs = self._session.run(None, {name: blob})
        return Pending(outputs={o.name: v for o, v in zip(self._session.get_outputs(), outs)})
