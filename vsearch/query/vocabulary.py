"""Loading the query vocabulary (`vocabulary.toml`, shipped as package data): FR/EN phrases -> query terms.

The data file is the only place words live; this module turns its entries into typed values and folds the
phrases (lower case, no accents) the way the tokeniser does. Both the free-text parser and the option parsers
(`--colour bleu foncé`, `--class camionnette`) read it, so an option and a phrase mean the same thing.
"""

from __future__ import annotations

import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

KINDS = ("colour", "shade", "class", "make", "rider", "vehicle_part", "garment", "outfit", "item", "unmeasurable",
         "direction", "side", "motion", "motion_verb", "stationary",
         "day", "weekday", "week", "period", "period_part", "dayperiod", "person_sensitive", "sensitive", "stop", "negation")


def fold(text: str) -> str:
    """Lower-case and strip accents ("Foncé" -> "fonce"); apostrophes become "'"."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Entry:
    kind: str
    value: object  # typed per kind, see `_value`
    fr: tuple[str, ...]  # phrases as written in the file
    en: tuple[str, ...]
    exact: bool = False  # match with accents ("garé" is not "gare")
    cased: bool = False  # match as typed, capitals included ("VU" utility van vs "vu" seen)
    noun: bool = False  # a colour that also names a substance ("sand", "rouille"): see vsearch/query/colours.py


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def _value(kind: str, raw: dict[str, object]) -> object:
    if kind == "colour":
        name, _, shade = str(raw["value"]).partition(" ")
        return (name, shade or None)
    if kind == "class":
        return (frozenset(raw["classes"]), raw.get("vehicle_type"))  # type: ignore[arg-type]
    if kind == "make":
        return frozenset(raw["classes"])  # type: ignore[arg-type]
    if kind == "garment":
        return (raw["part"], raw.get("item"))
    if kind == "stationary":
        return True
    if kind == "weekday":  # (0 = Monday, before today: "last Saturday")
        day = raw["value"]
        return (int(day[0]), True) if isinstance(day, list) else (int(day), False)  # type: ignore[arg-type,index]
    if kind == "dayperiod":
        offset, period = raw["value"]  # type: ignore[misc]
        return (int(offset), str(period))
    return raw.get("value")


@cache
def entries() -> tuple[Entry, ...]:
    data = tomllib.loads(resources.files("vsearch.query").joinpath("vocabulary.toml").read_text(encoding="utf-8"))
    unknown = set(data) - set(KINDS)
    if unknown:
        raise ValueError(f"vocabulary.toml: unknown sections {sorted(unknown)}")
    out = []
    for kind in KINDS:
        for raw in data.get(kind, {}).get("entries", []):
            out.append(Entry(kind, _value(kind, raw), _phrases(str(raw.get("fr", ""))),
                             _phrases(str(raw.get("en", ""))), bool(raw.get("exact", False)),
                             bool(raw.get("cased", False)), bool(raw.get("noun", False))))
    return tuple(out)


def words(kind: str) -> dict[str, object]:
    """Folded phrase -> value for one kind (spaces kept; for option values such as "bleu foncé")."""
    return {fold(p): e.value for e in entries() if e.kind == kind for p in e.fr + e.en}
