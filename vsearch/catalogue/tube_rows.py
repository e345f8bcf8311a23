"""The one mapping between typed `Tube` records and rows of the `tubes` table (schema in `catalogue.schema`).

Nothing else reads or writes tube attributes by string key: the flattened filter columns (`colours`,
`direction8`, ...) and `attributes_json` are produced here from a `TubeAttributes`, and a row is turned back
into one here. A row that lacks a field the current schema requires is an error naming the tube and the field,
never a silent default (a renamed key must not be read as "none").
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from collections.abc import Callable, Mapping

import numpy as np

from vsearch.errors import StoreError
from vsearch.indexers.colours import PALETTE
from vsearch.records import (
    Appearance,
    ColourFractions,
    Footprint,
    ModelOutputs,
    Motion,
    Tube,
    TubeAttributes,
)

COLOUR_MIN_FRACTION = 0.15  # a colour is listed for filtering when it covers at least this share of the object

_MOTION_KEYS = ("direction8", "horizontal", "vertical", "speed_mean_px_s", "speed_max_px_s", "speed_mean_fw_s",
                "speed_max_fw_s", "dwell_s", "stationary_max_s", "stationary_total_s", "entry_edge", "exit_edge")


def attributes_as_dict(a: TubeAttributes) -> dict[str, object]:
    """The JSON form of a tube's attributes, as stored in `attributes_json` and shown by `vsearch tube`."""
    m = a.motion
    d: dict[str, object] = {k: getattr(m, k) for k in _MOTION_KEYS}
    d |= {
        "colours": dict(a.appearance.colours.pairs()),
        "upper_colours": dict(a.appearance.upper.pairs()),
        "lower_colours": dict(a.appearance.lower.pairs()),
        **_tones_as_dict(a.appearance),
        "path": [list(p) for p in m.path],
        "area_px": a.footprint.area_px,
        "size_px": list(a.footprint.size_px),
        "models": {**dict(a.models.labels), **dict(a.models.probabilities)},
        "models_provenance": {"model": a.models.model, "weights_sha256": a.models.weights_sha256},
        "class_votes": dict(a.class_votes),
        "first_seen_utc": a.first_seen_utc.isoformat(),
        "last_seen_utc": a.last_seen_utc.isoformat(),
    }
    return d


def attributes_from_dict(d: Mapping[str, object], *, where: str = "tube") -> TubeAttributes:
    """The inverse of `attributes_as_dict`; raises `StoreError` naming `where` and the missing field."""

    def get(key: str) -> object:
        try:
            return d[key]
        except KeyError:
            raise StoreError(f"{where}: stored attributes lack {key!r} (a store written by another vsearch "
                             "version?); run `vsearch migrate` or re-index") from None

    models: Mapping[str, object] = get("models")  # type: ignore[assignment]
    prov: Mapping[str, str] = get("models_provenance")  # type: ignore[assignment]
    return TubeAttributes(
        appearance=_appearance(d, get),
        motion=Motion(**{k: get(k) for k in _MOTION_KEYS},  # type: ignore[arg-type]
                      path=tuple(tuple(float(v) for v in p) for p in get("path"))),  # type: ignore[union-attr]
        footprint=Footprint(area_px=float(get("area_px")),  # type: ignore[arg-type]
                            size_px=tuple(float(v) for v in get("size_px"))),  # type: ignore[union-attr]
        models=ModelOutputs(model=prov["model"], weights_sha256=prov["weights_sha256"],
                            probabilities=tuple((k, float(v)) for k, v in models.items() if not isinstance(v, str)),
                            labels=tuple((k, v) for k, v in models.items() if isinstance(v, str))),
        class_votes=tuple((k, float(v)) for k, v in get("class_votes").items()),  # type: ignore[union-attr]
        first_seen_utc=dt.datetime.fromisoformat(get("first_seen_utc")),  # type: ignore[arg-type]
        last_seen_utc=dt.datetime.fromisoformat(get("last_seen_utc")),  # type: ignore[arg-type]
    )


_TONE_PARTS = {"any": "colours_tones", "head": "head_tones", "upper": "upper_tones", "lower": "lower_tones"}


def _tones_as_dict(ap: Appearance) -> dict[str, object]:
    """Head colours and tones: written only when measured, so a tube indexed before they existed stays
    recognisable (no `tones_measured`) and its shades read "not measurable" rather than "absent"."""
    if not ap.tones_measured:
        return {}
    mono = {"monochrome_samples": ap.monochrome_samples} if ap.monochrome_samples else {}
    return {"tones_measured": True, "head_colours": dict(ap.head.pairs()),
            **{col: dict(ap.tones_of(part).pairs()) for part, col in _TONE_PARTS.items()}, **mono}


def _appearance(d: Mapping[str, object], get: Callable[[str], object]) -> Appearance:
    ap = Appearance(colours=_colours(get("colours")), upper=_colours(get("upper_colours")),
                    lower=_colours(get("lower_colours")))
    if not d.get("tones_measured"):  # indexed before tones (palette lab-11-v1): nothing more was measured
        return ap
    return replace(ap, head=_colours(get("head_colours")), tones_measured=True,
                   tones=tuple((part, _tones(get(col))) for part, col in _TONE_PARTS.items()),
                   monochrome_samples=int(d.get("monochrome_samples", 0)))  # type: ignore[call-overload]


def _tones(shares: object) -> ColourFractions:
    return ColourFractions.from_pairs(sorted(dict(shares).items(), key=lambda kv: (-kv[1], kv[0])))  # type: ignore[call-overload]


def _colours(fractions: object) -> ColourFractions:
    """Stored colour fractions (a JSON object, so keys come back sorted) in their computed order: by share, ties
    in palette order (the describe stage's stable sort)."""
    pairs = sorted(dict(fractions).items(), key=lambda kv: (-kv[1], PALETTE.index(kv[0])))  # type: ignore[call-overload]
    return ColourFractions.from_pairs(pairs)


def tube_to_record(t: Tube, wall_time: Callable[[float], dt.datetime], scale: float,
                   thumb_path: str) -> dict[str, object]:
    """A `tubes` row for `t`; `wall_time` maps source seconds to UTC, `scale` is source/analysis pixels."""
    if t.attributes is None:
        raise StoreError(f"tube {t.tube_id}: has no attributes (not described); only described tubes are stored")
    a = t.attributes
    m = a.motion
    return {
        "tube_id": t.tube_id,
        "source_id": t.source_id,
        "camera": t.camera,
        "track_no": t.track_no,
        "class_name": t.class_name,
        "class_source": t.class_source,
        "start_utc": wall_time(t.first_pts_s),
        "end_utc": wall_time(t.last_pts_s),
        "first_pts_s": t.first_pts_s,
        "last_pts_s": t.last_pts_s,
        "n_samples": len(t),
        "frame_index": np.asarray(t.frame_index, np.int64).tolist(),
        "pts_s": np.asarray(t.pts_s, np.float64).tolist(),
        "boxes_xyxy": np.asarray(t.boxes_xyxy, np.float32).ravel().tolist(),
        "scores": np.asarray(t.scores, np.float32).tolist(),
        "masks_rle": list(t.masks_rle),
        "colours": a.appearance.colours.listed(COLOUR_MIN_FRACTION),
        "upper_colours": a.appearance.upper.listed(COLOUR_MIN_FRACTION),
        "lower_colours": a.appearance.lower.listed(COLOUR_MIN_FRACTION),
        "direction8": m.direction8,
        "horizontal": m.horizontal,
        "vertical": m.vertical,
        "speed_mean_fw_s": float(m.speed_mean_fw_s),
        "speed_max_fw_s": float(m.speed_max_fw_s),
        "speed_mean_px_s": float(m.speed_mean_px_s),
        "dwell_s": float(m.dwell_s),
        "stationary_max_s": float(m.stationary_max_s),
        "entry_edge": m.entry_edge,
        "exit_edge": m.exit_edge,
        "area_px": float(a.footprint.area_px),
        "analysis_scale": scale,
        "thumb_path": thumb_path,
        "attributes_json": json.dumps(attributes_as_dict(a), sort_keys=True),
    }


def record_to_tube(r: Mapping[str, object]) -> Tube:
    """A typed `Tube` from a full `tubes` row."""
    n = int(r["n_samples"])  # type: ignore[arg-type]
    where = f"tube {r['tube_id']}"
    return Tube(
        tube_id=r["tube_id"],  # type: ignore[arg-type]
        source_id=r["source_id"],  # type: ignore[arg-type]
        camera=r["camera"],  # type: ignore[arg-type]
        track_no=int(r["track_no"]),  # type: ignore[arg-type]
        frame_index=np.asarray(r["frame_index"], np.int64),
        pts_s=np.asarray(r["pts_s"], np.float64),
        boxes_xyxy=np.asarray(r["boxes_xyxy"], np.float32).reshape(n, 4),
        scores=np.asarray(r["scores"], np.float32),
        masks_rle=tuple(r["masks_rle"] or ()),  # type: ignore[arg-type]
        class_name=r["class_name"],  # type: ignore[arg-type]
        class_source=r["class_source"],  # type: ignore[arg-type]
        attributes=attributes_from_dict(json.loads(r["attributes_json"] or "{}"), where=where),  # type: ignore[arg-type]
    )


def tube_details(store, tube_id: str) -> dict[str, object] | None:
    """The JSON of one tube as `vsearch show --json` and the review UI give it (metadata, no pixels); None if the
    store has no such tube. `store` is a `catalogue.store.Store`."""
    rec = store.tube_record(tube_id)
    if rec is None:
        return None
    src = store.source(rec["source_id"])
    tube = record_to_tube(rec)
    return {"tube_id": tube_id, "camera": rec["camera"], "class": rec["class_name"],
            "class_source": rec["class_source"], "start_utc": rec["start_utc"].isoformat(),
            "end_utc": rec["end_utc"].isoformat(), "source_path": src.path if src else None,
            "source_sha256": src.sha256 if src else None, "source_offset_s": [tube.first_pts_s, tube.last_pts_s],
            "thumbnail": str(store.root / rec["thumb_path"]) if rec["thumb_path"] else None,
            "attributes": attributes_as_dict(tube.attributes)}
