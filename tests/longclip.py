"""A long synthetic clip for chunked-indexing tests: objects cross on four lanes, one starting every 3 s, each
crossing lasting 7 s, so tracks are open at most chunk boundaries."""

from __future__ import annotations

from pathlib import Path

import synth


def crossing_stream(path: Path, duration_s: float = 150.0, fps: int = 10) -> synth.SynthVideo:
    colours = ["red", "blue", "green", "yellow", "white", "orange", "purple", "pink"]
    objs = []
    k = 0
    t = 0.5
    while t + 7.5 < duration_s:
        lane = k % 4
        y = 30 + lane * 40
        xs = (20, 300) if lane % 2 == 0 else (300, 20)
        objs.append(synth.SynthObject(k, colours[k % len(colours)], [(t, xs[0], y), (t + 7.0, xs[1], y)], (28, 18)))
        k += 1
        t += 3.0
    return synth.write_video(synth.SynthVideo(path, 320, 180, fps, duration_s, objs))
