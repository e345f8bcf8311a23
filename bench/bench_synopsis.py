"""Benchmark: synopsis of 1 h of busy synthetic footage (tubes from the ground truth, full-box masks).

    python bench/bench_synopsis.py [--minutes 60] [--objects 600] [--max-duration 120] [--work /tmp/vsearch_bench]

The footage (640x360, 10 fps, H.264) is generated once and cached in --work. A baseline measured in the same
run (decoding the whole source once with PyAV) shows how fast this machine is right now.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import sys
import time
from fractions import Fraction
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import synth  # noqa: E402

from vsearch.synopsis.render import SourceClip, SynopsisOptions, render_synopsis  # noqa: E402


def _cpu_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--objects", type=int, default=600)
    ap.add_argument("--max-duration", type=float, default=120.0)
    ap.add_argument("--density", type=float, default=6.0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/vsearch_bench"))
    a = ap.parse_args()
    src = a.work / f"busy_{a.minutes:g}min_{a.objects}obj.mp4"
    t = time.perf_counter()
    cached = src.exists() and src.with_suffix(".gt.json").exists()
    video = synth.busy_scene(src, a.minutes * 60, a.objects, write=not cached)
    gen_s = time.perf_counter() - t
    sid = "b" * 64
    tubes = synth.tubes_from_truth(video, sid, "bench-cam")
    clip = SourceClip(sid, src, "bench-cam", dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.timezone.utc), 0.0,
                      video.width, video.height, Fraction(video.fps), 1.0, video.duration_s, tuple(tubes))

    t = time.perf_counter()
    with av.open(str(src)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        n_dec = sum(1 for _ in c.decode(s))
    base_s = time.perf_counter() - t

    opts = SynopsisOptions(density=a.density, max_duration_s=a.max_duration)
    t = time.perf_counter()
    cpu0 = _cpu_s()
    part = render_synopsis(tubes, {sid: clip}, a.work / "synopsis.mp4", opts).parts[0]
    render_s = time.perf_counter() - t
    cpu_s = _cpu_s() - cpu0
    m = part.metrics
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared, noisy)")
    print(f"source: {video.width}x{video.height} @ {video.fps} fps, {video.duration_s / 60:g} min, "
          f"{len(tubes)} tubes, {m.object_seconds / 3600:.2f} h of object time"
          + (" (cached)" if cached else f" (generated in {gen_s:.0f} s)"))
    print(f"baseline: decode whole source once: {base_s:.1f} s ({n_dec} frames)")
    print(f"render_synopsis: {render_s:.1f} s wall, {cpu_s:.1f} s CPU (incl. ffmpeg) -> {part.frames} frames, "
          f"{m.synopsis_duration_s:.1f} s "
          f"at {part.fps} fps, {part.width_px}x{part.height_px}")
    print(f"condensation {m.condensation_ratio:.1f}x, collision rate {m.collision_rate:.3f}, "
          f"disorder {m.disorder:.3f}, max duration met: {m.max_duration_met}")


if __name__ == "__main__":
    main()
