"""The source map of a synopsis: for each object, where it is on screen and which source file and time it
shows; for each synopsis frame, every pasted object's box, exact source time and label rectangle (what a
viewer needs to jump from a click on the synopsis to the original footage)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vsearch.synopsis.compose import FrameObject

FRAME_COLUMNS = ("tube", "x0", "y0", "x1", "y1", "source_pts_s", "label_x0", "label_y0", "label_x1", "label_y1")


@dataclass(frozen=True)
class SourceMapEntry:
    """Where one tube is on screen: synopsis [start, end) and the matching source times.

    The tube plays `speed` times faster than real time (1 unless it was sped up). `samples` holds
    (synopsis_s, source_pts_s, box_xyxy in output pixels) at the tube's analysis samples.
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
    speed: float = 1.0
    samples: tuple[tuple[float, float, tuple[float, float, float, float]], ...] = ()

    def source_pts_at(self, synopsis_s: float) -> float:
        return self.source_start_pts_s + (synopsis_s - self.synopsis_start_s) * self.speed


def frames_json(frames: Sequence[Sequence[FrameObject]], tube_index: Sequence[int]) -> list[list[list]]:
    """Per synopsis frame, one row per pasted object in `FRAME_COLUMNS` order; `tube` is the object's index
    in the sidecar's `tubes` list (`tube_index[i]` for the renderer's tube i)."""
    rows = []
    none = (None,) * 4
    for objs in frames:  # 176 000 objects on a busy hour: Python floats, rounded by `round` itself (= `r`)
        rows.append([[tube_index[o.tube], round(o.box[0], 2), round(o.box[1], 2), round(o.box[2], 2),
                      round(o.box[3], 2), round(o.source_pts_s, 6), *(o.label or none)] for o in objs])
    return rows


def synopsis_cues(entries: Sequence[SourceMapEntry], duration_s: float) -> list[tuple[float, float, list[str]]]:
    """WebVTT cues: one per stretch with the same objects on screen, one line per object (camera, wall-clock
    start, tube, source file, source time at the cue's start, speed when not 1)."""
    cuts = sorted({0.0, duration_s, *(e.synopsis_start_s for e in entries), *(e.synopsis_end_s for e in entries)})
    cues = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        on = [e for e in entries if e.synopsis_start_s <= a < e.synopsis_end_s]
        if on and b > a:
            cues.append((a, b, [f"{e.camera} {e.wall_start} {e.tube_id} {Path(e.source_path).name} "
                                f"@{e.source_pts_at(a):.3f}s" + (f" x{e.speed:g}" if e.speed != 1 else "")
                                for e in on]))
    return cues
