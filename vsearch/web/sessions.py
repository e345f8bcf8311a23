"""Server-side sessions of the review UI: who is logged in, for which case and why, until when.

A session is opened only after the site config accepted the investigator, case and reason (`calls.login`); the
browser holds an unguessable token in an HttpOnly, SameSite=Strict cookie and nothing else. The case of a
session never changes: another case means logging out and in again, so every audit entry of a session carries
the case it was opened for. Sessions live in memory: restarting `vsearch serve` logs everybody out.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from vsearch.site import Access

COOKIE = "vsearch_session"
LOGIN_COOKIE = "vsearch_login"  # CSRF token of the login form, before any session exists
DEFAULT_LIFETIME_S = 8 * 3600  # one working shift


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Session:
    token: str
    access: Access
    investigator_name: str
    csrf: str
    expires_utc: dt.datetime
    basket: dict[str, str] = field(default_factory=dict)  # confirmed tube id -> query string it was found with
    rejected: set[str] = field(default_factory=set)
    clips_played: set[str] = field(default_factory=set)  # tube ids whose clip play is already in the audit log

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, token or "")


class Sessions:
    """Token -> Session, thread-safe (uvicorn runs sync handlers in a thread pool). `clock` is injectable so
    expiry can be tested without waiting."""

    def __init__(self, lifetime_s: int = DEFAULT_LIFETIME_S, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.lifetime_s = lifetime_s
        self.clock = clock
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, access: Access, investigator_name: str) -> Session:
        s = Session(secrets.token_urlsafe(32), access, investigator_name, secrets.token_urlsafe(32),
                    self.clock() + dt.timedelta(seconds=self.lifetime_s))
        with self._lock:
            self._by_token[s.token] = s
        return s

    def get(self, token: str | None) -> Session | None:
        """The live session of `token`, or None (unknown or expired; expired ones are dropped)."""
        if not token:
            return None
        with self._lock:
            s = self._by_token.get(token)
            if s is not None and self.clock() >= s.expires_utc:
                del self._by_token[token]
                return None
            return s

    def close(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)
