"""The HTML pages: login, search (grid, timeline, coverage), tube, zone drawing, synopsis, basket."""

from __future__ import annotations

import json
import secrets
import urllib.parse

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from vsearch.errors import AuthorisationError, UsageError, VsearchError
from vsearch.site import Access
from vsearch.web import calls, i18n, views
from vsearch.web.app import (LANG_COOKIE, checked_post, lang_of, page_context, query_args, session_of, state)
from vsearch.web.api import synopsis_dir
from vsearch.web.clips import ClipSpan
from vsearch.web.sessions import COOKIE, LOGIN_COOKIE, Session

FILTERS = ("q", "camera", "from", "to", "date", "class", "colour", "upper", "lower", "direction", "zone",
           "min_dwell", "limit")


def render(request: Request, name: str, s: Session | None, status: int = 200, **extra: object) -> Response:
    st = state(request)
    resp = st.templates.TemplateResponse(request, name, page_context(request, s, **extra), status_code=status)
    if request.query_params.get("lang") in i18n.LANGS:
        resp.set_cookie(LANG_COOKIE, request.query_params["lang"], samesite="strict", httponly=True)
    return resp


def _login_form(request: Request, message: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", None, status=status, login_csrf=token, message=message)
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return resp


def home(request: Request) -> Response:
    if state(request).sessions.get(request.cookies.get(COOKIE)) is None:
        return _login_form(request)
    return RedirectResponse("/search", status_code=303)


async def login(request: Request) -> Response:
    """Open a session after the site config accepted investigator, case and reason (audited as "login"; a
    refusal is audited too). Any previous session of this browser is closed: one case per session."""
    form = await request.form()
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not secrets.compare_digest(expected, str(form.get("csrf", ""))):
        return _login_form(request, "login form expired: try again", status=403)
    access = Access(str(form.get("investigator", "")).strip(), str(form.get("case", "")).strip(),
                    str(form.get("reason", "")).strip())
    st = state(request)
    try:
        name = calls.login(st.site, access, request.client.host if request.client else "?")
    except AuthorisationError as e:
        return _login_form(request, str(e), status=403)
    st.sessions.close(request.cookies.get(COOKIE))
    s = st.sessions.open(access, name)
    resp = RedirectResponse("/search", status_code=303)
    resp.set_cookie(COOKIE, s.token, max_age=st.sessions.lifetime_s, httponly=True, samesite="strict", path="/")
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


async def logout(request: Request) -> Response:
    s, _ = await checked_post(request)
    state(request).sessions.close(s.token)
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


def search_page(request: Request) -> Response:
    s = session_of(request)
    st = state(request)
    store = st.site.store()
    qp = request.query_params
    asked = any(qp.get(k) for k in FILTERS if k != "limit")
    result = None
    if asked:
        result = calls.search(st.site, s.access, query_args(qp)).to_dict()
    lang = lang_of(request)
    return render(request, "search.html", s, cameras=calls.cameras(store), form=qp, result=result,
                  timeline=views.timeline(result) if result else None,
                  bar=views.coverage_bar(result["coverage"]) if result else (),
                  sentence=i18n.coverage_sentence(result["coverage"], lang) if result else "",
                  colours_text=views.colours_text, search_qs=str(qp),
                  tube_ids_json=json.dumps([h["tube_id"] for h in result["hits"]]) if result else "[]")


def tube_page(request: Request) -> Response:
    s = session_of(request)
    st = state(request)
    tube_id = request.path_params["tube_id"]
    info = calls.view_tube(st.site, s.access, tube_id)
    track = calls.tube_track(st.site.store(), tube_id)
    try:
        similar, similar_error = calls.similar(st.site, s.access, tube_id, [], 12)["hits"], None
    except VsearchError as e:  # the page still shows the tube; the reason is displayed (and audited)
        similar, similar_error = [], str(e)
    span = ClipSpan.around(track.source_path, track.source_start_pts_s, track.first_pts_s, track.last_pts_s)
    at = request.query_params.get("at")
    try:
        seek_s = max(0.0, float(at) - span.start_pts_s) if at else track.first_pts_s - span.start_pts_s
    except ValueError as e:
        raise UsageError(f"at={at!r}: give a source time in seconds") from e
    return render(request, "tube.html", s, info=info, track=track, path_json=json.dumps(track.path_xy),
                  similar=[h for h in similar if h["tube_id"] != tube_id], similar_error=similar_error,
                  seek_s=round(seek_s, 3), clip_start_s=span.start_pts_s,
                  from_search=request.query_params.get("from_search", ""),
                  state_of=("confirmed" if tube_id in s.basket else "rejected" if tube_id in s.rejected else ""),
                  attributes=sorted((k, v) for k, v in info["attributes"].items() if k != "path"))


async def basket_post(request: Request) -> Response:
    """Confirm or reject a tube (the basket is the session's; it is the input of an export)."""
    s, body = await checked_post(request)
    tube_id = str(body.get("tube_id", "")).removeprefix("tube:")
    action = body.get("action")
    if action not in ("confirm", "reject", "remove") or not tube_id:
        raise UsageError("basket: give tube_id and action=confirm|reject|remove")
    calls.tube_info(state(request).site.store(), tube_id)  # a tube that exists
    s.basket.pop(tube_id, None)
    s.rejected.discard(tube_id)
    if action == "confirm":
        s.basket[tube_id] = str(body.get("from_search", ""))
    elif action == "reject":
        s.rejected.add(tube_id)
    back = str(body.get("back") or f"/tube/{tube_id}")
    return RedirectResponse(back if back.startswith("/") and not back.startswith("//") else "/", status_code=303)


def basket_page(request: Request) -> Response:
    s = session_of(request)
    groups: dict[str, list[str]] = {}
    for tube_id, qs in s.basket.items():
        groups.setdefault(qs, []).append(tube_id)
    shown = [{"query": qs, "label": urllib.parse.unquote_plus(qs) or "-", "tube_ids": ids,
              "tube_ids_json": json.dumps(ids)} for qs, ids in groups.items()]
    return render(request, "basket.html", s, groups=shown)


def zone_page(request: Request) -> Response:
    s = session_of(request)
    cams = calls.cameras(state(request).site.store())
    camera = request.query_params.get("camera") or (cams[0]["camera"] if cams else "")
    cam = next((c for c in cams if c["camera"] == camera), None)
    if camera and cam is None:
        raise UsageError(f"camera={camera!r}: not indexed; known cameras: {', '.join(c['camera'] for c in cams)}")
    at = request.query_params.get("at") or (cam["first_utc"].isoformat() if cam else "")
    return render(request, "zone.html", s, cameras=cams, camera=camera, at=at,
                  frame_qs=urllib.parse.urlencode({"camera": camera, "at": at}))


def synopsis_page(request: Request) -> Response:
    s = session_of(request)
    d = synopsis_dir(request, request.path_params["synopsis_id"])
    parts = [json.loads(p.read_text()) for p in sorted(d.glob("synopsis*.json"))]
    return render(request, "synopsis.html", s, synopsis_id=d.name, parts=parts)


ROUTES = [
    Route("/", home),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/search", search_page),
    Route("/tube/{tube_id}", tube_page),
    Route("/basket", basket_page),
    Route("/basket", basket_post, methods=["POST"]),
    Route("/zone", zone_page),
    Route("/synopsis/{synopsis_id}", synopsis_page),
]
