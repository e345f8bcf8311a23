"""Presentation helpers of the pages: positions on the per-camera timeline and the coverage bar.

Pure functions of the CLI's JSON (a search's `to_dict()`), so the pages show exactly what the JSON says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


def _t(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


@dataclass(frozen=True)
class Mark:
    tube_id: str
    rank: int
    left_pct: float
    width_pct: float
    label: str


@dataclass(frozen=True)
class CameraLine:
    camera: str
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class Timeline:
    start: str
    end: str
    cameras: tuple[CameraLine, ...]


def timeline(result: dict[str, Any]) -> Timeline | None:
    """Hits of a search per camera, placed on the span from the first hit's start to the last hit's end (or the
    requested window when one was given)."""
    hits = result["hits"]
    if not hits:
        return None
    cov = result["coverage"]
    lo = min(_t(h["start_utc"]) for h in hits)
    hi = max(_t(h["end_utc"]) for h in hits)
    if cov.get("window_from"):
        lo = min(lo, _t(cov["window_from"]))
    if cov.get("window_to"):
        hi = max(hi, _t(cov["window_to"]))
    span = max((hi - lo).total_seconds(), 1e-3)
    lines: dict[str, list[Mark]] = {}
    for rank, h in enumerate(hits, 1):
        a, b = _t(h["start_utc"]), _t(h["end_utc"])
        left = (a - lo).total_seconds() / span * 100
        width = max((b - a).total_seconds() / span * 100, 0.4)
        width = min(width, 100 - left)
        lines.setdefault(h["camera"], []).append(Mark(h["tube_id"], rank, round(left, 2), round(width, 2),
                                                     f"#{rank} {h['class_name']} {a.time().isoformat('seconds')}"))
    return Timeline(lo.isoformat(), hi.isoformat(), tuple(CameraLine(c, tuple(m)) for c, m in sorted(lines.items())))


@dataclass(frozen=True)
class Segment:
    kind: str  # searched | gaps | uncovered | unreadable
    seconds: float
    pct: float


def _span_s(items: list[dict[str, Any]]) -> float:
    return sum(max((_t(i["to_utc"]) - _t(i["from_utc"])).total_seconds(), 0.0) for i in items)


def coverage_bar(cov: dict[str, Any]) -> tuple[Segment, ...]:
    """What was searched vs unreadable spans vs parts of the window with no footage vs unreadable files (by
    their known length), as shares of their total."""
    parts = {"searched": float(cov.get("footage_searched_s") or 0.0), "gaps": _span_s(cov["gaps"]),
             "uncovered": _span_s(cov["uncovered"]),
             "unreadable": sum(float(n.get("duration_s") or 0.0) for n in cov["not_searched"])}
    total = sum(parts.values())
    if total <= 0:
        return ()
    return tuple(Segment(k, round(v, 1), round(v / total * 100, 2)) for k, v in parts.items() if v > 0)


def colours_text(h: dict[str, Any]) -> str:
    if h.get("upper_colours") or h.get("lower_colours"):
        return f"{'/'.join(h['upper_colours']) or '?'} / {'/'.join(h['lower_colours']) or '?'}"
    return "/".join(h.get("colours") or []) or "-"
