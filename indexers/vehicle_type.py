"""Fine vehicle type of a tube (car / van / truck / bus): three weak opinions fused into one distribution.

No single installed model says it well: pvb-2002 calls every vehicle "car"; the vehicle-attributes model (type
car/bus/truck/van) is unreliable alone (it calls 23 of the 40 cars of a highway clip trucks); YOLOX-Nano knows
COCO car/bus/truck but COCO "truck" also covers vans and pickups. So each opinion becomes a distribution over
`FINE_TYPES` and they are averaged with fixed weights (YOLOX first, the type model second, box shape last),
leaving out the opinions that are absent. The result is stored as `models.vehicle_type` (most probable type),
`models.vehicle_type_p` (its probability), one `models.vehicle_type_p_<type>` per type and
`models.vehicle_type_from` (which opinions took part), which is what the query's vehicle-type words read.

Per-tube cost: one YOLOX inference per vehicle tube, on its few best crops (the ones kept for embedding) tiled
on one input, never on every frame.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vsearch.models.runtime import ModelRunner
from vsearch.indexers.yolox import YOLOX_INPUT, decode_yolox

FINE_TYPES = ("car", "van", "truck", "bus")
# how much each opinion weighs in the fused distribution (renormalised over the opinions present)
WEIGHT = {"yolox-nano": 0.6, "type-model": 0.25, "shape": 0.15}
# COCO class -> fine types: COCO "truck" is also vans and pickups, COCO "car" also minivans
_COCO_SPLIT = {2: {"car": 0.85, "van": 0.15}, 5: {"bus": 1.0}, 7: {"truck": 0.55, "van": 0.45}}
_MIN_YOLOX_SCORE = 0.1  # a crop where YOLOX sees no vehicle this sure gives no opinion
_MIN_OVERLAP = 0.3  # the YOLOX box must cover the tube's own box (the crop is padded, neighbours may show)
# a small crop blown up to fill YOLOX's 416 px input is no longer seen as a vehicle (measured on the highway
# clip: 2 of 19 crops recognised at full upscale, 14 of 19 at 2x)
_MAX_UPSCALE = 2.0
TALL_ASPECT = (0.9, 1.3)  # box height / width: a car ~0.7-0.9, a van, lorry or bus seen from a road camera >= 1.3


def fuse(opinions: dict[str, np.ndarray]) -> tuple[np.ndarray, str]:
    """Weighted mean of the opinions present (name -> distribution over `FINE_TYPES`, each summing to 1), and
    the names that took part joined by "+" (provenance). Raises ValueError when none is given."""
    names = [n for n in WEIGHT if n in opinions]
    if not names:
        raise ValueError("no vehicle-type opinion to fuse")
    w = np.array([WEIGHT[n] for n in names])
    dist = (w[:, None] * np.stack([np.asarray(opinions[n], np.float64) for n in names])).sum(0) / w.sum()
    return dist / dist.sum(), "+".join(names)


def shape_opinion(aspect_h_w: float) -> np.ndarray:
    """Box shape alone: a tall box (height/width >= 1.3) is as likely van, truck or bus; a flat one a car."""
    lo, hi = TALL_ASPECT
    tall = float(np.clip((aspect_h_w - lo) / (hi - lo), 0.0, 1.0))
    return np.array([1.0 - 0.75 * tall, 0.25 * tall, 0.25 * tall, 0.25 * tall])


def type_model_opinion(probs_car_bus_truck_van: np.ndarray) -> np.ndarray:
    """The vehicle-attributes model's type output (order car, bus, truck, van) reordered onto `FINE_TYPES`."""
    car, bus, truck, van = (float(v) for v in np.asarray(probs_car_bus_truck_van).reshape(-1)[:4])
    d = np.array([car, van, truck, bus])
    return d / d.sum() if d.sum() > 0 else np.full(4, 0.25)


def coco_opinion(coco_scores: dict[int, float]) -> np.ndarray | None:
    """COCO class scores of one object (2 car, 5 bus, 7 truck) -> distribution over `FINE_TYPES`; None when the
    best of them is under `_MIN_YOLOX_SCORE`."""
    if not coco_scores or max(coco_scores.values()) < _MIN_YOLOX_SCORE:
        return None
    d = np.zeros(len(FINE_TYPES))
    for coco, score in coco_scores.items():
        for t, share in _COCO_SPLIT.get(coco, {}).items():
            d[FINE_TYPES.index(t)] += share * score
    return d / d.sum()


def _iou(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    inter = ix * iy
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(areas + (box[2] - box[0]) * (box[3] - box[1]) - inter, 1e-9)


class YoloxCropTyper:
    """YOLOX-Nano on a tube's best crops: the COCO car/bus/truck scores of the detection that is the tube's own
    object (the one overlapping the unpadded box in the middle of the crop), averaged over crops."""

    name = "yolox-nano"

    def __init__(self, model_path: Path, threads: int = 2) -> None:
        self.crops = YoloxOnCrops(model_path, threads)

    @property
    def weights_sha256(self) -> str:
        return self.crops.weights_sha256

    def opinion(self, crops: list[np.ndarray], pad_frac: float = 0.1) -> np.ndarray | None:
        """None when YOLOX recognises the vehicle on none of the crops."""
        found = []
        for boxes, scores, own in self.crops.run(crops, pad_frac):
            vehicle = scores[:, [2, 5, 7]]
            best = np.where(_iou(boxes, own) >= _MIN_OVERLAP, vehicle.max(1), 0.0)
            i = int(np.argmax(best))
            op = coco_opinion({2: float(vehicle[i, 0]), 5: float(vehicle[i, 1]), 7: float(vehicle[i, 2])})
            if op is not None:
                found.append(op)
        return np.mean(found, axis=0) if found else None


class YoloxOnCrops:
    """YOLOX-Nano run once on up to 4 crops tiled 2x2 on its input (the crops are small: a 208-px cell holds
    them at up to 2x): per crop, every anchor's box (canvas pixels), its 80 COCO class scores (objectness x
    class probability) and the crop's own unpadded box."""

    def __init__(self, model_path: Path, threads: int = 2) -> None:
        self._runner = ModelRunner(Path(model_path), "openvino", threads)

    @property
    def weights_sha256(self) -> str:
        return self._runner.weights_sha256

    def run(self, crops: list[np.ndarray], pad_frac: float = 0.1) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        cell = YOLOX_INPUT // 2
        canvas = np.full((YOLOX_INPUT, YOLOX_INPUT, 3), 114, np.uint8)
        owns, cells = [], []
        for k, crop in enumerate([c for c in crops if c.size > 0][:4]):
            h, w = crop.shape[:2]
            r = min(cell / h, cell / w, _MAX_UPSCALE)
            nh, nw = max(1, int(round(h * r))), max(1, int(round(w * r)))
            ox, oy = (k % 2) * cell, (k // 2) * cell
            canvas[oy:oy + nh, ox:ox + nw] = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_LINEAR)
            # the tube's own box inside the padded crop, in canvas pixels
            owns.append(np.array([ox, oy, ox, oy]) + np.array([nw, nh, nw, nh]) *
                        np.array([pad_frac, pad_frac, 1 + pad_frac, 1 + pad_frac]) / (1 + 2 * pad_frac))
            cells.append(np.array([ox, oy, ox + cell, oy + cell], np.float64))
        if not owns:
            return []
        out = self._runner.run(canvas.transpose(2, 0, 1)[None].astype(np.float32))
        pred = out["output"] if "output" in out else next(iter(out.values()))
        pred = pred.reshape(-1, pred.shape[-1])
        boxes, _, _ = decode_yolox(pred, 1.0, -1.0)  # every anchor, in the order of `pred`
        scores = pred[:, 4:5] * pred[:, 5:]
        result = []
        for own, c in zip(owns, cells):  # only anchors centred in this crop's cell belong to it
            cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
            mine = (cx >= c[0]) & (cx < c[2]) & (cy >= c[1]) & (cy < c[3])
            result.append((boxes[mine], scores[mine], own))
        return result


def fine_type_outputs(dist: np.ndarray, sources: str) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, str], ...]]:
    """(probabilities, labels) entries of `ModelOutputs` for a fused distribution."""
    k = int(np.argmax(dist))
    probs = (("vehicle_type_p", round(float(dist[k]), 3)),) + tuple(
        (f"vehicle_type_p_{t}", round(float(p), 3)) for t, p in zip(FINE_TYPES, dist))
    return probs, (("vehicle_type", FINE_TYPES[k]), ("vehicle_type_from", sources))
