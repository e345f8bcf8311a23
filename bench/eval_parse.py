"""How the FR/EN query parser copes with wording nobody tuned for (issue 14).

Runs every phrasing of a blind set (`bench/phrasings.toml`, written before reading the vocabulary; a second batch
in `bench/phrasings2.toml`) through the parser the search path uses (`vsearch.query.text.build_query`) and
compares the parsed spec with the expected meaning written next to it: per phrase pass/fail and per-field errors
(class wrong, colour lost, colour on the wrong part, shade wrong, item missed, motion missed, word not understood,
sensitive word not refused...), then whether the English and the French of each pair parse to the same query.

    python bench/eval_parse.py [FILE ...] [--json out.json] [--fails]

The file format is described at the top of `bench/phrasings.toml`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vsearch.query import vocabulary
from vsearch.query.clock import get_tz
from vsearch.query.spec import QuerySpec
from vsearch.query.text import build_query
from vsearch.query.vocabulary import fold

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SETS = (REPO / "bench" / "phrasings.toml",)
TZ = get_tz("Europe/Paris")
NOW = dt.datetime(2026, 11, 21, 10, tzinfo=TZ)  # the phrasing files' "now" (as bench/eval_retrieval.py)
VEHICLE_CLASSES = {"car", "truck", "bus", "motorbike"}
COLOUR_WORDS = vocabulary.words("colour")  # folded word -> (colour, shade)


@dataclass(frozen=True)
class Result:
    """One phrasing: its text, language and the errors found (empty = pass)."""

    pair: int
    lang: str
    text: str
    errors: tuple[tuple[str, str], ...]  # (kind, detail)
    spec: QuerySpec = field(compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors


def _what_ok(what: str, spec: QuerySpec) -> bool:
    cls, vt = set(spec.classes), set(spec.vehicle_types)
    if what == "person":
        return cls == {"person"} and not vt
    if what in ("bicycle", "motorbike"):
        return cls == {what} and not vt
    if what == "two-wheeler":
        return cls == {"bicycle", "motorbike"} and not vt
    if what == "vehicle":
        return "car" in cls and "person" not in cls and not vt
    if what == "car":
        return "car" in cls and cls <= VEHICLE_CLASSES and vt <= {"car"}
    # van, bus, truck: the fine type ranks (every vehicle class passes) or the class itself filters
    return (vt == {what} and bool(cls) and cls <= VEHICLE_CLASSES) or (not vt and cls == {what})


def _colour_key(text: str) -> tuple[str, str, str | None, bool]:
    part, name, *rest = text.split(":")
    shade = rest[0] if rest else None
    optional = bool(shade and shade.endswith("?"))
    return part, name, (shade.rstrip("?") if shade else None), optional


def _colours_match(wanted: list[str], got: set[tuple[str, str, str | None]]) -> bool:
    if len(wanted) != len(got):
        return False
    left = set(got)
    for w in wanted:
        part, name, shade, optional = _colour_key(w)
        options = [(part, name, shade)] + ([(part, name, None)] if optional else [])
        hit = next((o for o in options if o in left), None)
        if hit is None:
            return False
        left.discard(hit)
    return not left


def _colour_errors(wanted: list[str], got: set[tuple[str, str, str | None]]) -> list[tuple[str, str]]:
    errors, left = [], set(got)
    for w in wanted:
        part, name, shade, optional = _colour_key(w)
        same = [g for g in left if g[0] == part and g[1] == name]
        exact = [g for g in same if g[2] == shade or (optional and g[2] is None)]
        if exact:
            left.discard(exact[0])
        elif same:
            errors.append(("shade wrong", f"{w} parsed with shade {same[0][2]}"))
            left.discard(same[0])
        elif other := [g for g in left if g[1] == name]:
            errors.append(("colour on wrong part", f"{w} parsed on {other[0][0]}"))
            left.discard(other[0])
        else:
            errors.append(("colour lost", w))
    errors += [("extra colour", ":".join(x for x in g if x)) for g in sorted(left, key=str)]
    return errors


def _window_errors(exp: dict, spec: QuerySpec) -> list[tuple[str, str]]:
    has_time = any(getattr(spec, f) is not None for f in ("time_from", "time_to", "time_of_day_from",
                                                           "time_of_day_to"))
    contains, excludes = exp.get("time_contains", []), exp.get("time_excludes", [])
    if not contains and not excludes:
        return [("extra time", "a time window was parsed")] if has_time else []
    if not has_time:
        return [("time lost", ", ".join(contains))]

    def holds(when: str) -> bool:
        if "T" in when:
            instants = [dt.datetime.fromisoformat(when).replace(tzinfo=TZ)]
        else:  # a time of day: on any of the last three days
            clock = dt.time.fromisoformat(when)
            instants = [dt.datetime.combine(NOW.date() - dt.timedelta(days=d), clock, TZ) for d in range(3)]
        return any(spec.overlaps_time(t, t) for t in instants)

    errors = [("time wrong", f"{w} not in the window") for w in contains if not holds(w)]
    errors += [("time wrong", f"{w} in the window") for w in excludes if holds(w)]
    return errors


def check(pair: dict, lang: str, spec: QuerySpec) -> list[tuple[str, str]]:
    """Per-field differences between the parsed `spec` and the pair's expected meaning."""
    errors: list[tuple[str, str]] = []
    what = pair["what"]
    whats = what if isinstance(what, list) else [what]
    fine = set(whats) <= {"van", "bus", "truck"} and len(whats) > 1  # "lorries and vans": both types rank
    if not any(_what_ok(w, spec) for w in whats) and not (fine and set(spec.vehicle_types) == set(whats)):
        errors.append(("class wrong", f"want {'/'.join(whats)}, got classes {sorted(spec.classes)} "
                                      f"types {sorted(spec.vehicle_types)}"))
    got = {(c.part, c.name, c.shade) for c in spec.colours}
    sets = [pair.get("colours", [])] + pair.get("colours_alt", [])
    if not any(_colours_match(s, got) for s in sets):
        errors += _colour_errors(pair.get("colours", []), got)
    need, ok = set(pair.get("items", [])), set(pair.get("items_ok", []))
    errors += [("item missed", i) for i in sorted(need - spec.items)]
    errors += [("extra item", i) for i in sorted(spec.items - need - ok)]
    motion = set(pair.get("motion", []))
    errors += [("motion missed", m) for m in sorted(motion - spec.motion)]
    errors += [("extra motion", m) for m in sorted(spec.motion - motion)]
    if spec.direction != pair.get("direction"):
        errors.append(("direction wrong", f"want {pair.get('direction')}, got {spec.direction}"))
    dwell = bool(pair.get("dwell", False))
    stationary = bool(pair.get("stationary", False))
    if dwell:
        if spec.min_dwell_s is None and not spec.stationary:
            errors.append(("dwell missed", "no minimum time in view nor stationary"))
    elif spec.min_dwell_s is not None:
        errors.append(("extra dwell", f"min_dwell_s {spec.min_dwell_s}"))
    if not dwell and spec.stationary != stationary:
        errors.append(("stationary missed" if stationary else "extra stationary", ""))
    errors += _window_errors(pair, spec)
    refused = {fold(w) for w in spec.ignored_sensitive}
    expected_refused = {fold(w) for w in pair.get(f"refused_{lang}", [])}
    # "grey-haired" may be refused as one word or as its parts
    errors += [("not refused", w) for w in sorted(expected_refused - refused) if not set(w.split("-")) <= refused]
    # a wanted colour refused as if it described the person ("man in a red and blue jacket" refusing "red");
    # a colour of hair or skin ("cheveux gris") is rightly refused
    wanted = {_colour_key(c)[1] for s in [pair.get("colours", [])] + pair.get("colours_alt", []) for c in s}
    errors += [("wrongly refused", w) for w in sorted(refused - expected_refused)
               if COLOUR_WORDS.get(w, (None,))[0] in wanted]
    unmeasurable = [fold(u) for u in spec.unmeasurable]
    for w in pair.get(f"unmeasurable_{lang}", []):
        if not any(fold(w) in u for u in unmeasurable):
            errors.append(("unmeasurable not reported", w))
    allowed = {fold(w) for w in pair.get(f"unknown_ok_{lang}", [])}
    errors += [("unknown word", w) for w in spec.unknown_words if fold(w) not in allowed]
    return errors


def structure(spec: QuerySpec) -> tuple:
    """The part of a spec that must not depend on the language (what the search does with it)."""
    return (spec.classes, frozenset((c.part, c.name, c.shade) for c in spec.colours), spec.items,
            spec.vehicle_types, spec.motion, spec.direction, spec.stationary, spec.min_dwell_s, spec.time_from,
            spec.time_to, spec.time_of_day_from, spec.time_of_day_to)


def evaluate(paths: tuple[Path, ...] = DEFAULT_SETS) -> tuple[list[Result], list[bool]]:
    """All phrasings of the files -> (results in file order, EN/FR agreement per pair)."""
    results, agree = [], []
    n = 0
    for path in paths:
        for pair in tomllib.loads(path.read_text(encoding="utf-8"))["pair"]:
            n += 1
            specs = {}
            for lang in ("en", "fr"):
                spec = build_query(pair[lang], now=NOW, tz="Europe/Paris")
                specs[lang] = spec
                results.append(Result(n, lang, pair[lang], tuple(check(pair, lang, spec)), spec))
            agree.append(structure(specs["en"]) == structure(specs["fr"]))
    return results, agree


def summary(results: list[Result], agree: list[bool]) -> dict[str, object]:
    kinds = Counter(kind for r in results for kind, _ in r.errors)
    by_lang = {lang: sum(r.ok for r in results if r.lang == lang) for lang in ("en", "fr")}
    return {"phrasings": len(results), "passed": sum(r.ok for r in results), "passed_by_lang": by_lang,
            "pairs": len(agree), "fr_en_agree": sum(agree), "errors_by_kind": dict(kinds.most_common())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path, help="phrasing files (default: bench/phrasings.toml)")
    ap.add_argument("--json", type=Path, help="also write per-phrase results and the summary here")
    ap.add_argument("--fails", action="store_true", help="list only the phrasings that fail")
    args = ap.parse_args(argv)
    paths = tuple(args.files) or DEFAULT_SETS
    for p in paths:
        if not p.is_file():
            print(f"error: phrasing file {p} not found; give the path of a phrasings TOML file", file=sys.stderr)
            return 2
    results, agree = evaluate(paths)
    for r in results:
        if args.fails and r.ok:
            continue
        detail = "; ".join(f"{k}: {d}" if d else k for k, d in r.errors)
        print(f"{'PASS' if r.ok else 'FAIL'} {r.pair:3d} {r.lang} {r.text!r}" + (f"  -- {detail}" if detail else ""))
    s = summary(results, agree)
    print(f"\n{s['passed']}/{s['phrasings']} phrasings parse as expected ({s['passed'] / s['phrasings']:.0%}; "
          f"EN {s['passed_by_lang']['en']}, FR {s['passed_by_lang']['fr']}); EN and FR parse the same for "
          f"{s['fr_en_agree']}/{s['pairs']} pairs")
    print("errors by kind: " + ", ".join(f"{k} {v}" for k, v in s["errors_by_kind"].items()))
    if args.json:
        rows = [{"pair": r.pair, "lang": r.lang, "text": r.text, "ok": r.ok, "errors": r.errors} for r in results]
        args.json.write_text(json.dumps({"rows": rows, "summary": s}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
