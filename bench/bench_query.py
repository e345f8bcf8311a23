"""Query speed over a large synthetic catalogue: 1 M tubes, end to end through `search.execute`.

Generates tube rows directly into a `Store` (pyarrow batches in `TUBES_SCHEMA`, with the heavy per-sample
columns: 20-50 samples of frame index, pts, boxes, scores and mask RLE per tube; the soft-evidence columns
are computed from them by `catalogue.store.tubes_table`, as for indexed tubes) and the matching `sources`
rows (one file per camera-hour), builds the scalar indices, then times typical searches. Each query is also
timed as a bare LanceDB `count_rows` with the same pre-filter, the baseline measured in the same run (the
machine may be shared: compare the two columns, not absolute numbers across runs).

    python bench/bench_query.py [--tubes 1000000] [--dir /tmp/vsearch-bench-query] [--repeat 30] [--keep]
                                [--only 'soft'] [--hits-out FILE] [--compare-hits FILE]

The dataset is deleted at the end unless --keep (a kept dataset of the same size is reused by the next run).
--hits-out writes each query's candidate count, top hits (tube ids and scores) and a SHA-256 of its whole
result as `--json` prints it (hits with their explanations, and the coverage report, every file listed);
--compare-hits reads such a file and says per query whether all of these are the same. To compare with another
version of the library on the same kept catalogue, run this script (the same file, for the same digest) once
with that version importable (e.g. PYTHONPATH=<its checkout>) and --hits-out, then with this one and
--compare-hits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa

from vsearch.query.engine import search_filter
from vsearch.query.search import execute
from vsearch.query.options import QueryOptions
from vsearch.query.text import build_query
from vsearch.catalogue.store import SOURCES_SCHEMA, TUBE_ROW_SCHEMA, TUBES_SCHEMA, Store, tubes_table

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 10, 1, tzinfo=UTC)
N_CAMERAS, N_DAYS = 50, 30
PALETTE = ("black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")
# realistic skew: dark/neutral colours dominate
PALETTE_P = np.array([0.24, 0.16, 0.2, 0.06, 0.02, 0.03, 0.04, 0.12, 0.02, 0.02, 0.09])
CLASSES = ("person", "car", "bicycle", "motorbike", "truck", "bus", "other")
CLASSES_P = np.array([0.45, 0.35, 0.05, 0.04, 0.05, 0.02, 0.04])
DIR8 = ("N", "NE", "E", "SE", "S", "SW", "W", "NW", "none")
BATCH = 50_000


def _cam(i: int) -> str:
    return f"cam{i:02d}"


def _sid(cam: int, hour: int) -> str:
    return f"{cam:02d}{hour:06d}".ljust(64, "0")


def sources_table() -> pa.Table:
    """One 1-hour file per camera-hour over N_DAYS (36 000 rows for 50 cameras, 30 days)."""
    rows = []
    for cam in range(N_CAMERAS):
        for hour in range(N_DAYS * 24):
            start = T0 + dt.timedelta(hours=hour)
            sid = _sid(cam, hour)
            rows.append({
                "source_id": sid, "path": f"/nvr/{_cam(cam)}/{start:%Y%m%d-%H}.mp4", "size_bytes": 1_800_000_000,
                "mtime_ns": 0, "sha256": sid, "container": "mp4", "codec": "h264", "width_px": 1920,
                "height_px": 1080, "fps_num": 25, "fps_den": 1, "duration_s": 3600.0, "start_pts_s": 0.0,
                "camera": _cam(cam), "start_utc": start, "end_utc": start + dt.timedelta(hours=1),
                "start_origin": "sidecar", "clock_offset_s": 0.0, "status": "ok", "error": "",
                "frames_decoded": 90000, "frames_sampled": 18000, "gaps_json": "[]", "decoder": "ffmpeg",
                "detector": "pvb-2002", "stage_info_json": "{}", "params_json": "{}", "warnings_json": "[]",
                "analysis_width_px": 640, "analysis_height_px": 360, "n_tubes": 0, "indexed_utc": T0,
                "job_id": "bench"})
    return pa.Table.from_pylist(rows, schema=SOURCES_SCHEMA)


def _fractions(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 11) colour fractions: a dominant colour, a second one, a little of a third."""
    out = np.zeros((n, len(PALETTE)))
    idx = np.stack([rng.choice(len(PALETTE), n, p=PALETTE_P) for _ in range(3)], axis=1)
    w = np.stack([rng.uniform(0.45, 0.85, n), rng.uniform(0.05, 0.35, n), rng.uniform(0.0, 0.08, n)], axis=1)
    for k in range(3):
        np.add.at(out, (np.arange(n), idx[:, k]), w[:, k])
    return np.round(out / out.sum(axis=1, keepdims=True), 4)


def _listed(frac: np.ndarray, present: np.ndarray | None = None) -> list[list[str]]:
    out = []
    for i, row in enumerate(frac):
        if present is not None and not present[i]:
            out.append([])
            continue
        order = np.argsort(-row, kind="stable")
        out.append([PALETTE[j] for j in order if row[j] >= 0.15])
    return out


def _json_fr(row: np.ndarray) -> str:
    return "{" + ", ".join(f'"{PALETTE[j]}": {row[j]}' for j in np.argsort(-row, kind="stable") if row[j] >= 0.02) + "}"


def tube_batch(rng: np.random.Generator, start: int, n: int, masks: pa.Array) -> pa.Table:
    cam = rng.integers(0, N_CAMERAS, n)
    t_s = np.sort(rng.uniform(0, N_DAYS * 86400 - 120, n))
    hour = (t_s // 3600).astype(np.int64)
    dur = rng.gamma(2.0, 8.0, n) + 2.0
    cls = np.array(CLASSES)[rng.choice(len(CLASSES), n, p=CLASSES_P)]
    person = cls == "person"
    k = rng.integers(20, 51, n)
    offs = np.concatenate(([0], np.cumsum(k))).astype(np.int32)
    total = int(offs[-1])
    row_of = np.repeat(np.arange(n), k)
    step = np.arange(total) - np.repeat(offs[:-1], k)
    pts = (t_s - hour * 3600)[row_of] + step * (dur / np.maximum(k - 1, 1))[row_of]
    x0 = rng.uniform(0, 560, n)[row_of] + step * rng.uniform(-6, 6, n)[row_of]
    y0 = rng.uniform(0, 300, n)[row_of] + step * rng.uniform(-3, 3, n)[row_of]
    w, h = rng.uniform(12, 80, n)[row_of], rng.uniform(20, 90, n)[row_of]
    boxes = np.stack([x0, y0, x0 + w, y0 + h], axis=1).astype(np.float32).ravel()
    frac, up, lo = _fractions(rng, n), _fractions(rng, n), _fractions(rng, n)
    d8 = np.array(DIR8)[rng.integers(0, len(DIR8), n)]
    horiz = np.where(np.isin(d8, ["E", "NE", "SE"]), "right", np.where(np.isin(d8, ["W", "NW", "SW"]), "left", "none"))
    vert = np.where(np.isin(d8, ["N", "NE", "NW"]), "up", np.where(np.isin(d8, ["S", "SE", "SW"]), "down", "none"))
    stat = np.where(rng.random(n) < 0.03, rng.uniform(10, 300, n), rng.uniform(0, 3, n))
    speed = np.round(rng.gamma(2.0, 0.05, n), 4)
    items = rng.random((n, 3))
    attrs = []
    for i in range(n):
        path = ", ".join(f"[{pts[offs[i] + j]:.2f}, {x0[offs[i] + j] / 640:.3f}, {y0[offs[i] + j] / 360:.3f}]"
                         for j in range(0, int(k[i]), 7))
        models = (f'{{"has_bag": {items[i, 0]:.3f}, "has_backpack": {items[i, 1]:.3f}, "has_hat": {items[i, 2]:.3f}}}'
                  if person[i] else "{}")
        attrs.append(
            f'{{"area_px": 2400.0, "class_votes": {{"{cls[i]}": 1.0}}, "colours": {_json_fr(frac[i])}, '
            f'"direction8": "{d8[i]}", "dwell_s": {dur[i]:.3f}, "horizontal": "{horiz[i]}", '
            f'"lower_colours": {_json_fr(lo[i]) if person[i] else "{}"}, "models": {models}, "path": [{path}], '
            f'"speed_mean_fw_s": {speed[i]}, "stationary_max_s": {stat[i]:.2f}, '
            f'"upper_colours": {_json_fr(up[i]) if person[i] else "{}"}, "vertical": "{vert[i]}"}}')
    start_utc = np.datetime64(T0.replace(tzinfo=None), "us") + (t_s * 1e6).astype("timedelta64[us]")
    sid = [_sid(int(c), int(hr)) for c, hr in zip(cam, hour)]

    def lst(values: np.ndarray, typ: pa.DataType, per: int = 1) -> pa.Array:
        return pa.ListArray.from_arrays(pa.array(offs * per, pa.int32()), pa.array(values, typ))

    data = {
        "tube_id": [f"{s[:16]}-{start + i:07d}" for i, s in enumerate(sid)],
        "source_id": sid, "camera": [_cam(int(c)) for c in cam],
        "track_no": pa.array(np.arange(start, start + n) % 100000, pa.int32()),
        "class_name": cls, "class_source": ["pvb-2002"] * n,
        "start_utc": pa.array(start_utc, TUBES_SCHEMA.field("start_utc").type),
        "end_utc": pa.array(start_utc + (dur * 1e6).astype("timedelta64[us]"), TUBES_SCHEMA.field("end_utc").type),
        "first_pts_s": t_s - hour * 3600, "last_pts_s": t_s - hour * 3600 + dur,
        "n_samples": pa.array(k, pa.int32()),
        "frame_index": lst(np.round(pts * 25).astype(np.int64), pa.int64()),
        "pts_s": lst(pts, pa.float64()), "boxes_xyxy": lst(boxes, pa.float32(), 4),
        "scores": lst(rng.uniform(0.5, 1, total).astype(np.float32), pa.float32()),
        "masks_rle": pa.ListArray.from_arrays(pa.array(offs, pa.int32()),
                                              masks.take(pa.array(rng.integers(0, len(masks), total)))),
        "colours": _listed(frac), "upper_colours": _listed(up, person), "lower_colours": _listed(lo, person),
        "direction8": d8, "horizontal": horiz, "vertical": vert,
        "speed_mean_fw_s": speed, "speed_max_fw_s": speed * 1.5, "speed_mean_px_s": speed * 640,
        "dwell_s": np.round(dur, 3), "stationary_max_s": stat, "entry_edge": ["left"] * n, "exit_edge": ["right"] * n,
        "area_px": np.full(n, 2400.0), "analysis_scale": np.full(n, 3.0),
        "thumb_path": [f"thumbs/{s}/{start + i:07d}.jpg" for i, s in enumerate(sid)],
        "attributes_json": attrs,
    }
    return tubes_table(pa.table(data, schema=TUBE_ROW_SCHEMA))  # + the soft columns, as the store's writer adds them


def mask_pool(rng: np.random.Generator, size: int = 512) -> pa.Array:
    """RLE strings shaped like `indexers.masks.encode` output for small blobs (about 60-140 characters)."""
    out = []
    for _ in range(size):
        h, w = int(rng.integers(12, 40)), int(rng.integers(6, 20))
        runs = [int(rng.integers(0, 40))] + [int(v) for v in rng.integers(1, 12, int(rng.integers(10, 30)))]
        out.append(f"{h}x{w}:0:" + ",".join(map(str, runs)))
    return pa.array(out)


def build(root: Path, n_tubes: int) -> Store:
    store = Store(root)
    store.table("sources").add(sources_table())
    rng = np.random.default_rng(0)
    masks = mask_pool(rng)
    tubes = store.table("tubes")
    for start in range(0, n_tubes, BATCH):
        tubes.add(tube_batch(rng, start, min(BATCH, n_tubes - start), masks))
        print(f"  {min(start + BATCH, n_tubes):,} tubes written", file=sys.stderr, flush=True)
    tubes.optimize()
    return store


def queries() -> list[tuple[str, str, QueryOptions]]:
    day = dict(time_from="2026-10-12T00:00:00+02:00", time_to="2026-10-12T23:59:59+02:00")
    two_h = dict(time_from="2026-10-12T14:00:00+02:00", time_to="2026-10-12T16:00:00+02:00")
    return [
        ("class+colour+camera, 2 h", "", QueryOptions(classes=("car",), colours=("red",), cameras=("cam07",),
                                                      **two_h)),
        ("class+colour, all cameras, 1 day", "", QueryOptions(classes=("car",), colours=("red",), **day)),
        ("direction+camera, 1 day", "", QueryOptions(direction="left", cameras=("cam07",), **day)),
        ("upper/lower colours, 1 day", "", QueryOptions(classes=("person",), upper=("white",), lower=("blue",),
                                                        **day)),
        ("text FR + camera, date", "voiture rouge vers la gauche entre 14h et 16h sur cam07",
         QueryOptions(date="2026-10-12")),
        ("persons dwell >= 60 s, 1 week", "", QueryOptions(classes=("person",), min_dwell="60s",
                                                           time_from="2026-10-05T00:00:00+02:00",
                                                           time_to="2026-10-12T00:00:00+02:00")),
        ("direction+camera, 30 days", "", QueryOptions(direction="left", cameras=("cam07",))),
        ("text EN, time of day, 30 days", "red car heading left between 2pm and 4pm", QueryOptions()),
        ("upper/lower colours, 30 days", "", QueryOptions(classes=("person",), upper=("white",), lower=("blue",))),
        ("colour only, 30 days", "", QueryOptions(colours=("red",))),
        ("direction only, 30 days", "", QueryOptions(direction="left")),
        # descriptive words rank (soft): every person of the scope is scored, none filtered out
        ("text EN, 4 soft terms, camera + 1 day", "person in a red coat with a backpack and jeans on cam07",
         QueryOptions(**day)),
        ("text FR, 3 soft terms, 1 day", "personne en doudoune rouge avec un sac", QueryOptions(**day)),
        ("text EN, 3 soft terms, 30 days", "white van coming towards the camera", QueryOptions()),
        # the van rule compares each box with its camera's typical vehicle (every candidate's camera and shape)
        ("text EN, 3 soft terms, camera + 1 day", "white van coming towards the camera on cam07",
         QueryOptions(**day)),
    ]


def timed(fn, repeat: int) -> list[float]:  # noqa: ANN001
    fn()  # warm-up: opens files, loads index pages
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tubes", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vsearch-bench-query"))
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--keep", action="store_true", help="keep the dataset (reused by the next run)")
    ap.add_argument("--only", default="", help="time only the queries whose name contains this (e.g. 'soft')")
    ap.add_argument("--hits-out", type=Path, help="write each query's candidates and top hits (ids, scores) here")
    ap.add_argument("--compare-hits", type=Path, help="a --hits-out file to compare this run's hits with")
    args = ap.parse_args()
    want = json.loads(args.compare_hits.read_text()) if args.compare_hits else None
    got: dict[str, object] = {}
    marker = args.dir / "bench-tubes.json"
    t = time.perf_counter()
    if marker.exists() and json.loads(marker.read_text())["tubes"] == args.tubes:
        store = Store(args.dir, create=False)
        print(f"reusing {args.dir}", file=sys.stderr)
    else:
        shutil.rmtree(args.dir, ignore_errors=True)
        store = build(args.dir, args.tubes)
        marker.write_text(json.dumps({"tubes": args.tubes}))
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    if not json.loads(marker.read_text()).get("indexed"):  # a kept dataset keeps its indices: rebuilding them
        store.ensure_scalar_indices()  # at every run left the old index files behind (3.75 -> 6.4 GB in a day)
        marker.write_text(json.dumps({"tubes": args.tubes, "indexed": True}))
    index_s = time.perf_counter() - t
    size_gb = sum(f.stat().st_size for f in args.dir.rglob("*") if f.is_file()) / 1e9
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    now = dt.datetime(2026, 10, 31, 12, tzinfo=UTC)
    cams = store.cameras()
    table = store.table("tubes")
    print(f"# {store.counts()['tubes']:,} tubes, {store.counts()['sources']:,} sources, {size_gb:.2f} GB on disk; "
          f"build {build_s:.0f} s, scalar indices {index_s:.0f} s; {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}, load {os.getloadavg()[0]:.1f}")
    same_head, same_rule = (" same hits |", "---|") if want is not None else ("", "")
    print(f"| query | candidates | hits | execute p50 ms | p99 ms | bare count p50 ms | p99 ms |{same_head}")
    print(f"|---|---:|---:|---:|---:|---:|---:|{same_rule}")
    for name, text, opts in queries():
        if args.only not in name:
            continue
        spec = build_query(text, replace(opts, limit=opts.limit or 50), now=now, cameras=cams)  # CLI default
        where = search_filter(spec)
        res = execute(store, spec)
        full = json.dumps(res.to_dict(), default=str).encode()  # hits with explanations, and the coverage report
        got[name] = {"candidates": res.candidates, "hits": [[h.tube_id, h.score] for h in res.hits],
                     "result_sha256": hashlib.sha256(full).hexdigest()}
        q = timed(lambda: execute(store, spec), args.repeat)  # noqa: B023
        b = timed(lambda: table.count_rows(where), args.repeat)  # noqa: B023
        same = "" if want is None else (" yes |" if want.get(name) == got[name] else " **no** |")
        print(f"| {name} | {res.candidates:,} | {len(res.hits)} | {pct(q, 50):.0f} | {pct(q, 99):.0f} | "
              f"{pct(b, 50):.0f} | {pct(b, 99):.0f} |{same}", flush=True)
    if args.hits_out:
        args.hits_out.write_text(json.dumps(got, indent=1))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# peak RSS {rss:.0f} MiB (after opening the store {rss0:.0f} MiB); load {os.getloadavg()[0]:.1f}")
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
