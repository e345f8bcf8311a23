"""Tamper-evident, append-only audit log (JSON Lines with a SHA-256 hash chain).

Every access to footage (search, synopsis, frame, export, purge, indexing) and every refusal is one line.
Each line is the canonical JSON of an entry; `sha256` is the hash of the canonical JSON of the entry without
`sha256`, and `prev_sha256` is the `sha256` of the line before (64 zeros for the first line), so editing,
deleting or reordering a line breaks the chain at that line.

Writers take an exclusive `fcntl.flock` on the log, read the last entry under the lock, and write the new line
with one `os.write` on an `O_APPEND` descriptor followed by `fsync`; parallel processes therefore never
interleave lines or fork the chain. Still under the lock, the writer checks that the log ends where its signed
head (`audit_head`) says, then re-signs the head for the new line: cutting lines off the end, deleting the log or
rewriting it wholesale therefore shows up in `verify` (and stops further appends until examined).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vsearch.errors import ConfigError, VerificationError
from vsearch.evidence.audit_head import head_path, head_problem, read_head, sign_head, site_key_for, write_head
from vsearch.evidence.signing import SiteKey, site_public_fingerprint
from vsearch.evidence.canonical import canonical_json, sha256_hex, utc_iso

GENESIS_SHA256 = "0" * 64
_TAIL_CHUNK = 64 * 1024
ENTRY_KEYS = frozenset({
    "seq", "time_utc", "clock_offset_s", "host", "pid", "action", "investigator", "case", "reason",
    "recipients", "params", "result", "outputs", "prev_sha256", "sha256",
})


class AuditLogError(VerificationError):
    """The audit log cannot be appended to safely (damaged tail, unreadable file)."""


@dataclass(frozen=True)
class AuditEntry:
    """One audit line. `time_utc` is this machine's clock; `clock_offset_s` is that clock minus true UTC
    (seconds) when known, else None."""

    seq: int
    time_utc: str
    clock_offset_s: float | None
    host: str
    pid: int
    action: str
    investigator: str | None
    case: str | None
    reason: str | None
    recipients: list[str]
    params: dict[str, Any]
    result: dict[str, Any]
    outputs: dict[str, str]
    prev_sha256: str
    sha256: str = ""

    def body(self) -> dict[str, Any]:
        d = asdict(self)
        del d["sha256"]
        return d

    def compute_sha256(self) -> str:
        return sha256_hex(canonical_json(self.body()))

    def line(self) -> bytes:
        return canonical_json(asdict(self)) + b"\n"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditEntry:
        keys = set(d)
        if keys != ENTRY_KEYS:
            missing, extra = sorted(ENTRY_KEYS - keys), sorted(keys - ENTRY_KEYS)
            raise ValueError(f"fields differ from an audit entry (missing {missing}, unexpected {extra})")
        return cls(**d)


@dataclass(frozen=True)
class Anchor:
    """A (seq, sha256) of the log recorded elsewhere: a job report, an export manifest, a case file."""

    seq: int
    sha256: str
    origin: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int  # lines checked (all of them when ok)
    first_bad_line: int | None = None  # 1-based line number of the first entry that fails
    reason: str | None = None
    head_sha256: str = GENESIS_SHA256  # sha256 of the last good entry


@dataclass
class AuditLog:
    """Append-only hash-chained log at `path` (created with its folder on first append), anchored by a head
    signed with the site key in `key_dir` (default: `keys/` beside the log, i.e. `<store>/keys`)."""

    path: Path
    clock_offset_s: float | None = None  # this machine's clock minus true UTC, if measured
    host: str = field(default_factory=socket.gethostname)
    key_dir: Path | None = None
    _key: SiteKey | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.key_dir = Path(self.key_dir) if self.key_dir is not None else self.path.parent / "keys"

    def _site_key(self) -> SiteKey:
        if self._key is None:
            assert self.key_dir is not None
            self._key = site_key_for(self.key_dir)
        return self._key

    def _site_fingerprint(self) -> str | None:
        """The site key's fingerprint, without creating a key; None when there is none."""
        assert self.key_dir is not None
        try:
            return site_public_fingerprint(self.key_dir)
        except ConfigError:
            return None

    # -- writing ---------------------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Raise AuditLogError unless an entry could be appended now: the file opens for appending, its last line
        is whole, and the log ends where its signed head says (checked before an action runs, so an access that
        cannot be logged, or that would be logged on top of a damaged log, does not happen)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as e:
            raise AuditLogError(f"{self.path}: the audit log cannot be written ({e.strerror or e}); "
                                "nothing was done — fix the log's folder or permissions") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            problem = self._head_problem(self._last_entry(fd), self._site_key().fingerprint)
        finally:
            os.close(fd)
        if problem is not None:
            raise AuditLogError(f"audit log {self.path}: {problem}; nothing was done — run `vsearch audit "
                                "verify` and have the log examined (docs/legal.md)")

    def append(
        self,
        action: str,
        investigator: str | None,
        case: str | None,
        reason: str | None,
        params: Mapping[str, Any] | None = None,
        result: Mapping[str, Any] | None = None,
        outputs: Mapping[str, str] | None = None,
        *,
        recipients: Sequence[str] = (),
        now: dt.datetime | None = None,
    ) -> AuditEntry:
        """Append one entry atomically; returns it with `seq`, `prev_sha256` and `sha256` filled in.

        `params`/`result` must be JSON-serialisable (no NaN); `outputs` maps an output name to its SHA-256.
        Raises AuditLogError when the current last line is damaged (run `vsearch audit verify`).
        """
        if not action:
            raise ValueError("audit action must be a non-empty string")
        moment = now or dt.datetime.now(dt.timezone.utc)
        when = utc_iso(moment)
        key = self._site_key()
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = self._last_entry(fd)
            problem = self._head_problem(last, key.fingerprint)
            if problem is not None:
                raise AuditLogError(f"audit log {self.path}: {problem}; nothing was done — run `vsearch audit "
                                    "verify` and have the log examined (docs/legal.md)")
            entry = AuditEntry(
                seq=1 if last is None else last.seq + 1,
                time_utc=when,
                clock_offset_s=self.clock_offset_s,
                host=self.host,
                pid=os.getpid(),
                action=action,
                investigator=investigator,
                case=case,
                reason=reason,
                recipients=list(recipients),
                params=_plain(params or {}),
                result=_plain(result or {}),
                outputs={str(k): str(v) for k, v in (outputs or {}).items()},
                prev_sha256=GENESIS_SHA256 if last is None else last.sha256,
            )
            entry = _with_hash(entry)
            data = entry.line()
            written = os.write(fd, data)
            if written != len(data):  # regular files do not short-write short lines; never leave half a line
                os.ftruncate(fd, os.fstat(fd).st_size - written)
                raise AuditLogError(f"short write to audit log {self.path} ({written}/{len(data)} bytes); disk full?")
            os.fsync(fd)
            write_head(self.path, sign_head(key, self.path, entry.seq, entry.sha256, moment))
        finally:
            os.close(fd)  # closing releases the lock
        if created:  # make the new directory entry durable too
            _fsync_dir(self.path.parent)
        return entry

    def _head_problem(self, last: AuditEntry | None, site_fp: str | None) -> str | None:
        try:
            head = read_head(self.path)
        except (OSError, ValueError, TypeError) as e:
            return f"its signed head cannot be read ({e})"
        return head_problem(self.path, head, 0 if last is None else last.seq,
                            GENESIS_SHA256 if last is None else last.sha256, site_fp)

    def _last_entry(self, fd: int) -> AuditEntry | None:
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        tail = b""
        pos = size
        while True:
            start = max(0, pos - _TAIL_CHUNK)
            tail = os.pread(fd, pos - start, start) + tail
            pos = start
            if tail.count(b"\n") >= 2 or pos == 0:
                break
        if not tail.endswith(b"\n"):
            raise AuditLogError(f"audit log {self.path} ends with an incomplete line (interrupted write?); "
                                f"run `vsearch audit verify` and have the log examined before appending")
        last_line = tail[:-1].rsplit(b"\n", 1)[-1]
        try:
            return AuditEntry.from_dict(json.loads(last_line))
        except (ValueError, TypeError) as e:
            raise AuditLogError(f"last line of audit log {self.path} is not a valid entry ({e}); "
                                f"run `vsearch audit verify`") from e

    # -- reading ---------------------------------------------------------------------------------------------
    def _lines(self) -> Iterator[tuple[int, bytes]]:
        if not self.path.exists():
            return
        with open(self.path, "rb") as f:
            for no, raw in enumerate(f, start=1):
                yield no, raw

    def entries(self, case: str | None = None, investigator: str | None = None) -> list[AuditEntry]:
        """Entries in log order, optionally filtered (exact match). Parses without checking the chain."""
        out = []
        for no, raw in self._lines():
            try:
                e = AuditEntry.from_dict(json.loads(raw))
            except (ValueError, TypeError) as err:
                raise AuditLogError(f"{self.path} line {no}: not a valid audit entry ({err})") from err
            if (case is None or e.case == case) and (investigator is None or e.investigator == investigator):
                out.append(e)
        return out

    def verify(self, anchors: Sequence[Anchor] = (), expect_history: bool = False) -> VerifyResult:
        """Check every line (canonical form, own hash, link to the previous line, consecutive `seq`), then that
        the log ends where its signed head says, then every `anchor` (a head copied into a job report, export
        manifest or case file). `expect_history`: the store has indexed data, so a missing log is an error."""
        if not self.path.exists() and expect_history:
            return VerifyResult(False, 0, 1, f"{self.path.name} is missing but the store has history (indexed "
                                             "sources or job reports): the audit log was deleted")
        seen: dict[int, str] = {}
        broken, last = self._check_chain({a.seq for a in anchors}, seen)
        if broken is not None:
            return broken
        count, prev = (0, GENESIS_SHA256) if last is None else (last.seq, last.sha256)
        site_fp = self._site_fingerprint()
        if site_fp is None and head_path(self.path).exists():
            return VerifyResult(False, count, count + 1, f"the site key that signs the head is missing from "
                                                         f"{self.key_dir}", prev)
        problem = self._head_problem(last, site_fp)
        if problem is not None:
            return VerifyResult(False, count, count + 1 if count else 1, problem, prev)
        for a in sorted(anchors, key=lambda a: a.seq):
            if seen.get(a.seq) != a.sha256:
                got = f"has SHA-256 {seen[a.seq]}" if a.seq in seen else "is not in the log"
                return VerifyResult(False, count, min(a.seq, count + 1),
                                    f"{a.origin} anchors entry {a.seq} with SHA-256 {a.sha256}, but that entry "
                                    f"{got}: the log was rewritten or truncated after it", prev)
        return VerifyResult(True, count, None, None, prev)

    def _check_chain(self, wanted: set[int], seen: dict[int, str]) -> tuple[VerifyResult | None, AuditEntry | None]:
        """Walk the hash chain: (the failure at the first bad line, or None; the last entry). Fills `seen` with
        the hashes of the entries numbered in `wanted`."""
        prev, seq, count, raw = GENESIS_SHA256, 0, 0, b""
        for no, raw in self._lines():
            bad = _check_line(raw, prev, seq + 1)
            if bad is not None:
                return VerifyResult(False, count, no, bad, prev), None
            entry = json.loads(raw)
            prev, seq, count = entry["sha256"], entry["seq"], count + 1
            if seq in wanted:
                seen[seq] = prev
        return None, AuditEntry.from_dict(json.loads(raw)) if count else None

    def adopt(self, operator: str, reason: str) -> AuditEntry:
        """Start anchoring a log written before heads existed (an upgrade): only when it has no head and its
        chain holds. The adoption is itself an entry, so the moment anchoring began stays on record."""
        if head_path(self.path).exists():
            raise AuditLogError(f"{head_path(self.path)} exists: the log is already anchored; nothing to adopt")
        broken, last = self._check_chain(set(), {})
        if broken is not None:
            raise AuditLogError(f"{self.path}: line {broken.first_bad_line}: {broken.reason}; a damaged log is not "
                                "adopted")
        if last is None:
            raise AuditLogError(f"{self.path}: empty or missing; a new log is anchored from its first entry")
        write_head(self.path, sign_head(self._site_key(), self.path, last.seq, last.sha256,
                                        dt.datetime.now(dt.timezone.utc)))
        return self.append("audit-adopt", operator, None, reason, params={"entries_before": last.seq},
                           result={"anchored_from_seq": last.seq, "anchored_from_sha256": last.sha256})

    def signed_head(self) -> dict[str, Any] | None:
        """The current signed head as a plain dict (copied into export manifests and job reports), None for a
        log never written."""
        try:
            head = read_head(self.path)
        except (OSError, ValueError, TypeError) as e:
            raise AuditLogError(f"{head_path(self.path)}: the signed head of the audit log cannot be read ({e}); "
                                "run `vsearch audit verify`") from e
        return None if head is None else head.to_dict()

    def head(self) -> tuple[int, str]:
        """(seq, sha256) of the last entry, (0, 64 zeros) for an empty log; reads under a shared lock."""
        if not self.path.exists():
            return 0, GENESIS_SHA256
        fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            last = self._last_entry(fd)
        finally:
            os.close(fd)
        return (0, GENESIS_SHA256) if last is None else (last.seq, last.sha256)


def _plain(obj: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-only copy (paths and datetimes become strings) so a stored entry re-serialises identically."""
    return json.loads(json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False, default=str))


def _with_hash(entry: AuditEntry) -> AuditEntry:
    return AuditEntry(**{**asdict(entry), "sha256": entry.compute_sha256()})


def _check_line(raw: bytes, prev_sha256: str, expected_seq: int) -> str | None:
    """Why this line is not a valid successor of `prev_sha256`, or None."""
    if not raw.endswith(b"\n"):
        return "incomplete last line (no newline)"
    try:
        d = json.loads(raw)
        entry = AuditEntry.from_dict(d)
    except (ValueError, TypeError) as e:
        return f"not a valid audit entry: {e}"
    if canonical_json(d) + b"\n" != raw:
        return "line is not in canonical JSON form (edited?)"
    if entry.compute_sha256() != entry.sha256:
        return "entry hash does not match its content (edited)"
    if entry.prev_sha256 != prev_sha256:
        return "prev_sha256 does not match the previous entry (line deleted, inserted or reordered)"
    if entry.seq != expected_seq:
        return f"seq is {entry.seq}, expected {expected_seq} (line deleted, inserted or reordered)"
    return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
