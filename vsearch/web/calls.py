"""The one adapter between the web app and the library: every library call of `vsearch.web` is here.

Each function is the body of the matching CLI command (same library calls, same audit action and parameters,
same JSON), taking the session's `Access` instead of command-line options. Every search goes through `execute`,
which has the signature of the retrieval issue's single search execution (`vsearch.query.search.execute`) and
is the one line to point at it when that lands.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsearch.catalogue.store import Store
from vsearch.catalogue.tube_rows import tube_details
from vsearch.cli.query_opts import QueryArgs
from vsearch.errors import QueryError
from vsearch.evidence import exhibits
from vsearch.evidence.bundle import sha256_file
from vsearch.query import similar as similar_lib
from vsearch.query.engine import QueryResult
from vsearch.models.descriptors import EmbedConfig
from vsearch.query.clock import get_tz, parse_time_option
from vsearch.query.options import check_cameras
from vsearch.query.search import execute
from vsearch.site import Access, ActionRecord, SiteConfig, audited_action, load_site_config, optional_site_config
from vsearch.synopsis import stills
from vsearch.synopsis.render import SynopsisOptions

__all__ = ["NotFound", "QueryArgs", "Site", "audited", "cameras", "execute", "export", "frame_jpeg", "login",
           "search", "similar", "synopsis", "tube_info", "tube_track", "view_tube"]


class NotFound(QueryError):
    """A tube (or a synopsis made by the UI) that is not, or no longer, in the store; the web answers 404."""


@dataclass(frozen=True)
class Site:
    """Where the served store and site config are. The config is re-read for every action, like the CLI, so a
    revoked or expired authorisation stops working at once."""

    store_dir: Path
    config_path: Path | None = None

    def store(self) -> Store:
        return Store(self.store_dir, create=False)

    def config(self) -> SiteConfig:
        return load_site_config(self.config_path)


@contextmanager
def audited(site: Site, access: Access, action: str, params: dict[str, Any]) -> Iterator[ActionRecord]:
    """Authorise `access` for `action` against the site config and log it (also on refusal or failure): the
    web twin of `vsearch.cli.common.guarded`, with the session's access instead of options."""
    cfg = site.config()
    with audited_action(cfg, access, action, cfg.open_audit_log(site.store_dir), {**params, "via": "web"}) as rec:
        yield rec


def login(site: Site, access: Access, remote: str) -> str:
    """Check the investigator, case and reason like any CLI command does, and log the login. Returns the
    investigator's full name (shown on every page)."""
    with audited(site, access, "login", {"remote": remote}) as rec:
        rec.result = {"session": "opened"}
    return rec.investigator.name


def _clip(site: Site) -> EmbedConfig:
    return similar_lib.embed_config(optional_site_config(site.config_path))


def search(site: Site, access: Access, args: QueryArgs) -> QueryResult:
    """`vsearch search`, audited like it; `to_dict()` of the result is the JSON of `vsearch search --json`."""
    st = site.store()
    spec = args.spec(st)
    with audited(site, access, "search", args.params()) as rec:
        res = execute(st, spec, clip=_clip(site))
        rec.result = {"hits": len(res.hits), "candidates": res.candidates,
                      "not_searched": len(res.coverage.not_searched), "tube_ids": [h.tube_id for h in res.hits]}
    return res


def tube_info(st: Store, tube_id: str) -> dict[str, Any]:
    """The JSON of `vsearch show --json` for one tube (metadata only)."""
    info = tube_details(st, tube_id)
    if info is None:
        raise NotFound(f"tube:{tube_id}: no such tube in {st.root}; list them with `vsearch tubes`")
    return info


def view_tube(site: Site, access: Access, tube_id: str) -> dict[str, Any]:
    """A tube's details, logged as a view of footage ("view_tube")."""
    with audited(site, access, "view_tube", {"tube_id": tube_id}) as rec:
        info = tube_info(site.store(), tube_id)
        rec.result = {"camera": info["camera"], "source_sha256": info["source_sha256"]}
    return info


@dataclass(frozen=True)
class TubeTrack:
    """What the tube page draws: the path as box centres in 0–1 frame coordinates, and where the tube is in
    its source (to cut the clip and pick a still)."""

    path_xy: tuple[tuple[float, float], ...]
    source_path: str
    source_start_pts_s: float  # the source's first presentation time
    first_pts_s: float
    last_pts_s: float
    mid_utc: dt.datetime


def tube_track(st: Store, tube_id: str) -> TubeTrack:
    tube = st.tube(tube_id)
    src = st.source(tube.source_id) if tube is not None else None
    if tube is None or src is None or src.start_utc is None:
        raise NotFound(f"tube:{tube_id}: no such tube (or its source is gone) in {st.root}")
    aw, ah = max(src.analysis_width_px, 1), max(src.analysis_height_px, 1)
    centres = tuple((round(float((b[0] + b[2]) / 2 / aw), 4), round(float((b[1] + b[3]) / 2 / ah), 4))
                    for b in tube.boxes_xyxy)
    mid_s = (tube.first_pts_s + tube.last_pts_s) / 2 - src.start_pts_s
    return TubeTrack(centres, src.path, src.start_pts_s, tube.first_pts_s, tube.last_pts_s,
                     src.start_utc + dt.timedelta(seconds=mid_s))


def similar(site: Site, access: Access, tube_id: str, cameras: list[str], limit: int) -> dict[str, Any]:
    """`vsearch similar --tube ID --json`: more like this, across cameras."""
    st = site.store()
    scope = similar_lib.Scope(cameras=check_cameras(cameras, st.cameras()), limit=limit)
    params = {"tube": tube_id, "image": None, "cameras": cameras or None, "from": None, "to": None, "limit": limit,
              "clip_model": None}
    with audited(site, access, "search", params) as rec:
        hits = similar_lib.like_tube(st, tube_id.removeprefix("tube:"), scope)
        rec.result = {"hits": len(hits), "tube_ids": [h.tube_id for h in hits]}
    return {"hits": [h.to_dict() for h in hits]}


def frame_jpeg(site: Site, access: Access, camera: str, at: str, tz: str, out: Path) -> dict[str, Any]:
    """`vsearch frame --json`: a still of a camera at a time, written to `out`."""
    st = site.store()
    when = parse_time_option(at, None, tz, option="at")
    with audited(site, access, "frame", {"camera": camera, "at": when}) as rec:
        still = stills.still_at(st, camera, when)
        stills.write_jpeg(still, out)
        rec.result = {"source": still.source.path, "pts_s": still.pts_s}
        rec.outputs = {str(out): sha256_file(out)}
    return {"output": str(out), "camera": camera, "time_utc": still.time_utc.isoformat(),
            "source": still.source.path, "pts_s": still.pts_s,
            "size_px": [int(still.image.shape[1]), int(still.image.shape[0])]}


def synopsis(site: Site, access: Access, results_json: Path, output: Path, tz: str) -> dict[str, Any]:
    """`vsearch synopsis --from-results results.json -o output --json`."""
    st = site.store()
    params = {"from_results": str(results_json), "passages": False, "density": 6.0, "max_duration": None}
    with audited(site, access, "synopsis", params) as rec:
        tubes = exhibits.tubes_from_results(st, results_json)
        made = exhibits.synopsis(st, tubes, output, SynopsisOptions(tz=get_tz(tz)))
        rec.result = {"objects": len(tubes), "files": [str(p.video_path) for p in made.parts]}
        rec.outputs = {str(p.video_path): sha256_file(p.video_path) for p in made.parts} | \
                      {str(p.sidecar_path): sha256_file(p.sidecar_path) for p in made.parts}
    parts = [dataclasses.asdict(p) | {"entries": len(p.entries)} for p in made.parts]
    return json.loads(json.dumps({"parts": parts, "coverage": None}, default=str))


def export(site: Site, access: Access, args: QueryArgs, tube_ids: list[str], output: Path) -> dict[str, Any]:
    """`vsearch export --zip --json` for the query the tubes were confirmed from, keeping only the confirmed
    tubes (in the query's order). The bundle records the query and its full coverage report."""
    st = site.store()
    cfg = site.config()
    params = {**args.params(), "zip": True, "synopsis": True, "passages": True, "tube_ids": tube_ids}
    with audited(site, access, "export", params) as rec:
        res = execute(st, args.spec(st), clip=_clip(site))  # the same hits the investigator confirmed
        keep = set(tube_ids)
        missing = keep - {h.tube_id for h in res.hits}
        if missing:
            raise QueryError(f"{len(missing)} confirmed tube(s) are no longer hits of their search (e.g. "
                             f"{sorted(missing)[0]}); search again and confirm them anew")
        res = dataclasses.replace(res, hits=[h for h in res.hits if h.tube_id in keep])
        req = exhibits.ExportRequest(case=access.case_ref, reason=access.reason, investigator=rec.investigator,
                                     recipients=access.recipients, zip=True)
        rep = exhibits.export(st, cfg, res, req, output, params)
        rec.result = {"objects": len(res.hits), "sources": len({h.source_id for h in res.hits}),
                      "not_searched": len(res.coverage.not_searched)}
        rec.outputs = {"manifest.json": rep.manifest_sha256} | ({str(rep.zip_path): rep.zip_sha256}
                                                               if rep.zip_path else {})
    return {"bundle": str(rep.out_dir), "zip": str(rep.zip_path) if rep.zip_path else None,
            "manifest_sha256": rep.manifest_sha256, "files": len(rep.files), "objects": len(res.hits)}


def cameras(st: Store) -> list[dict[str, Any]]:
    """Indexed cameras with the first readable time of each (the default still for zone drawing)."""
    out: dict[str, dict[str, Any]] = {}
    for s in st.sources():
        if s.status not in ("ok", "partial") or s.start_utc is None:
            continue
        cur = out.setdefault(s.camera, {"camera": s.camera, "first_utc": s.start_utc, "last_utc": s.end_utc})
        cur["first_utc"] = min(cur["first_utc"], s.start_utc)
        if s.end_utc is not None:
            cur["last_utc"] = max(cur["last_utc"] or s.end_utc, s.end_utc)
    return [out[c] for c in sorted(out)]
