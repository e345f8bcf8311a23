"""Indexing speed (× real time) against two baselines in the same run, and activity gating vs ungated.

Usage: python bench/bench_index.py [--models-dir ../shared/models] [--out /tmp/vsearch_bench_index]

Footage (made once with the ffmpeg binary, cached in --out, never committed):
- busy720: the first 60 s of vtest.avi (PETS 2009, pedestrians) at 1280x720, 25 fps (frames repeated from 10 fps,
  temporal noise added so every frame costs what a real one does), libx264 veryfast 2 Mb/s, GOP 50, no B-frames;
- car30: intel/car-detection.mp4 as is (768x432, 12.5 fps, 30 s);
- car120: car30 looped 4 times (stream copy, 120 s): activity ~ half the time, like car30;
- carsparse: car30, then its empty last stretch 28.8-30.2 s (from a keyframe, no car in view) repeated 66 times,
  then car30 again (concat demuxer, stream copy, ~150 s): a sparse car park, cars ~ a third of the time (that
  stretch is the clip's closing fade: an empty car park whose brightness ramps up, jumping back at each repeat);
- carquiet: car30, then a real empty stretch of the lane (19.8-24.0 s, shimmering road) played forth and back 24
  times (8.4 s each, no cut inside), then car30 again, all re-encoded with libx264 (CRF 20, GOP 25; ~262 s): cars
  about a quarter of the time.

Each measurement runs in its own subprocess (peak RSS per measurement; getrusage of the process and its ffmpeg
children). Modes: decode (decode only), detect (decode + pvb-2002 on every sampled frame), full (the indexing
job's `index_file` with all stages: detector, tracker, attributes, embeddings), full-noprefetch (same without the
reader thread), gated (full with `--gate motion`), packets (full with `--gate packets`). Gated tubes are matched
against ungated ones (mean box IoU >= 0.5 over the samples both have, covering >= 50 % of the ungated tube's
samples).

`--eval`: ungated vs motion-gated on all the evaluation footage (every clip of ../shared/footage and
sample_clips/, and carsparse): tubes found, tubes lost, wall time, and decode-only time in the same run.

`--stages [--rounds N] [--against PYTHON]`: the stage breakdown of busy720 (the job's defaults), each round after
a decode-only run; with `--against` (another checkout's interpreter, e.g. main's venv) both codes run in every
round, alternating which goes first, their tubes (boxes, classes, colours) are compared, and one cProfile run of
each lists the describe stage's and colour module's functions.

`--ahead [--rounds N]`: the detect stage's look-ahead (the next frame's network started while this one is tracked)
against none, in interleaved rounds on busy720 (ungated, stage breakdown) and carquiet (motion gate, the default),
with decode-only in each round (before: no look-ahead, detector on 2 threads; now: the defaults). A mode may carry
flags after "+": noahead (`detect_ahead=False`), 2streams (detector compiled for 2 streams), noprefetch (no reader
thread: the job's default; the other modes read 4 frames ahead as before), 2threads (the detector on 2 threads).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MODES = ("decode", "detect", "full", "full-noprefetch", "gated", "packets", "stages")
PLAN = {  # footage -> modes measured (kept under ~8 minutes on 2 shared cores)
    "busy720": ("decode", "detect", "full", "full-noprefetch", "full", "full-noprefetch", "gated"),
    "car30": ("decode", "detect", "full", "gated"),
    "car120": ("decode", "full", "gated"),
    "carsparse": ("decode", "detect", "full", "gated", "decode", "full", "gated"),
}
EVAL_MODES = ("decode", "full", "gated")
FOOTAGE = SHARED / "footage"
EVAL_FILES = {  # all evaluation footage; sample_clips/vtest.avi is the same file as footage/vtest.avi (same SHA-256)
    "vtest": FOOTAGE / "vtest.avi", "car30": FOOTAGE / "intel" / "car-detection.mp4",
    "one-by-one": FOOTAGE / "intel" / "one-by-one-person-detection.mp4", "highway": FOOTAGE / "highway" / "video02.avi",
    "tud": FOOTAGE / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4",
}


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_footage(out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    car = SHARED / "footage" / "intel" / "car-detection.mp4"
    files = {"busy720": out / "busy720.mp4", "car30": car, "car120": out / "car120.mp4",
             "carsparse": out / "carsparse.mp4", "carquiet": out / "carquiet.mp4"}
    ff = [_ffmpeg(), "-y", "-loglevel", "error", "-nostdin"]
    if not files["busy720"].exists():
        subprocess.run([*ff, "-i", str(SHARED / "footage" / "vtest.avi"), "-t", "60", "-vf",
                        "fps=25,scale=1280:720,noise=alls=4:allf=t", "-c:v", "libx264", "-preset", "veryfast",
                        "-b:v", "2M", "-maxrate", "2M", "-bufsize", "4M", "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p",
                        str(files["busy720"])], check=True)
    if not files["car120"].exists():
        subprocess.run([*ff, "-stream_loop", "3", "-i", str(car), "-c", "copy", str(files["car120"])], check=True)
    if not files["carsparse"].exists():  # stream copy: every packet is one the camera's encoder made
        idle = f"file '{car}'\ninpoint 28.8\n"  # keyframe to the end: empty car park (checked by eye)
        lst = out / "carsparse.txt"
        lst.write_text(f"file '{car}'\n" + idle * 66 + f"file '{car}'\n")
        subprocess.run([*ff, "-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(files["carsparse"])],
                       check=True)
    if not files["carquiet"].exists():  # re-encoded: a real empty lane played forth and back, no cut in it
        enc = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "25", "-bf", "0", "-pix_fmt", "yuv420p"]
        idle, cars = out / "carquiet-idle.mp4", out / "carquiet-cars.mp4"
        subprocess.run([*ff, "-ss", "19.8", "-t", "4.2", "-i", str(car), "-an", "-vf",
                        "split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1:a=0", *enc, str(idle)], check=True)
        subprocess.run([*ff, "-i", str(car), "-an", *enc, str(cars)], check=True)
        lst = out / "carquiet.txt"
        lst.write_text(f"file '{cars}'\n" + f"file '{idle}'\n" * 24 + f"file '{cars}'\n")
        subprocess.run([*ff, "-f", "concat", "-safe", "0", "-i", str(lst), "-c", "copy", str(files["carquiet"])],
                       check=True)
    return files


# ------------------------------------------------------------------------------------------- one measurement


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the ffmpeg decoders)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class _Timed:
    """A stage with the wall time spent in it counted (every method: process, finish, end, take_finished,
    embed_tubes, take_scenes...)."""

    def __init__(self, stage: object) -> None:
        self._stage, self.spent_s = stage, 0.0

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._stage, name)
        if not callable(attr) or name == "identity":
            return attr

        def timed(*a: object, **k: object) -> object:
            t = time.perf_counter()
            try:
                return attr(*a, **k)
            finally:
                self.spent_s += time.perf_counter() - t
        return timed


def measure(mode: str, path: Path, models_dir: Path) -> dict[str, object]:
    from vsearch.indexers import detect as detect_module
    from vsearch.indexers.decode import DecodeOptions, open_decode, probe
    from vsearch.indexers.detect import make_detector
    from vsearch.indexing.gating import SKIP_REASONS
    from vsearch.indexing.onefile import index_file
    from vsearch.indexing.options import IndexOptions
    from vsearch.indexing.stages import build_stages
    from vsearch.indexing.sources import SourceSpec
    from vsearch.models.resolve import resolve_models

    info = probe(path)
    out: dict[str, object] = {"mode": mode, "footage_s": info.duration_s}
    mode, *flags = mode.split("+")
    if "2streams" in flags:
        detect_module.DEFAULT_STREAMS = 2
    if "2threads" in flags:  # the detector's thread count before the look-ahead
        detect_module.DEFAULT_THREADS = 2
    ru0 = _cpu_s()
    t0 = time.perf_counter()
    if mode in ("decode", "detect"):
        det = make_detector("pvb-2002", resolve_models(models_dir)).detector if mode == "detect" else None
        t0 = time.perf_counter()
        n = 0
        for frame in open_decode(path, info, DecodeOptions()):
            if det is not None:
                det.detect(frame)
            n += 1
        out["frames_sampled"] = n
    else:
        opts = IndexOptions(store=Path("/nonexistent"), detector="pvb-2002", models_dir=models_dir,
                            gate={"gated": "motion", "packets": "packets"}.get(mode, "off"),
                            prefetch_frames=0 if mode == "full-noprefetch" or "noprefetch" in flags else 4,
                            detect_ahead="noahead" not in flags)
        stages, _, _ = build_stages(opts)
        if mode == "stages":
            stages = [_Timed(s) for s in stages]  # type: ignore[misc]
        spec = SourceSpec(path, camera="bench", start=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                          start_origin="option")
        with tempfile.TemporaryDirectory() as tmp:  # a job builds its stages once: models load on its first file
            head = Path(tmp) / f"head{path.suffix}"
            subprocess.run([_ffmpeg(), "-loglevel", "error", "-nostdin", "-i", str(path), "-t", "2", "-c", "copy",
                            str(head)], check=True)
            index_file(replace(spec, path=head), opts, {}, "bench", "{}", stages)
        for s in stages:
            if isinstance(s, _Timed):
                s.spent_s = 0.0
        prof = cProfile.Profile() if "profile" in flags else None
        ru0 = _cpu_s()
        t0 = time.perf_counter()
        if prof is not None:
            prof.enable()
        res = index_file(spec, opts, {}, "bench", "{}", stages)
        if prof is not None:
            prof.disable()
            out["profile"] = _profile_rows(prof)
        assert res.row is not None and res.result is not None, res.message
        if mode == "stages":
            out["stage_s"] = {s.name: round(s.spent_s, 3) for s in stages}  # type: ignore[attr-defined]
            with tempfile.TemporaryDirectory() as tmp:  # the store write, timed alone
                from vsearch.catalogue.store import Store

                t_w = time.perf_counter()
                Store(Path(tmp) / "s").write_source(res.row, res.result)
                out["stage_s"]["write"] = round(time.perf_counter() - t_w, 3)
            out["index_file_s"] = round(time.perf_counter() - t0 - out["stage_s"]["write"], 3)
        out["frames_sampled"] = res.row.frames_sampled
        out["tubes"] = [{"pts": [round(float(p), 4) for p in t.pts_s], "boxes": t.boxes_xyxy.round(1).tolist(),
                         "class": t.class_name, "appearance": repr(t.attributes.appearance if t.attributes else None)}
                        for t in res.result.tubes]
        out["warnings"] = [w[:160] for w in res.result.warnings if "idle" in w]
        out["skipped_s"] = round(sum(g.end_s - g.start_s for g in res.row.gaps if g.reason in SKIP_REASONS), 2)
    out["wall_s"] = time.perf_counter() - t0
    ru_self = resource.getrusage(resource.RUSAGE_SELF)
    ru_kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu_s"] = _cpu_s() - ru0
    out["rss_mib"] = ru_self.ru_maxrss / 1024
    out["child_rss_mib"] = ru_kids.ru_maxrss / 1024
    return out


def _profile_rows(prof: cProfile.Profile) -> dict[str, list[float]]:
    """{function: [calls, own s, cumulative s]} of the describe stage and the colour module (under cProfile,
    whose per-call overhead inflates both arms alike), plus the whole run's total."""
    st = pstats.Stats(prof)
    rows = {"total (own time of every function)": [0, 0.0, round(st.total_tt, 4)]}  # type: ignore[attr-defined]
    for (file, _, func), (_, calls, own_s, cum_s, _) in st.stats.items():  # type: ignore[attr-defined]
        if file.endswith(("indexers/colours.py", "indexers/describe.py")):
            rows[f"{Path(file).stem}.{func}"] = [calls, round(own_s, 4), round(cum_s, 4)]
    return rows


# ------------------------------------------------------------------------------------------- comparison


def _iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_tubes(ungated: list[dict], gated: list[dict]) -> list[dict]:
    """Ungated tubes without a gated counterpart."""
    lost = []
    for u in ungated:
        ub = dict(zip(u["pts"], u["boxes"]))
        best = 0.0
        for g in gated:
            common = [p for p in g["pts"] if p in ub]
            if len(common) < 0.5 * len(u["pts"]):
                continue
            gb = dict(zip(g["pts"], g["boxes"]))
            best = max(best, sum(_iou(ub[p], gb[p]) for p in common) / len(common))
        if best < 0.5:
            lost.append({"class": u["class"], "t": [u["pts"][0], u["pts"][-1]], "best_iou": round(best, 2)})
    return lost


def run_plan(plan: dict[str, tuple[str, ...]], files: dict[str, Path], models_dir: Path) -> dict[str, dict]:
    """Each (footage, mode) of `plan` measured in its own subprocess; a mode listed twice is measured in
    interleaved rounds and the faster kept (all walls in `walls`)."""
    results: dict[str, dict[str, dict]] = {}
    for name, modes in plan.items():
        results[name] = {}
        for mode in modes:
            r = subprocess.run([sys.executable, __file__, "--models-dir", str(models_dir), "--one", mode,
                                str(files[name])], capture_output=True, text=True, check=True)
            res = json.loads(r.stdout.strip().splitlines()[-1])
            prev = results[name].get(mode)
            res["walls"] = [*(prev["walls"] if prev else []), res["wall_s"]]
            if prev is None or res["wall_s"] < prev["wall_s"]:
                results[name][mode] = res
            else:
                prev["walls"] = res["walls"]
            print(f"{name:10s} {mode:16s} {res['footage_s'] / res['wall_s']:7.1f}x rt  wall {res['wall_s']:6.1f} s  "
                  f"frames {res['frames_sampled']:5d}  tubes {len(res.get('tubes', [])):3d}  "
                  f"rss {res['rss_mib']:.0f}+{res['child_rss_mib']:.0f} MiB", flush=True)
    return results


def evaluate(files: dict[str, Path], models_dir: Path) -> None:
    """The comparison table that decides whether the motion gate may be the default (docs/benchmarks.md)."""
    results = run_plan({name: EVAL_MODES for name in files}, files, models_dir)
    print("\n| footage | length s | decode-only wall s (× rt; CPU s) | ungated wall s (× rt; CPU s) "
          "| gated wall s (× rt; CPU s) "
          "| frames analysed gated / ungated | skipped s | tubes ungated | tubes gated | ungated tubes lost "
          "| gated tubes not in ungated |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for name, r in results.items():
        d, u, g = r["decode"], r["full"], r["gated"]
        lost = match_tubes(u["tubes"], g["tubes"])
        rt = lambda x: f"{x['wall_s']:.1f} ({x['footage_s'] / x['wall_s']:.1f}×; CPU {x['cpu_s']:.1f})"  # noqa: E731
        print(f"| {name} | {u['footage_s']:.1f} | {rt(d)} | {rt(u)} | {rt(g)} | {g['frames_sampled']} / "
              f"{u['frames_sampled']} | {g['skipped_s']:.1f} | {len(u['tubes'])} | {len(g['tubes'])} | "
              f"{len(lost)} {lost if lost else ''} | {len(match_tubes(g['tubes'], u['tubes']))} |", flush=True)


def stage_breakdown(path: Path, models_dir: Path, rounds: int = 3, against: Path | None = None) -> None:
    """Where the time of a busy job goes: decode-only, then each stage's wall time inside `index_file`. With
    `against` (another checkout's Python, e.g. main's), both codes run in every round, alternating which goes
    first, so they see the same load; then one cProfile run of each for the describe stage's functions."""
    arms = {"this": Path(sys.executable)} | ({"against": against} if against else {})
    runs: dict[str, list[dict]] = {arm: [] for arm in arms}
    decodes: list[float] = []
    loads: list[float] = []

    def one(python: Path, mode: str) -> dict:
        r = subprocess.run([str(python), __file__, "--models-dir", str(models_dir), "--one", mode, str(path)],
                           capture_output=True, text=True, check=True)
        return json.loads(r.stdout.strip().splitlines()[-1])

    for k in range(rounds):
        decodes.append(one(Path(sys.executable), "decode")["wall_s"])
        for arm in (list(arms) if k % 2 == 0 else list(arms)[::-1]):
            runs[arm].append(one(arms[arm], "stages+noprefetch"))
            loads.append(os.getloadavg()[0])
            print(f"round {k + 1} {arm:8s} wall {runs[arm][-1]['wall_s']:6.1f} s  CPU {runs[arm][-1]['cpu_s']:6.1f} s  "
                  f"load {loads[-1]:.1f}", flush=True)
    meds = {arm: sorted(rs, key=lambda r: r["wall_s"])[len(rs) // 2] for arm, rs in runs.items()}
    for arm, rs in runs.items():
        med = meds[arm]
        print(f"\n{arm} ({arms[arm]}): busy720 ({med['footage_s']:.0f} s, {med['frames_sampled']} frames): index_file "
              "wall per round " + " / ".join(f"{r['wall_s']:.1f}" for r in rs)
              + f" s (median {med['footage_s'] / med['wall_s']:.1f}× real time), CPU "
              + " / ".join(f"{r['cpu_s']:.1f}" for r in rs) + " s")
    print("decode-only " + " / ".join(f"{d:.1f}" for d in decodes) + f" s; load {min(loads):.1f}-{max(loads):.1f}")
    names = list(next(iter(meds.values()))["stage_s"])
    print("| stage (median round) | " + " | ".join(f"{arm}: wall s (ms per frame, share)" for arm in arms) + " |")
    print("|---|" + "---:|" * len(arms))
    for name in [*names, "rest"]:
        cells = []
        for arm in arms:
            med = meds[arm]
            inside = sum(v for k, v in med["stage_s"].items() if k != "write")
            v = med["index_file_s"] - inside if name == "rest" else med["stage_s"][name]
            cells.append(f"{v:.2f} ({1000 * v / med['frames_sampled']:.1f} ms, {100 * v / med['index_file_s']:.0f} %)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if against:
        same = all(r["tubes"] == runs["this"][0]["tubes"] for rs in runs.values() for r in rs)
        print(f"tubes (boxes, classes, colours) identical in every run of both arms: {same}")
        for arm in arms:
            prof = one(arms[arm], "stages+noprefetch+profile")["profile"]
            print(f"cProfile {arm} (load {os.getloadavg()[0]:.1f}): " + "; ".join(
                f"{k} {v[0]} calls, cum {v[2]:.2f} s" for k, v in sorted(prof.items(), key=lambda kv: -kv[1][2])[:8]))


# before = the code before the look-ahead (no look-ahead, detector on 2 threads); now = the defaults
AHEAD_PLAN = (("busy720", "decode"), ("busy720", "stages+noprefetch+noahead+2threads"),
              ("busy720", "stages+noprefetch+2threads"), ("busy720", "stages+noprefetch"),
              ("carquiet", "decode"), ("carquiet", "gated+noprefetch+noahead+2threads"), ("carquiet", "gated+noprefetch"))


def ahead_ab(files: dict[str, Path], models_dir: Path, rounds: int) -> None:
    """Look-ahead on / off (and 2 streams) in interleaved rounds: every arm sees the same machine load."""
    runs: dict[tuple[str, str], list[dict]] = {}
    for k in range(rounds):
        for name, mode in AHEAD_PLAN:
            r = subprocess.run([sys.executable, __file__, "--models-dir", str(models_dir), "--one", mode,
                                str(files[name])], capture_output=True, text=True, check=True)
            res = json.loads(r.stdout.strip().splitlines()[-1])
            res["load"] = os.getloadavg()[0]
            runs.setdefault((name, mode), []).append(res)
            print(f"round {k + 1} {name:9s} {mode:28s} wall {res['wall_s']:6.1f} s  CPU {res['cpu_s']:6.1f} s  "
                  f"{res['footage_s'] / res['wall_s']:5.1f}x rt  load {res['load']:.1f}", flush=True)
    print("\n| footage | mode | wall s (rounds) | × real time (median wall) | CPU s (median) | × real time per CPU "
          "core | frames analysed | tubes | same tubes as before |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for (name, mode), rs in runs.items():
        walls, cpus = sorted(r["wall_s"] for r in rs), sorted(r["cpu_s"] for r in rs)
        med_w, med_c = walls[len(walls) // 2], cpus[len(cpus) // 2]
        ref = runs.get((name, mode.split("+")[0] + "+noprefetch+noahead+2threads"))
        same = "–" if "tubes" not in rs[0] or ref is None else \
            ("yes" if all(r["tubes"] == ref[0]["tubes"] for r in rs) else "NO")
        print(f"| {name} ({rs[0]['footage_s']:.0f} s) | {mode} | {' / '.join(f'{w:.1f}' for w in (r['wall_s'] for r in rs))}"
              f" | {rs[0]['footage_s'] / med_w:.1f} | {med_c:.1f} | {rs[0]['footage_s'] / med_c:.1f} | "
              f"{rs[0]['frames_sampled']} | {len(rs[0].get('tubes', [])) or '–'} | {same} |")
    for (name, mode), rs in runs.items():
        if not mode.startswith("stages"):
            continue
        med = sorted(rs, key=lambda r: r["wall_s"])[len(rs) // 2]
        inside = sum(v for k, v in med["stage_s"].items() if k != "write")
        shares = ", ".join(f"{k} {v:.2f} s ({100 * v / med['index_file_s']:.0f} %)" for k, v in med["stage_s"].items())
        print(f"{name} {mode} median round stages: {shares}, rest {med['index_file_s'] - inside:.2f} s")


def ahead_pairs(path: Path, models_dir: Path, pairs: int, seconds: float = 20.0) -> None:
    """Look-ahead off / on, alternated `pairs` times in one process on the first `seconds` of `path` (models loaded
    once, ungated): paired differences are less at the mercy of the other jobs' load than separate rounds."""
    from vsearch.indexing.onefile import index_file
    from vsearch.indexing.options import IndexOptions
    from vsearch.indexing.stages import build_stages
    from vsearch.indexing.sources import SourceSpec

    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / f"head{path.suffix}"
        subprocess.run([_ffmpeg(), "-loglevel", "error", "-nostdin", "-i", str(path), "-t", str(seconds), "-c", "copy",
                        str(head)], check=True)
        spec = SourceSpec(head, camera="bench", start=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                          start_origin="option")
        arms = {}
        for ahead in (False, True):
            opts = IndexOptions(store=Path("/nonexistent"), detector="pvb-2002", models_dir=models_dir, gate="off",
                                detect_ahead=ahead)
            arms[ahead] = (opts, build_stages(opts)[0])
            index_file(spec, opts, {}, "bench", "{}", arms[ahead][1])  # warm-up
        walls: dict[bool, list[float]] = {False: [], True: []}
        cpus: dict[bool, list[float]] = {False: [], True: []}
        for k in range(pairs):
            for ahead in ((False, True) if k % 2 == 0 else (True, False)):
                opts, stages = arms[ahead]
                c, t = _cpu_s(), time.perf_counter()
                index_file(spec, opts, {}, "bench", "{}", stages)
                walls[ahead].append(time.perf_counter() - t)
                cpus[ahead].append(_cpu_s() - c)
            print(f"pair {k + 1}: off {walls[False][-1]:.2f} s, on {walls[True][-1]:.2f} s  "
                  f"(CPU {cpus[False][-1]:.2f} / {cpus[True][-1]:.2f} s)  load {os.getloadavg()[0]:.1f}", flush=True)
    ratio = sorted(a / b for a, b in zip(walls[False], walls[True]))
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    print(f"\n{seconds:.0f} s of {path.name}, {pairs} pairs: median wall off {med(walls[False]):.2f} s "
          f"({seconds / med(walls[False]):.1f}x rt), on {med(walls[True]):.2f} s ({seconds / med(walls[True]):.1f}x rt); "
          f"median paired speed-up {ratio[len(ratio) // 2]:.2f}x (range {ratio[0]:.2f}-{ratio[-1]:.2f}); "
          f"median CPU off {med(cpus[False]):.2f} s, on {med(cpus[True]):.2f} s")


def _machine(t_start: float) -> None:
    load = os.getloadavg()
    print(f"\nmachine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, {platform.platform()}, "
          f"Python {platform.python_version()}; load average at end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
          f"bench wall {time.perf_counter() - t_start:.0f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", type=Path, default=SHARED / "models")
    ap.add_argument("--out", type=Path, default=Path("/tmp/vsearch_bench_index"))
    ap.add_argument("--eval", action="store_true", help="ungated vs motion-gated on all evaluation footage")
    ap.add_argument("--only", nargs="+", help="with --eval: only these footage names")
    ap.add_argument("--stages", action="store_true", help="stage breakdown of busy 720p indexing (3 rounds)")
    ap.add_argument("--ahead", action="store_true", help="detect look-ahead on/off (and 2 streams), interleaved")
    ap.add_argument("--rounds", type=int, default=3, help="with --ahead or --stages: interleaved rounds")
    ap.add_argument("--ahead-pairs", type=int, default=0, metavar="N",
                    help="look-ahead off/on alternated N times in one process on 20 s of busy720")
    ap.add_argument("--against", type=Path, metavar="PYTHON",
                    help="with --stages: also run another checkout's interpreter (e.g. main's venv), alternating")
    ap.add_argument("--one", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        sys.stdout.write(json.dumps(measure(args.one[0], Path(args.one[1]), args.models_dir)) + "\n")
        return
    t_start = time.perf_counter()
    files = make_footage(args.out)
    if args.ahead_pairs:
        ahead_pairs(files["busy720"], args.models_dir, args.ahead_pairs)
        _machine(t_start)
        return
    if args.ahead:
        ahead_ab(files, args.models_dir, args.rounds)
        _machine(t_start)
        return
    if args.stages:
        stage_breakdown(files["busy720"], args.models_dir, args.rounds, args.against)
        _machine(t_start)
        return
    if args.eval:
        chosen = {**EVAL_FILES, "carsparse": files["carsparse"], "carquiet": files["carquiet"]}
        evaluate({k: v for k, v in chosen.items() if not args.only or k in args.only}, args.models_dir)
        _machine(t_start)
        return
    results = run_plan(PLAN, files, args.models_dir)
    print("\n| footage | mode | wall s | × real time (wall) | CPU s | × real time per CPU core | frames sampled | tubes "
          "| peak RSS MiB (python + ffmpeg) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        for mode, r in runs.items():
            walls = " / ".join(f"{w:.1f}" for w in r["walls"])
            print(f"| {name} ({r['footage_s']:.0f} s) | {mode} | {walls} | {r['footage_s'] / r['wall_s']:.1f} | "
                  f"{r['cpu_s']:.1f} | {r['footage_s'] / r['cpu_s']:.1f} | {r['frames_sampled']} | "
                  f"{len(r['tubes']) if 'tubes' in r else '–'} | {r['rss_mib']:.0f} + {r['child_rss_mib']:.0f} |")
    print()
    for name, runs in results.items():
        if "gated" in runs and "full" in runs:
            lost = match_tubes(runs["full"]["tubes"], runs["gated"]["tubes"])
            print(f"{name}: gated {len(runs['gated']['tubes'])} tubes vs ungated {len(runs['full']['tubes'])}; "
                  f"ungated tubes without a gated match: {len(lost)} {lost}; {runs['gated'].get('warnings')}")
    _machine(t_start)


if __name__ == "__main__":
    main()
