"""Counts and flows from the same tubes investigators search (the city's counting use)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from vsearch.query import zones
from vsearch.errors import QueryError
from vsearch.query.engine import search_filter
from vsearch.query.spec import QuerySpec, get_tz
from vsearch.catalogue.store import Store


@dataclass
class CountReport:
    by_camera: dict[str, int] = field(default_factory=dict)
    by_class: dict[str, int] = field(default_factory=dict)
    by_hour: dict[str, int] = field(default_factory=dict)  # local "YYYY-MM-DD HH:00" -> tubes first seen then
    flows: dict[str, dict[str, int]] = field(default_factory=dict)  # camera -> {"+1": n, "-1": n} for --line
    total: int = 0

    def to_dict(self) -> dict[str, object]:
        return {"total": self.total, "by_camera": self.by_camera, "by_class": self.by_class,
                "by_hour": self.by_hour, "flows": self.flows}


def count(store: Store, spec: QuerySpec, line: zones.Line | None = None) -> CountReport:
    """Counts of the tubes matching the same filter as a search (class, colours, direction, camera, time)."""
    unsupported = [name for name, used in (
        ("carried items", bool(spec.items)), ("zones", bool(spec.zones)), ("--like", spec.like is not None),
        ("speeds in px/s", any(sp is not None and sp.unit != "fw/s" for sp in (spec.min_speed, spec.max_speed))),
    ) if used]
    if unsupported:
        raise QueryError(f"count does not filter on {', '.join(unsupported)}; use `vsearch search` for those")
    sources = {s.source_id: s for s in store.sources()}
    table = store.tubes_arrow(search_filter(spec), columns=["tube_id", "camera", "class_name", "start_utc", "end_utc",
                                                          "source_id", "n_samples", "boxes_xyxy"])
    tz = get_tz(spec.tz)
    cams, classes, hours = Counter(), Counter(), Counter()
    flows: dict[str, Counter] = {}
    for rec in table.to_pylist():
        if not spec.overlaps_time(rec["start_utc"], rec["end_utc"]):
            continue
        cams[rec["camera"]] += 1
        classes[rec["class_name"]] += 1
        hours[rec["start_utc"].astimezone(tz).strftime("%Y-%m-%d %H:00")] += 1
        if line is not None:
            src = sources.get(rec["source_id"])
            if src is None or not src.analysis_width_px:
                continue
            boxes = np.asarray(rec["boxes_xyxy"], np.float32).reshape(int(rec["n_samples"]), 4)
            pts = zones.ground_points(boxes, src.analysis_width_px, src.analysis_height_px)
            signs = zones.crossings(pts, line.normalised_for(src.width_px, src.height_px))
            if len(signs):
                flows.setdefault(rec["camera"], Counter())[f"{int(signs[0]):+d}"] += 1
    return CountReport(by_camera=dict(sorted(cams.items())), by_class=dict(sorted(classes.items())),
                       by_hour=dict(sorted(hours.items())), flows={k: dict(v) for k, v in sorted(flows.items())},
                       total=sum(cams.values()))
