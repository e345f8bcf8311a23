"""Synthetic scenes for the synopsis planner (tests and bench/bench_synopsis.py), with exact ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import synth


def lane_scene(path: Path, *, duration_s: float = 600.0, n_objects: int = 40, lanes: int = 4, width: int = 640,
               height: int = 360, fps: int = 5, seed: int = 3, write: bool = True) -> synth.SynthVideo:
    """A road seen from the side: `n_objects` cars spread over `lanes` horizontal lanes (alternate lanes go
    the other way), entering at random times over `duration_s`, each crossing the 640x360 frame in 10-16 s (so a car
    can catch up with a slower one ahead in its lane). Colours `h00`..`h11` of `synth.hue_palette(12)`.
    `write=False` only builds the ground truth."""
    rng = np.random.default_rng(seed)
    palette = {f"h{i:02d}": c for i, c in enumerate(synth.hue_palette(12))}
    lane_y = (np.arange(lanes) + 0.5) / lanes * height
    lane_h = height / lanes
    objs = []
    for k in range(n_objects):
        lane = k % lanes
        cross = float(rng.uniform(10, 16))
        t0 = float(rng.uniform(1, duration_s - cross - 1))
        size = (int(rng.integers(26, 38)), int(round(lane_h * 0.55)))
        xs = (-size[0] / 2 + 1, width + size[0] / 2 - 1) if lane % 2 == 0 else (width + size[0] / 2 - 1, -size[0] / 2 + 1)
        objs.append(synth.SynthObject(k, f"h{k % 12:02d}", [(t0, xs[0], lane_y[lane]), (t0 + cross, xs[1], lane_y[lane])],
                                      size, kind="car"))
    video = synth.SynthVideo(path, width, height, fps, duration_s, objs)
    return synth.write_video_palette(video, palette, seed=seed) if write else video
