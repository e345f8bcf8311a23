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
    archive = tmp_path / "archive"
    archive.mkdir()
    for name in ("audit.jsonl", "audit.jsonl.head"):
        (archive / name).write_bytes((tmp_path / name).read_bytes())
    assert AuditLog(archive / "audit.jsonl", key_dir=tmp_path / "keys").verify().ok
    (archive / "audit.jsonl.head").unlink()  # a log copied without its head is not anchored
    res = AuditLog(archive / "audit.jsonl", key_dir=tmp_path / "keys").verify()
    assert not res.ok and "head" in (res.reason or "")


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


def _rewrite_whole_chain(path: Path, keep: int) -> None:
    """The strongest forgery without the site key: drop lines and recompute every hash from the first line."""
    from vsearch.evidence.audit import AuditEntry, GENESIS_SHA256

    prev, out = GENESIS_SHA256, []
    for raw in _lines(path)[:keep]:
        d = {**json.loads(raw), "prev_sha256": prev, "reason": "rewritten", "sha256": ""}
        e = AuditEntry.from_dict(d)
        d["sha256"] = e.compute_sha256()
        out.append(canonical_json(d) + b"\n")
        prev = d["sha256"]
    path.write_bytes(b"".join(out))


@pytest.mark.parametrize(("tamper", "why"), [
    ("truncate_to_3", "cut off the end"),          # head -n 3 audit.jsonl > a && mv a audit.jsonl
    ("drop_last_line", "1 entry cut off the end"),
    ("rewrite_same_length", "rewritten"),
    ("rewrite_shorter", "cut off the end"),
    ("delete_log", "log deleted or truncated"),
    ("delete_head", "head deleted"),
    ("edit_head", "signature does not verify"),
])
def test_anchoring_detects_truncation_rewrite_and_deletion(tmp_path: Path, tamper: str, why: str) -> None:
    log = _fill(tmp_path / "audit.jsonl")
    head_file = tmp_path / "audit.jsonl.head"
    assert log.verify().ok and json.loads(head_file.read_bytes())["seq"] == 5
    if tamper == "truncate_to_3":
        log.path.write_bytes(b"".join(_lines(log.path)[:3]))
    elif tamper == "drop_last_line":
        log.path.write_bytes(b"".join(_lines(log.path)[:-1]))
    elif tamper == "rewrite_same_length":
        _rewrite_whole_chain(log.path, 5)
    elif tamper == "rewrite_shorter":
        _rewrite_whole_chain(log.path, 4)
    elif tamper == "delete_log":
        log.path.unlink()
    elif tamper == "delete_head":
        head_file.unlink()
    elif tamper == "edit_head":
        head_file.write_bytes(head_file.read_bytes().replace(b'"seq":5', b'"seq":3'))
    res = log.verify()
    assert not res.ok and why in (res.reason or ""), res
    # and nothing more is appended on top of a damaged log (fails closed)
    with pytest.raises(AuditLogError, match="nothing was done"):
        log.append("search", "opj-1", "c", "r")


def test_deleted_log_and_head_fail_when_the_store_has_history(tmp_path: Path) -> None:
    log = _fill(tmp_path / "audit.jsonl")
    log.path.unlink()
    (tmp_path / "audit.jsonl.head").unlink()
    assert log.verify().ok  # nothing says there was ever a log...
    res = log.verify(expect_history=True)  # ...except the store's own data
    assert not res.ok and "deleted" in (res.reason or "")


def test_head_resigned_by_another_key_is_refused(tmp_path: Path) -> None:
    from vsearch.evidence.audit_head import read_head, sign_head, write_head
    from vsearch.evidence.signing import SiteKey

    log = _fill(tmp_path / "audit.jsonl")
    log.path.write_bytes(b"".join(_lines(log.path)[:3]))
    forger = SiteKey.load_or_create(tmp_path / "forger")
    last = log.entries()[-1]
    write_head(log.path, sign_head(forger, log.path, last.seq, last.sha256, T0))
    res = log.verify()
    assert not res.ok and "not the site key" in (res.reason or "")
    assert read_head(log.path).seq == 3


def test_anchors_expose_a_rewrite_even_with_the_site_key(tmp_path: Path) -> None:
    """An administrator who holds the site key can rewrite the log and re-sign its head; a head copied into
    an exhibit (job report, export manifest) earlier still contradicts it."""
    from vsearch.evidence.audit import Anchor
    from vsearch.evidence.audit_head import sign_head, write_head
    from vsearch.evidence.signing import SiteKey

    log = _fill(tmp_path / "audit.jsonl", 4)
    handed_over = log.signed_head()
    anchor = Anchor(handed_over["seq"], handed_over["sha256"], "manifest.json of PV 1")
    log.append("export", "opj-1", "c", "r")
    assert log.verify([anchor]).ok
    _rewrite_whole_chain(log.path, 5)
    last = log.entries()[-1]
    write_head(log.path, sign_head(SiteKey.load_or_create(tmp_path / "keys"), log.path, last.seq, last.sha256, T0))
    assert log.verify().ok  # consistent on its own...
    res = log.verify([anchor])
    assert not res.ok and "manifest.json of PV 1" in (res.reason or "") and res.first_bad_line == 4


def test_a_log_from_before_heads_is_adopted_once_and_on_record(tmp_path: Path) -> None:
    log = _fill(tmp_path / "audit.jsonl")
    (tmp_path / "audit.jsonl.head").unlink()  # what a log written by an older vsearch looks like
    with pytest.raises(AuditLogError, match="head"):
        log.append("search", "opj-1", "c", "r")
    entry = log.adopt("os:admin", "upgrade")
    assert entry.seq == 6 and entry.action == "audit-adopt" and entry.result["anchored_from_seq"] == 5
    assert log.verify().ok
    log.append("search", "opj-1", "c", "r")
    with pytest.raises(AuditLogError, match="already anchored"):
        log.adopt("os:admin", "again")
    broken = _fill(tmp_path / "b" / "audit.jsonl")
    (tmp_path / "b" / "audit.jsonl.head").unlink()
    broken.path.write_bytes(b"".join(_lines(broken.path)[1:]))  # damaged: not adopted
    with pytest.raises(AuditLogError, match="line 1"):
        broken.adopt("os:admin", "upgrade")


def test_a_write_interrupted_before_its_head_is_named_and_recoverable(tmp_path: Path) -> None:
    from vsearch.evidence.audit_head import head_path

    log = _fill(tmp_path / "audit.jsonl", 3)
    saved = head_path(log.path).read_bytes()
    log.append("search", "opj-1", "c", "r")
    head_path(log.path).write_bytes(saved)  # as if killed after the entry's fsync, before its head was written
    res = log.verify()
    assert not res.ok and "interrupted" in (res.reason or "")
    head_path(log.path).rename(tmp_path / "examined.head")
    log.adopt("os:admin", "interrupted write examined")
    assert log.verify().ok and log.entries()[-1].action == "audit-adopt"
