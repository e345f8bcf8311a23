"""The serialisations that are hashed and signed (audit entries, audit heads, signature statements)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> bytes:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 (not ASCII-escaped)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc_iso(t: dt.datetime) -> str:
    """ISO 8601 UTC with microseconds and a `Z` suffix; naive datetimes are refused."""
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t!r}: pass an aware UTC datetime")
    return t.astimezone(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
