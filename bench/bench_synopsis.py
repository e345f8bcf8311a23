"""Benchmark: synopsis of 1 h of busy synthetic footage and of a 10-minute lane scene (tubes from the ground
truth, full-box masks).

    python bench/bench_synopsis.py [--scene busy|lanes|both] [--max-collision 0.05] [--max-duration S]
                                   [--by-direction]
                                   [--minutes 60] [--objects 600] [--work /tmp/vsearch_bench]

Footage is generated once and cached in --work. A baseline measured in the same run (decoding the whole
source once with PyAV) shows how fast this machine is right now: compare ratios to it, not raw seconds.
Reports condensation at the collision budget, the distance to the planner's lower bound, label overlaps and
the time per stage (plan, plates, crops, compose, encode).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import synth  # noqa: E402
from synopsis_scenes import lane_scene  # noqa: E402

from vsearch.synopsis.render import SourceClip, SynopsisOptions, render_synopsis  # noqa: E402
from vsearch.synopsis.writers import ENCODER_PRESET  # noqa: E402


def _cpu_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _decode_s(path: Path) -> tuple[float, int]:
    t = time.perf_counter()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        n = sum(1 for _ in c.decode(s))
    return time.perf_counter() - t, n


def _encode_only_s(video: Path) -> tuple[float, float]:
    """(wall s, CPU s) of re-encoding the synopsis' own frames with the renderer's x264 settings (decoding
    the small synopsis is cheap): the floor the compose + encode stage cannot go under on one core."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(video),
           "-an", "-c:v", "libx264", "-preset", ENCODER_PRESET, "-crf", "23", "-threads", "1", "-f", "null", "-"]
    cpu0 = _children_cpu_s()
    t = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t, _children_cpu_s() - cpu0


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(name: str, video: synth.SynthVideo, cached: bool, gen_s: float, opts: SynopsisOptions, work: Path) -> None:
    sid = (name[0] * 64)[:64]
    tubes = synth.tubes_from_truth(video, sid, f"{name}-cam")
    clip = SourceClip(sid, video.path, f"{name}-cam", dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.timezone.utc), 0.0,
                      video.width, video.height, Fraction(video.fps), 1.0, video.duration_s, tuple(tubes))
    base_s, n_dec = _decode_s(video.path)
    t = time.perf_counter()
    cpu0 = _cpu_s()
    part = render_synopsis(tubes, {sid: clip}, work / f"synopsis-{name}.mp4", opts).parts[0]
    render_s = time.perf_counter() - t
    cpu_s = _cpu_s() - cpu0
    enc_s, enc_cpu_s = _encode_only_s(part.video_path)
    m, st = part.metrics, part.times
    print(f"== {name}: {video.width}x{video.height} @ {video.fps} fps, {video.duration_s / 60:g} min, "
          f"{len(tubes)} tubes, {m.object_seconds / 3600:.2f} h of object time"
          + (" (cached)" if cached else f" (generated in {gen_s:.0f} s)"))
    print(f"baseline: decode whole source once: {base_s:.1f} s ({n_dec} frames); encode the synopsis' frames "
          f"once: {enc_s:.1f} s ({enc_cpu_s:.1f} s CPU)")
    print(f"render_synopsis: {render_s:.1f} s wall ({render_s / base_s:.1f}x the baseline), {cpu_s:.1f} s CPU "
          f"incl. ffmpeg -> {part.frames} frames, {m.synopsis_duration_s:.1f} s at {part.fps} fps, "
          f"{part.width_px}x{part.height_px}")
    where = "in a second process alongside plan + plates" if st.crops_in_child else "after plan + plates"
    print(f"stages: plan {st.plan_s:.1f} s, plates {st.plates_s:.1f} s, crops {st.crops_s:.1f} s ({where}; "
          f"waited {st.crops_wait_s:.1f} s), compose+encode {st.compose_s:.1f} s wall (x264 "
          f"{st.encode_cpu_s:.1f} s CPU alongside)")
    print(f"stage CPU: plan {st.plan_cpu_s:.1f} s, crops {st.crops_cpu_s:.1f} s, compose {st.compose_cpu_s:.1f} s "
          f"(+ x264 {st.encode_cpu_s:.1f} s); critical path on two idle cores about max(plan, crops) + plates + "
          f"max(compose, x264) = {max(st.plan_cpu_s, st.crops_cpu_s) + st.plates_s + max(st.compose_cpu_s, st.encode_cpu_s):.1f} s")
    gap = m.synopsis_duration_s / m.lower_bound_s - 1 if m.lower_bound_s else float("nan")
    print(f"condensation {m.condensation_ratio:.1f}x at collision {m.collision_rate:.3f} (budget "
          f"{m.max_collision:g}, met: {m.max_collision_met}); lower bound {m.lower_bound_s:.1f} s "
          f"(synopsis {100 * gap:.0f} % above it); disorder {m.disorder:.3f}; label overlaps "
          f"{m.label_overlaps} frame(s); at most {m.max_on_screen} on screen; max duration met: "
          f"{m.max_duration_met}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scene", choices=("busy", "lanes", "both"), default="both")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--objects", type=int, default=600)
    ap.add_argument("--max-collision", type=float, default=0.05)
    ap.add_argument("--max-duration", type=float, default=None)
    ap.add_argument("--by-direction", action="store_true", help="plan heading by heading (see plan.PlanLimits)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/vsearch_bench"))
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared, noisy)")
    opts = SynopsisOptions(max_collision=a.max_collision, max_duration_s=a.max_duration,
                           by_direction=a.by_direction)
    if a.scene in ("lanes", "both"):
        src = a.work / "lanes_10min_40obj.mp4"
        cached = src.exists() and src.with_suffix(".gt.json").exists()
        t = time.perf_counter()
        video = lane_scene(src, write=not cached)
        run("lanes", video, cached, time.perf_counter() - t, opts, a.work)
    if a.scene in ("busy", "both"):
        src = a.work / f"busy_{a.minutes:g}min_{a.objects}obj.mp4"
        cached = src.exists() and src.with_suffix(".gt.json").exists()
        t = time.perf_counter()
        video = synth.busy_scene(src, a.minutes * 60, a.objects, write=not cached)
        run("busy", video, cached, time.perf_counter() - t, opts, a.work)


if __name__ == "__main__":
    main()
