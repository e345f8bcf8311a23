"""The ASGI app of `vsearch serve`: sessions, CSRF, error mapping, and the routes of `api` and `pages`.

Everything here is presentation and access plumbing; what a search, a clip or an export *is* comes from the
library through `vsearch.web.calls`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders, QueryParams
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vsearch.errors import AuthorisationError, UsageError, VsearchError
from vsearch.web import calls, i18n
from vsearch.web.sessions import COOKIE, DEFAULT_LIFETIME_S, Session, Sessions, _utcnow

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "vsearch_lang"
MULTI = ("class", "colour", "upper", "lower", "camera", "zone")  # repeatable query fields


class NoSession(Exception):
    """No live session: 401 for the API, a redirect to the login form for pages."""


class CsrfError(Exception):
    """A POST without the session's CSRF token."""


@dataclass
class Job:
    """A long action (export) running in the background, polled by the page for its progress."""

    job_id: str
    owner: str  # session token
    kind: str
    started_utc: dt.datetime
    state: str = "running"  # running | done | failed
    result: dict[str, Any] | None = None
    error: str | None = None
    finished_utc: dt.datetime | None = None

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        end = self.finished_utc or now
        return {"job": self.job_id, "kind": self.kind, "state": self.state, "result": self.result,
                "error": self.error, "elapsed_s": round((end - self.started_utc).total_seconds(), 1)}


@dataclass
class WebState:
    site: calls.Site
    sessions: Sessions
    templates: Jinja2Templates
    exports_dir: Path
    cache_dir: Path
    workers: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1))
    jobs: dict[str, Job] = field(default_factory=dict)


def state(request: Request) -> WebState:
    return request.app.state.web


def session_of(request: Request) -> Session:
    """The request's live session, or NoSession."""
    s = state(request).sessions.get(request.cookies.get(COOKIE))
    if s is None:
        raise NoSession()
    return s


async def checked_post(request: Request) -> tuple[Session, dict[str, Any]]:
    """Session + body of a POST (form or JSON) whose CSRF token (X-CSRF-Token header or `csrf` field) matches."""
    s = session_of(request)
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError as e:
            raise UsageError(f"request body: not valid JSON ({e})") from e
        if not isinstance(body, dict):
            raise UsageError("request body: a JSON object is expected")
    else:
        form = await request.form()
        body = {k: (form.getlist(k) if len(form.getlist(k)) > 1 else form[k]) for k in form.keys()}
    if not s.csrf_ok(request.headers.get("x-csrf-token") or body.get("csrf")):
        raise CsrfError()
    return s, body


def lang_of(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "fr"
    return lang if lang in i18n.LANGS else "fr"


def query_args(params: QueryParams | dict[str, Any]) -> calls.QueryArgs:
    """The search form / API fields as the CLI's query options (same names as the options, `q` = the text)."""
    def many(name: str) -> list[str] | None:
        if isinstance(params, QueryParams):
            vals = params.getlist(name)
        else:
            v = params.get(name)
            vals = v if isinstance(v, list) else ([v] if v else [])
        vals = [str(x).strip() for x in vals if str(x).strip()]
        return vals or None

    def one(name: str) -> str | None:
        v = params.get(name)
        if isinstance(v, list):
            v = v[0] if v else None
        if v is None:
            return None
        return str(v).strip() or None

    limit = one("limit")
    if limit is not None and (not limit.isdigit() or int(limit) < 1):
        raise UsageError(f"limit={limit!r}: give a whole number of hits, 1 or more")
    like = one("like")
    if like is not None and not like.startswith("tube:"):
        raise UsageError(f"like={like!r}: the review UI takes an example tube (tube:ID), not a file path")
    return calls.QueryArgs(text=one("q"), classes=many("class"), colours=many("colour"), upper=many("upper"),
                           lower=many("lower"), direction=one("direction"), cameras=many("camera"),
                           time_from=one("from"), time_to=one("to"), date=one("date"), zones=many("zone"),
                           min_dwell=one("min_dwell"), min_speed=one("min_speed"), max_speed=one("max_speed"),
                           like=like, limit=int(limit) if limit else 50, tz=one("tz") or "Europe/Paris")


def error_status(e: VsearchError) -> int:
    if isinstance(e, AuthorisationError):
        return 403
    if isinstance(e, calls.NotFound):
        return 404
    return 400 if isinstance(e, UsageError) else 500


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _on_no_session(request: Request, exc: Exception) -> Response:
    if _is_api(request):
        return JSONResponse({"error": "not logged in: POST /login first"}, status_code=401)
    return RedirectResponse("/", status_code=303)


async def _on_csrf(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "missing or wrong CSRF token: reload the page"}, status_code=403)


async def _on_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VsearchError)
    status = error_status(exc)
    if _is_api(request):
        return JSONResponse({"error": str(exc)}, status_code=status)
    st = state(request)
    s = st.sessions.get(request.cookies.get(COOKIE))
    return st.templates.TemplateResponse(request, "error.html", page_context(request, s, message=str(exc)),
                                         status_code=status)


def page_context(request: Request, s: Session | None, **extra: Any) -> dict[str, Any]:
    lang = lang_of(request)

    def lang_url(code: str) -> str:  # this page, same query, other language
        return str(request.url.include_query_params(lang=code).replace(scheme="", netloc=""))

    return {"t": i18n.texts(lang), "lang": lang, "session": s, "path": request.url.path, "lang_url": lang_url,
            **extra}


# Pages may load only what this server serves (no CDN, no inline script) and may not be framed by another site
# (a framed "confirm" or "export" button could be clicked by a page the investigator did not mean to trust).
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self'; media-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response (pure ASGI, so file streaming and Range answers are untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
            await send(message)

        await self.app(scope, receive, with_headers)


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def create_app(store_dir: Path, config_path: Path | None = None, *, exports_dir: Path | None = None,
               lifetime_s: int = DEFAULT_LIFETIME_S, clock: Callable[[], dt.datetime] = _utcnow,
               host: str = "127.0.0.1") -> Starlette:
    """The review app over the store `store_dir`, checking access against the site config like the CLI. Only
    requests addressed to `host` (or a loopback name) are answered, which defeats DNS rebinding."""
    from vsearch.web import api, pages

    site = calls.Site(Path(store_dir), config_path)
    site.store()  # fail now, with the store's own message, if it is not a vsearch store
    routes = [*pages.ROUTES, *api.ROUTES,
              Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static")]
    middleware = [Middleware(SecurityHeaders),
                  Middleware(TrustedHostMiddleware, allowed_hosts=sorted({*LOOPBACK_NAMES, host}))]
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={NoSession: _on_no_session, CsrfError: _on_csrf, VsearchError: _on_error})
    app.state.web = WebState(site=site, sessions=Sessions(lifetime_s, clock),
                             templates=Jinja2Templates(directory=HERE / "templates"),
                             exports_dir=Path(exports_dir) if exports_dir else Path(store_dir) / "exports",
                             cache_dir=Path(store_dir) / "web-cache")
    return app


def new_id() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(4)
