"""Vector-search benchmark: LanceDB IVF_PQ (vsearch.catalogue.vectors) vs FAISS, on synthetic clustered 512-d vectors.

Vectors are generated in chunks (never all in RAM for LanceDB), each chunk written to LanceDB; exact top-k
ground truth (unfiltered and filtered) is accumulated per chunk in the same pass. FAISS (IVF-PQ with the same
partition/sub-vector counts, and an exact flat index) is built only at sizes <= --faiss-max since it keeps
everything in RAM.

Selective filter: one camera of 100 AND a 3-day window of a 30-day span (~0.1 % of rows).

    python bench/bench_vectors.py --sizes 100000 1000000 --out bench/results/vectors.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LANCE_CPU_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402

from vsearch.catalogue import vectors as vs  # noqa: E402

DIM = 512
N_CAMERAS = 100
SPAN_S = 30 * 86400
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
WIN = (T0 + dt.timedelta(days=10), T0 + dt.timedelta(days=13))
FILTER_CAMERA = "cam042"
DESCRIPTOR, WEIGHTS = "bench-synthetic-512", ""
K = 10


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


SIGHTINGS = 10  # rows per identity: the same object seen ~10 times (tubes on several cameras/days)


def centres(n_clusters: int, seed: int = 1) -> np.ndarray:
    c = np.random.default_rng(seed).standard_normal((n_clusters, DIM)).astype(np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


class Data:
    """Synthetic embeddings with structure like tubes: clusters (kinds of look) of identities (one object),
    each identity seen ~SIGHTINGS times. Metadata (identity, camera, time) for all rows is drawn up front
    (small); vectors are generated per chunk, deterministically."""

    def __init__(self, n: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        self.n_ids = max(n // SIGHTINGS, 1)
        self.cents = centres(max(self.n_ids // 50, 16))
        self.id_cluster = rng.integers(0, len(self.cents), self.n_ids)
        self.id_offset = (rng.standard_normal((self.n_ids, DIM)) * 0.04).astype(np.float16)  # |off| ~0.9
        self.identity = rng.integers(0, self.n_ids, n)
        self.cam = rng.integers(0, N_CAMERAS, n)
        self.secs = rng.integers(0, SPAN_S, n)
        self.mask = in_filter(self.cam, self.secs)
        self.mask_cam = self.cam == int(FILTER_CAMERA[3:])

    def vectors(self, ids: np.ndarray, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        v = self.cents[self.id_cluster[ids]] + self.id_offset[ids].astype(np.float32)
        v += rng.standard_normal((len(ids), DIM), dtype=np.float32) * np.float32(0.02)  # sighting noise |.|~0.45
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def chunk(self, start: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sl = slice(start, start + m)
        return self.vectors(self.identity[sl], 1000 + start), self.cam[sl], self.secs[sl]

    def queries(self, nq: int, mask: np.ndarray | None, seed: int) -> np.ndarray:
        """New sightings of identities present in the data (within the filter, for filtered queries)."""
        rng = np.random.default_rng(99 + seed)
        pool = self.identity if mask is None else self.identity[mask]
        return self.vectors(rng.choice(np.unique(pool), nq), 10**9 + seed)


def in_filter(cam: np.ndarray, secs: np.ndarray) -> np.ndarray:
    lo, hi = ((w - T0).total_seconds() for w in WIN)
    return (cam == int(FILTER_CAMERA[3:])) & (secs >= lo) & (secs < hi)


class TopK:
    """Running exact top-k (by inner product) over chunks, for a batch of queries."""

    def __init__(self, nq: int) -> None:
        self.s = np.full((nq, K), -np.inf, np.float32)
        self.i = np.full((nq, K), -1, np.int64)

    def update(self, q: np.ndarray, v: np.ndarray, base: int, mask: np.ndarray | None = None) -> None:
        if mask is not None:
            idx = np.flatnonzero(mask)
            if idx.size == 0:
                return
            v = v[idx]
        else:
            idx = np.arange(len(v))
        s = q @ v.T
        s_all = np.concatenate([self.s, s], axis=1)
        i_all = np.concatenate([self.i, idx[None, :].repeat(len(q), 0) + base], axis=1)
        top = np.argsort(-s_all, axis=1, kind="stable")[:, :K]
        self.s = np.take_along_axis(s_all, top, 1)
        self.i = np.take_along_axis(i_all, top, 1)


def pct(xs: list[float]) -> dict[str, float]:
    a = np.asarray(xs) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p99_ms": round(float(np.percentile(a, 99)), 2),
            "mean_ms": round(float(a.mean()), 2)}


def recall(found: list[list[int]], truth: np.ndarray, k: int = K) -> float:
    hits = tot = 0
    for f, t in zip(found, truth):
        t = [x for x in t.tolist()[:k] if x >= 0]
        hits += len(set(f[:k]) & set(t))
        tot += len(t)
    return round(hits / max(tot, 1), 4)


def item_id(i: int) -> str:
    return f"t{i:010d}"


def run_size(n: int, args: argparse.Namespace, data_dir: Path) -> dict:
    import lancedb

    data = Data(n)
    q, qf = data.queries(args.queries, None, 0), data.queries(args.queries, data.mask, 1)
    qc = data.queries(args.queries, data.mask_cam, 2)
    top_all, top_f, top_c = TopK(len(q)), TopK(len(qf)), TopK(len(qc))
    db_path = data_dir / f"lance_{n}"
    reuse = args.reuse and (db_path / f"{vs.table_name(DESCRIPTOR)}.lance").is_dir()
    if not reuse:
        shutil.rmtree(db_path, ignore_errors=True)
    db = lancedb.connect(db_path)
    table = vs.open_or_create(db, DESCRIPTOR, WEIGHTS, DIM)
    if reuse and table.count_rows() != n:
        raise SystemExit(f"--reuse: {db_path} holds {table.count_rows()} rows, not {n}")
    use_faiss = n <= args.faiss_max
    fx: dict = {}
    if use_faiss:
        import faiss

        faiss.omp_set_num_threads(2)
        plan = vs.index_plan(n, DIM)
        ivf = faiss.IndexIVFPQ(faiss.IndexFlatIP(DIM), DIM, plan.num_partitions, plan.num_sub_vectors, 8,
                               faiss.METRIC_INNER_PRODUCT)
        flat = faiss.IndexFlatIP(DIM)
        fx = {"ivf": ivf, "flat": flat, "train_s": 0.0, "add_s": 0.0, "filter_ids": []}
    t_write = 0.0
    t_gen = time.perf_counter()
    n_filtered = 0
    for start in range(0, n, args.chunk):
        m = min(args.chunk, n - start)
        v, cam, secs = data.chunk(start, m)
        mask = in_filter(cam, secs)
        n_filtered += int(mask.sum())
        top_all.update(q, v, start)
        top_f.update(qf, v, start, mask)
        top_c.update(qc, v, start, data.mask_cam[start: start + m])
        rows = vs.vectors_to_arrow(
            v, item_ids=[item_id(start + i) for i in range(m)], kinds=["tube"] * m, descriptor=DESCRIPTOR,
            weights_sha256=WEIGHTS, cameras=[f"cam{c:03d}" for c in cam], class_names=["person"] * m,
            start_utc=(np.datetime64(T0.replace(tzinfo=None), "us") + secs.astype("timedelta64[s]")),
            source_ids=[f"src{c:03d}" for c in cam])
        t = time.perf_counter()
        if not reuse:
            vs.add_vectors(table, rows)
        t_write += time.perf_counter() - t
        if use_faiss:
            t = time.perf_counter()
            if not fx["ivf"].is_trained:
                ivf_train = v[: min(len(v), max(64 * fx["ivf"].nlist, 20_000), 100_000)]
                fx["ivf"].train(ivf_train)
                fx["train_s"] = time.perf_counter() - t
                t = time.perf_counter()
            fx["ivf"].add(v)
            fx["flat"].add(v)
            fx["add_s"] += time.perf_counter() - t
            fx["filter_ids"].append(np.flatnonzero(mask) + start)
        del v, rows
    gen_total = time.perf_counter() - t_gen
    flat: dict = {}
    if n <= args.flat_max:  # exact scan, no vector index: what tables below the index threshold get
        where = vs.build_where(cameras=[FILTER_CAMERA], start_utc=WIN[0], end_utc=WIN[1])
        for label, w, qs in (("unfiltered", None, q), ("filtered", where, qf)):
            lat = []
            for qi in range(-2, 20):
                t = time.perf_counter()
                vs.search(table, qs[qi % len(qs)], descriptor=DESCRIPTOR, weights_sha256=WEIGHTS, where=w, limit=K)
                if qi >= 0:
                    lat.append(time.perf_counter() - t)
            flat[f"lance_flat_noindex_{label}"] = pct(lat)
    t = time.perf_counter()
    if not reuse:
        vs.ensure_index(table, min_rows=0)
    build_s = float("nan") if reuse else time.perf_counter() - t
    out: dict = {"n": n, "dim": DIM, "filtered_rows": n_filtered, "write_s": round(t_write, 1),
                 "gen_and_write_s": round(gen_total, 1), "lance_index_build_s": round(build_s, 1),
                 "index_plan": vs.index_plan(n, DIM).__dict__, "disk_mb": round(du_mb(db_path), 1),
                 "rss_after_build_mb": round(rss_mb()), **flat}
    where = vs.build_where(cameras=[FILTER_CAMERA], start_utc=WIN[0], end_utc=WIN[1])
    db = lancedb.connect(db_path)  # fresh handle: cold-ish caches, as a new CLI process would see
    table = db.open_table(vs.table_name(DESCRIPTOR))
    where_cam = vs.build_where(cameras=[FILTER_CAMERA])
    for label, w, qs, truth in (("unfiltered", None, q, top_all.i), ("filtered", where, qf, top_f.i),
                                ("camera_only", where_cam, qc, top_c.i)):
        for nprobes in args.nprobes:
            for refine in args.refine:
                lat, found, returned = [], [], []
                for qi in range(-3, len(qs)):  # three warm-up queries
                    t = time.perf_counter()
                    hits = vs.search(table, qs[qi % len(qs)], descriptor=DESCRIPTOR, weights_sha256=WEIGHTS, where=w,
                                     limit=K, nprobes=nprobes, refine_factor=refine)
                    if qi >= 0:
                        lat.append(time.perf_counter() - t)
                        found.append([int(h.item_id[1:]) for h in hits])
                        returned.append(len(hits))
                out[f"lance_{label}_np{nprobes}_rf{refine}"] = {
                    **pct(lat), "recall@10": recall(found, truth), "recall@1": recall(found, truth, 1), "min_rows_returned": int(min(returned))}
    out["rss_after_search_mb"] = round(rss_mb())
    if use_faiss:
        out.update(faiss_results(fx, q, qf, top_all.i, top_f.i, args))
    out["peak_rss_mb"] = round(peak_rss_mb())
    if not args.keep:
        shutil.rmtree(db_path, ignore_errors=True)
    return out


def faiss_results(fx: dict, q: np.ndarray, qf: np.ndarray, truth_all: np.ndarray, truth_f: np.ndarray,
                  args) -> dict:  # noqa: ANN001
    import faiss

    ids = np.concatenate(fx["filter_ids"]).astype(np.int64)
    sel = faiss.IDSelectorBatch(ids)
    q_all = q
    res = {"faiss_ivfpq_train_s": round(fx["train_s"], 1), "faiss_add_s": round(fx["add_s"], 1),
           "faiss_ivfpq_bytes_per_vector": fx["ivf"].pq.code_size}
    for nprobes in args.nprobes:
        for label, params, q, truth in (
            ("unfiltered", faiss.SearchParametersIVF(nprobe=nprobes), q_all, truth_all),
            ("filtered", faiss.SearchParametersIVF(nprobe=nprobes, sel=sel), qf, truth_f),
        ):
            lat, found, lat_r, found_r = [], [], [], []
            for i in range(len(q)):
                t = time.perf_counter()
                _, ix = fx["ivf"].search(q[i: i + 1], K, params=params)
                lat.append(time.perf_counter() - t)
                found.append([int(x) for x in ix[0] if x >= 0])
                t = time.perf_counter()  # same probe + exact re-rank of 4*K candidates (what Lance's refine does)
                _, ix = fx["ivf"].search(q[i: i + 1], K * vs.DEFAULT_REFINE_FACTOR, params=params)
                cand = ix[0][ix[0] >= 0]
                exact = fx["flat"].reconstruct_batch(cand) @ q[i] if len(cand) else np.zeros(0)
                lat_r.append(time.perf_counter() - t)
                found_r.append([int(x) for x in cand[np.argsort(-exact, kind="stable")[:K]]])
            res[f"faiss_ivfpq_{label}_np{nprobes}"] = {**pct(lat), "recall@10": recall(found, truth), "recall@1": recall(found, truth, 1)}
            res[f"faiss_ivfpq_refine_{label}_np{nprobes}"] = {**pct(lat_r), "recall@10": recall(found_r, truth),
                                                          "recall@1": recall(found_r, truth, 1)}
    for label, params, q, truth in (("unfiltered", None, q_all, truth_all),
                                    ("filtered", faiss.SearchParameters(sel=sel), qf, truth_f)):
        lat, found = [], []
        for i in range(len(q)):
            t = time.perf_counter()
            _, ix = fx["flat"].search(q[i: i + 1], K, params=params)
            lat.append(time.perf_counter() - t)
            found.append([int(x) for x in ix[0] if x >= 0])
        res[f"faiss_flat_{label}"] = {**pct(lat), "recall@10": recall(found, truth), "recall@1": recall(found, truth, 1)}
    return res


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--nprobes", type=int, nargs="+", default=[vs.DEFAULT_NPROBES])
    p.add_argument("--refine", type=int, nargs="+", default=[vs.DEFAULT_REFINE_FACTOR])
    p.add_argument("--chunk", type=int, default=100_000)
    p.add_argument("--flat-max", type=int, default=100_000, help="also time exact search before indexing up to N")
    p.add_argument("--faiss-max", type=int, default=1_000_000)
    p.add_argument("--data-dir", type=Path, default=None, help="where LanceDB tables go (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the LanceDB tables afterwards")
    p.add_argument("--reuse", action="store_true", help="search tables kept by an earlier --keep run (no rebuild)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="vsearch-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.sizes:
        r = run_size(n, args, data_dir)
        results.append(r)
        print(json.dumps(r), flush=True)
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
