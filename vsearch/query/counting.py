"""Counts and flows from the same tubes investigators search (the city's counting use)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from vsearch.query import zones
from vsearch.query.engine import tubes_for
from vsearch.query.search import execute
from vsearch.query.clock import get_tz
from vsearch.query.spec import QuerySpec
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
    """Counts of the tubes a search for `spec` returns (`execute`, every hit, no limit). A count has no ranking
    to fall back on, so its descriptive words are required (`--strict` semantics): "red cars" counts red cars."""
    res = execute(store, replace(spec, strict=True), all_hits=True)
    sources = {s.source_id: s for s in store.sources()} if line is not None else {}
    tz = get_tz(spec.tz)
    cams, classes, hours = Counter(), Counter(), Counter()
    flows: dict[str, Counter] = {}
    for h in res.hits:
        cams[h.camera] += 1
        classes[h.class_name] += 1
        hours[h.start_utc.astimezone(tz).strftime("%Y-%m-%d %H:00")] += 1
    if line is not None:
        for t in tubes_for(store, res.hits):
            src = sources.get(t.source_id)
            if src is None or not src.analysis_width_px:
                continue
            boxes = np.asarray(t.boxes_xyxy, np.float32).reshape(-1, 4)
            pts = zones.ground_points(boxes, src.analysis_width_px, src.analysis_height_px)
            signs = zones.crossings(pts, line.normalised_for(src.width_px, src.height_px))
            if len(signs):
                flows.setdefault(t.camera, Counter())[f"{int(signs[0]):+d}"] += 1
    return CountReport(by_camera=dict(sorted(cams.items())), by_class=dict(sorted(classes.items())),
                       by_hour=dict(sorted(hours.items())), flows={k: dict(v) for k, v in sorted(flows.items())},
                       total=sum(cams.values()))
