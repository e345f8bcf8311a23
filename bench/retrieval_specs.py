"""Print the spec every query of bench/retrieval_set.toml parses to, one line per phrasing, so that a parser change
can be checked to leave the labelled retrieval queries alone (diff the output of two checkouts):

    PYTHONHASHSEED=0 PYTHONPATH=/path/to/checkout python bench/retrieval_specs.py > specs.txt

The clock and camera names are those bench/eval_retrieval.py parses with; PYTHONHASHSEED fixes the order sets print in.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

from vsearch.query.text import build_query

SET = Path(__file__).resolve().parent / "retrieval_set.toml"
NOW = dt.datetime(2026, 11, 21, 9, tzinfo=dt.timezone.utc)  # as bench/eval_retrieval.py


def main() -> None:
    data = tomllib.loads(SET.read_text(encoding="utf-8"))
    cameras = sorted(f"cam-{c}" for c in data["clips"])
    for n, q in enumerate(data["query"], 1):
        for lang in ("en", "fr"):
            print(n, lang, q[lang], "=>", repr(build_query(q[lang], now=NOW, cameras=cameras)))


if __name__ == "__main__":
    main()
