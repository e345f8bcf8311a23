"""Descriptive query terms as small objects: one pre-filter, one vectorised score, one explanation.

Each term reads stored evidence for every candidate at once and returns a score in 0..1 per tube (NaN where no
stored attribute measures it for that tube: "not measurable", never an error), plus the measured number the
explanation quotes. The status shown to the user is derived from that same score (`status`), so what ranks a hit
and what explains it cannot disagree. A hard term (a --colour option) also gives its SQL pre-filter, exact for
"matched"; soft terms only rank, unless the query is `--strict`.

Where each score comes from (the vocabulary file says which word builds which term):
- colour: the share of the object / garment / headwear in that colour or shade (`vsearch.query.colour_terms`).
- item: the attribute-model probability stored under `models.<key>` (has_bag, has_coat_jacket, ...).
- vehicle type: the class of a detector that knows it (bus, truck), else the fused type's probability for the
  wanted type (`models.vehicle_type_p_<type>`: YOLOX-Nano on the best crops, the vehicle-attributes model and
  the box shape, see `vsearch.indexers.vehicle_type`); stores indexed before it: the vehicle-attributes model's
  type and probability (`models.vehicle_type`, `models.vehicle_type_p`) mixed with the box shape. For van,
  lorry and bus a "car" box taller for its width than the camera's typical vehicle adds a little
  (`vsearch.query.camera_reference`).
- motion: towards / away from the box-height trend over the tube (`box_growth`); entering / leaving from the
  stored entry / exit edge.

Every number a term reads is a plain column written with the tube (`vsearch.catalogue.soft_columns`, schema
v4): a query reads a few narrow columns of its candidates, never `attributes_json` or the per-sample boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow.compute as pc

from vsearch.catalogue.soft_columns import column_of
from vsearch.indexers.carried import CARRIED
from vsearch.query.colour_terms import PART_COLUMN, ColourChoice
from vsearch.query.spec import ITEM_ATTRIBUTES, QuerySpec
# Candidates and evidence_columns are also imported from here by callers that build terms with `terms_for`
from vsearch.query.term_base import MATCHED, Candidates, Evidence, Term, evidence_columns  # noqa: F401

GROWTH_FULL = 0.3  # box height growing by e^0.3 (35 %) over the tube: fully "towards the camera"
TALL_FULL = 1.3  # box height / width of a lorry or bus seen from a road camera; a car is about 0.7-0.9
# a vehicle the detector calls a car but whose box is this much taller for its width than the camera's median
# vehicle (`vsearch.query.camera_reference`) fully looks like a van, lorry or bus; it moves the type's
# probability this share of the way towards 1 (small: a tall car, an estate, a car seen at an angle, exist)
REL_TALL_FULL = 1.3
REL_TALL_WEIGHT = 0.3


@dataclass(frozen=True)
class ItemTerm:
    item: str
    required: bool
    kind: str = "item"
    reference: ClassVar[frozenset[str]] = frozenset()  # reads nothing of the camera's other objects

    @property
    def label(self) -> str:
        return f"item={self.item}"

    def evidence(self) -> list[tuple[str, str]]:
        return [("models", key) for key in ITEM_ATTRIBUTES[self.item]]

    def columns(self) -> list[str]:
        return []

    def sql(self) -> str | None:
        return None

    def evaluate(self, c: Candidates) -> Evidence:
        p = np.stack([c.attr("models", key) for key in ITEM_ATTRIBUTES[self.item]])
        measured = np.isfinite(p).any(axis=0)
        choice = np.argmax(np.nan_to_num(p, nan=-1.0), axis=0)
        best = np.where(measured, np.nanmax(np.where(np.isfinite(p), p, -1.0), axis=0), np.nan)
        return Evidence(np.clip(best, 0.0, 1.0), best, choice)

    def explain(self, score: float, value: float, choice: int = 0, extra: float = np.nan) -> str:
        keys = ITEM_ATTRIBUTES[self.item]
        if not np.isfinite(score):
            return f"not measurable: no {' or '.join(keys)} stored for this object"
        key = keys[choice]
        by = "YOLOX-Nano on the best crops" if key in CARRIED.values() else "attribute model"
        return f"{by}: {key} p={value:.2f}"


_FINE_CLASSES = {"bus": "bus", "truck": "truck"}  # detector classes that already say the vehicle type


@dataclass(frozen=True)
class VehicleTypeTerm:
    vtype: str  # one of VEHICLE_TYPES
    required: bool
    kind: str = "vehicle"

    @property
    def label(self) -> str:
        return f"vehicle type={self.vtype}"

    def evidence(self) -> list[tuple[str, str]]:
        return [("models", "vehicle_type"), ("models", "vehicle_type_p"), ("models", f"vehicle_type_p_{self.vtype}")]

    def tall(self) -> bool:
        return self.vtype in ("truck", "bus")

    @property
    def reference(self) -> frozenset[str]:  # van, lorry, bus: the box shape against the camera's other vehicles
        return frozenset({"shape"} if self.vtype != "car" else ())

    def columns(self) -> list[str]:
        return ["class_name", "box_aspect", "camera"] if self.reference else ["class_name"]

    def sql(self) -> str | None:
        return None

    def evaluate(self, c: Candidates) -> Evidence:
        said = column_of("models", "vehicle_type")[0]
        p = c.attr("models", "vehicle_type_p")
        # the model's type: its probability when it says this type, else the rest shared by the 3 other types
        model = np.where(c.text_in(said, (self.vtype,)), p, (1.0 - p) / 3.0)
        model = np.where(c.text_known(said), model, np.nan)
        fine = c.text_in("class_name", tuple(_FINE_CLASSES))
        from_class = np.where(c.text_in("class_name", (self.vtype,)), 1.0, 0.0)
        # stores indexed since the fused type (YOLOX on crops + type model + box shape) keep each type's
        # probability; older stores only the type model's chosen type
        fused = c.attr("models", f"vehicle_type_p_{self.vtype}")
        has_fused = np.isfinite(fused)
        model = np.where(has_fused, fused, model)
        if self.tall():  # small vehicles fool the models (vans, lorries seen as cars): half is the box shape.
            # The fused type weighs the shape in already; using the fused type alone was measured worse on the
            # retrieval set ("a white lorry": rank 1 -> 7), so for the tall types the shape keeps its half.
            aspect = pc.fill_null(c.table.column("box_aspect"), np.nan).to_numpy(zero_copy_only=False)
            shape = np.clip((aspect - 0.9) / (TALL_FULL - 0.9), 0.0, 1.0)
            model = np.where(np.isfinite(model), 0.5 * model + 0.5 * shape, shape)
        taller = self._taller(c)  # box height/width over the camera's median vehicle's, NaN when not compared
        tall = np.clip((np.nan_to_num(taller) - 1.0) / (REL_TALL_FULL - 1.0), 0.0, 1.0)
        model = np.where(np.isfinite(model), model + REL_TALL_WEIGHT * tall * (1.0 - model), model)
        score = np.where(fine, from_class, model)
        return Evidence(score, score, np.where(fine, _BY_CLASS, np.where(has_fused, _BY_FUSED, _BY_MODEL)),
                        np.where(fine, np.nan, taller))

    def _taller(self, c: Candidates) -> np.ndarray:
        n = c.table.num_rows
        if not self.reference or c.reference is None:
            return np.full(n, np.nan)
        aspect = pc.fill_null(c.table.column("box_aspect"), np.nan).to_numpy(zero_copy_only=False)
        typical = c.reference.typical_aspect(c.table.column("camera"))
        with np.errstate(invalid="ignore", divide="ignore"):
            return aspect / typical

    def explain(self, score: float, value: float, choice: int = 0, extra: float = np.nan) -> str:
        if not np.isfinite(score):
            return "not measurable: no vehicle type stored for this object"
        shape = ", with the box shape at half weight" if self.tall() else ""
        how = {_BY_CLASS: "detector class",
               _BY_FUSED: f"fused type of YOLOX on the best crops, vehicle-attributes model and box shape{shape}",
               _BY_MODEL: f"vehicle-attributes model{shape}"}
        relative = ""
        if np.isfinite(extra) and extra > 1.0:
            relative = (f"; the box is {extra:.2f}x as tall for its width as this camera's typical vehicle, "
                        f"counted for a van, lorry or bus")
        return f"vehicle type {self.vtype}: p={value:.2f} ({how[choice]}{relative})"


_BY_FUSED, _BY_MODEL, _BY_CLASS = 0, 1, 2  # where a vehicle-type score came from (Evidence.choice)


@dataclass(frozen=True)
class MotionTerm:
    motion: str  # one of MOTIONS
    required: bool
    kind: str = "motion"
    reference: ClassVar[frozenset[str]] = frozenset()  # reads nothing of the camera's other objects

    @property
    def label(self) -> str:
        return f"motion={self.motion}"

    def evidence(self) -> list[tuple[str, str]]:
        return []

    def columns(self) -> list[str]:
        if self.motion in ("entering", "leaving"):
            return ["entry_edge" if self.motion == "entering" else "exit_edge"]
        return ["box_growth"]

    def sql(self) -> str | None:
        if self.motion == "entering":
            return "entry_edge <> 'inside'"
        if self.motion == "leaving":
            return "exit_edge <> 'inside'"
        return None

    def evaluate(self, c: Candidates) -> Evidence:
        if self.motion in ("entering", "leaving"):
            edge = self.columns()[0]
            score = np.where(c.text_known(edge), (~c.text_in(edge, ("inside",))).astype(float), np.nan)
            return Evidence(score, score)
        growth = pc.fill_null(c.table.column("box_growth"), np.nan).to_numpy(zero_copy_only=False)
        sign = 1.0 if self.motion == "towards" else -1.0
        return Evidence(np.clip(sign * growth / GROWTH_FULL, 0.0, 1.0), growth)

    def explain(self, score: float, value: float, choice: int = 0, extra: float = np.nan) -> str:
        if self.motion in ("entering", "leaving"):
            if not np.isfinite(score):
                return "not measurable: no entry/exit edge stored"
            verb = "entered" if self.motion == "entering" else "left"
            return f"{verb} through a frame edge" if score >= MATCHED else f"{verb} inside the frame, not at an edge"
        if not np.isfinite(score):
            return "not measurable: too few samples to see the object's size change"
        return f"box height changed by {np.expm1(value):+.0%} over the tube (bigger = closer to the camera)"


@dataclass(frozen=True)
class UnmeasurableTerm:
    """A word the query understood that no stored attribute measures (striped, padded): listed, never ranks."""

    word: str
    required: bool = False
    kind: str = "unmeasurable"
    reference: ClassVar[frozenset[str]] = frozenset()  # reads nothing of the camera's other objects

    @property
    def label(self) -> str:
        return f"'{self.word}'"

    def evidence(self) -> list[tuple[str, str]]:
        return []

    def columns(self) -> list[str]:
        return []

    def sql(self) -> str | None:
        return None

    def evaluate(self, c: Candidates) -> Evidence:
        nan = np.full(c.table.num_rows, np.nan)
        return Evidence(nan, nan)

    def explain(self, score: float, value: float, choice: int = 0, extra: float = np.nan) -> str:
        return "understood, but no stored attribute measures it"


def terms_for(spec: QuerySpec) -> list[Term]:
    """The descriptive terms of a query, in the order hits list them."""
    out: list[Term] = []
    for part in PART_COLUMN:
        hard = tuple(c for c in spec.colours if c.part == part and c.hard)
        if hard:
            out.append(ColourChoice(part, hard, True))
        soft = [c for c in spec.colours if c.part == part and not c.hard]
        out += [ColourChoice(part, (c,), spec.strict) for c in soft if not c.either]
        either = {c.either: tuple(m for m in soft if m.either == c.either) for c in soft if c.either}
        out += [ColourChoice(part, alts, spec.strict) for alts in either.values()]  # "black or navy": the best
    out += [ItemTerm(i, spec.strict) for i in sorted(spec.items)]
    # "car" only refines the ranking among the tubes the class filter already requires to be cars (a detector
    # such as pvb-2002 calls vans cars): even --strict does not require the type model to agree
    out += [VehicleTypeTerm(v, spec.strict and v != "car") for v in sorted(spec.vehicle_types)]
    out += [MotionTerm(m, spec.strict) for m in sorted(spec.motion)]
    out += [UnmeasurableTerm(w) for w in spec.unmeasurable]
    return out
