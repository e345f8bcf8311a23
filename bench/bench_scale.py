"""Scale-out figures for docs/scale-out.md and docs/benchmarks.md.

1. Indexing: the same footage (N distinct copies of intel/car-detection.mp4, stream-copied with a different
   comment so each has its own SHA-256) indexed by the single-process job (its CPU seconds give the throughput
   per core) and by `--executor ray` with 1 and 2 worker actors on a local Ray (2 CPUs); the 1 → 2 ratio.
2. Search: the 2-worker store uploaded as is to an S3 server (moto, loopback), then a filtered text search and
   a vector search (`similar --tube`) timed on both the folder and the s3:// store.

    python bench/bench_scale.py [--files 4] [--dir /tmp/vsearch-bench-scale] [--repeat 20]

Every job runs in its own `vsearch index` subprocess. Needs ../shared/footage and the cluster extra.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

REPO = Path(__file__).resolve().parents[1]
CAR30 = REPO.parent / "shared" / "footage" / "intel" / "car-detection.mp4"
MODELS = REPO.parent / "shared" / "models"  # the person/vehicle detector, as in bench_index.py
VSEARCH = str(Path(sys.executable).with_name("vsearch"))


def footage(d: Path, n: int) -> float:
    """`n` copies of car30 with distinct hashes and sidecars; returns the footage seconds."""
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        out = d / f"car-{i}.mp4"
        if not out.exists():
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(CAR30), "-c", "copy",
                            "-metadata", f"comment=bench copy {i}", str(out)], check=True)
        out.with_name(out.name + ".json").write_text(json.dumps({"camera": f"cam{i % 2}",
                                                                 "start": f"2026-11-20T10:{i:02d}:00Z"}))
    return 30.2 * n


def index_job(d: Path, store: Path | str, *extra: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """One `vsearch index` in a subprocess: wall seconds, CPU seconds of the process tree it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run([VSEARCH, "index", str(d), "--store", str(store), "-q", "--json", "--models-dir",
                        str(MODELS), *extra],
                       capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"index failed: {r.stderr[-2000:]}")
    job = json.loads(r.stdout)
    return {"wall_s": wall, "job_wall_s": job["wall_s"], "footage_s": job["footage_s"],
            "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "file_wall_s": sum(f["wall_s"] for f in job["files"]), "tubes": sum(f["tubes"] for f in job["files"]),
            "detector": job["pipeline"]["params"]["detector"]}


def upload(folder: Path, endpoint: str, bucket: str, prefix: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    for f in folder.rglob("*"):
        if f.is_file():
            s3.upload_file(str(f), bucket, f"{prefix}/{f.relative_to(folder)}")


def timed(fn, repeat: int) -> list[float]:  # noqa: ANN001
    fn()  # warm-up: opens the tables
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def search_latency(folder: Path, repeat: int) -> None:
    from moto.server import ThreadedMotoServer

    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true")
    upload(folder, endpoint, "bench", "store")
    from vsearch.catalogue.store import Store
    from vsearch.query.engine import run_query
    from vsearch.query.similar import Scope, like_tube
    from vsearch.query.options import QueryOptions
    from vsearch.query.text import build_query

    print("| store | query | hits | p50 ms | p90 ms |")
    print("|---|---|---:|---:|---:|")
    for label, uri in (("folder", str(folder)), ("s3 (moto, loopback)", "s3://bench/store")):
        store = Store(uri, create=False)
        spec = build_query("white car between 11am and noon", QueryOptions(limit=50, cameras=("cam0",)),
                           now=dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc), cameras=store.cameras())
        tube_id = store.tubes_arrow(columns=["tube_id"]).column("tube_id")[0].as_py()
        for name, fn in (("text: white car on cam0, 11h-noon Paris", lambda: run_query(store, spec)),  # noqa: B023
                         ("vector: similar --tube", lambda: like_tube(store, tube_id, Scope()))):  # noqa: B023
            hits = fn()
            n = len(hits.hits) if hasattr(hits, "hits") else len(hits)
            ms = timed(fn, repeat)
            print(f"| {label} | {name} | {n} | {np.percentile(ms, 50):.0f} | {np.percentile(ms, 90):.0f} |",
                  flush=True)
    server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vsearch-bench-scale"))
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--search-only", action="store_true", help="reuse the 2-worker store of a previous run")
    args = ap.parse_args()
    d = args.dir / "footage"
    seconds = footage(d, args.files)
    stores = args.dir / "stores"
    if not args.search_only:
        shutil.rmtree(stores, ignore_errors=True)
        print(f"# {args.files} files, {seconds:.0f} s of footage; {os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.1f}")
        runs = {"local job, 1 process": index_job(d, stores / "local"),
                "ray, 1 worker": index_job(d, stores / "ray1", "--executor", "ray", "--workers", "1"),
                "ray, 2 workers": index_job(d, stores / "ray2", "--executor", "ray", "--workers", "2")}
        print("| run | wall s | job wall s | × real time (wall) | sum of per-file wall s | tubes | CPU s (waited) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, m in runs.items():
            print(f"| {name} | {m['wall_s']:.1f} | {m['job_wall_s']:.1f} | {m['footage_s'] / m['wall_s']:.2f} | "
                  f"{m['file_wall_s']:.1f} | {m['tubes']} | {m['cpu_s']:.1f} |")
        loc = runs["local job, 1 process"]
        print(f"# detector {loc['detector']}")
        print(f"# per CPU core (local job): {loc['footage_s'] / loc['cpu_s']:.2f} × real time; "
              f"ray 1 → 2 workers: {runs['ray, 1 worker']['wall_s'] / runs['ray, 2 workers']['wall_s']:.2f}× "
              f"(wall), {runs['ray, 1 worker']['job_wall_s'] / runs['ray, 2 workers']['job_wall_s']:.2f}× "
              f"(job wall); load {os.getloadavg()[0]:.1f}")
    search_latency(stores / "ray2", args.repeat)


if __name__ == "__main__":
    main()
