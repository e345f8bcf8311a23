"""The JSON API: each route is one adapter call and answers the JSON of the matching CLI command's `--json`."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from vsearch.errors import UsageError, VsearchError
from vsearch.evidence.bundle import sha256_file
from vsearch.web import calls, clips
from vsearch.web.app import Job, WebState, checked_post, new_id, query_args, session_of, state
from vsearch.web.sessions import Session


def _json(data: object, status: int = 200) -> Response:
    body = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return Response(body, status_code=status, media_type="application/json")


def api_search(request: Request) -> Response:
    s = session_of(request)
    res = calls.search(state(request).site, s.access, query_args(request.query_params))
    return _json(res.to_dict())


def api_tube(request: Request) -> Response:
    s = session_of(request)
    return _json(calls.view_tube(state(request).site, s.access, request.path_params["tube_id"]))


def api_thumbnail(request: Request) -> Response:
    session_of(request)  # thumbnails of hits: covered by the search's audit entry, which lists the tube ids
    info = calls.tube_info(state(request).site.store(), request.path_params["tube_id"])
    if not info["thumbnail"] or not Path(info["thumbnail"]).is_file():
        return JSONResponse({"error": f"tube:{info['tube_id']} has no thumbnail"}, status_code=404)
    return FileResponse(info["thumbnail"], media_type="image/jpeg")


def clip_response(request: Request, s: Session, tube_id: str) -> Response:
    """The tube's span of the original as a cached H.264 MP4; FileResponse answers Range requests (206). The
    first request of a session for a tube is audited as "play_clip" (players send several Range requests)."""
    st = state(request)
    store = st.site.store()
    track = calls.tube_track(store, tube_id)
    if tube_id not in s.clips_played:
        with calls.audited(st.site, s.access, "play_clip", {"tube_id": tube_id}) as rec:
            span = clips.ClipSpan.around(track.source_path, track.source_start_pts_s, track.first_pts_s,
                                         track.last_pts_s)
            path = clips.ensure_clip(store.root, tube_id, span)
            rec.result = {"source": track.source_path, "from_pts_s": span.start_pts_s, "to_pts_s": span.end_pts_s}
            rec.outputs = {str(path): sha256_file(path)}  # exactly what was shown
        s.clips_played.add(tube_id)
    else:
        path = clips.ensure_clip(store.root, tube_id, clips.ClipSpan.around(
            track.source_path, track.source_start_pts_s, track.first_pts_s, track.last_pts_s))
    return FileResponse(path, media_type="video/mp4")


def api_clip(request: Request) -> Response:
    return clip_response(request, session_of(request), request.path_params["tube_id"])


def api_similar(request: Request) -> Response:
    s = session_of(request)
    tube = request.query_params.get("tube", "")
    if not tube:
        raise UsageError("similar: give tube=ID of the example")
    limit = request.query_params.get("limit", "20")
    if not limit.isdigit() or int(limit) < 1:
        raise UsageError(f"limit={limit!r}: give a whole number of hits, 1 or more")
    return _json(calls.similar(state(request).site, s.access, tube, request.query_params.getlist("camera"),
                               int(limit)))


def api_frame(request: Request) -> Response:
    s = session_of(request)
    camera, at = request.query_params.get("camera", ""), request.query_params.get("at", "")
    if not camera or not at:
        raise UsageError("frame: give camera=ID and at=TIME (ISO-8601)")
    st = state(request)
    st.cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=st.cache_dir) as tmp:
        out = Path(tmp) / "still.jpg"
        calls.frame_jpeg(st.site, s.access, camera, at, request.query_params.get("tz", "Europe/Paris"), out)
        data = out.read_bytes()
    return Response(data, media_type="image/jpeg")


def synopsis_dir(request: Request, synopsis_id: str) -> Path:
    if not synopsis_id.replace("-", "").isalnum():
        raise UsageError(f"synopsis {synopsis_id!r}: not a synopsis id")
    d = state(request).cache_dir / "synopsis" / synopsis_id
    if not (d / "results.json").is_file():
        raise calls.NotFound(f"synopsis {synopsis_id}: no such synopsis in this store; make it again from "
                            f"the search page")
    return d


async def api_synopsis(request: Request) -> Response:
    """Body: {"tube_ids": [...]} (the hits to condense, e.g. a search's). Answers `vsearch synopsis --json`
    plus the `synopsis_id` of its page."""
    s, body = await checked_post(request)
    ids = body.get("tube_ids") or []
    ids = [ids] if isinstance(ids, str) else ids
    if not ids or not all(isinstance(i, str) for i in ids):
        raise UsageError("synopsis: give tube_ids, a list of tube ids (e.g. the hits of a search)")
    st = state(request)
    sid = new_id()
    d = st.cache_dir / "synopsis" / sid
    d.mkdir(parents=True)
    results = d / "results.json"  # what `--from-results` reads: the hits, in order
    results.write_text(json.dumps({"hits": [{"tube_id": i.removeprefix("tube:")} for i in ids]}))
    out = await run_in_threadpool(calls.synopsis, st.site, s.access, results, d / "synopsis.mp4",
                                  str(body.get("tz") or "Europe/Paris"))
    return _json({**out, "synopsis_id": sid})


def _synopsis_part(request: Request) -> tuple[Path, dict]:
    session_of(request)
    d = synopsis_dir(request, request.path_params["synopsis_id"])
    maps = sorted(p for p in d.glob("synopsis*.json"))
    n = request.path_params["part"]
    if n >= len(maps):
        raise calls.NotFound(f"synopsis {d.name} has no part {n}")
    return d, json.loads(maps[n].read_text())


def api_synopsis_video(request: Request) -> Response:
    d, m = _synopsis_part(request)
    return FileResponse(d / m["video"], media_type="video/mp4")


def api_synopsis_map(request: Request) -> Response:
    return _json(_synopsis_part(request)[1])


def _run_export(st: WebState, job: Job, s: Session, args: calls.QueryArgs, tube_ids: list[str], out: Path) -> None:
    try:
        job.result = calls.export(st.site, s.access, args, tube_ids, out)
        job.state = "done"
    except VsearchError as e:  # reported to the page; the audit entry already records the failure
        job.state, job.error = "failed", str(e)
    finally:
        job.finished_utc = st.sessions.clock()


async def api_export(request: Request) -> Response:
    """Body: {"query": "<search query string>", "tube_ids": [...]}: a signed bundle of the confirmed tubes of
    that search, made in the background. Answers the job; GET /api/export/{job} gives its progress, then the
    JSON of `vsearch export --json`."""
    s, body = await checked_post(request)
    args = query_args(QueryParams(str(body.get("query") or "")))
    ids = body.get("tube_ids") or []
    ids = [ids] if isinstance(ids, str) else ids
    if not ids:
        raise UsageError("export: no confirmed tube; confirm the objects to export on their pages first")
    st = state(request)
    job = Job(new_id(), s.token, "export", st.sessions.clock())
    safe_case = "".join(c if c.isalnum() or c in "-_" else "_" for c in s.access.case_ref)
    out = st.exports_dir / f"{safe_case}-{job.job_id}"
    st.exports_dir.mkdir(parents=True, exist_ok=True)
    st.jobs[job.job_id] = job
    st.workers.submit(_run_export, st, job, s, args, [str(i).removeprefix("tube:") for i in ids], out)
    return _json(job.to_dict(st.sessions.clock()), status=202)


def api_job(request: Request) -> Response:
    s = session_of(request)
    st = state(request)
    job = st.jobs.get(request.path_params["job_id"])
    if job is None or job.owner != s.token:
        return JSONResponse({"error": "no such job in this session"}, status_code=404)
    return _json(job.to_dict(st.sessions.clock()))


def api_job_zip(request: Request) -> Response:
    s = session_of(request)
    job = state(request).jobs.get(request.path_params["job_id"])
    if job is None or job.owner != s.token or job.state != "done" or not (job.result or {}).get("zip"):
        return JSONResponse({"error": "no finished export with a zip in this session"}, status_code=404)
    return FileResponse(job.result["zip"], media_type="application/zip", filename=Path(job.result["zip"]).name)


ROUTES = [
    Route("/api/search", api_search),
    Route("/api/tubes/{tube_id}", api_tube),
    Route("/api/tubes/{tube_id}/thumbnail", api_thumbnail),
    Route("/api/tubes/{tube_id}/clip", api_clip),
    Route("/api/similar", api_similar),
    Route("/api/frame", api_frame),
    Route("/api/synopsis", api_synopsis, methods=["POST"]),
    Route("/api/synopsis/{synopsis_id}/{part:int}/video", api_synopsis_video),
    Route("/api/synopsis/{synopsis_id}/{part:int}/map", api_synopsis_map),
    Route("/api/export", api_export, methods=["POST"]),
    Route("/api/export/{job_id}", api_job),
    Route("/api/export/{job_id}/zip", api_job_zip),
]
