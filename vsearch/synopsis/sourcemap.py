"""The source map of a synopsis: where each object is on screen and which source file and time it shows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceMapEntry:
    """Where one tube is on screen: synopsis [start, end) and the matching source times (1:1 speed).

    `samples` holds (synopsis_s, source_pts_s, box_xyxy in output pixels) at the tube's analysis samples.
    """

    tube_id: str
    source_id: str
    source_path: str
    camera: str
    synopsis_start_s: float
    synopsis_end_s: float
    source_start_pts_s: float
    source_end_pts_s: float
    wall_start: str  # ISO 8601
    wall_end: str
    samples: tuple[tuple[float, float, tuple[float, float, float, float]], ...] = ()

    def source_pts_at(self, synopsis_s: float) -> float:
        return self.source_start_pts_s + (synopsis_s - self.synopsis_start_s)



def synopsis_cues(entries: Sequence[SourceMapEntry], duration_s: float) -> list[tuple[float, float, list[str]]]:
    cuts = sorted({0.0, duration_s, *(e.synopsis_start_s for e in entries), *(e.synopsis_end_s for e in entries)})
    cues = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        on = [e for e in entries if e.synopsis_start_s <= a < e.synopsis_end_s]
        if on and b > a:
            cues.append((a, b, [f"{e.camera} {e.wall_start} {e.tube_id} {Path(e.source_path).name} "
                                f"@{e.source_pts_at(a):.3f}s" for e in on]))
    return cues

