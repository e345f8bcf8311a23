"""What the motion-only blob filter removes on real footage (no ground truth: counts, and each dropped track).

Each clip is indexed twice with the motion detector at the default analysis settings (5 fps, 640 px), with the
filter (`BlobFilter`, as `vsearch index --detector motion` runs) and without it; prints the tube counts and, for
every tube the filter removed, its start and life (pts seconds).

    python bench/motion_blobs.py [--footage ../shared/footage] [clip ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from unittest import mock

from vsearch.indexers.base import FrameContext, SourceResult
from vsearch.indexers.decode import DecodeOptions, open_decode, probe
from vsearch.indexers.detect import MotionDetector
from vsearch.indexers.tubes import TubeStage
from vsearch.records import SourceRef

REPO = Path(__file__).resolve().parents[1]
CLIPS = ("vtest.avi", "highway/video02.avi", "intel/car-detection.mp4", "intel/one-by-one-person-detection.mp4",
         "TUD-Stadtmitte/TUD-Stadtmitte.mp4")


def tubes(path: Path, blob_filter: bool) -> list:
    info = probe(path)
    frames = open_decode(path, info, DecodeOptions(fps=5.0, width_px=640))
    src = SourceRef("b" * 64, str(path), "bench", dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), info, 5.0,
                    *frames.analysis_size)
    if blob_filter:
        stage = TubeStage(MotionDetector())
    else:  # the same stages with the filter off
        with mock.patch("vsearch.indexers.tubes.BlobFilter", lambda: None):
            stage = TubeStage(MotionDetector())
    stage.begin(src)
    for f in frames:
        stage.process(f, FrameContext())
    res = SourceResult(src)
    stage.end(res)
    return res.tubes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--footage", type=Path, default=REPO.parent / "shared" / "footage")
    ap.add_argument("clips", nargs="*", default=list(CLIPS))
    args = ap.parse_args()
    print("| clip | tubes without filter | with filter | removed (start s / life s) |")
    print("|---|---|---|---|")
    for name in args.clips:
        path = args.footage / name
        before, after = tubes(path, False), tubes(path, True)
        kept = {(t.pts_s[0], t.pts_s[-1]) for t in after}
        gone = [t for t in before if (t.pts_s[0], t.pts_s[-1]) not in kept]
        desc = ", ".join(f"{t.pts_s[0]:.1f} / {t.pts_s[-1] - t.pts_s[0]:.1f}" for t in gone)
        print(f"| {name} | {len(before)} | {len(after)} | {desc or '–'} |", flush=True)


if __name__ == "__main__":
    main()
