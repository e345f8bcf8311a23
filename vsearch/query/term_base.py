"""What every descriptive query term shares: the evidence it returns, the candidates it reads, the statuses.

A term (`vsearch.query.terms`, `vsearch.query.colour_terms`) reads stored evidence for every candidate at once and
returns an `Evidence`: a score in 0..1 per tube (NaN: not measurable), the measured number the explanation quotes,
and which alternative or source gave it. `status` derives the status shown to the user from that same score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vsearch.catalogue.soft_columns import column_of, list_value, presence_column
from vsearch.errors import StoreError
from vsearch.query.camera_reference import CameraReference

Status = Literal["matched", "partial", "not matched", "not measurable"]
MATCHED = 0.5  # score at or above: matched (a colour at the store's listing threshold scores exactly this)
PARTIAL = 0.2  # score at or above: partial evidence
NEUTRAL = 0.3  # what a not-measurable term adds to the ranking score: no evidence either way
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
