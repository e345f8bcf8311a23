"""Detector backends behind the `Detector` protocol: model detectors (OpenVINO / ONNX Runtime) and motion.

- `OpenVinoPVB`: Intel Open Model Zoo person-vehicle-bike-detection-2002 (default) or -2004, made for
  elevated CCTV views. Its "vehicle" label is reported as "car" (`source` says "pvb-2002", so later stages
  know it means "some vehicle"; finer types come from YOLOX / vehicle attributes).
- `YoloxNano`: COCO detector (letterbox, grid decode, NMS: `indexers/yolox.py`) mapped onto `CLASSES`.
- `MotionDetector`: weight-free background subtraction (MOG2 with shadow removal, morphology, connected
  components). The fallback on a machine without models (`degraded=True`), and the cheap activity trigger.

`make_detector("auto")` picks the best hash-verified model (built in, or installed) and says loudly when it had
to fall back to motion. Models are loaded lazily and compiled once per process. Model detectors can `start` the
network on a frame and `detect(frame, started)` later (`AheadDetector`): the detect stage starts the next frame's
network while the tracker and describers work on this one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import cv2
import numpy as np

from vsearch.models import registry as model_catalogue
from vsearch.models.runtime import ModelRunner, Pending, Runtime
from vsearch.errors import ModelError, UsageError
from vsearch.indexers.base import Detector
from vsearch.indexers.detector_input import detector_view
from vsearch.indexers.yolox import decode_yolox, letterbox, letterbox_scale, nms
from vsearch.records import CLASSES, Detections, Frame

if TYPE_CHECKING:
    from vsearch.models.resolve import ModelSet

_BG_RATIO = 0.9  # MOG2 background ratio
CLASS_ID = {name: i for i, name in enumerate(CLASSES)}
OTHER_ID = CLASS_ID["other"]
DEFAULT_CONF = 0.2  # tracker input: keep recall, the tracker needs several hits to confirm a tube
# OpenVINO threads of a model detector. One: the network runs on one core while the tracker and describers run on
# the other (the detect stage's look-ahead); on 2 cores a second thread cost ~30 % more CPU per frame (18 vs 24 ms
# for pvb-2002, spinning threads) for a lower latency that the look-ahead no longer needs, and gave the same
# outputs bit for bit (docs/benchmarks.md, "Detection beside tracking").
DEFAULT_THREADS = 1
# OpenVINO streams of a model detector: 1 = each frame on all threads (measured against 2, docs/benchmarks.md)
DEFAULT_STREAMS = 1
IN_FLIGHT = 2  # frames whose network may run at once: this one and the next (the detect stage's look-ahead)

PVB_LABELS = ("vehicle", "person", "bike")  # the model's own label names, by label index
_PVB_TO_OURS = np.array([CLASS_ID["car"], CLASS_ID["person"], CLASS_ID["bicycle"]], np.int16)

# COCO index -> our class; COCO classes not listed are dropped
COCO_TO_OURS = {0: CLASS_ID["person"], 1: CLASS_ID["bicycle"], 2: CLASS_ID["car"], 3: CLASS_ID["motorbike"],
                5: CLASS_ID["bus"], 7: CLASS_ID["truck"]}
_COCO_LUT = np.full(80, -1, np.int16)
for _coco, _ours in COCO_TO_OURS.items():
    _COCO_LUT[_coco] = _ours


# ----------------------------------------------------------------------------------------------- motion

class MotionDetector:
    """Foreground blobs from a MOG2 background model.

    Shadows (MOG2 value 127) are removed; opening removes speckle, closing joins fragments of one object;
    connected components smaller than `min_area_frac` of the frame are dropped, and components whose boxes
    lie within `merge_gap_frac` of the frame diagonal of each other are merged into one object. During the
    first `warmup_frames` frames the model learns fast (a running average) and nothing is reported, so
    whatever stands still from the start is background. After that the learning rate follows the frames'
    presentation times, whatever the sampling rate: an object that stops (a parked car, a person waiting)
    is absorbed into the background after about `absorb_s` seconds of stillness. Scores are the foreground
    fill ratio of each box; every detection is class "other" (geometry-based classes are assigned later by
    the tube stage).

    The detector keeps state across frames: use one instance per source, feeding frames in order.
    """

    name = "motion"
    degraded = True
    weights_sha256 = ""

    def __init__(self, *, absorb_s: float = 10.0, var_threshold: float = 16.0, warmup_frames: int = 8,
                 min_area_frac: float = 0.0005, merge_gap_frac: float = 0.01,
                 max_side_px: int | None = None) -> None:
        if warmup_frames < 1:
            raise UsageError(f"warmup_frames must be >= 1, got {warmup_frames}")
        if absorb_s <= 0:
            raise UsageError(f"absorb_s must be > 0 seconds, got {absorb_s}")
        self.absorb_s = absorb_s
        self.var_threshold = var_threshold
        self.warmup_frames = warmup_frames
        self.min_area_frac = min_area_frac
        self.merge_gap_frac = merge_gap_frac
        self.max_side_px = max_side_px  # analyse a downscaled copy (cheaper; masks are scaled back up)
        self._bg: Any = None
        self._seen = 0
        self._last_key: tuple[int, float] | None = None
        self._last_mask: np.ndarray | None = None
        self._last_pts_s: float | None = None
        self._dt_s = 0.04

    def reset(self) -> None:
        """Forget the background (call between sources)."""
        self._bg, self._seen, self._last_key, self._last_mask, self._last_pts_s = None, 0, None, None, None

    @property
    def warmed_up(self) -> bool:
        return self._seen > self.warmup_frames

    def foreground(self, frame: Frame) -> np.ndarray:
        """(H, W) bool foreground mask of `frame` (shadows removed, cleaned). Updates the background model
        once per frame: calling it again for the same frame returns the cached mask."""
        key = (frame.index, frame.pts_s)
        if key == self._last_key and self._last_mask is not None:
            return self._last_mask
        if self._bg is None:
            self._bg = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=self.var_threshold,
                                                          detectShadows=True)
            self._bg.setBackgroundRatio(_BG_RATIO)
        if self._last_pts_s is not None and frame.pts_s > self._last_pts_s:
            self._dt_s = frame.pts_s - self._last_pts_s
        self._last_pts_s = frame.pts_s
        # warm-up: a running average so the first frames become the background fast. Then a rate set by time:
        # a new still colour becomes background once its weight passes 1 - background ratio, i.e. after
        # about absorb_s seconds. (OpenCV's automatic rate, 1/min(2n, history), counts frames, not seconds,
        # and absorbs slow uniform objects early in a clip.)
        if self._seen < self.warmup_frames:
            rate = 1.0 / (self._seen + 1)
        else:
            rate = min(1.0, self._dt_s * (1.0 - _BG_RATIO) / self.absorb_s)
        img = frame.image
        h, w = img.shape[:2]
        f = 1.0 if self.max_side_px is None else min(1.0, self.max_side_px / max(h, w))
        if f < 1.0:
            img = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        raw = self._bg.apply(img, learningRate=rate)
        self._seen += 1
        mask = self._clean(raw > 200)  # 255 = foreground, 127 = shadow
        if f < 1.0:
            mask = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        self._last_key, self._last_mask = key, mask
        return mask

    def activity(self, frame: Frame) -> float:
        """Fraction of the frame that is moving foreground (0 during warm-up): the cheap trigger that says
        whether a model detector needs to run on this frame at all."""
        mask = self.foreground(frame)
        return float(mask.mean()) if self.warmed_up else 0.0

    def _clean(self, fg: np.ndarray) -> np.ndarray:
        h, w = fg.shape
        m = fg.astype(np.uint8)
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
        k = max(3, int(round(0.012 * np.hypot(h, w))) | 1)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        return m.astype(bool)

    def detect(self, frame: Frame) -> Detections:
        mask = self.foreground(frame)
        h, w = mask.shape
        if not self.warmed_up:
            return self._empty(frame, h, w)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
        keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= self.min_area_frac * h * w / 4]
        boxes = np.array([[stats[i, 0], stats[i, 1], stats[i, 0] + stats[i, 2], stats[i, 1] + stats[i, 3]]
                          for i in keep], np.float32).reshape(-1, 4)
        groups = [g for g in _merge_groups(boxes, self.merge_gap_frac * float(np.hypot(h, w)))
                  if stats[[keep[i] for i in g], cv2.CC_STAT_AREA].sum() >= self.min_area_frac * h * w]
        lut = np.zeros(n, np.int32)  # component label -> 1-based group number (0: background / dropped)
        for gi, g in enumerate(groups):
            lut[[keep[i] for i in g]] = gi + 1
        group_of = lut[labels]
        out_boxes, scores, masks = [], [], []
        for gi, g in enumerate(groups):
            x0, y0 = boxes[g, :2].min(0)
            x1, y1 = boxes[g, 2:].max(0)
            area = float(stats[[keep[i] for i in g], cv2.CC_STAT_AREA].sum())
            out_boxes.append((x0, y0, x1, y1))
            scores.append(area / float((x1 - x0) * (y1 - y0)))
            masks.append(group_of == gi + 1)
        if not out_boxes:
            return self._empty(frame, h, w)
        return Detections(
            boxes_xyxy=np.asarray(out_boxes, np.float32),
            scores=np.asarray(scores, np.float32),
            class_ids=np.full(len(out_boxes), OTHER_ID, np.int16),
            frame_index=frame.index, pts_s=frame.pts_s,
            masks=np.stack(masks), source=self.name,
        )

    def _empty(self, frame: Frame, h: int, w: int) -> Detections:
        return replace(Detections.empty(frame.index, frame.pts_s, self.name), masks=np.zeros((0, h, w), bool))


def _merge_groups(boxes: np.ndarray, gap_px: float) -> list[list[int]]:
    """Union-find over boxes whose gap-expanded rectangles overlap."""
    n = len(boxes)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if n:
        e = boxes + np.array([-gap_px, -gap_px, gap_px, gap_px], np.float32) / 2
        ix = (np.minimum(e[:, None, 2], e[None, :, 2]) > np.maximum(e[:, None, 0], e[None, :, 0]))
        iy = (np.minimum(e[:, None, 3], e[None, :, 3]) > np.maximum(e[:, None, 1], e[None, :, 1]))
        for i, j in zip(*np.nonzero(np.triu(ix & iy, 1))):
            parent[root(int(i))] = root(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


# ----------------------------------------------------------------------------------------------- model detectors (networks run by vsearch.models.runtime)

class AheadDetector(Detector, Protocol):
    """A detector whose network can be started on a frame before its boxes are needed: `start(frame)` returns at
    once; `detect(frame, started)` then waits for that run and builds the boxes (the same as `detect(frame)`:
    the network's output depends on the frame's pixels only; the masks' background model is updated in order,
    by `detect`)."""

    def start(self, frame: Frame) -> Pending: ...

    def detect(self, frame: Frame, started: Pending | None = None) -> Detections: ...


def _clip_boxes(boxes: np.ndarray, w: int, h: int) -> np.ndarray:
    out = boxes.astype(np.float32, copy=True)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, w)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, h)
    return out


def _box_masks(boxes: np.ndarray, motion: MotionDetector | None, frame: Frame) -> np.ndarray | None:
    """Foreground masks of model boxes: the box intersected with the motion mask (None without motion)."""
    if motion is None:
        return None
    fg = motion.foreground(frame)
    h, w = fg.shape
    masks = np.zeros((len(boxes), h, w), bool)
    px = np.c_[np.floor(boxes[:, :2]), np.ceil(boxes[:, 2:])].astype(int)  # every pixel the box touches
    for i, (x0, y0, x1, y1) in enumerate(px):
        masks[i, y0:y1, x0:x1] = fg[y0:y1, x0:x1]
    return masks


# ----------------------------------------------------------------------------------------------- PVB

_PVB_FILES = {"pvb-2002": "person-vehicle-bike-detection-2002", "pvb-2004": "person-vehicle-bike-detection-2004"}
_PVB_INPUT_HW = {"pvb-2002": (512, 512), "pvb-2004": (256, 448)}


class _NetworkDetector:
    """What the two network detectors share: the runner that holds their weights, and the motion model that
    gives their boxes foreground masks."""

    _runner: ModelRunner
    motion: MotionDetector | None

    @property
    def weights_sha256(self) -> str:
        return self._runner.weights_sha256

    def reset(self) -> None:
        """Forget per-source state (the motion model used for masks)."""
        if self.motion is not None:
            self.motion.reset()


class OpenVinoPVB(_NetworkDetector):
    """Open Model Zoo person-vehicle-bike detector (2002: SSD output, 2004: boxes+labels output)."""

    degraded = False

    def __init__(self, model_path: Path, *, variant: Literal["pvb-2002", "pvb-2004"] = "pvb-2002",
                 conf_threshold: float = DEFAULT_CONF, threads: int = DEFAULT_THREADS,
                 motion: MotionDetector | None = None, streams: int = DEFAULT_STREAMS) -> None:
        if variant not in _PVB_FILES:
            raise UsageError(f"variant must be one of {sorted(_PVB_FILES)}, got {variant!r}")
        self.name = variant
        self.conf_threshold = conf_threshold
        self.motion = motion
        self._runner = ModelRunner(Path(model_path), "openvino", threads, streams=streams, in_flight=IN_FLIGHT)

    def start(self, frame: Frame) -> Pending:
        in_h, in_w = _PVB_INPUT_HW[self.name]
        blob = cv2.resize(detector_view(frame.image), (in_w, in_h), interpolation=cv2.INTER_LINEAR)
        return self._runner.submit(blob.transpose(2, 0, 1)[None].astype(np.float32))

    def detect(self, frame: Frame, started: Pending | None = None) -> Detections:
        h, w = frame.image.shape[:2]
        in_h, in_w = _PVB_INPUT_HW[self.name]
        out = (started or self.start(frame)).result()
        if self.name == "pvb-2002":
            det = out["detection_out"].reshape(-1, 7)
            det = det[det[:, 0] >= 0]  # image_id -1 ends the list
            labels, scores = det[:, 1].astype(int), det[:, 2]
            boxes = det[:, 3:7] * np.array([w, h, w, h], np.float32)
        else:
            raw = out["boxes"].reshape(-1, 5)
            labels, scores = out["labels"].reshape(-1).astype(int), raw[:, 4]
            boxes = raw[:, :4] * np.array([w / in_w, h / in_h, w / in_w, h / in_h], np.float32)
        keep = (scores >= self.conf_threshold) & (labels >= 0) & (labels < len(PVB_LABELS))
        boxes = _clip_boxes(boxes[keep], w, h)
        keep_size = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, labels, scores = boxes[keep_size], labels[keep][keep_size], scores[keep][keep_size]
        return Detections(
            boxes_xyxy=boxes, scores=scores.astype(np.float32), class_ids=_PVB_TO_OURS[labels],
            frame_index=frame.index, pts_s=frame.pts_s, masks=_box_masks(boxes, self.motion, frame),
            source=self.name,
        )


# ----------------------------------------------------------------------------------------------- YOLOX

class YoloxNano(_NetworkDetector):
    """YOLOX-Nano (COCO) mapped onto `CLASSES`; COCO classes outside `COCO_TO_OURS` are dropped, then one
    class-agnostic NMS keeps the best box per object."""

    name = "yolox-nano"
    degraded = False

    def __init__(self, model_path: Path, *, conf_threshold: float = DEFAULT_CONF, nms_iou: float = 0.45,
                 threads: int = DEFAULT_THREADS, runtime: Runtime = "openvino",
                 motion: MotionDetector | None = None, streams: int = DEFAULT_STREAMS) -> None:
        self.conf_threshold = conf_threshold
        self.nms_iou = nms_iou
        self.motion = motion
        self._runner = ModelRunner(Path(model_path), runtime, threads, in_flight=IN_FLIGHT,
                                   streams=streams if runtime == "openvino" else 1)

    @classmethod
    def from_models_dir(cls, models_dir: Path, *, verify: bool = True, **kwargs: Any) -> YoloxNano:
        """Open the catalogue's YOLOX file in `models_dir` (hash-verified unless verify=False)."""
        return cls(_model_path("yolox-nano", models_dir, verify), **kwargs)

    def start(self, frame: Frame) -> Pending:
        blob = letterbox(detector_view(frame.image))[0]
        return self._runner.submit(blob.transpose(2, 0, 1)[None].astype(np.float32))

    def detect(self, frame: Frame, started: Pending | None = None) -> Detections:
        h, w = frame.image.shape[:2]
        r = letterbox_scale(h, w)
        out = (started or self.start(frame)).result()
        pred = next(iter(out.values())) if "output" not in out else out["output"]
        boxes, scores, coco = decode_yolox(pred.reshape(-1, pred.shape[-1]), r, self.conf_threshold)
        ours = _COCO_LUT[coco]
        sel = ours >= 0
        boxes, scores, coco, ours = boxes[sel], scores[sel], coco[sel], ours[sel]
        # class-agnostic NMS: the tracker wants one box per object, not a "car" and a "truck" on one vehicle
        keep = nms(boxes, scores, self.nms_iou)
        boxes = _clip_boxes(boxes[keep].reshape(-1, 4), w, h)
        return Detections(
            boxes_xyxy=boxes, scores=scores[keep], class_ids=ours[keep].astype(np.int16),
            frame_index=frame.index, pts_s=frame.pts_s, masks=_box_masks(boxes, self.motion, frame),
            source=self.name,
        )


# ----------------------------------------------------------------------------------------------- choice

def _model_path(key: str, models_dir: Path, verify: bool) -> Path:
    entry = model_catalogue.CATALOGUE[key]
    if verify:
        found = model_catalogue.installed(models_dir)
        if key not in found:
            raise ModelError(f"model {key} is not installed (or fails its hash check) in {models_dir}; "
                             f"{install_hint()}")
        return found[key]
    return Path(models_dir) / entry.main_file.relpath


def install_hint() -> str:
    return ("install the model files with `vsearch models install /path/to/models` (from a folder or USB "
            "stick) or `vsearch models fetch` (internet), or set VSEARCH_MODELS to a folder holding them")


@dataclass
class DetectorChoice:
    """The detector picked, the motion detector used for masks / activity, and a warning when degraded."""

    detector: Detector
    motion: MotionDetector
    warning: str | None = None


@dataclass(frozen=True)
class DetectorSettings:
    conf_threshold: float = DEFAULT_CONF
    threads: int = DEFAULT_THREADS
    runtime: Runtime = "openvino"
    streams: int = DEFAULT_STREAMS


@dataclass(frozen=True)
class DetectorKind:
    """One model detector: how to build it from its resolved model file (the file, its SHA-256 and licence are
    the model catalogue entry with the same key, `vsearch.models.registry.CATALOGUE`)."""

    key: str  # the --detector name, the catalogue key, and the name recorded with every tube
    build: Callable[[Path, DetectorSettings, MotionDetector], Detector]
    auto_rank: int | None = None  # "auto" tries resolved kinds by rank (lowest first); None: only when named


# The registry of model detectors: adding one is one entry here (plus its catalogue entry and its tests).
DETECTORS: dict[str, DetectorKind] = {k.key: k for k in (
    DetectorKind("pvb-2002", lambda p, s, m: OpenVinoPVB(p, variant="pvb-2002", conf_threshold=s.conf_threshold,
                                                         threads=s.threads, motion=m, streams=s.streams),
                 auto_rank=0),
    DetectorKind("pvb-2004", lambda p, s, m: OpenVinoPVB(p, variant="pvb-2004", conf_threshold=s.conf_threshold,
                                                         threads=s.threads, motion=m, streams=s.streams)),
    DetectorKind("yolox-nano", lambda p, s, m: YoloxNano(p, conf_threshold=s.conf_threshold, threads=s.threads,
                                                         runtime=s.runtime, motion=m, streams=s.streams),
                 auto_rank=1),
)}
DETECTOR_CHOICES: tuple[str, ...] = ("auto", "motion", *DETECTORS)


def make_detector(kind: str = "auto", models: ModelSet | None = None, *, conf_threshold: float = DEFAULT_CONF,
                  threads: int | None = None, runtime: Runtime = "openvino",
                  mask_max_side_px: int = 320, streams: int | None = None) -> DetectorChoice:
    """Build a detector from a resolved model set (default: `resolve_models()`, which includes the built-in
    models). "auto": the verified model detector of lowest `auto_rank` (pvb-2002, then yolox-nano), else motion
    (with a warning saying how to install models); motion too, loudly, when the runtime is not installed. A named
    model that is missing raises ModelError. Model detectors get masks from a motion detector working at
    `mask_max_side_px` (cheap); the motion fallback works at the full analysis size."""
    if kind not in DETECTOR_CHOICES:
        raise UsageError(f"detector must be one of {', '.join(DETECTOR_CHOICES)}; got {kind!r}")
    if kind == "motion":
        motion = MotionDetector()
        return DetectorChoice(motion, motion, "motion-only detection was requested: objects are found by "
                              "background subtraction only, with no person/vehicle classes")
    from vsearch.models.resolve import missing_runtime, resolve_models

    models = resolve_models() if models is None else models
    motion = MotionDetector(max_side_px=mask_max_side_px)  # foreground masks for model boxes
    ranked = sorted((k for k in DETECTORS.values() if k.auto_rank is not None), key=lambda k: k.auto_rank or 0)
    wanted = [k.key for k in ranked] if kind == "auto" else [kind]
    settings = DetectorSettings(conf_threshold, DEFAULT_THREADS if threads is None else threads, runtime,
                                DEFAULT_STREAMS if streams is None else streams)
    no_runtime = missing_runtime("openvino" if kind != "yolox-nano" else runtime)
    for key in wanted:
        path = models.path(key)
        if path is not None and no_runtime is None:
            return DetectorChoice(DETECTORS[key].build(path, settings, motion), motion, None)
    folders = ", ".join(str(layer.folder) for layer in models.layers)
    if kind != "auto":
        if no_runtime is not None:
            raise ModelError(f"detector {kind}: {no_runtime}")
        raise ModelError(f"model {kind} is not installed (or fails its hash check) in {folders}; {install_hint()}")
    motion = MotionDetector()  # now the detector itself: full analysis resolution
    passed = [f"{m.key}: passed over {p}" for m in map(models.get, wanted) for p in m.passed_over]
    found_any = any(models.path(key) is not None for key in wanted)
    runtime_is_why = found_any and no_runtime is not None
    why = no_runtime if runtime_is_why else "; ".join(passed) or f"no detector model found in {folders}"
    fix = "install that package and re-index" if runtime_is_why else install_hint()
    return DetectorChoice(motion, motion, (
        f"DEGRADED MODE: {why}. Falling back to motion detection: objects are found by background subtraction "
        f"only, without person/vehicle classes, and parked or slow objects may be missed. To fix, {fix}."))
