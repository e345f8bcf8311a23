"""Audit log: hash chain, tamper detection (edit, delete, reorder), atomic concurrent appends."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
from pathlib import Path

import pytest

from vsearch.evidence.audit import GENESIS_SHA256, AuditLog, AuditLogError, canonical_json

T0 = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def _fill(path: Path, n: int = 5) -> AuditLog:
    log = AuditLog(path, clock_offset_s=0.25)
    for i in range(n):
        log.append("search", "opj-1", f"case-{i % 2}", "robbery", {"text": "red car", "i": i}, {"hits": i},
                   {"out.json": "ab" * 32}, recipients=["parquet"], now=T0 + dt.timedelta(minutes=i))
    return log


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_chain_is_built_and_verifies(tmp_path: Path) -> None:
    log = _fill(tmp_path / "a" / "audit.jsonl")
    res = log.verify()
    assert res.ok and res.entries == 5 and res.first_bad_line is None
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_sha256 == GENESIS_SHA256
    assert all(b.prev_sha256 == a.sha256 for a, b in zip(entries, entries[1:]))
    assert entries[0].time_utc == "2025-03-01T12:00:00.000000Z" and entries[0].clock_offset_s == 0.25
    assert entries[2].recipients == ["parquet"] and entries[2].result == {"hits": 2}
    assert log.head() == (5, entries[-1].sha256) == (5, res.head_sha256)
    # one canonical JSON object per line
    for raw, e in zip(_lines(log.path), entries):
        assert raw == canonical_json(json.loads(raw)) + b"\n"
        assert json.loads(raw)["sha256"] == e.sha256


def test_entries_filter(tmp_path: Path) -> None:
    log = _fill(tmp_path / "audit.jsonl")
    assert [e.seq for e in log.entries(case="case-1")] == [2, 4]
    assert log.entries(investigator="nobody") == []
    assert len(log.entries(case="case-0", investigator="opj-1")) == 3


def test_empty_log_verifies(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "none.jsonl")
    assert log.verify().ok and log.verify().entries == 0 and log.head() == (0, GENESIS_SHA256)


def _edit_field(raw: bytes) -> bytes:
    d = json.loads(raw)
    d["reason"] = "nothing to see"
    return canonical_json(d) + b"\n"


def _edit_and_rehash(raw: bytes) -> bytes:
    from vsearch.evidence.audit import AuditEntry
    e = AuditEntry.from_dict({**json.loads(raw), "investigator": "someone-else"})
    d = json.loads(e.line())
    d["sha256"] = e.compute_sha256()
    return canonical_json(d) + b"\n"


@pytest.mark.parametrize(("tamper", "bad_line", "why"), [
    ("edit", 3, "hash does not match"),
    ("edit_rehash", 4, "prev_sha256"),  # a consistent forgery of line 3 breaks the link from line 4
    ("whitespace", 3, "canonical"),
    ("delete", 3, "prev_sha256"),
    ("delete_first", 1, "prev_sha256"),
    ("reorder", 2, "prev_sha256"),
    ("truncate_last_line", 5, "incomplete"),
    ("garbage", 3, "not a valid audit entry"),
])
def test_tampering_is_reported_by_line(tmp_path: Path, tamper: str, bad_line: int, why: str) -> None:
    log = _fill(tmp_path / "audit.jsonl")
    lines = _lines(log.path)
    if tamper == "edit":
        lines[2] = _edit_field(lines[2])
    elif tamper == "edit_rehash":
        lines[2] = _edit_and_rehash(lines[2])
    elif tamper == "whitespace":
        lines[2] = lines[2].replace(b'":', b'": ', 1)
    elif tamper == "delete":
        del lines[2]
    elif tamper == "delete_first":
        del lines[0]
    elif tamper == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    elif tamper == "truncate_last_line":
        lines[-1] = lines[-1][:-10]
    elif tamper == "garbage":
        lines[2] = b"{not json\n"
    log.path.write_bytes(b"".join(lines))
    res = log.verify()
    assert not res.ok
    assert res.first_bad_line == bad_line, res
    assert why in (res.reason or "")
    assert res.entries == bad_line - 1


def test_untouched_copy_verifies_after_reopen(tmp_path: Path) -> None:
    log = _fill(tmp_path / "audit.jsonl")
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(log.path.read_bytes())
    assert AuditLog(copy).verify().ok


def test_append_refuses_damaged_tail(tmp_path: Path) -> None:
    log = _fill(tmp_path / "audit.jsonl", 2)
    log.path.write_bytes(log.path.read_bytes()[:-5])
    with pytest.raises(AuditLogError, match="incomplete line"):
        log.append("search", "opj-1", "c", "r")
    log.path.write_bytes(b'{"seq": 1}\n')
    with pytest.raises(AuditLogError, match="not a valid entry"):
        log.append("search", "opj-1", "c", "r")


def test_params_are_stored_as_plain_json(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    e = log.append("index", None, None, None, {"path": tmp_path / "clip.mp4", "when": T0}, {"n": 1})
    assert e.params["path"] == str(tmp_path / "clip.mp4")
    assert log.verify().ok
    with pytest.raises(ValueError):
        log.append("index", None, None, None, {"bad": float("nan")})
    with pytest.raises(ValueError):
        log.append("", None, None, None)


def _writer(path: str, worker: int, n: int) -> None:
    log = AuditLog(Path(path))
    for i in range(n):
        log.append("index", f"worker-{worker}", None, None, {"i": i, "pad": "x" * (i % 300)}, {"n": i})


def test_concurrent_appenders_keep_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 500)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    res = AuditLog(path).verify()
    assert res.ok, res
    assert res.entries == 2000
    entries = AuditLog(path).entries()
    for w in range(4):  # each writer's own entries are all there, in its order
        mine = [e.params["i"] for e in entries if e.investigator == f"worker-{w}"]
        assert mine == list(range(500))
