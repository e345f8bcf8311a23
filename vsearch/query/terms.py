"""Descriptive query terms as small objects: one pre-filter, one vectorised score, one explanation.

Each term reads stored evidence for every candidate at once and returns a score in 0..1 per tube (NaN where no
stored attribute measures it for that tube: "not measurable", never an error), plus the measured number the
explanation quotes. The status shown to the user is derived from that same score (`status`), so what ranks a hit
and what explains it cannot disagree. A hard term (a --colour option) also gives its SQL pre-filter, exact for
"matched"; soft terms only rank, unless the query is `--strict`.

Where each score comes from (the vocabulary file says which word builds which term):
- colour: the share of the object / garment / headwear in that colour (`colours`, `upper_colours`,
  `lower_colours`, `head_colours` attributes); a shade (light, dark, navy, silver) reads the part's tones
  (`<part>_tones`, see `vsearch.indexers.colours`): "dark blue" = the dark blue pixels, plus the black pixels that
  lean blue, plus half the mid-tone blue ones. Tubes indexed before tones existed fall back on counting the
  neighbouring palette colours at half weight (dark: black; light: white, grey), and say so.
- item: the attribute-model probability stored under `models.<key>` (has_bag, has_coat_jacket, ...).
- vehicle type: the class of a detector that knows it (bus, truck), else the fused type's probability for the
  wanted type (`models.vehicle_type_p_<type>`: YOLOX-Nano on the best crops, the vehicle-attributes model and
  the box shape, see `vsearch.indexers.vehicle_type`); stores indexed before it: the vehicle-attributes model's
  type and probability (`models.vehicle_type`, `models.vehicle_type_p`) mixed with the box shape.
- motion: towards / away from the box-height trend over the tube (`box_growth`); entering / leaving from the
  stored entry / exit edge.

Every number a term reads is a plain column written with the tube (`vsearch.catalogue.soft_columns`, schema
v4): a query reads a few narrow columns of its candidates, never `attributes_json` or the per-sample boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vsearch.catalogue.soft_columns import column_of, list_value, listed_count_column, presence_column
from vsearch.catalogue.store import COLOUR_MIN_FRACTION, sql_str
from vsearch.errors import StoreError
from vsearch.indexers.carried import CARRIED
from vsearch.indexers.colours import tone_key
from vsearch.query.camera_reference import CameraReference
from vsearch.query.spec import ITEM_ATTRIBUTES, ColourTerm, QuerySpec

Status = Literal["matched", "partial", "not matched", "not measurable"]
MATCHED = 0.5  # score at or above: matched (a colour at the store's listing threshold scores exactly this)
PARTIAL = 0.2  # score at or above: partial evidence
NEUTRAL = 0.3  # what a not-measurable term adds to the ranking score: no evidence either way
COLOUR_FULL = 0.6  # a colour covering this share (or more) of the part scores 1
GROWTH_FULL = 0.3  # box height growing by e^0.3 (35 %) over the tube: fully "towards the camera"
PART_COLUMN = {"any": "colours", "upper": "upper_colours", "lower": "lower_colours", "head": "head_colours"}
TONE_COLUMN = {"any": "colours_tones", "upper": "upper_tones", "lower": "lower_tones", "head": "head_tones"}
_ACHROMATIC = {"black", "white", "grey"}
# a shade's evidence besides the pixels of that colour and tone: achromatic pixels leaning to the hue count
# partly (a camera's white balance tints every grey of a scene, measured: a grey cardigan indoors is half
# "grey~blue"), the colour's mid-tone pixels less (a shade near the band's edge)
CAST_WEIGHT = 0.5
MID_WEIGHT = 0.3
_LISTED = {"any", "upper", "lower"}  # parts with a list column of the colours above COLOUR_MIN_FRACTION
_SHADE_NEIGHBOURS = {"dark": ("black",), "light": ("white", "grey")}
# a silver (light grey) car or a charcoal (dark grey) one reads partly white or black: its highlights clip to
# white, its shadows to black (measured: the car park's silver car is 45 % white, 45 % grey). So for a grey shade
# the white (black) pixels count at this weight, never more than the grey share itself: a white car, with
# little grey, does not become silver; "grey" without a shade is unchanged
_GREY_LEAN = {"light": "white", "dark": "black"}
GREY_LEAN_WEIGHT = 0.5
# plain "white" (ranking, not a --colour filter, which stays exact) on a camera where no object reads white at
# the listing threshold (`vsearch.query.camera_reference`): a white object there reads light grey, which counts
# at this weight
_DIM_WHITE = tone_key("grey", "light")
DIM_WHITE_WEIGHT = 0.5


def _dim_white(c: ColourTerm) -> bool:
    return c.name == "white" and c.shade is None
TALL_FULL = 1.3  # box height / width of a lorry or bus seen from a road camera; a car is about 0.7-0.9
# a vehicle the detector calls a car but whose box is this much taller for its width than the camera's median
# vehicle (`vsearch.query.camera_reference`) fully looks like a van, lorry or bus; it moves the type's
# probability this share of the way towards 1 (small: a tall car, an estate, a car seen at an angle, exist)
REL_TALL_FULL = 1.3
REL_TALL_WEIGHT = 0.3
# how much each kind of evidence weighs in the ranking score (attribute-model outputs are noisier than colours)
WEIGHT = {"colour": 1.0, "item": 0.6, "vehicle": 0.7, "motion": 1.0, "like": 1.0, "unmeasurable": 0.0}
# why a term of that kind can be not measurable on an object, as the coverage report says it (the objects are
# still ranked, on the other terms: a not-measurable term counts NEUTRAL)
NOT_MEASURED_WHY = {
    "colour": "no colour could be read on them (a black-and-white or infrared picture, or too few pixels)",
    "item": "the attribute model gave nothing for them (too small, or not a person)",
    "vehicle": "no vehicle type was measured for them",
    "motion": "their track is too short, or its edges unknown, to tell",
}  # (a --like term is measured on every candidate: the search keeps only the tubes the vector search scored)


def status(score: float) -> Status:
    if not np.isfinite(score):
        return "not measurable"
    return "matched" if score >= MATCHED else "partial" if score >= PARTIAL else "not matched"


@dataclass(frozen=True)
class Evidence:
    score: np.ndarray  # float64 per candidate, 0..1, NaN = not measurable
    value: np.ndarray  # the measured number quoted by the explanation (fraction, probability, growth)
    choice: np.ndarray | None = None  # which alternative or source gave the score (colour alternatives, vehicle-type source), else None
    # a second measured number the explanation quotes where a rule added to the score (the white share counted
    # for "silver", the box shape against the camera's other vehicles), else None
    extra: np.ndarray | None = None

    def take(self, mask: np.ndarray) -> Evidence:
        return Evidence(self.score[mask], self.value[mask], None if self.choice is None else self.choice[mask],
                        None if self.extra is None else self.extra[mask])

    def choice_at(self, i: int) -> int:
        return 0 if self.choice is None else int(self.choice[i])

    def extra_at(self, i: int) -> float:
        return np.nan if self.extra is None else float(self.extra[i])


@dataclass(frozen=True)
class Candidates:
    """What terms read: the candidate rows, with the soft-evidence columns their `evidence()` names
    (`vsearch.catalogue.soft_columns`: one column per attribute, never the JSON blob or the boxes)."""

    table: pa.Table
    # the candidates' cameras' other objects, for the rules read relative to a camera (the parts the terms name
    # in `Term.reference`, read by the engine; None when no term reads any)
    reference: CameraReference | None = None

    def attr(self, key: str, sub: str) -> np.ndarray:
        """`attributes[key][sub]` as float64, NaN where absent (a list column's absent colour reads 0, as the
        terms always counted it)."""
        name, pos = column_of(key, sub)
        col = self.table.column(name).combine_chunks()
        if pos is None:
            if pa.types.is_string(col.type):
                raise TypeError(f"{key}.{sub} is text; use text_in")
            return pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False)
        return list_value(col, pos)

    def has(self, key: str) -> np.ndarray:
        """bool per candidate: `attributes[key]` is stored (a JSON object, possibly empty)."""
        name = presence_column(key)
        if name is None:  # every tube has it
            return np.ones(self.table.num_rows, bool)
        return pc.fill_null(self.table.column(name), False).to_numpy(zero_copy_only=False)

    def text_in(self, column: str, values: tuple[str, ...]) -> np.ndarray:
        """bool per candidate: the text `column` is one of `values` (False where null)."""
        hit = pc.is_in(self.table.column(column), value_set=pa.array(values, pa.string()))
        return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)

    def text_known(self, column: str) -> np.ndarray:
        return pc.is_valid(self.table.column(column)).to_numpy(zero_copy_only=False)


def evidence_columns(terms: list[Term]) -> list[str]:
    """The store columns that hold what `terms` read (`Term.evidence`)."""
    cols = []
    for t in terms:
        for key, sub in t.evidence():
            try:
                cols += [column_of(key, sub)[0]] + [p for p in (presence_column(key),) if p]
            except KeyError as e:  # the vocabulary names evidence the store schema has no column for
                raise StoreError(f"query term {t.label}: {e.args[0]}; this vsearch's vocabulary and store schema "
                                 "disagree, report it (a new attribute needs its column and a migration)") from e
    return list(dict.fromkeys(cols))


class Term(Protocol):
    kind: str  # key of WEIGHT
    label: str  # shown in the explanation, e.g. "colour upper=red"
    required: bool  # a hard filter (also every term of a --strict query)

    def evidence(self) -> list[tuple[str, str]]: ...  # (attribute key, sub key) read, each a soft column

    @property
    def reference(self) -> frozenset[str]: ...  # parts of `Candidates.reference` it reads ("shape", "white")

    def columns(self) -> list[str]: ...  # tube-table columns read for every candidate

    def sql(self) -> str | None: ...  # exact pre-filter for "matched", when the store has one

    def evaluate(self, c: Candidates) -> Evidence: ...

    def explain(self, score: float, value: float, choice: int = 0, extra: float = np.nan) -> str: ...  # same numbers


@dataclass(frozen=True)
class ColourChoice:
    """Colours wanted on one part; several are alternatives (`--upper green --upper yellow`): the best counts."""

    part: str
    colours: tuple[ColourTerm, ...]
    required: bool
    kind: str = "colour"

    @property
    def reference(self) -> frozenset[str]:  # plain white, ranking only: light grey counts where nothing reads white
        dim = not self.required and self.part in _LISTED and any(_dim_white(c) for c in self.colours)
        return frozenset({"white"} if dim else ())

    @property
    def label(self) -> str:
        where = "colour" if self.part == "any" else f"colour {self.part}"
        return f"{where}=" + "|".join(_colour_name(c) for c in self.colours)

    def evidence(self) -> list[tuple[str, str]]:
        names = {c.name for c in self.colours} | {n for c in self.colours for n in _SHADE_NEIGHBOURS.get(c.shade, ())}
        parts = (self.part, "any") if self.part == "head" else (self.part,)  # head falls back on the whole object
        fields = [(PART_COLUMN[p], n) for p in parts for n in sorted(names)]
        tones = sorted({k for c in self.colours if c.shade
                        for k in (*_tone_keys(c.name, c.shade), tone_key(c.name, "light"), tone_key(c.name, "dark"))}
                       | ({_DIM_WHITE} if self.reference else set()))
        return fields + [(TONE_COLUMN[p], k) for p in parts for k in tones]

    def columns(self) -> list[str]:
        listed = listed_count_column(PART_COLUMN[self.part if self.part in _LISTED else "any"])
        return [listed] + (["class_name", presence_column(PART_COLUMN["head"])] if self.part == "head" else []) + (
            ["camera", presence_column(TONE_COLUMN[self.part])] if self.reference else [])

    def sql(self) -> str | None:
        if self.part not in _LISTED or any(c.shade for c in self.colours):
            return None
        names = sorted({c.name for c in self.colours})
        return f"array_has_any({PART_COLUMN[self.part]}, [{', '.join(sql_str(n) for n in names)}])"

    def evaluate(self, c: Candidates) -> Evidence:
        key = PART_COLUMN[self.part]
        shaded = any(term.shade for term in self.colours)
        toned = c.has(TONE_COLUMN[self.part]) if shaded else np.zeros(c.table.num_rows, bool)  # read for shades only
        fracs, leans = [], []
        for term in self.colours:
            frac = np.nan_to_num(c.attr(key, term.name))
            lean = np.zeros_like(frac)
            if not term.shade:
                if _dim_white(term) and self.reference and c.reference is not None:  # see _DIM_WHITE
                    dim = c.reference.white_absent(c.table.column("camera"))
                    light = np.nan_to_num(c.attr(TONE_COLUMN[self.part], _DIM_WHITE))
                    lean = np.where(dim & c.has(TONE_COLUMN[self.part]), light, 0.0)
                fracs.append(frac + DIM_WHITE_WEIGHT * lean)
                leans.append(lean)
                continue
            near = sum((np.nan_to_num(c.attr(key, n)) for n in _SHADE_NEIGHBOURS.get(term.shade, ())),
                       np.zeros_like(frac))
            # without tones: navy is mostly binned black, so "dark" counts black; "light" only strengthens a colour
            # that is there (light blue with grey/white), else every grey coat would be "light blue"
            guess = frac + 0.5 * (near if term.shade == "dark" else np.minimum(near, frac))
            if term.name == "grey" and term.shade in _GREY_LEAN:  # silver / charcoal: see _GREY_LEAN
                lean = np.where(toned, np.minimum(np.nan_to_num(c.attr(key, _GREY_LEAN[term.shade])), frac), 0.0)
            fracs.append(np.where(toned, self._toned(c, term), guess) + GREY_LEAN_WEIGHT * lean)
            leans.append(lean)
        stacked = np.stack(fracs) if fracs else np.zeros((1, c.table.num_rows))
        choice = np.argmax(stacked, axis=0)
        best = stacked.max(axis=0)
        lean = np.stack(leans)[choice, np.arange(c.table.num_rows)] if leans else np.zeros(c.table.num_rows)
        # a part was measured when the store listed any colour for it (for the head: for the whole object, so a
        # person seen only in black-and-white frames, with no colour at all, is not measurable there either)
        listed = c.table.column(listed_count_column(PART_COLUMN[self.part if self.part in _LISTED else "any"]))
        measured = pc.fill_null(listed, 0).to_numpy(zero_copy_only=False) > 0
        if self.part not in _LISTED:  # the head: stored for persons indexed since head colours exist
            measured &= c.has(key) & c.text_in("class_name", ("person",))
        score = np.where(measured, colour_score(best), np.nan)
        # the quoted share is negative where a shade had to be guessed from neighbouring colours (no tones)
        guessed = ~toned & np.array([bool(t.shade) for t in self.colours], bool)[choice]
        value = np.where(guessed, -best, best)
        if self.part == "head":  # no headwear colour stored: the colour anywhere on the object, as half evidence
            anywhere = ColourChoice("any", tuple(replace(t, part="any") for t in self.colours), False).evaluate(c)
            score = np.where(measured, score, 0.5 * anywhere.score)
            return Evidence(score, np.where(measured, value, anywhere.value), choice)
        return Evidence(score, np.where(measured, value, np.nan), choice, lean)

    def explain(self, score: float, value: float, choice: int = 0, extra: float = np.nan) -> str:
        where = {"any": "the object", "upper": "the upper body", "lower": "the lower body",
                 "head": "the headwear"}[self.part]
        if not np.isfinite(score):
            return f"no colour stored for {where}"
        if self.part == "head" and np.isfinite(value) and score <= 0.5 * colour_score(np.array([abs(value)]))[0] + 1e-9:
            return (f"no headwear colour stored; {_colour_name(self.colours[choice])} covers {abs(value):.0%} of the whole "
                    "object (half evidence)")
        best = self.colours[choice]
        shade = " (shade counted from neighbouring colours: no lightness stored)" if best.shade and value < 0 else ""
        if np.isfinite(extra) and extra > 0 and _dim_white(best):
            shade = (f", counting its light grey pixels ({extra:.0%}) at half weight: nothing on this camera reads "
                     "white (a colour cast or a dim exposure)")
        elif np.isfinite(extra) and extra > 0:  # the silver / charcoal rule added to the share
            lean = _GREY_LEAN[best.shade]
            shade = (f", counting its {lean} pixels ({extra:.0%}) at half weight up to its grey share: a "
                     f"{_colour_name(best)} surface reads partly {lean}")
        return f"{_colour_name(best)} covers {abs(value):.0%} of {where}{shade}"

    def _toned(self, c: Candidates, term: ColourTerm) -> np.ndarray:
        """Share of the part in the wanted shade: the pixels of that colour and tone, plus part of the achromatic
        pixels leaning to it (black for dark, white for light) and of the colour's mid-tone pixels."""
        col = TONE_COLUMN[self.part]
        own = np.nan_to_num(c.attr(col, tone_key(term.name, term.shade)))
        cast = sum((np.nan_to_num(c.attr(col, k)) for k in _tone_keys(term.name, term.shade)[1:]),
                   np.zeros(c.table.num_rows))
        frac = np.nan_to_num(c.attr(PART_COLUMN[self.part], term.name))
        other = "light" if term.shade == "dark" else "dark"
        mid = np.clip(frac - own - np.nan_to_num(c.attr(col, tone_key(term.name, other))), 0.0, None)
        return own + CAST_WEIGHT * cast + MID_WEIGHT * mid


def _tone_keys(colour: str, shade: str | None) -> list[str]:
    """Tone bins (`vsearch.indexers.colours.tone_key`) of `shade colour`: its own first, then the casts."""
    if shade is None:
        return []
    keys = [tone_key(colour, shade)]
    if colour not in _ACHROMATIC:  # a bluish black is dark blue; a bluish white is light blue
        keys.append(tone_key("black" if shade == "dark" else "white", f"~{colour}"))
    return keys


def colour_score(frac: np.ndarray) -> np.ndarray:
    """0..1 from a colour share: 0.5 at the store's listing threshold (so "matched" = listed, and the SQL
    pre-filter is exact), rising linearly to 1 at COLOUR_FULL."""
    low = 0.5 * frac / COLOUR_MIN_FRACTION
    high = 0.5 + 0.5 * (frac - COLOUR_MIN_FRACTION) / (COLOUR_FULL - COLOUR_MIN_FRACTION)
    return np.clip(np.where(frac < COLOUR_MIN_FRACTION, low, high), 0.0, 1.0)


def _colour_name(c: ColourTerm) -> str:
    return f"{c.shade} {c.name}" if c.shade else c.name


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
