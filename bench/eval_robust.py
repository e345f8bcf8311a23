"""Retrieval on degraded copies of the evaluation clips: how much of the ranking survives other cameras (issue 14).

Held-out footage comes from other cameras: other white balance, other light, other resolutions and compression.
Each variant is a plausible real camera, not an attack, made with ffmpeg filters from the 5 clips of
`bench/retrieval_set.toml`; the copies are indexed, and the same queries are scored by `eval_retrieval`'s own
functions, with each label box scaled to the copy's size (times are unchanged: frames are passed through one for
one). The original clips are indexed and scored in the same run, with the same code, as the reference.

    python bench/eval_robust.py [--degrade warm,cool,dusk,lowres] [--cache DIR] [--stores DIR] [--json out.json]

`--cache` keeps the degraded copies (made once per clip, filter and encoder settings); `--stores` keeps one
store per variant and reuses it when present (delete it after changing indexing code).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import av
import imageio_ffmpeg

from eval_retrieval import REPO, SET, evaluate, index_clips, summary
from vsearch.catalogue.store import Store


@dataclass(frozen=True)
class Variant:
    """An ffmpeg video filter chain and the H.264 quality it is re-encoded at (CRF: 18 is visually lossless,
    32 is the blocky compression of a cheap NVR on a thin link)."""

    vf: str
    crf: int = 18
    what: str = ""


VARIANTS = {
    "warm": Variant("colortemperature=temperature=3200", what="tungsten / sodium street lamps: orange cast"),
    "cool": Variant("colortemperature=temperature=8000", what="shade or overcast on daylight balance: blue cast"),
    "dusk": Variant("eq=brightness=-0.12:contrast=0.8,noise=alls=8:allf=t",
                    what="dusk: darker, lower contrast, sensor noise"),
    "lowres": Variant("scale=trunc(iw/4)*2:trunc(ih/4)*2", crf=32, what="half resolution, strong compression"),
}


def _size(path: Path) -> tuple[int, int]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.codec_context.width, s.codec_context.height


def degraded_copy(src: Path, name: str, cache: Path) -> Path:
    """The clip re-encoded through the variant's filters (cached: the name holds a hash of source and settings)."""
    v = VARIANTS[name]
    st = src.stat()
    key = hashlib.sha256(f"{src.resolve()}|{st.st_size}|{st.st_mtime_ns}|{v.vf}|{v.crf}".encode()).hexdigest()[:10]
    out = cache / f"{src.stem}.{name}.{key}.mp4"
    if not out.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".part.mp4")
        # passthrough keeps every frame at its own time, so labels (seconds from the first frame) still hold
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(src), "-map", "0:v:0",
               "-vf", v.vf, "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(v.crf),
               "-pix_fmt", "yuv420p", str(tmp)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"ffmpeg could not make the {name} copy of {src}: {r.stderr.strip()[-500:]}")
        tmp.rename(out)
    return out


def degraded_set(labelled: dict, name: str, cache: Path) -> tuple[dict[str, str], dict]:
    """(clips of the variant, the labelled set with every label box scaled to its clip's new size)."""
    clips, out = {}, copy.deepcopy(labelled)
    scale = {}
    for key, rel in labelled["clips"].items():
        src = (REPO / rel).resolve()
        dst = degraded_copy(src, name, cache)
        clips[key] = str(dst)
        (w0, h0), (w1, h1) = _size(src), _size(dst)
        scale[key] = (w1 / w0, h1 / h0)
    for obj in out["objects"].values():
        sx, sy = scale[obj["clip"]]
        obj["samples"] = [[t, x0 * sx, y0 * sy, x1 * sx, y1 * sy] for t, x0, y0, x1, y1 in obj["samples"]]
    out["clips"] = clips
    return clips, out


def run_variant(name: str, labelled: dict, cache: Path, stores: Path, models: Path | None) -> list[dict]:
    clips, lab = (labelled["clips"], labelled) if name == "original" else degraded_set(labelled, name, cache)
    store_dir = stores / name
    if not store_dir.exists():  # indexed aside and renamed: a failed run leaves no half store to be reused
        part = stores / f"{name}.part"
        index_clips(clips, part, models)
        part.rename(store_dir)
    return evaluate(Store(store_dir, create=False), lab)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--degrade", default=",".join(VARIANTS),
                    help=f"variants, comma-separated (of {', '.join(VARIANTS)}); the original is always scored")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vsearch-degraded",
                    help="where the degraded copies are kept")
    ap.add_argument("--stores", type=Path, help="keep (and reuse) one store per variant here")
    ap.add_argument("--models", type=Path, default=REPO.parent / "shared" / "models")
    ap.add_argument("--json", type=Path, help="also write every variant's rows and summary as JSON here")
    args = ap.parse_args()
    names = [n.strip() for n in args.degrade.split(",") if n.strip()]
    if bad := [n for n in names if n not in VARIANTS]:
        raise SystemExit(f"unknown variant(s) {', '.join(bad)}: choose among {', '.join(VARIANTS)}")
    labelled = tomllib.loads(SET.read_text(encoding="utf-8"))
    models = args.models if args.models.is_dir() else None
    results = {}
    with tempfile.TemporaryDirectory(prefix="vsearch-robust-") as tmp:
        stores = args.stores or Path(tmp)
        for name in ["original", *names]:
            results[name] = run_variant(name, labelled, args.cache, stores, models)
    print(f"# {dt.date.today()} · {os.cpu_count()} CPUs {platform.processor() or platform.machine()} · "
          f"load {os.getloadavg()[0]:.1f}")
    print("| variant | filters (crf) | top-1 | top-3 | MRR | FR/EN same top 3 |\n|---|---|---:|---:|---:|---:|")
    for name, rows in results.items():
        s = summary(rows)
        v = VARIANTS.get(name)
        how = f"`{v.vf}` ({v.crf})" if v else "as recorded"
        print(f"| {name} | {how} | {s['top1']:.0%} | {s['top3']:.0%} | {s['mrr']:.2f} | "
              f"{s['fr_en_agree']}/{s['pairs']} |")
    if args.json:
        args.json.write_text(json.dumps({n: {"rows": r, "summary": summary(r)} for n, r in results.items()},
                                        indent=1))


if __name__ == "__main__":
    main()
