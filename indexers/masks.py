"""Compact foreground masks: a boolean mask cropped to its box, run-length encoded as text.

Format: "<h>x<w>:<first>:<run>,<run>,..." over the row-major flattened crop; `first` is the value (0/1) of
the first run. Small, lossless, JSON/Arrow friendly, and decodable without any image library.
"""

from __future__ import annotations

import numpy as np


def encode(mask: np.ndarray) -> str:
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    h, w = mask.shape
    flat = mask.astype(bool).ravel()
    if flat.size == 0:
        return f"{h}x{w}:0:"
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds)
    return f"{h}x{w}:{int(flat[0])}:" + ",".join(map(str, runs.tolist()))


def decode(text: str) -> np.ndarray:
    try:
        shape, first, runs_txt = text.split(":")
        h, w = (int(v) for v in shape.split("x"))
        runs = [int(r) for r in runs_txt.split(",")] if runs_txt else []
    except ValueError as e:
        raise ValueError(f"not a mask RLE string: {text[:40]!r}") from e
    if sum(runs) != h * w:
        raise ValueError(f"mask RLE covers {sum(runs)} pixels, expected {h}x{w}")
    values = (np.arange(len(runs)) + int(first)) % 2
    return np.repeat(values.astype(bool), runs).reshape(h, w)
