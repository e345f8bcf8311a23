"""Search quality: queries with expected answers from ground truth, precision@10 and recall per query.

Two sets:
- synthetic: `tests/synth.py::query_eval_scene` (10 objects of known class, colours, direction, timing; one
  stops 30 s, one drives into a zone), indexed with the motion detector; FR/EN text and structured options.
- TUD-Stadtmitte (MOT15 GT, persons only, no colour labels), indexed with pvb-2002: expected answers derived
  from the GT geometry (direction from the net horizontal displacement, time windows, zone entered by the
  GT ground point, dwell).

A returned tube is matched to the GT object it overlaps best (box IoU >= 0.3 on at least half of its samples
that have a GT box at the same time). precision@10 = matched-to-expected hits among the first 10 / hits among
the first 10; recall = expected GT objects found by at least one hit / expected objects (fragmented tubes of one
object count once for recall, each as correct for precision).

    python bench/eval_queries.py [--models ../shared/models] [--footage ../shared/footage] [--skip-tud]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import synth  # noqa: E402

from vsearch.query.engine import tubes_for  # noqa: E402
from vsearch.query.search import execute  # noqa: E402
from vsearch.query.options import QueryOptions  # noqa: E402
from vsearch.query.text import build_query  # noqa: E402
from vsearch.catalogue.store import Store  # noqa: E402

START = "2026-11-20T14:00:00+01:00"
DATE = "2026-11-20"
NOW = dt.datetime(2026, 11, 21, 9, tzinfo=dt.timezone.utc)
ZONE = "0.7,0.85 1,0.85 1,1 0.7,1"
STOP_ZONE = "0.4,0.35 0.55,0.35 0.55,0.6 0.4,0.6"


@dataclass
class Case:
    name: str
    text: str
    opts: QueryOptions
    expected: set[int]


def synth_cases() -> list[Case]:
    def o(**kw: object) -> QueryOptions:
        return QueryOptions(**kw)  # type: ignore[arg-type]

    window = dict(date=DATE, time_from="14:00:20", time_to="14:00:31")
    return [
        Case("FR voiture rouge", "voiture rouge", o(), {1}),
        Case("EN red car heading right", "red car heading right", o(), {1}),
        Case("FR voiture bleue vers la gauche", "voiture bleue vers la gauche", o(), {2}),
        Case("EN blue cars", "blue cars", o(), {2, 10}),
        Case("FR voiture blanche vers la droite", "voiture blanche vers la droite", o(), {3}),
        Case("FR voiture orange", "voiture orange", o(), {9}),
        Case("EN yellow", "yellow", o(), {8}),
        Case("--class car --direction right", "", o(classes=("car",), direction="right"), {1, 3, 9, 10}),
        Case("--class car --direction left", "", o(classes=("car",), direction="left"), {2, 4}),
        Case("--colour black", "", o(colours=("black",)), {4, 5, 8}),
        Case("--upper white --lower black", "", o(upper=("white",), lower=("black",)), {5}),
        Case("--upper red --lower blue", "", o(upper=("red",), lower=("blue",)), {6}),
        Case("--upper green,yellow (alternatives)", "", o(upper=("green", "yellow")), {7, 8}),
        Case("--class person --direction down", "", o(classes=("person",), direction="down"), {5}),
        Case("EN person walking left", "person walking left", o(), {7}),
        Case("--from 14:00:20 --to 14:00:31", "", o(**window), {4, 6, 7}),
        Case("FR voitures + window", "voitures", o(**window), {4}),
        Case("FR personne qui s'arrête", "personne qui s'arrête", o(), {8}),
        Case("--min-dwell 20s", "", o(min_dwell="20s"), {8}),
        Case("--zone entered (bottom right)", "", o(zones=(f"entered:{ZONE}",)), {5, 9}),  # 5 walks down into it
        Case("--zone stayed>=20 (stop area)", "", o(zones=(f"stayed>=20:{STOP_ZONE}",)), {8}),
        Case("--zone crossed (x = 0.5)", "", o(zones=("crossed:0.5,0 0.5,1",)), {1, 2, 3, 4, 6, 7, 8, 9, 10}),
    ]


# -- matching ------------------------------------------------------------------------------------------------
def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x1, y1 = np.minimum(a[:, 2], b[:, 2]), np.minimum(a[:, 3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


def match(tube, scale: float, gt_box) -> int | None:  # noqa: ANN001
    """The GT object id a tube belongs to, or None. `gt_box(obj, frame_index, pts_s)` -> box or None."""
    boxes = np.asarray(tube.boxes_xyxy, np.float64) * scale
    best, best_frac = None, 0.0
    for obj in gt_box.objects:
        gt = [gt_box(obj, int(f), float(t)) for f, t in zip(tube.frame_index, tube.pts_s)]
        have = np.array([g is not None for g in gt])
        if not have.any():
            continue
        g = np.array([g for g in gt if g is not None], np.float64)
        ok = iou(boxes[have], g) >= 0.3
        frac = ok.sum() / len(boxes)
        if ok.sum() >= max(1, have.sum() // 2) and frac > best_frac:
            best, best_frac = obj, frac
    return best


class SynthGT:
    def __init__(self, video: synth.SynthVideo) -> None:
        self.by_id = {o.obj_id: o for o in video.objects}
        self.objects = sorted(self.by_id)

    def __call__(self, obj: int, frame: int, pts_s: float):  # noqa: ANN204
        return self.by_id[obj].box(pts_s)


class MotGT:
    """MOT gt.txt: frame (1-based = video frame 0), id, x, y, w, h, ... Tube samples are located by their pts
    (`Tube.frame_index` counts sampled frames, not source frames)."""

    def __init__(self, path: Path, fps: float) -> None:
        self.fps = fps
        rows = np.loadtxt(path, delimiter=",")
        self.boxes: dict[tuple[int, int], tuple[float, ...]] = {}
        self.tracks: dict[int, list[tuple[int, float, float, float, float]]] = {}
        for f, i, x, y, w, h, *_ in rows:
            self.boxes[(int(i), int(f) - 1)] = (x, y, x + w, y + h)
            self.tracks.setdefault(int(i), []).append((int(f) - 1, x, y, x + w, y + h))
        self.objects = sorted(self.tracks)

    def __call__(self, obj: int, frame: int, pts_s: float):  # noqa: ANN204
        return self.boxes.get((obj, int(round(pts_s * self.fps))))


# -- running -------------------------------------------------------------------------------------------------
def index(folder: Path, store: Path, detector: str, models: Path | None) -> float:
    exe = Path(sys.executable).with_name("vsearch")
    cmd = [str(exe), "index", str(folder), "--store", str(store), "--detector", detector, "-q"]
    if models is not None:
        cmd += ["--models-dir", str(models)]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"indexing {folder} failed ({r.returncode}): {r.stderr[-2000:]}")
    return time.perf_counter() - t


def evaluate(store_dir: Path, cases: list[Case], gt, label: str) -> list[dict[str, object]]:  # noqa: ANN001
    store = Store(store_dir, create=False)
    scale_of = {s.source_id: (s.width_px / s.analysis_width_px if s.analysis_width_px else 1.0)
                for s in store.sources()}
    cams = store.cameras()
    cache: dict[str, int | None] = {}
    out = []
    for c in cases:
        spec = build_query(c.text, c.opts, now=NOW, cameras=cams)
        res = execute(store, spec)
        tubes = tubes_for(store, res.hits)
        owners = []
        for t in tubes:
            if t.tube_id not in cache:
                cache[t.tube_id] = match(t, scale_of.get(t.source_id, 1.0), gt)
            owners.append(cache[t.tube_id])
        top = owners[:10]
        p10 = (sum(o in c.expected for o in top) / len(top)) if top else (1.0 if not c.expected else 0.0)
        found = {o for o in owners if o in c.expected}
        recall = len(found) / len(c.expected) if c.expected else (1.0 if not owners else 0.0)
        wrong = sorted({o for o in owners if o not in c.expected}, key=lambda v: (v is None, v or 0))
        out.append({"set": label, "query": c.name, "expected": sorted(c.expected), "hits": len(owners),
                    "p10": p10, "recall": recall, "missed": sorted(c.expected - found),
                    "wrong": ["unmatched" if w is None else w for w in wrong]})
    return out


def tud_cases(gt: MotGT, fps: float, width: float, height: float) -> list[Case]:
    """Expected answers from GT geometry (tracks of at least 10 frames)."""
    tracks = {i: np.array(v, np.float64) for i, v in gt.tracks.items() if len(v) >= 10}

    def cx(a: np.ndarray) -> np.ndarray:
        return (a[:, 1] + a[:, 3]) / 2

    dx = {i: (cx(a)[-1] - cx(a)[0]) / width for i, a in tracks.items()}
    left = {i for i, d in dx.items() if d < -0.1}
    right = {i for i, d in dx.items() if d > 0.1}
    zone = (0.0, 0.0, 0.25, 1.0)  # left quarter of the frame

    def in_zone(a: np.ndarray) -> bool:
        gx, gy = cx(a) / width, a[:, 4] / height
        return bool(np.any((gx >= zone[0]) & (gx <= zone[2]) & (gy >= zone[1]) & (gy <= zone[3])))

    entered = {i for i, a in tracks.items() if in_zone(a)}
    t_lo, t_hi = 2.0, 3.0  # seconds after the start

    def present(a: np.ndarray) -> bool:
        return bool(np.any((a[:, 0] / fps >= t_lo) & (a[:, 0] / fps <= t_hi)))

    window = {i for i, a in tracks.items() if present(a)}
    long_ = {i for i, a in tracks.items() if (a[-1, 0] - a[0, 0]) / fps >= 5.0}
    poly = f"{zone[0]},{zone[1]} {zone[2]},{zone[1]} {zone[2]},{zone[3]} {zone[0]},{zone[3]}"
    tw = dict(date=DATE, time_from="14:00:02", time_to="14:00:03")
    return [
        Case("FR personnes vers la gauche", "personnes vers la gauche", QueryOptions(), left),
        Case("EN people heading right", "people heading right", QueryOptions(), right),
        Case("--zone entered (left quarter)", "", QueryOptions(zones=(f"entered:{poly}",)), entered),
        Case("--from 14:00:02 --to 14:00:03", "", QueryOptions(**tw), window),
        Case("--class person --min-dwell 5s", "", QueryOptions(classes=("person",), min_dwell="5s"), long_),
    ]


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| set | query | expected GT ids | hits | P@10 | recall | missed | wrong (GT id / unmatched) |",
             "|---|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r['set']} | {r['query']} | {' '.join(map(str, r['expected'])) or '—'} | {r['hits']} | "
                     f"{r['p10']:.2f} | {r['recall']:.2f} | {' '.join(map(str, r['missed'])) or '—'} | "
                     f"{' '.join(map(str, r['wrong'])) or '—'} |")
    for label in dict.fromkeys(r["set"] for r in rows):
        sel = [r for r in rows if r["set"] == label]
        lines.append(f"| **{label}: mean** | {len(sel)} queries | | | **{np.mean([r['p10'] for r in sel]):.2f}** | "
                     f"**{np.mean([r['recall'] for r in sel]):.2f}** | | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=REPO.parent / "shared" / "models")
    ap.add_argument("--footage", type=Path, default=REPO.parent / "shared" / "footage")
    ap.add_argument("--skip-tud", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args()
    rows: list[dict[str, object]] = []
    notes = []
    with tempfile.TemporaryDirectory(prefix="vsearch-evalq-") as tmp:
        root = Path(tmp)
        clip = synth.query_eval_scene(root / "synth" / "cam1.mp4")
        clip.path.with_suffix(".gt.json").unlink()
        clip.path.with_name("cam1.mp4.json").write_text(json.dumps({"camera": "cam1", "start": START}))
        secs = index(root / "synth", root / "store-synth", "motion", None)
        notes.append(f"synthetic: 72 s clip indexed with the motion detector in {secs:.0f} s")
        rows += evaluate(root / "store-synth", synth_cases(), SynthGT(clip), "synthetic (motion)")
        tud = args.footage / "TUD-Stadtmitte"
        if not args.skip_tud and tud.is_dir():
            d = root / "tud"
            d.mkdir()
            (d / "tud.mp4").symlink_to((tud / "TUD-Stadtmitte.mp4").resolve())
            (d / "tud.mp4.json").write_text(json.dumps({"camera": "tud", "start": START}))
            secs = index(d, root / "store-tud", "pvb-2002", args.models)
            notes.append(f"TUD-Stadtmitte: 7.2 s indexed with pvb-2002 in {secs:.0f} s")
            gt = MotGT(tud / "gt" / "gt.txt", 25.0)
            rows += evaluate(root / "store-tud", tud_cases(gt, 25.0, 640.0, 480.0), gt, "TUD-Stadtmitte (pvb-2002)")
    print(f"# {dt.date.today()} · {os.cpu_count()} CPUs {platform.processor() or platform.machine()} · "
          + "; ".join(notes))
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
