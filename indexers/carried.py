"""Objects a person carries (bag, backpack, suitcase, umbrella), from YOLOX-Nano's COCO classes on the person
tube's best crops.

The person-attribute model says has_bag / has_backpack but knows no suitcase or umbrella, and small people fool
it; YOLOX-Nano (COCO: backpack, umbrella, handbag, suitcase) sees those objects when they are large enough. It
runs once per person tube on its few best crops tiled on one input (`YoloxOnCrops`), never on every frame. An
item counts for the crop when a YOLOX box of that class lies mostly inside the person's own box, widened for
what is held at arm's length and raised for an umbrella over the head. The tube's probability is the mean of
its two best crops (an item is often hidden on some crops; one lucky crop is not enough).
"""

from __future__ import annotations

import numpy as np

from vsearch.indexers.vehicle_type import YoloxOnCrops

# COCO class id -> stored probability key (`models.<key>`), read by the query's item words
CARRIED = {24: "coco_backpack", 25: "has_umbrella", 26: "coco_handbag", 28: "has_suitcase"}
_INSIDE = 0.6  # share of the item's box that must lie in the (widened) person box
_WIDEN = 0.25  # the person box widened by this share of its width on each side (bag held at arm's length)
_RAISE = 0.5  # and raised by this share of its height (umbrella above the head)


def _inside_share(boxes: np.ndarray, region: np.ndarray) -> np.ndarray:
    ix = np.clip(np.minimum(boxes[:, 2], region[2]) - np.maximum(boxes[:, 0], region[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 3], region[3]) - np.maximum(boxes[:, 1], region[1]), 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return ix * iy / np.maximum(area, 1e-9)


def carried_items(yolox: YoloxOnCrops, crops: list[np.ndarray]) -> tuple[tuple[str, float], ...]:
    """(key, probability) per `CARRIED` class for one person tube; () without crops."""
    per_crop = [crop_item_scores(boxes, scores, own) for boxes, scores, own in yolox.run(crops)]
    if not per_crop:
        return ()
    best2 = np.sort(np.asarray(per_crop), axis=0)[::-1][:2].mean(axis=0)
    return tuple((key, round(float(p), 3)) for key, p in zip(CARRIED.values(), best2))


def crop_item_scores(boxes: np.ndarray, scores: np.ndarray, own: np.ndarray) -> list[float]:
    """Per `CARRIED` class, the best score of a box of the crop that lies mostly inside the person's region
    (`own` widened and raised); boxes (N, 4) and scores (N, 80) as `YoloxOnCrops.run` gives them."""
    w, h = own[2] - own[0], own[3] - own[1]
    region = own + np.array([-_WIDEN * w, -_RAISE * h, _WIDEN * w, 0.0])
    near = _inside_share(boxes, region) >= _INSIDE
    return [float(scores[near, k].max()) if near.any() else 0.0 for k in CARRIED]
