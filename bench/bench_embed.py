"""Embedding throughput: crops/s for each descriptor, and what that means as x real time.

Crops are person-sized regions cut from ../shared/footage/vtest.avi (768x576, 79.5 s). open_clip ViT-B-32 runs
with random weights (`pretrained=None`): speed depends on the architecture, not the weights. The x-real-time
figure is for embedding only (decode/detect/track are measured by their own benchmarks):

    embed_s = (tubes * K + scene_samples) / crops_per_s;   x_real_time = footage_s / embed_s

    python bench/bench_embed.py --tubes 30 --k 4 --out /tmp/embed.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def crops_from_footage(n: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray], float]:
    """n person-sized crops (~40x100 px) and a few whole frames from vtest.avi; returns (crops, frames, duration)."""
    import av

    path = SHARED / "footage" / "vtest.avi"
    if not path.is_file():
        raise SystemExit(f"footage not found: {path}")
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        frames = [f.to_ndarray(format="bgr24") for i, f in zip(range(200), c.decode(stream)) if i % 20 == 0]
        duration = float(stream.duration * stream.time_base) if stream.duration else 79.5
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(n):
        img = frames[i % len(frames)]
        w, h = int(rng.integers(30, 60)), int(rng.integers(80, 140))
        x, y = int(rng.integers(0, img.shape[1] - w)), int(rng.integers(0, img.shape[0] - h))
        crops.append(img[y: y + h, x: x + w].copy())
    return crops, frames, duration


def rate(embed, crops: list[np.ndarray], batch: int, repeats: int = 2) -> tuple[float, float]:  # noqa: ANN001
    """(crops/s wall clock, CPU ms per crop summed over threads); best of `repeats`."""
    embed(crops[:batch])  # warm-up
    best, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        for s in range(0, len(crops), batch):
            embed(crops[s: s + batch])
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return len(crops) / best, 1000 * cpu / len(crops)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--crops", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--tubes", type=int, default=30, help="tubes in the footage (vtest.avi: ~20-40 pedestrians)")
    p.add_argument("--k", type=int, nargs="+", default=[1, 4, 8])
    p.add_argument("--scene-interval", type=float, default=10.0)
    p.add_argument("--skip", nargs="*", default=[], choices=["colour", "reid", "clip"])
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    from vsearch.models.descriptors import REID_NAME, ColourDescriptor, ReidDescriptor
    from vsearch.models.runtime import find_ir

    crops, frames, duration = crops_from_footage(args.crops)
    rates: dict[str, float] = {}
    cpu_ms: dict[str, float] = {}
    scene_rates: dict[str, float] = {}
    if "colour" not in args.skip:
        d = ColourDescriptor()
        rates[d.name], cpu_ms[d.name] = rate(d.embed, crops, args.batch)
        scene_rates[d.name] = rate(d.embed, frames, len(frames), 1)[0]
    reid_xml = find_ir(SHARED / "models", REID_NAME)
    if "reid" not in args.skip and reid_xml is not None:
        r = ReidDescriptor(reid_xml, threads=args.threads, batch_size=args.batch)
        rates[r.name], cpu_ms[r.name] = rate(r.embed, crops, args.batch)
    if "clip" not in args.skip:
        import open_clip
        import torch
        from PIL import Image

        torch.set_num_threads(args.threads)
        model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
        model.eval()

        def clip_embed(batch: list[np.ndarray]) -> np.ndarray:
            with torch.no_grad():
                x = torch.stack([preprocess(Image.fromarray(np.ascontiguousarray(c[:, :, ::-1]))) for c in batch])
                return model.encode_image(x).numpy()

        rates["openclip:ViT-B-32"], cpu_ms["openclip:ViT-B-32"] = rate(clip_embed, crops[:32], args.batch, 1)
        scene_rates["openclip:ViT-B-32"] = rates["openclip:ViT-B-32"]  # same 224x224 input
    scenes = int(duration // args.scene_interval) + 1
    report = {"footage_s": round(duration, 1), "tubes_assumed": args.tubes, "scene_samples": scenes,
              "threads": args.threads, "batch": args.batch, "cpu_count": os.cpu_count(),
              "crops_per_s": {k: round(v, 1) for k, v in rates.items()},
              "cpu_ms_per_crop": {k: round(v, 2) for k, v in cpu_ms.items()}, "x_real_time": {}}
    for name, r in rates.items():
        sr = scene_rates.get(name)  # class-specific models (re-id) embed no scenes
        for k in args.k:
            embed_s = args.tubes * k / r + (scenes / sr if sr else 0.0)
            report["x_real_time"][f"{name} K={k}"] = round(duration / embed_s, 1)
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.write_text(text)
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
