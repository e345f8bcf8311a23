"""Descriptive attributes of a tube: motion, class from geometry, thumbnail quality, models.

Everything here except the two model wrappers at the end is a pure function of arrays, so it can be tested on
exact synthetic data. Coordinates are analysis pixels unless a name says otherwise; `scale` converts them to
source pixels (source = analysis * scale), as in `vsearch.records.Frame`.

Named colours (palette and tones) live in `vsearch.indexers.colours`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vsearch.indexers.carried import carried_items
from vsearch.indexers.vehicle_type import (
    YoloxCropTyper,
    fine_type_outputs,
    fuse,
    shape_opinion,
    type_model_opinion,
)
from vsearch.models.runtime import ModelRunner
from vsearch.records import CLASSES, ModelOutputs

if TYPE_CHECKING:
    from vsearch.models.resolve import ModelSet

DIRECTIONS8 = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")  # counter-clockwise from east, image y is down
EDGES = ("left", "right", "top", "bottom", "inside")


# --- motion ------------------------------------------------------------------------------------------------


def ground_points(boxes_xyxy: np.ndarray) -> np.ndarray:
    """Bottom-centre of each box (the point touching the ground), (T, 2)."""
    b = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    return np.stack([(b[:, 0] + b[:, 2]) / 2.0, b[:, 3]], axis=1)


def _resample(pts_s: np.ndarray, xy: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(pts_s, np.float64)
    if len(t) < 2 or t[-1] - t[0] < step_s:
        return t, xy
    grid = np.arange(t[0], t[-1] + 1e-9, step_s)
    return grid, np.stack([np.interp(grid, t, xy[:, 0]), np.interp(grid, t, xy[:, 1])], axis=1)


def _smooth(xy: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(xy) < window:
        return xy
    pad = window // 2
    padded = np.pad(xy, ((pad, pad), (0, 0)), mode="edge")
    kernel = np.ones(window) / window
    return np.stack([np.convolve(padded[:, k], kernel, mode="valid")[: len(xy)] for k in range(2)], axis=1)


@dataclass(frozen=True)
class MotionSummary:
    direction8: str
    horizontal: str
    vertical: str
    speed_mean_px_s: float
    speed_max_px_s: float
    stationary_max_s: float
    stationary_total_s: float


def motion_summary(pts_s: np.ndarray, boxes_xyxy: np.ndarray, frame_w: int, *, scale: float = 1.0,
                   min_move_frac: float = 0.05, step_s: float = 0.2, smooth_s: float = 1.0,
                   still_heights_s: float = 0.25) -> MotionSummary:
    """Direction, speed and stationary periods of a track from its per-sample times and boxes.

    The ground-point trajectory is resampled every `step_s` and smoothed over `smooth_s` (detection jitter);
    speeds are in source pixels/s (`scale` = source/analysis). Direction is the net displacement from the
    start to the end (means over the first / last second, or quarter of the track if shorter): "none" if it is shorter than `min_move_frac` of the
    frame width and half the median box height; left/right and up/down are reported per axis with the same
    threshold. A resampled step is stationary when the smoothed speed is under `still_heights_s` median box
    heights per second.
    """
    t = np.asarray(pts_s, np.float64)
    b = np.asarray(boxes_xyxy, np.float64).reshape(-1, 4)
    xy = ground_points(b)
    box_h = float(np.median(b[:, 3] - b[:, 1])) if len(b) else 0.0
    if len(t) < 2 or t[-1] <= t[0]:
        return MotionSummary("none", "none", "none", 0.0, 0.0, 0.0, 0.0)
    grid, rs = _resample(t, xy, step_s)
    sm = _smooth(rs, max(1, int(round(smooth_s / step_s)) | 1))
    edge = max(1, int(round(min(1.0, 0.25 * float(t[-1] - t[0])) / step_s)))
    start, end = rs[: min(edge, len(rs))].mean(axis=0), rs[-min(edge, len(rs)):].mean(axis=0)
    dx, dy = float(end[0] - start[0]), float(end[1] - start[1])
    thr = max(min_move_frac * frame_w, 0.5 * box_h)
    horizontal = "none" if abs(dx) < thr else ("right" if dx > 0 else "left")
    vertical = "none" if abs(dy) < thr else ("down" if dy > 0 else "up")
    if np.hypot(dx, dy) < thr:
        direction = "none"
    else:
        angle = np.degrees(np.arctan2(-dy, dx)) % 360.0
        direction = DIRECTIONS8[int(((angle + 22.5) % 360.0) // 45.0)]
    dt = np.diff(grid)
    speed = np.hypot(*np.diff(sm, axis=0).T) / np.maximum(dt, 1e-9)
    still = speed < still_heights_s * max(box_h, 1.0)
    runs, cur = [], 0.0
    for s, d in zip(still, dt):
        if s:
            cur += d
        elif cur > 0:
            runs.append(cur)
            cur = 0.0
    runs.append(cur)
    duration = float(t[-1] - t[0])
    path_len = float(np.sum(np.hypot(*np.diff(sm, axis=0).T)))
    return MotionSummary(
        direction8=direction, horizontal=horizontal, vertical=vertical,
        speed_mean_px_s=round(path_len / duration * scale, 3),
        speed_max_px_s=round(float(speed.max(initial=0.0)) * scale, 3),
        stationary_max_s=round(float(max(runs)), 3),
        stationary_total_s=round(float(np.sum(dt[still])), 3),
    )


def edge_of(box_xyxy: np.ndarray, frame_w: int, frame_h: int, margin_frac: float = 0.03) -> str:
    """Which frame edge a box touches ("left", "right", "top", "bottom"), or "inside"; the closest wins."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    gaps = {"left": x0 / frame_w, "right": (frame_w - x1) / frame_w, "top": y0 / frame_h,
            "bottom": (frame_h - y1) / frame_h}
    name, gap = min(gaps.items(), key=lambda kv: kv[1])
    return name if gap <= margin_frac else "inside"


def simplify_path(pts_s: np.ndarray, xy_norm: np.ndarray, tolerance: float = 0.004,
                  max_points: int = 256) -> list[list[float]]:
    """Douglas-Peucker simplification of a normalised (0-1) ground-point path to [[pts_s, x, y], ...]; keeps
    the first and last point, at most `max_points` (the tolerance is doubled until it fits)."""
    t = np.asarray(pts_s, np.float64)
    p = np.asarray(xy_norm, np.float64).reshape(-1, 2)
    if len(p) == 0:
        return []
    keep = _rdp(p, tolerance)
    while keep.sum() > max_points:
        tolerance *= 2.0
        keep = _rdp(p, tolerance)
    return [[round(float(t[i]), 3), round(float(p[i, 0]), 4), round(float(p[i, 1]), 4)] for i in np.flatnonzero(keep)]


def _rdp(p: np.ndarray, tol: float) -> np.ndarray:
    keep = np.zeros(len(p), bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(p) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        seg = p[j] - p[i]
        rel = p[i + 1: j] - p[i]
        norm = float(np.hypot(*seg))
        d = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / norm if norm > 0 else np.hypot(rel[:, 0], rel[:, 1])
        k = int(np.argmax(d))
        if d[k] > tol:
            keep[i + 1 + k] = True
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return keep


# --- class ---------------------------------------------------------------------------------------------------


def geometry_class(size_px: tuple[float, float], frame_wh: tuple[int, int], speed_px_s: float) -> str:
    """Class from geometry when no detector label exists (motion-only indexing). Documented rules, in order:

    - upright box (h/w >= 1.3): "person" when it moves under 2.5 box heights/s, else "bicycle" (a rider);
    - wide box (w/h >= 1.15): "bus" if longer than 2.6 h and larger than 6 % of the frame area, "truck" if
      larger than 10 % of the frame area, "motorbike" if smaller than 0.4 % of the frame and faster than
      1.5 box widths/s (a small fast wide blob), else "car";
    - anything else (square-ish blobs): "other".
    Sizes are median box sizes; all ratios are scale-free so analysis or source pixels both work.
    """
    w, h = float(size_px[0]), float(size_px[1])
    fw, fh = frame_wh
    if w <= 0 or h <= 0:
        return "other"
    area = w * h / float(fw * fh)
    if h / w >= 1.3:
        return "person" if speed_px_s < 2.5 * h else "bicycle"
    if w / h >= 1.15:
        if w / h >= 2.6 and area > 0.06:
            return "bus"
        if area > 0.10:
            return "truck"
        if area < 0.004 and speed_px_s > 1.5 * w:
            return "motorbike"
        return "car"
    return "other"


def class_vote(class_ids: np.ndarray, scores: np.ndarray) -> tuple[str, dict[str, float]]:
    """Score-weighted majority vote over per-sample detector labels -> (class, {name: fraction})."""
    ids = np.asarray(class_ids, np.int64)
    w = np.bincount(ids, weights=np.asarray(scores, np.float64), minlength=len(CLASSES))
    total = float(w.sum())
    if total <= 0:
        return "other", {}
    votes = {CLASSES[i]: round(float(w[i] / total), 4) for i in np.argsort(-w, kind="stable") if w[i] > 0}
    return CLASSES[int(np.argmax(w))], votes


# --- thumbnails ----------------------------------------------------------------------------------------------


def crop_quality(crop_bgr: np.ndarray, score: float, touches_edge: bool) -> float:
    """Thumbnail quality: sqrt(area) x sharpness (variance of the Laplacian, saturating) x detector score,
    halved when the box is cut by the frame edge."""
    h, w = crop_bgr.shape[:2]
    if h < 2 or w < 2:
        return 0.0
    grey = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2GRAY)
    sharp = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    return float(np.sqrt(h * w) * (sharp / (sharp + 50.0)) * max(score, 0.05) * (0.5 if touches_edge else 1.0))


def pad_box(box_xyxy: np.ndarray, frame_w: int, frame_h: int, pad_frac: float = 0.1) -> tuple[int, int, int, int]:
    """Integer crop window around a box, padded by `pad_frac` of its size and clipped to the frame."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    px, py = (x1 - x0) * pad_frac, (y1 - y0) * pad_frac
    return (max(0, int(np.floor(x0 - px))), max(0, int(np.floor(y0 - py))),
            min(frame_w, int(np.ceil(x1 + px))), min(frame_h, int(np.ceil(y1 + py))))


# --- attribute models (OpenVINO, optional) -------------------------------------------------------------------

# Output 453 order: is_male, has_bag, has_backpack, has_hat, has_longsleeves, has_longpants, has_longhair,
# has_coat_jacket. Sex and hair are never read out (legal rule); only these indices are kept.
_PERSON_KEEP = {1: "has_bag", 2: "has_backpack", 3: "has_hat", 4: "has_longsleeves", 5: "has_longpants",
                7: "has_coat_jacket"}
_VEHICLE_COLOURS = ("white", "grey", "yellow", "red", "green", "blue", "black")
_VEHICLE_TYPES = ("car", "bus", "truck", "van")


def _blob(crop_bgr: np.ndarray, w: int, h: int) -> np.ndarray:
    return cv2.resize(crop_bgr, (w, h), interpolation=cv2.INTER_LINEAR).transpose(2, 0, 1)[None].astype(np.float32)


class AttributeModels:
    """Person-attribute and vehicle-attribute models of a resolved, hash-verified model set, loaded lazily;
    absent models are simply skipped (`describe` returns {} for that class)."""

    def __init__(self, models: ModelSet | None) -> None:
        self._xml: dict[str, Path] = {}
        self._sha: dict[str, str] = {}  # weights SHA-256, verified when the set was resolved
        if models is not None:
            for kind, key in (("person", "person-attributes-0230"), ("vehicle", "vehicle-attributes-0039")):
                xml = models.path(key)
                if xml is not None:
                    self._xml[kind], self._sha[kind] = xml, models.get(key).weights_sha256
        self._runners: dict[str, ModelRunner] = {}
        yolox = None if models is None else models.path("yolox-nano")
        self._typer = None if yolox is None else YoloxCropTyper(yolox)

    @property
    def keys(self) -> list[str]:
        """"person", "vehicle" and/or "fine-type" (YOLOX on crops): the attribute models present."""
        return sorted(self._xml) + (["fine-type"] if self._typer is not None else [])

    @property
    def names(self) -> list[str]:
        return sorted(xml.stem for xml in self._xml.values()) + (["yolox-nano-crops"] if self._typer else [])

    def _model(self, key: str) -> ModelRunner:
        if key not in self._runners:
            self._runners[key] = ModelRunner(self._xml[key], "openvino", threads=2)
        return self._runners[key]

    def provenance(self, key: str) -> tuple[str, str]:
        """(model name, SHA-256 of its weights file) of the model used for "person", "vehicle" or "fine-type"."""
        if key == "fine-type":
            assert self._typer is not None
            return self._typer.name, self._typer.weights_sha256
        return self._xml[key].stem, self._sha[key]

    def describe(self, class_name: str, crops: list[np.ndarray], aspect_h_w: float | None = None) -> ModelOutputs:
        """Averaged model outputs over a tube's kept crops; empty when no model covers the class.
        `aspect_h_w`: the tube's median box height / width (source pixels), one opinion on the vehicle type."""
        crops = [c for c in crops if c.size > 0]
        if not crops:
            return ModelOutputs()
        if class_name == "person":
            return self._person(crops)
        if class_name in ("car", "bus", "truck"):
            return self._vehicle(crops, aspect_h_w)
        return ModelOutputs()

    def _person(self, crops: list[np.ndarray]) -> ModelOutputs:
        """The person-attribute model's outputs (sex and hair left out) and the carried objects YOLOX sees
        (`vsearch.indexers.carried`)."""
        probs: tuple[tuple[str, float], ...] = ()
        model, sha = "", ""
        if "person" in self._xml:
            m = self._model("person")
            scores = np.mean([np.asarray(m.run(_blob(c, 80, 160))["453"]).reshape(-1) for c in crops], axis=0)
            model, sha = self.provenance("person")
            probs = tuple((key, round(float(scores[i]), 3)) for i, key in _PERSON_KEEP.items())
        if self._typer is not None:
            probs += carried_items(self._typer.crops, crops)
            if not model:
                model, sha = self.provenance("fine-type")
        return ModelOutputs(model=model, weights_sha256=sha, probabilities=probs)

    def _vehicle(self, crops: list[np.ndarray], aspect_h_w: float | None) -> ModelOutputs:
        """Colour from the vehicle-attributes model; the fine type fused from YOLOX on the crops, that model's
        type and the box shape (see `vsearch.indexers.vehicle_type`). The model's own type stays stored as
        `vehicle_attr_type` / `vehicle_attr_type_p`."""
        opinions: dict[str, np.ndarray] = {}
        probs: tuple[tuple[str, float], ...] = ()
        labels: tuple[tuple[str, str], ...] = ()
        model, sha = "", ""
        if "vehicle" in self._xml:
            m = self._model("vehicle")
            outs = [m.run(_blob(c, 72, 72)) for c in crops]
            colour = np.mean([np.asarray(o["color"]).reshape(-1) for o in outs], axis=0)
            vtype = np.mean([np.asarray(o["type"]).reshape(-1) for o in outs], axis=0)
            model, sha = self.provenance("vehicle")
            probs = (("vehicle_colour_p", round(float(colour.max()), 3)),
                     ("vehicle_attr_type_p", round(float(vtype.max()), 3)))
            labels = (("vehicle_colour", _VEHICLE_COLOURS[int(np.argmax(colour))]),
                      ("vehicle_attr_type", _VEHICLE_TYPES[int(np.argmax(vtype))]))
            opinions["type-model"] = type_model_opinion(vtype)
        if self._typer is not None:
            yolox = self._typer.opinion(crops)
            if yolox is not None:
                opinions["yolox-nano"] = yolox
            if not model:
                model, sha = self.provenance("fine-type")
        if not opinions:  # the shape alone is no type: leave it "not measurable"
            return ModelOutputs(model=model, weights_sha256=sha, probabilities=probs, labels=labels)
        if aspect_h_w is not None and np.isfinite(aspect_h_w):
            opinions["shape"] = shape_opinion(aspect_h_w)
        fp, fl = fine_type_outputs(*fuse(opinions))
        return ModelOutputs(model=model, weights_sha256=sha, probabilities=probs + fp, labels=labels + fl)
