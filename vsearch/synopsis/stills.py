"""A still frame of a camera at a wall-clock time (to draw a zone on, or to show context)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from vsearch.errors import QueryError
from vsearch.catalogue.store import SourceRow, Store, sql_str

UTC = dt.timezone.utc


@dataclass(frozen=True)
class Still:
    image: np.ndarray  # BGR, source resolution
    source: SourceRow
    pts_s: float  # exact presentation time of the decoded frame
    time_utc: dt.datetime


def source_at(store: Store, camera: str, at: dt.datetime) -> SourceRow:
    rows = [s for s in store.sources(f"camera = {sql_str(camera)}") if s.status in ("ok", "partial")]
    if not rows:
        raise QueryError(f"--camera {camera!r}: not indexed; known cameras: {', '.join(store.cameras()) or 'none'}")
    for s in rows:
        if s.start_utc is not None and s.end_utc is not None and s.start_utc <= at <= s.end_utc:
            return s
    spans = ", ".join(f"{s.start_utc:%Y-%m-%d %H:%M:%S}–{s.end_utc:%H:%M:%S}" for s in rows if s.start_utc and s.end_utc)
    raise QueryError(f"--at {at.isoformat()}: no footage of {camera} at that time (indexed UTC: {spans})")


def still_at(store: Store, camera: str, at: dt.datetime) -> Still:
    src = source_at(store, camera, at)
    target = src.start_pts_s + (at - src.start_utc).total_seconds()
    return _still(src, target)


def _still(src: SourceRow, target_s: float) -> Still:
    with av.open(src.path) as container:  # read-only
        stream = container.streams.video[0]
        tb = stream.time_base
        container.seek(max(0, int(target_s / tb)), stream=stream, backward=True, any_frame=False)
        best = None
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float(frame.pts * tb)
            if best is None or abs(t - target_s) <= abs(best[0] - target_s):
                best = (t, frame.to_ndarray(format="bgr24"))
            if t >= target_s:
                break
    if best is None:
        raise QueryError(f"{src.path}: no decodable frame near {target_s:.3f} s")
    t, img = best
    return Still(img, src, t, src.start_utc + dt.timedelta(seconds=t - src.start_pts_s))


def write_jpeg(still: Still, path: Path, quality: int = 92) -> None:
    ok, buf = cv2.imencode(".jpg", still.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise QueryError(f"{path}: could not encode the still as JPEG")
    path.write_bytes(buf.tobytes())
