"""What the other objects of each camera look like, for the query rules read relative to the camera (issue 14).

Some evidence only means something against the same camera's other objects:
- box shape: a highway camera sees cars as boxes about 0.8 as tall as wide, a top-down car park camera sees
  them at 1.1-1.5; a van on the highway is 0.9-1.1. A box much taller for its width than the camera's typical
  vehicle is evidence for a van, lorry or bus where the detector only says "car" (pvb-2002 says car for all,
  and YOLOX-Nano types 25-45 px vans as cars). Box height / width hardly changes with the distance to the
  camera, unlike the box area (a near car is larger than a far lorry), so only the shape is compared.
- white: under a strong colour cast or a dim exposure nothing on a camera reads white, and a white van reads
  light grey. Where no object of the camera reaches the listing threshold in white, light grey is the
  nearest a white object can read.

The reference is read once per search, only when a term asks for it (`Term.camera_relative`): three narrow
columns of every tube on the candidates' cameras, whatever the query's other filters, so the reference of a
camera does not change with the question asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vsearch.catalogue.store import COLOUR_MIN_FRACTION, sql_str
from vsearch.catalogue.tube_reads import TubeSnapshot, read_all

VEHICLE_CLASSES = ("car", "truck", "bus")
MIN_VEHICLES = 3  # fewer vehicles on a camera: no typical shape to compare with
_COLUMNS = ["camera", "class_name", "box_aspect", "colours_white"]


@dataclass(frozen=True)
class CameraReference:
    cameras: pa.Array  # camera ids, the order of the arrays below
    median_aspect: np.ndarray  # median box height / width of the camera's vehicles; NaN under MIN_VEHICLES
    white_max: np.ndarray  # the largest white share of any object of the camera (0 when none)

    def per_row(self, camera: pa.ChunkedArray | pa.Array, values: np.ndarray) -> np.ndarray:
        """`values` (one per camera) for each row of a `camera` column; NaN for a camera not in the reference."""
        pos = pc.fill_null(pc.index_in(camera, value_set=self.cameras), -1).to_numpy(zero_copy_only=False)
        padded = np.append(values.astype(np.float64), np.nan)
        return padded[np.where(pos >= 0, pos, len(values))]

    def white_absent(self) -> np.ndarray:
        """bool per camera: nothing on it reads white at the listing threshold."""
        return self.white_max < COLOUR_MIN_FRACTION


def read_reference(snap: TubeSnapshot, cameras: list[str]) -> CameraReference:
    """The reference of these cameras, from every tube the snapshot holds on them."""
    cams = sorted({c for c in cameras if c is not None})
    if not cams:
        return CameraReference(pa.array([], pa.string()), np.zeros(0), np.zeros(0))
    where = "camera IN (" + ", ".join(sql_str(c) for c in cams) + ")"
    t = read_all(snap.table.search().where(where).select(_COLUMNS))
    return summarise(t, cams)


def summarise(t: pa.Table, cams: list[str]) -> CameraReference:
    """`CameraReference` of the tubes in `t` (columns camera, class_name, box_aspect, colours_white)."""
    pos = pc.fill_null(pc.index_in(t.column("camera"), value_set=pa.array(cams, pa.string())), -1).to_numpy(
        zero_copy_only=False)
    vehicle = pc.fill_null(pc.is_in(t.column("class_name"), value_set=pa.array(VEHICLE_CLASSES)), False).to_numpy(
        zero_copy_only=False)
    aspect = pc.fill_null(t.column("box_aspect"), np.nan).to_numpy(zero_copy_only=False)
    white = pc.fill_null(t.column("colours_white"), 0.0).to_numpy(zero_copy_only=False)
    whites = np.zeros(len(cams))
    np.maximum.at(whites, pos[pos >= 0], white[pos >= 0])
    medians = np.full(len(cams), np.nan)
    keep = (pos >= 0) & vehicle & np.isfinite(aspect)
    order = np.lexsort((aspect[keep], pos[keep]))  # by camera, then shape: each camera's shapes in one run
    cam_of, shapes = pos[keep][order], aspect[keep][order]
    bounds = np.searchsorted(cam_of, np.arange(len(cams) + 1))
    for k in range(len(cams)):
        run = shapes[bounds[k]:bounds[k + 1]]
        if len(run) >= MIN_VEHICLES:
            medians[k] = float(np.median(run))
    return CameraReference(pa.array(cams, pa.string()), medians, whites)
