"""Retrieval quality on real footage: natural EN/FR queries with labelled expected objects (issue 14).

The set (`bench/retrieval_set.toml`) was written before any tuning: English queries as a witness would say them,
each with its French translation, over real clips; expected objects are labelled by box and time in the source
video, so the labels survive re-indexing. Reports per query the rank of the first expected object, and overall
top-1, top-3, MRR (first expected rank, 0 when absent) and FR/EN agreement (same top 3 tubes, as sets).

    python bench/eval_retrieval.py [--store DIR] [--models ../shared/models] [--json rows.json]

With `--store`, an existing store indexed from the same clips (camera = cam-<clip key>) is reused; otherwise the clips
are indexed into a temporary store with the default detector.
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
import tomllib
from pathlib import Path

import numpy as np

from vsearch.catalogue.store import Store
from vsearch.query.engine import tubes_for
from vsearch.query.search import execute
from vsearch.query.text import build_query

REPO = Path(__file__).resolve().parents[1]
SET = REPO / "bench" / "retrieval_set.toml"
START = "2026-11-20T14:00:00+01:00"
NOW = dt.datetime(2026, 11, 21, 9, tzinfo=dt.timezone.utc)
CAMERA = "cam-{}"  # camera id of each clip (not a word of any query)
MATCH_DT_S = 0.6
MATCH_IOU = 0.3


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def owner(tube, scale: float, objects: dict[str, dict]) -> str | None:  # noqa: ANN001
    """The labelled object this tube is, or None."""
    pts = np.asarray(tube.pts_s, np.float64)
    boxes = np.asarray(tube.boxes_xyxy, np.float64).reshape(-1, 4) * scale
    for name, obj in objects.items():
        if CAMERA.format(obj["clip"]) != tube.camera:
            continue
        for t, *box in obj["samples"]:
            k = int(np.argmin(np.abs(pts - t)))
            if abs(pts[k] - t) <= MATCH_DT_S and iou(boxes[k], np.asarray(box)) >= MATCH_IOU:
                return name
    return None


def index_clips(clips: dict[str, str], store: Path, models: Path | None) -> float:
    exe = Path(sys.executable).with_name("vsearch")
    t = time.perf_counter()
    for camera, rel in clips.items():
        cmd = [str(exe), "index", str((REPO / rel).resolve()), "--camera", CAMERA.format(camera), "--start", START, "--store",
               str(store), "-q"] + (["--models-dir", str(models)] if models else [])
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"indexing {rel} failed ({r.returncode}): {r.stderr[-2000:]}")
    return time.perf_counter() - t


def evaluate(store: Store, labelled: dict) -> list[dict[str, object]]:
    objects = labelled["objects"]
    scale = {s.source_id: (s.width_px / s.analysis_width_px if s.analysis_width_px else 1.0) for s in store.sources()}
    cams = store.cameras()
    cache: dict[str, str | None] = {}
    rows = []
    for n, q in enumerate(labelled["query"], 1):
        expect = set(q["expect"])
        tops = {}
        for lang in ("en", "fr"):
            spec = build_query(q[lang], now=NOW, cameras=cams)
            hits = execute(store, spec).hits
            for t in tubes_for(store, hits):
                if t.tube_id not in cache:
                    cache[t.tube_id] = owner(t, scale[t.source_id], objects)
            owners = [cache.get(h.tube_id) for h in hits]
            rank = next((i for i, o in enumerate(owners, 1) if o in expect), 0)
            tops[lang] = {h.tube_id for h in hits[:3]}
            rows.append({"pair": n, "lang": lang, "query": q[lang], "rank": rank, "hits": len(hits),
                         "top3": [o or "-" for o in owners[:3]], "unknown": list(spec.unknown_words)})
        rows[-1]["agree"] = rows[-2]["agree"] = tops["en"] == tops["fr"]
    return rows


def summary(rows: list[dict[str, object]]) -> dict[str, float]:
    ranks = np.array([r["rank"] for r in rows])
    pairs = {r["pair"]: r["agree"] for r in rows}
    return {"queries": len(rows), "top1": float(np.mean(ranks == 1)), "top3": float(np.mean((ranks >= 1) & (ranks <= 3))),
            "mrr": float(np.mean([1 / r if r else 0.0 for r in ranks])),
            "fr_en_agree": sum(pairs.values()), "pairs": len(pairs)}


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| # | lang | query | rank | hits | top 3 (labelled object or -) | not understood |", "|---|---|---|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r['pair']} | {r['lang']} | {r['query']} | {r['rank'] or '—'} | {r['hits']} | "
                     f"{', '.join(r['top3'])} | {' '.join(r['unknown']) or ''} |")
    s = summary(rows)
    lines.append(f"\n**{s['queries']} queries: top-1 {s['top1']:.0%}, top-3 {s['top3']:.0%}, MRR {s['mrr']:.2f}; "
                 f"FR/EN same top 3 for {s['fr_en_agree']} of {s['pairs']} pairs**")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="reuse this store (indexed from the set's clips)")
    ap.add_argument("--models", type=Path, default=REPO.parent / "shared" / "models")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = ap.parse_args()
    labelled = tomllib.loads(SET.read_text(encoding="utf-8"))
    note = ""
    with tempfile.TemporaryDirectory(prefix="vsearch-evalr-") as tmp:
        store_dir = args.store
        if store_dir is None:
            store_dir = Path(tmp) / "store"
            secs = index_clips(labelled["clips"], store_dir, args.models if args.models.is_dir() else None)
            note = f"; indexed {len(labelled['clips'])} clips in {secs:.0f} s"
        rows = evaluate(Store(store_dir, create=False), labelled)
    print(f"# {dt.date.today()} · {os.cpu_count()} CPUs {platform.processor() or platform.machine()}{note}")
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary(rows)}, indent=1))


if __name__ == "__main__":
    main()
