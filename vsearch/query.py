"""Running a structured query against the store: filter, score with reasons, rank, and report coverage.

Hard constraints (class, camera, time window, direction, zone, dwell, speed, stationary) narrow the candidates,
most of them pushed down to LanceDB as a pre-filter; soft terms (colour fractions, carried items, appearance
similarity) score what remains. Every hit carries its per-term scores, so the ranking can be explained, and
every search returns a coverage report: what footage was searched and what was not.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from vsearch.queryspec import ITEM_ATTRIBUTES, QuerySpec
from vsearch.store import SourceRow, Store, record_to_tube, sql_str
from vsearch import zones

UTC = dt.timezone.utc
COLOUR_MIN = 0.15  # a colour term matches when it covers at least this share of the object (or garment)
ITEM_MIN = 0.5  # attribute-model probability for a carried item / garment
STATIONARY_MIN_S = 10.0  # "loitering / s'arrête": longest stationary period at least this long


@dataclass(frozen=True)
class TermScore:
    term: str  # e.g. "colour upper=white"
    score: float  # 0..1
    detail: str  # human-readable evidence, e.g. "white covers 64 % of the upper body"


@dataclass
class Hit:
    tube_id: str
    camera: str
    source_id: str
    source_path: str
    start_utc: dt.datetime
    end_utc: dt.datetime
    first_pts_s: float
    last_pts_s: float
    class_name: str
    colours: list[str]
    upper_colours: list[str]
    lower_colours: list[str]
    direction: str
    thumb_path: str
    score: float
    terms: list[TermScore] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.last_pts_s - self.first_pts_s

    @property
    def why(self) -> str:
        return "; ".join(f"{t.term} {t.score:.2f} ({t.detail})" for t in self.terms) or "matches all filters"

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["start_utc"] = self.start_utc.isoformat()
        d["end_utc"] = self.end_utc.isoformat()
        d["duration_s"] = round(self.duration_s, 3)
        d["why"] = self.why
        return d


@dataclass
class Coverage:
    """What a search looked at, and what it could not look at, so 'no match' can be stated with its limits."""

    cameras_requested: list[str]
    cameras_indexed: list[str]
    cameras_missing: list[str]  # requested but never indexed
    window_from: str | None
    window_to: str | None
    searched: list[dict[str, object]]  # sources overlapping the window, fully or partially readable
    not_searched: list[dict[str, object]]  # failed files (unreadable) that could be in the window
    gaps: list[dict[str, object]]  # unreadable spans inside searched sources, in wall-clock time
    uncovered: list[dict[str, object]]  # parts of the window, per camera, with no indexed footage at all
    descriptors: list[str]  # detector / descriptor / model used for the searched footage
    footage_searched_s: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class QueryResult:
    spec: QuerySpec
    hits: list[Hit]
    coverage: Coverage
    candidates: int  # tubes that passed the pre-filter

    def to_dict(self) -> dict[str, object]:
        return {"query": self.spec.to_dict(), "hits": [h.to_dict() for h in self.hits],
                "coverage": self.coverage.to_dict(), "candidates": self.candidates}


def _prefilter(spec: QuerySpec) -> str | None:
    conds = []
    if spec.cameras:
        conds.append("camera IN (" + ", ".join(sql_str(c) for c in spec.cameras) + ")")
    if spec.classes:
        conds.append("class_name IN (" + ", ".join(sql_str(c) for c in sorted(spec.classes)) + ")")
    if spec.time_to is not None:
        conds.append(f"start_utc <= timestamp '{spec.time_to.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'")
    if spec.time_from is not None:
        conds.append(f"end_utc >= timestamp '{spec.time_from.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'")
    if spec.min_dwell_s is not None:
        conds.append(f"dwell_s >= {float(spec.min_dwell_s)}")
    if spec.stationary:
        conds.append(f"stationary_max_s >= {STATIONARY_MIN_S}")
    return " AND ".join(conds) if conds else None


def _speed_ok(spec: QuerySpec, speed_fw_s: float | None, src: SourceRow | None) -> bool:
    if spec.min_speed is None and spec.max_speed is None:
        return True
    if speed_fw_s is None or src is None:
        return False
    if spec.min_speed is not None and speed_fw_s < spec.min_speed.frame_widths_per_s(src.width_px):
        return False
    return spec.max_speed is None or speed_fw_s <= spec.max_speed.frame_widths_per_s(src.width_px)


def _direction_ok(direction: str, rec: dict[str, object]) -> bool:
    if direction in ("left", "right"):
        return rec["horizontal"] == direction
    if direction in ("up", "down"):
        return rec["vertical"] == direction
    return rec["direction8"] == direction


def _colour_terms(spec: QuerySpec, attrs: dict[str, object]) -> list[TermScore] | None:
    """Colours on the same part are alternatives (best one counts); different parts must all match."""
    out = []
    for part in ("any", "upper", "lower"):
        wanted = [c for c in spec.colours if c.part == part]
        if not wanted:
            continue
        key = {"any": "colours", "upper": "upper_colours", "lower": "lower_colours"}[part]
        fractions: dict[str, float] = attrs.get(key) or {}
        if not fractions:
            return None  # e.g. no upper/lower split: not a person
        best = max(wanted, key=lambda c: (float(fractions.get(c.name, 0.0)), c.name))
        frac = float(fractions.get(best.name, 0.0))
        if frac < COLOUR_MIN:
            return None
        where = "object" if part == "any" else f"{part} body"
        shade = f" (shade '{best.shade}' not checked: palette colours only)" if best.shade else ""
        label = "colour" if part == "any" else f"colour {part}"
        out.append(TermScore(f"{label}={best.name}", frac,
                             f"{best.name} covers {frac:.0%} of the {where}{shade}"))
    return out


def _item_terms(spec: QuerySpec, attrs: dict[str, object]) -> list[TermScore] | None:
    models: dict[str, object] = attrs.get("models") or {}
    out = []
    for item in sorted(spec.items):
        key = ITEM_ATTRIBUTES[item]
        p = models.get(key)
        if p is None or float(p) < ITEM_MIN:
            return None
        out.append(TermScore(f"item={item}", float(p), f"attribute model: {key} p={float(p):.2f}"))
    return out


def _zone_terms(spec: QuerySpec, rec: dict[str, object], src: SourceRow | None) -> list[TermScore] | None:
    if not spec.zones:
        return []
    if src is None or not src.analysis_width_px:
        return None
    n = int(rec["n_samples"])
    boxes = np.asarray(rec["boxes_xyxy"], np.float32).reshape(n, 4)
    pts = zones.ground_points(boxes, src.analysis_width_px, src.analysis_height_px)
    times = np.asarray(rec["pts_s"], np.float64)
    out = []
    for z in spec.zones:
        shape = z.shape.normalised_for(src.width_px, src.height_px)
        if not zones.zone_test(z.mode, shape, times, pts, z.min_s):
            return None
        detail = {"entered": "entered the zone", "crossed": "crossed the line",
                  "stayed": f"stayed ≥ {z.min_s:g} s in the zone"}[z.mode]
        out.append(TermScore(f"zone {z.mode}", 1.0, detail))
    return out


def run_query(store: Store, spec: QuerySpec, *, similar: dict[str, TermScore] | None = None) -> QueryResult:
    """Evaluate `spec`. `similar` (tube_id → appearance score) comes from the vector search for --like/CLIP."""
    sources = {s.source_id: s for s in store.sources()}
    table = store.tubes_arrow(_prefilter(spec))
    hits: list[Hit] = []
    for rec in table.to_pylist():
        start, end = rec["start_utc"].astimezone(UTC), rec["end_utc"].astimezone(UTC)
        if not spec.overlaps_time(start, end):
            continue
        if spec.direction and not _direction_ok(spec.direction, rec):
            continue
        src = sources.get(rec["source_id"])
        if not _speed_ok(spec, rec["speed_mean_fw_s"], src):
            continue
        attrs = json.loads(rec["attributes_json"] or "{}")
        terms: list[TermScore] = []
        for part in (_colour_terms(spec, attrs), _item_terms(spec, attrs),
                     _zone_terms(spec, rec, sources.get(rec["source_id"]))):
            if part is None:
                break
            terms.extend(part)
        else:
            if similar is not None:
                sim = similar.get(rec["tube_id"])
                if sim is None:
                    continue
                terms.append(sim)
            hard = []
            if spec.classes:
                hard.append(TermScore(f"class={rec['class_name']}", 1.0, f"class from {rec['class_source']}"))
            if spec.direction:
                hard.append(TermScore(f"direction={spec.direction}", 1.0, f"moving {rec['direction8']}"))
            if spec.stationary:
                hard.append(TermScore("stationary", 1.0, f"stationary {rec['stationary_max_s']:.0f} s"))
            terms = hard + terms
            score = float(np.mean([t.score for t in terms])) if terms else 1.0
            hits.append(Hit(
                tube_id=rec["tube_id"], camera=rec["camera"], source_id=rec["source_id"],
                source_path=src.path if src else "", start_utc=start, end_utc=end,
                first_pts_s=rec["first_pts_s"], last_pts_s=rec["last_pts_s"], class_name=rec["class_name"],
                colours=list(rec["colours"] or []), upper_colours=list(rec["upper_colours"] or []),
                lower_colours=list(rec["lower_colours"] or []), direction=rec["direction8"],
                thumb_path=str(store.root / rec["thumb_path"]) if rec["thumb_path"] else "",
                score=round(score, 4), terms=terms,
            ))
    hits.sort(key=lambda h: (-h.score, h.start_utc, h.tube_id))
    limited = hits[: spec.limit] if spec.limit else hits
    return QueryResult(spec, limited, coverage(store, spec, list(sources.values())), table.num_rows)


def coverage(store: Store, spec: QuerySpec, sources: list[SourceRow]) -> Coverage:
    indexed = sorted({s.camera for s in sources if s.camera and s.status in ("ok", "partial")})
    requested = list(spec.cameras) if spec.cameras else indexed
    lo, hi = spec.time_from, spec.time_to

    def in_scope(s: SourceRow) -> bool:
        if s.camera not in requested and spec.cameras:
            return False
        if s.start_utc is None:
            return True  # unknown time: it could be in any window
        end = s.end_utc or s.start_utc
        return (hi is None or s.start_utc <= hi) and (lo is None or end >= lo)

    scoped = [s for s in sources if in_scope(s)]
    searched, not_searched, gaps = [], [], []
    footage = 0.0
    for s in scoped:
        entry = {"path": s.path, "camera": s.camera, "sha256": s.sha256, "status": s.status,
                 "start_utc": s.start_utc.isoformat() if s.start_utc else None,
                 "end_utc": s.end_utc.isoformat() if s.end_utc else None}
        if s.status in ("ok", "partial"):
            searched.append(entry)
            footage += s.duration_s or 0.0
            for g in s.gaps:
                g_start = s.start_utc + dt.timedelta(seconds=g.start_s - s.start_pts_s)
                g_end = s.start_utc + dt.timedelta(seconds=g.end_s - s.start_pts_s)
                if (hi is None or g_start <= hi) and (lo is None or g_end >= lo):
                    gaps.append({"path": s.path, "camera": s.camera, "from_utc": g_start.isoformat(),
                                 "to_utc": g_end.isoformat(), "reason": g.reason})
        else:
            not_searched.append({**entry, "reason": s.error or s.status})
    uncovered = _uncovered(requested, [s for s in scoped if s.status in ("ok", "partial")], lo, hi)
    descriptors = sorted({s.detector or "no detector recorded" for s in scoped if s.status != "failed"})
    return Coverage(
        cameras_requested=requested, cameras_indexed=indexed,
        cameras_missing=[c for c in requested if c not in indexed],
        window_from=lo.isoformat() if lo else None, window_to=hi.isoformat() if hi else None,
        searched=searched, not_searched=not_searched, gaps=gaps, uncovered=uncovered, descriptors=descriptors,
        footage_searched_s=round(footage, 3),
    )


def _uncovered(cameras: list[str], searched: list[SourceRow], lo: dt.datetime | None,
               hi: dt.datetime | None) -> list[dict[str, object]]:
    """Per camera, the parts of [lo, hi] not covered by any readable source (only for a bounded window)."""
    if lo is None or hi is None:
        return []
    out = []
    for cam in cameras:
        spans = sorted((s.start_utc, s.end_utc or s.start_utc) for s in searched if s.camera == cam and s.start_utc)
        cursor = lo
        for a, b in spans:
            if a > cursor:
                out.append({"camera": cam, "from_utc": cursor.isoformat(), "to_utc": min(a, hi).isoformat()})
            cursor = max(cursor, b)
            if cursor >= hi:
                break
        if cursor < hi:
            out.append({"camera": cam, "from_utc": cursor.isoformat(), "to_utc": hi.isoformat()})
    return out


def tubes_for(store: Store, hits: list[Hit]):  # -> list[Tube]
    """The full tube records of the hits, in hit order (for synopsis and export)."""
    if not hits:
        return []
    ids = ", ".join(sql_str(h.tube_id) for h in hits)
    by_id = {r["tube_id"]: record_to_tube(r) for r in store.tubes_arrow(f"tube_id IN ({ids})").to_pylist()}
    return [by_id[h.tube_id] for h in hits if h.tube_id in by_id]
