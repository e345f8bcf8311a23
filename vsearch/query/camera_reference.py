"""What the other objects of each camera look like, for the query rules read relative to the camera (issue 14).

Some evidence only means something against the same camera's other objects:
- box shape ("shape"): a highway camera sees cars as boxes about 0.8 as tall as wide, a top-down car park
  camera sees them at 1.1-1.5; a van on the highway is 0.9-1.1. A box much taller for its width than the
  camera's typical vehicle is evidence for a van, lorry or bus where the detector only says "car" (pvb-2002
  says car for all, and YOLOX-Nano types 25-45 px vans as cars). Box height / width hardly changes with the
  distance to the camera, unlike the box area (on the highway clip a near car's box is larger than a far van's:
  measured, the areas of its cars and vans overlap entirely), so only the shape is compared.
- white ("white"): under a strong colour cast or a dim exposure nothing on a camera reads white, and a white
  van reads light grey. Where no candidate of the camera lists white (covers the listing threshold), light grey
  is the nearest a white object can read.

Each part is computed once per search, only when a term asks for it (`Term.reference`), from the search's own
candidates: the objects of the query's cameras and time span that pass its hard filters, with the narrow columns
the terms read anyway (class, box shape, camera, the whole object's white share). A camera's yardstick is thus
its objects in the searched span, which is what an investigator compares with by eye, and it costs no read of
the store: reading every object of the cameras in scope took the unscoped 30-day query over 1 M tubes from
167-207 ms to 458-489 ms p50 (docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vsearch.catalogue.soft_columns import column_of
from vsearch.catalogue.store import COLOUR_MIN_FRACTION

VEHICLE_CLASSES = ("car", "truck", "bus")
MIN_VEHICLES = 3  # fewer vehicles on a camera: no typical shape to compare with
_NONE = pa.array([], pa.string())


@dataclass(frozen=True)
class CameraReference:
    shape_cameras: pa.Array = field(default_factory=lambda: _NONE)  # cameras with >= MIN_VEHICLES vehicles ...
    median_aspect: np.ndarray = field(default_factory=lambda: np.zeros(0))  # ... their vehicles' median height/width
    white_cameras: pa.Array | None = None  # cameras where some object lists white; None: not read

    def typical_aspect(self, camera: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """The camera's median vehicle shape for each row of a `camera` column; NaN where it is not known."""
        pos = pc.fill_null(pc.index_in(camera, value_set=self.shape_cameras), -1).to_numpy(zero_copy_only=False)
        padded = np.append(np.asarray(self.median_aspect, np.float64), np.nan)
        return padded[np.where(pos >= 0, pos, len(self.median_aspect))]

    def white_absent(self, camera: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """bool per row of a `camera` column: nothing on that camera lists white (False when not read)."""
        if self.white_cameras is None:
            return np.zeros(len(camera), bool)
        return ~pc.fill_null(pc.is_in(camera, value_set=self.white_cameras), True).to_numpy(zero_copy_only=False)


def median_shapes(t: pa.Table) -> tuple[pa.Array, np.ndarray]:
    """Cameras with at least MIN_VEHICLES vehicles of known shape in `t` (columns camera, class_name,
    box_aspect) and the median box height / width of each one's vehicles."""
    vehicle = pc.fill_null(pc.is_in(t.column("class_name"), value_set=pa.array(VEHICLE_CLASSES)), False)
    aspect = pc.fill_null(t.column("box_aspect"), np.nan).to_numpy(zero_copy_only=False)
    keep = vehicle.to_numpy(zero_copy_only=False) & np.isfinite(aspect) & pc.is_valid(t.column("camera")).to_numpy(
        zero_copy_only=False)
    coded = t.column("camera").filter(pa.array(keep)).combine_chunks().dictionary_encode()
    code, aspect = coded.indices.to_numpy(zero_copy_only=False), aspect[keep]
    order = np.argsort(code, kind="stable")  # each camera's shapes in one run (a radix sort of small ints)
    code, aspect = code[order], aspect[order]
    bounds = np.searchsorted(code, np.arange(len(coded.dictionary) + 1))
    enough = np.diff(bounds) >= MIN_VEHICLES
    # a median per run: linear selection in each, not a sort of all the shapes (84 -> 35 ms for 420 k vehicles)
    medians = np.array([np.median(aspect[a:b]) for a, b, e in zip(bounds[:-1], bounds[1:], enough) if e],
                       np.float64)
    return coded.dictionary.filter(pa.array(enough)), medians


WHITE_COLUMN = column_of("colours", "white")[0]  # the whole object's white share: listed at COLOUR_MIN_FRACTION


def reference_parts(terms: list) -> frozenset[str]:  # list[Term]; Term's module imports this one
    """What the camera-relative rules of these terms read (`Term.reference`), once per search."""
    return frozenset().union(*(t.reference for t in terms))


def reference_columns(parts: frozenset[str] | set[str]) -> list[str]:
    """The candidate columns `reference_of` reads for these parts."""
    cols = (["camera", "class_name", "box_aspect"] if "shape" in parts else []) + (
        ["camera", WHITE_COLUMN] if "white" in parts else [])
    return list(dict.fromkeys(cols))


def reference_of(t: pa.Table, parts: frozenset[str] | set[str]) -> CameraReference:
    """The parts ("shape", "white") of the reference of the cameras of the candidate rows `t`."""
    ref = CameraReference()
    if "shape" in parts:
        ref = CameraReference(*median_shapes(t))
    if "white" in parts:
        white = pc.fill_null(pc.greater_equal(t.column(WHITE_COLUMN), COLOUR_MIN_FRACTION), False)
        cams = pc.unique(t.column("camera").filter(white).combine_chunks()).drop_null()
        ref = CameraReference(ref.shape_cameras, ref.median_aspect, cams)
    return ref
