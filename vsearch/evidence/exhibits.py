"""Derived exhibits from a query result: synopsis / passages videos and the signed evidentiary bundle.

This is the glue between the store (tubes, sources), the renderer (`vsearch.synopsis.render`) and the bundle writer
(`vsearch.evidence.bundle`); it holds no rendering or signing logic of its own.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vsearch.models import registry as model_catalogue
from vsearch.evidence.bundle import BundleReport, ExportInputs, ExportObject, ExportSource, ExportVideo, write_bundle
from vsearch.errors import UsageError
from vsearch.query.engine import QueryResult, tubes_for
from vsearch.records import Tube
from vsearch.evidence.signing import SiteKey
from vsearch.site import Investigator, SiteConfig
from vsearch.catalogue.store import Store, sql_str
from vsearch.indexing.identity import components_of
from vsearch.indexing.identity import parse as parse_identity
from vsearch.catalogue.tube_rows import attributes_as_dict
from vsearch.synopsis.passages import PassageOptions, render_passages
from vsearch.synopsis.render import SourceClip, SynopsisOptions, render_synopsis

SPAN_PADDING_S = 2.0  # context kept around each object in the native-format span copies


def clips_for(store: Store, tubes: list[Tube]) -> dict[str, SourceClip]:
    """The renderer's view of every source the tubes come from, with all tubes of each source (matching or
    not) so moving objects stay out of background plates and non-matching ones can be masked."""
    clips = {}
    for source_id in sorted({t.source_id for t in tubes}):
        src = store.source(source_id)
        if src is None or src.start_utc is None:
            raise UsageError(f"tube source {source_id[:16]}… is no longer in the store; re-run the search")
        every = tuple(store.tubes(f"source_id = {sql_str(source_id)}"))
        clips[source_id] = SourceClip(
            source_id=source_id, path=Path(src.path), camera=src.camera, start_utc=src.start_utc,
            start_pts_s=src.start_pts_s, width_px=src.width_px, height_px=src.height_px, fps=src.fps,
            analysis_scale=src.width_px / src.analysis_width_px, duration_s=src.duration_s, all_tubes=every)
    return clips


def tubes_from_results(store: Store, results_json: Path) -> list[Tube]:
    """The tubes of a saved `vsearch search --json` output (for `synopsis --from-results`)."""
    try:
        data = json.loads(results_json.read_text(encoding="utf-8"))
        ids = [h["tube_id"] for h in data["hits"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UsageError(f"--from-results {results_json}: not a `vsearch search --json` output ({e})") from e
    found = {t.tube_id: t for t in store.tubes("tube_id IN (" + ", ".join(sql_str(i) for i in ids) + ")")} if ids else {}
    missing = [i for i in ids if i not in found]
    if missing:
        raise UsageError(f"--from-results {results_json}: {len(missing)} tube(s) no longer in the store "
                         f"(e.g. {missing[0]}); purged or re-indexed? Search again")
    return [found[i] for i in ids]


def synopsis(store: Store, tubes: list[Tube], out: Path, opts: SynopsisOptions, progress=None):  # noqa: ANN001,ANN201
    if not tubes:
        raise UsageError("no matching object: nothing to condense (the coverage report says what was searched)")
    return render_synopsis(tubes, clips_for(store, tubes), out, opts, progress)


def passages(store: Store, tubes: list[Tube], out: Path, opts: PassageOptions, progress=None):  # noqa: ANN001,ANN201
    if not tubes:
        raise UsageError("no matching object: no passage to cut")
    return render_passages(tubes, clips_for(store, tubes), out, opts, progress)


def models_used(store: Store, source_ids: set[str], models_dir: Path | None) -> list[dict[str, str]]:
    """Every stage and model that indexed the exported sources, with its version and weights SHA-256, from the
    pipeline identity recorded per source; sources indexed before identities existed (schema v1) contribute the
    detector/descriptor names they recorded, with the catalogue's hash of that model."""
    rows = [r for r in map(store.source, sorted(source_ids)) if r is not None]
    out: list[dict[str, str]] = components_of(parse_identity(r.identity_json) for r in rows)
    names: set[str] = set()
    for src in (r for r in rows if not r.identity_json):
        params = json.loads(src.params_json or "{}")
        names.add(str(params.get("detector", "")))
        names.update(str(d) for d in params.get("descriptors", []))
        names.update(str(v) for v in json.loads(src.stage_info_json or "{}").values())
    for name in sorted(n for n in names if n):
        entry = model_catalogue.CATALOGUE.get(name)
        out.append({"name": name, "sha256": entry.main_file.sha256 if entry is not None else ""})
    return out


@dataclass(frozen=True)
class ExportRequest:
    case: str
    reason: str
    investigator: Investigator
    recipients: tuple[str, ...] = ()
    with_synopsis: bool = True
    with_passages: bool = True
    zip: bool = False
    models_dir: Path | None = None


def export(store: Store, config: SiteConfig, result: QueryResult, req: ExportRequest, out_dir: Path,
           parameters: dict[str, object]) -> BundleReport:
    hits = result.hits
    if not hits:
        raise UsageError("no matching object: nothing to export (run the search to see its coverage report)")
    tubes = tubes_for(store, hits)
    by_source: dict[str, list[tuple[float, float]]] = {}
    for t in tubes:
        by_source.setdefault(t.source_id, []).append((max(0.0, t.first_pts_s - SPAN_PADDING_S),
                                                      t.last_pts_s + SPAN_PADDING_S))
    sources = []
    for sid, spans in sorted(by_source.items()):
        src = store.source(sid)
        assert src is not None and src.start_utc is not None
        sources.append(ExportSource(path=Path(src.path), sha256=src.sha256, camera=src.camera,
                                    start_utc=src.start_utc, spans_s=tuple(sorted(spans)),
                                    start_pts_s=src.start_pts_s, clock_offset_s=src.clock_offset_s,
                                    pipeline=src.identity))
    score = {h.tube_id: h for h in hits}
    objects = []
    for t in tubes:
        h = score[t.tube_id]
        rec = store.tube_record(t.tube_id)
        thumb = store.read_file(rec["thumb_path"]) if rec and rec["thumb_path"] else None
        colours = "/".join(h.colours) or "-"
        objects.append(ExportObject(object_id=t.tube_id, source_sha256=t.source_id, camera=t.camera,
                                    first_pts_s=t.first_pts_s, last_pts_s=t.last_pts_s,
                                    label=f"{t.class_name} {colours} {h.direction}", score=h.score,
                                    attributes={**attributes_as_dict(t.attributes), "why": h.why}, thumbnail_jpeg=thumb))
    with tempfile.TemporaryDirectory(prefix="vsearch-export-") as tmp:
        videos = []
        if req.with_synopsis:
            res = synopsis(store, tubes, Path(tmp) / "synopsis.mp4", SynopsisOptions())
            videos += [ExportVideo("synopsis", p.video_path, p.sidecar_path) for p in res.parts]
        if req.with_passages:
            res = passages(store, tubes, Path(tmp) / "passages.mp4", PassageOptions())
            videos += [ExportVideo("passages", p.video_path, p.sidecar_path) for p in res.parts]
        inputs = ExportInputs(
            case=req.case, investigator=req.investigator, reason=req.reason, query=result.spec.to_dict(),
            parameters=parameters, coverage=result.coverage.to_dict(),
            models=models_used(store, set(by_source), req.models_dir), sources=sources, objects=objects,
            videos=tuple(videos), site_name=config.site_name, recipients=req.recipients,
            camera_clock_offsets_s=config.camera_clock_offsets_s,
            audit_head=config.open_audit_log(store.uri).signed_head())
        key = SiteKey.load_or_create(config.key_dir_path(store.uri))
        return write_bundle(inputs, out_dir, key, zip=req.zip)
