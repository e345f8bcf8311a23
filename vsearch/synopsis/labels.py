"""Object labels burnt into the synopsis: real wall-clock time next to each object."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

LABEL_COLOUR = (255, 255, 255)
OUTLINE_COLOUR = (0, 0, 0)


def font_scale(out_h: int) -> float:
    return max(0.35, 0.5 * out_h / 720)


def draw_label(img: np.ndarray, text: str, box: Sequence[float]) -> None:
    """White text with a dark outline just above the box (below it when there is no room)."""
    scale = font_scale(img.shape[0])
    thick = max(1, int(round(scale * 2)))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x = int(min(max(box[0], 2), img.shape[1] - tw - 2))
    y = int(box[1]) - 4
    if y - th < 2:
        y = int(box[3]) + th + 4
    y = int(min(y, img.shape[0] - base - 2))
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, OUTLINE_COLOUR, thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, LABEL_COLOUR, thick, cv2.LINE_AA)

