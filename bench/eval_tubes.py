"""Evaluate tubes against ground truth: synthetic videos (exact) and TUD-Stadtmitte (MOT15 GT).

Reports MOTA, IDF1, ID switches, box recall/precision (motmetrics, IoU >= 0.5), tube recall (a GT track is
found when one tube has IoU >= 0.5 with it on >= 50 % of its frames), and on synthetic scenes class, colour and
direction accuracy. Each detector is run with the full tracker (appearance on) and, as the baseline measured in
the same run, with appearance off (plain ByteTrack association, same Kalman model).

    python bench/eval_tubes.py [--models ../shared/models] [--footage ../shared/footage] [--skip-synth]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import motmetrics as mm
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import synth  # noqa: E402

from vsearch.indexers.base import FrameContext, SourceResult  # noqa: E402
from vsearch.indexers.decode import DecodeOptions, open_decode, probe  # noqa: E402
from vsearch.indexers.detect import MotionDetector, make_detector  # noqa: E402
from vsearch.indexers.tubes import TubeStage  # noqa: E402
from vsearch.models.resolve import resolve_models  # noqa: E402
from vsearch.indexers.track import TrackerConfig, iou_matrix  # noqa: E402
from vsearch.records import SourceRef  # noqa: E402

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
NO_APPEARANCE = TrackerConfig(appearance_dist=0.0, colour_dist=0.0, revive_colour_dist=2.0)


def run_tubes(path: Path, detector, fps: float, width: int, tracker_config: TrackerConfig | None,  # noqa: ANN001
              models_dir: Path | None, use_reid: bool) -> tuple[SourceResult, int, float]:
    info = probe(path)
    frames = open_decode(path, info, DecodeOptions(fps=fps, width_px=width))
    src = SourceRef("e" * 64, str(path), "eval", T0, info, fps, *frames.analysis_size)
    stage = TubeStage(detector, models=resolve_models(models_dir) if models_dir else None,
                      tracker_config=tracker_config, use_reid=use_reid)
    stage.begin(src)
    t0 = time.perf_counter()
    n = 0
    for f in frames:
        stage.process(f, FrameContext())
        n += 1
    res = SourceResult(src)
    stage.end(res)
    return res, n, time.perf_counter() - t0


def mot_scores(gt: dict[int, list[tuple[int, np.ndarray]]], tubes, frame_keys: list[int]) -> dict[str, float]:  # noqa: ANN001
    """gt: frame key -> [(gt_id, xyxy)]; tubes: list of (tube no, {frame key: xyxy})."""
    acc = mm.MOTAccumulator(auto_id=True)
    for k in frame_keys:
        g = gt.get(k, [])
        h = [(no, boxes[k]) for no, boxes in tubes if k in boxes]
        gb = np.array([b for _, b in g]).reshape(-1, 4)
        hb = np.array([b for _, b in h]).reshape(-1, 4)
        dist = 1.0 - iou_matrix(gb, hb)  # motmetrics' own iou_matrix needs numpy < 2
        dist[dist > 0.5] = np.nan
        acc.update([i for i, _ in g], [no for no, _ in h], dist)
    mh = mm.metrics.create()
    s = mh.compute(acc, metrics=["mota", "idf1", "num_switches", "recall", "precision"], name="x")
    # tube recall: GT track matched by one tube on >= 50 % of its frames at IoU >= 0.5
    found = 0
    gt_ids = sorted({i for v in gt.values() for i, _ in v})
    for gid in gt_ids:
        frames = [(k, b) for k, v in gt.items() for i, b in v if i == gid]
        best = 0
        for _, boxes in tubes:
            n = sum(1 for k, b in frames if k in boxes and _iou(boxes[k], b) >= 0.5)
            best = max(best, n)
        found += best >= 0.5 * len(frames)
    return {"mota": float(s["mota"].iloc[0]), "idf1": float(s["idf1"].iloc[0]),
            "idsw": int(s["num_switches"].iloc[0]), "recall": float(s["recall"].iloc[0]),
            "precision": float(s["precision"].iloc[0]), "tube_recall": found / max(len(gt_ids), 1),
            "gt_tracks": len(gt_ids)}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / max((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter, 1e-9)


def tube_boxes(res: SourceResult, key) -> list[tuple[int, dict[int, np.ndarray]]]:  # noqa: ANN001
    return [(t.track_no, {key(float(p)): b for p, b in zip(t.pts_s, t.boxes_xyxy)}) for t in res.tubes]


# --- synthetic ----------------------------------------------------------------------------------------------

EXPECT = {  # scene -> object id -> (colour, direction8, class)
    "lanes_scene": {1: ("red", "E", "car"), 2: ("blue", "W", "car"), 3: ("green", "N", "person"),
                    4: ("orange", "SE", "car")},
    "crossing_scene": {1: ("red", "E", "car"), 2: ("blue", "W", "car"), 3: ("white", "S", "person")},
    "same_line_crossing_scene": {1: ("yellow", "E", "person"), 2: ("pink", "W", "person")},
    "parked_scene": {2: ("green", "E", "car")},
    "stop_scene": {1: ("red", "E", "person")},
}


def eval_synth(tmp: Path) -> list[str]:
    rows = ["| scene | detector | tubes / objects | MOTA | IDF1 | IDsw | tube recall | class | colour | direction | ms/frame |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for scene, expect in EXPECT.items():
        video = getattr(synth, scene)(tmp / f"{scene}.mp4")
        fps = float(video.fps)
        key = lambda p: int(round(p * fps))  # noqa: E731
        res, n, secs = run_tubes(video.path, MotionDetector(), fps, video.width, None, None, False)
        gt: dict[int, list] = {}
        for k in range(int(round(video.duration_s * fps))):
            for o in video.objects:
                b = o.box(k / fps)
                if b is not None and o.obj_id in expect:
                    gt.setdefault(k, []).append((o.obj_id, np.clip(np.array(b), 0, [video.width, video.height] * 2)))
        s = mot_scores(gt, tube_boxes(res, key), list(range(int(round(video.duration_s * fps)))))
        ok_cls = ok_col = ok_dir = 0
        for oid, (colour, direction, cls) in expect.items():
            o = next(x for x in video.objects if x.obj_id == oid)
            best = max(res.tubes, default=None, key=lambda t: sum(
                1 for p, b in zip(t.pts_s, t.boxes_xyxy) if o.box(float(p)) is not None and _iou(b, o.box(float(p))) >= 0.5))
            if best is None:
                continue
            a = best.attributes
            cols = a.appearance.upper if o.lower_colour else a.appearance.colours
            ok_col += bool(cols) and cols.names[0] == colour
            ok_dir += a.motion.direction8 == direction
            ok_cls += best.class_name == cls
        m = len(expect)
        rows.append(f"| {scene} | motion | {len(res.tubes)} / {m} | {s['mota']:.3f} | {s['idf1']:.3f} | {s['idsw']} | "
                    f"{s['tube_recall']:.2f} | {ok_cls}/{m} | {ok_col}/{m} | {ok_dir}/{m} | {1000 * secs / n:.1f} |")
    return rows


# --- TUD-Stadtmitte -----------------------------------------------------------------------------------------

def eval_tud(footage: Path, models: Path | None, kinds: list[str]) -> list[str]:
    clip = footage / "TUD-Stadtmitte" / "TUD-Stadtmitte.mp4"
    raw = np.loadtxt(footage / "TUD-Stadtmitte" / "gt" / "gt.txt", delimiter=",")
    gt: dict[int, list] = {}
    for r in raw:
        x, y, w, h = r[2:6]
        gt.setdefault(int(r[0]) - 1, []).append((int(r[1]), np.array([x, y, x + w, y + h])))
    start = probe(clip).start_pts_s
    key = lambda p: int(round((p - start) * 25))  # noqa: E731
    rows = ["| detector | sampling | tracker | MOTA | IDF1 | IDsw | recall | precision | tube recall | ms/frame (all) |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for kind in kinds:
        for fps, label, step in ((25.0, "every frame", 1), (12.5, "every 2nd frame", 2),
                                 (5.0, "every 5th frame (5 fps, the default)", 5)):
            for tracker, cfg, reid in (("ByteTrack (no appearance)", NO_APPEARANCE, False),
                                       ("+ appearance (re-id / colour)", None, True)):
                det = make_detector(kind, resolve_models(models)).detector if kind != "motion" else MotionDetector()
                res, n, secs = run_tubes(clip, det, fps, 640, cfg, models, reid)
                keys = sorted({key(float(p)) for t in res.tubes for p in t.pts_s} | set())
                sampled = [k for k in range(179) if k % step == 0]
                s = mot_scores({k: v for k, v in gt.items() if k in sampled}, tube_boxes(res, key), sampled)
                del keys
                rows.append(f"| {kind} | {label} | {tracker} | {s['mota']:.3f} | {s['idf1']:.3f} | {s['idsw']} | "
                            f"{s['recall']:.3f} | {s['precision']:.3f} | {s['tube_recall']:.2f} | {1000 * secs / n:.0f} |")
                print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=REPO.parent / "shared" / "models")
    ap.add_argument("--footage", type=Path, default=REPO.parent / "shared" / "footage")
    ap.add_argument("--detectors", default="pvb-2002,motion")
    ap.add_argument("--skip-synth", action="store_true")
    ap.add_argument("--skip-tud", action="store_true")
    args = ap.parse_args()
    if not args.skip_synth:
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join(eval_synth(Path(tmp))), flush=True)
    if not args.skip_tud:
        print("\n".join(eval_tud(args.footage, args.models, args.detectors.split(","))))


if __name__ == "__main__":
    main()
