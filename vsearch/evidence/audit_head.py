"""The signed head of the audit log: an anchor that exposes truncation, deletion and wholesale rewrites.

A hash chain shows an edited, deleted or reordered line, but not lines cut off the end, a deleted log, or a
chain rewritten from the first line with recomputed hashes. So after every append the writer also stores, beside
the log (`audit.jsonl.head`), the last entry's `seq` and `sha256` and the time, signed with the site's Ed25519
key. `AuditLog.verify` and every append check that the log ends exactly where the head says. The same head is
copied into every export manifest and indexing job report: someone who can also re-sign the head (they hold the
site key) still cannot make a rewritten log agree with the heads already handed over in exhibits.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vsearch.errors import ConfigError
from vsearch.evidence.canonical import canonical_json, utc_iso
from vsearch.evidence.signing import SiteKey, verify_signature

HEAD_SUFFIX = ".head"
HEAD_KEYS = frozenset({"log", "seq", "sha256", "time_utc", "public_key_sha256", "public_key_pem",
                       "signature_b64"})


@dataclass(frozen=True)
class AuditHead:
    """Where the log ended when it was last written, signed. `log` is the log's file name (not its path, so a
    copied log and head still verify)."""

    log: str
    seq: int
    sha256: str
    time_utc: str
    public_key_sha256: str
    public_key_pem: str
    signature_b64: str

    def statement(self) -> bytes:
        return canonical_json({"log": self.log, "seq": self.seq, "sha256": self.sha256, "time_utc": self.time_utc,
                               "public_key_sha256": self.public_key_sha256})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def signature_ok(self) -> bool:
        try:
            sig = base64.b64decode(self.signature_b64, validate=True)
        except (binascii.Error, ValueError):
            return False
        return verify_signature(self.public_key_pem.encode("ascii"), sig, self.statement())


def head_path(log_path: Path) -> Path:
    return log_path.with_name(log_path.name + HEAD_SUFFIX)


def sign_head(key: SiteKey, log_path: Path, seq: int, sha256: str, now: dt.datetime) -> AuditHead:
    unsigned = AuditHead(log_path.name, seq, sha256, utc_iso(now), key.fingerprint,
                         key.public_pem().decode("ascii"), "")
    return AuditHead(**{**asdict(unsigned), "signature_b64": base64.b64encode(key.sign(unsigned.statement()))
                        .decode("ascii")})


def write_head(log_path: Path, head: AuditHead) -> None:
    """Atomically replace the head file (the caller holds the log's lock)."""
    path = head_path(log_path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, canonical_json(head.to_dict()) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_head(log_path: Path) -> AuditHead | None:
    """The head beside `log_path`, None when there is none; ValueError when it is not a head record."""
    path = head_path(log_path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    d = json.loads(raw)
    if not isinstance(d, dict) or set(d) != HEAD_KEYS:
        raise ValueError(f"{path}: not an audit head record (fields must be {sorted(HEAD_KEYS)})")
    return AuditHead(**d)


def head_problem(log_path: Path, head: AuditHead | None, seq: int, sha256: str, trusted_fp: str | None) -> str | None:
    """Why a log whose last entry is (`seq`, `sha256`) does not match its signed head, or None.

    `trusted_fp` is the site key's fingerprint when known: a head signed by any other key is refused (whoever
    deletes the head cannot simply sign a new one with a key of their own)."""
    name = head_path(log_path).name
    if head is None:
        return None if seq == 0 else (f"{name} (the signed head) is missing although the log has {seq} entries: "
                                      "head deleted, or log written by hand")
    if not head.signature_ok():
        return f"{name}: signature does not verify (head edited)"
    if trusted_fp is not None and head.public_key_sha256 != trusted_fp:
        return f"{name}: signed by key {head.public_key_sha256}, not the site key {trusted_fp}"
    if head.log != log_path.name:
        return f"{name}: anchors log {head.log!r}, not {log_path.name!r}"
    if seq == 0:
        return (f"the log is missing or empty but its signed head says it held {head.seq} entries "
                f"(last {head.sha256}, {head.time_utc}): log deleted or truncated")
    if head.seq > seq:
        return (f"the log ends at entry {seq} but its signed head says {head.seq} entries (written "
                f"{head.time_utc}): {head.seq - seq} entr{'y' if head.seq - seq == 1 else 'ies'} cut off the end")
    if head.seq == seq - 1:
        return (f"the log has {seq} entries but its signed head says {head.seq}: a write interrupted between the "
                "last entry and its head, or an entry added by hand; once examined, move the head aside and run "
                "`vsearch audit adopt`")
    if head.seq < seq:
        return (f"the log has {seq} entries but its signed head says {head.seq}: entries appended without "
                "vsearch (by hand?)")
    if head.sha256 != sha256:
        return (f"entry {seq} has SHA-256 {sha256}, but the signed head says {head.sha256}: the log was "
                "rewritten")
    return None


def site_key_for(key_dir: Path) -> SiteKey:
    try:
        return SiteKey.load_or_create(key_dir)
    except OSError as e:
        raise ConfigError(f"site key folder {key_dir} cannot be used to sign the audit head ({e})") from e
