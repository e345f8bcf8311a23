"""The bundle layout shared by the writer and the verifier: file names and the serialisations both must agree on."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

FORMAT = "vsearch-export/1"
MANIFEST, MANIFEST_SIG, PUBLIC_KEY, SIGNATURE, SUMS, VERIFY_TXT, REPORT = (
    "manifest.json", "manifest.json.sig", "public_key.pem", "signature.json", "SHA256SUMS", "VERIFY.txt",
    "report.html")
CONTROL_FILES = frozenset({MANIFEST, MANIFEST_SIG, PUBLIC_KEY, SUMS, SIGNATURE})
SIGNATURE_KEYS = frozenset({"algorithm", "signed_file", "signature_file", "public_key_file", "manifest_sha256",
                            "public_key_sha256", "signed_at_utc", "statement_signature_b64"})
CHUNK = 1 << 20


def json_file(obj: Any) -> bytes:
    """Readable yet deterministic JSON for bundle files."""
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def sums_text(files: Mapping[str, str]) -> bytes:
    return "".join(f"{h}  {rel}\n" for rel, h in sorted(files.items())).encode("utf-8")


def safe_rel(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"
