"""Offline verification of an export bundle (folder or zip): hashes, signature, layout, and who signed it."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsearch.evidence.audit import canonical_json
from vsearch.evidence.layout import (CHUNK, CONTROL_FILES, MANIFEST, MANIFEST_SIG, PUBLIC_KEY, SIGNATURE,
                                     SIGNATURE_KEYS, SUMS, json_file, safe_rel, sums_text)
from vsearch.evidence.signing import fingerprint, verify_signature
from vsearch.errors import UsageError
from vsearch.indexing.sources import sha256_file


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    first_bad: str | None  # bundle-relative name of the first file that does not hold
    problems: list[str]
    files_checked: int



class _Reader:
    """Uniform access to the files of a bundle folder or zip (names relative to the bundle root)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip: zipfile.ZipFile | None = None
        self.prefix = ""
        self.problems: list[tuple[str, str]] = []
        if path.is_dir():
            self._names = []
            for p in sorted(path.rglob("*")):
                rel = p.relative_to(path).as_posix()
                if p.is_symlink():
                    self.problems.append((rel, f"{rel}: is a symbolic link, not a file"))
                elif p.is_file():
                    self._names.append(rel)
        else:
            self.zip = zipfile.ZipFile(path)
            members = [n for n in self.zip.namelist() if not n.endswith("/")]
            tops = {n.split("/", 1)[0] for n in members}
            if len(tops) == 1 and all("/" in n for n in members):
                self.prefix = next(iter(tops)) + "/"
            self._names = sorted(n[len(self.prefix):] for n in members)

    def names(self) -> list[str]:
        return self._names

    def read(self, rel: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(self.prefix + rel)
        return (self.path / rel).read_bytes()

    def sha256(self, rel: str) -> str:
        if self.zip is None:
            return sha256_file(self.path / rel)
        h = hashlib.sha256()
        with self.zip.open(self.prefix + rel) as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def verify_bundle(path: Path) -> VerifyReport:
    """Check a bundle folder or zip: every file's hash, no missing or extra file, the manifest signature,
    the signature record and the manifest's own cross-references. `first_bad` names the first failing file."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path} does not exist; give an export folder or its .zip")
    try:
        reader = _Reader(path)
    except zipfile.BadZipFile as e:
        return VerifyReport(False, path.name, [f"{path.name}: not a readable zip ({e})"], 0)
    try:
        problems = list(reader.problems)
        problems += _check(reader)
        return VerifyReport(not problems, problems[0][0] if problems else None, [p[1] for p in problems],
                            len(reader.names()))
    finally:
        reader.close()


def _check(r: _Reader) -> list[tuple[str, str]]:
    names = set(r.names())
    missing = [n for n in (MANIFEST, MANIFEST_SIG, PUBLIC_KEY, SUMS, SIGNATURE) if n not in names]
    if missing:
        return [(n, f"{n}: missing") for n in missing]
    actual: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for n in sorted(names):
        try:
            actual[n] = r.sha256(n)
        except (zipfile.BadZipFile, OSError, EOFError) as e:  # zip CRC errors name the damaged member
            problems.append((n, f"{n}: cannot be read ({e})"))
    if problems:
        return problems
    sums, sums_problem = _parse_sums(r.read(SUMS))
    manifest_bytes, pem = r.read(MANIFEST), r.read(PUBLIC_KEY)
    if not verify_signature(pem, r.read(MANIFEST_SIG), manifest_bytes):
        culprits = [n for n in (MANIFEST, MANIFEST_SIG, PUBLIC_KEY) if sums.get(n) not in (None, actual[n])]
        who = culprits[0] if culprits else MANIFEST
        return [(who, f"{who}: the Ed25519 signature of {MANIFEST} does not verify with {PUBLIC_KEY}")]
    try:
        manifest = json.loads(manifest_bytes)
        listed: dict[str, str] = manifest["files"]
        fp = manifest["signing"]["public_key_sha256"]
    except (ValueError, KeyError, TypeError) as e:
        return [(MANIFEST, f"{MANIFEST}: signed but not a vsearch manifest ({e})")]
    for rel in listed:
        if not safe_rel(rel):
            problems.append((MANIFEST, f"{MANIFEST}: unsafe file name {rel!r}"))
    for rel, h in sorted(listed.items()):
        if rel not in actual:
            problems.append((rel, f"{rel}: listed in the manifest but missing"))
        elif actual[rel] != h:
            problems.append((rel, f"{rel}: SHA-256 {actual[rel]} does not match the manifest ({h})"))
    for rel in sorted(names - set(listed) - CONTROL_FILES):
        problems.append((rel, f"{rel}: not listed in the manifest (added file)"))
    if fingerprint(pem) != fp:
        problems.append((PUBLIC_KEY, f"{PUBLIC_KEY}: fingerprint differs from the manifest's {fp}"))
    expected_sums = sums_text({**listed, **{n: actual[n] for n in (MANIFEST, MANIFEST_SIG, PUBLIC_KEY)}})
    if sums_problem or r.read(SUMS) != expected_sums:
        problems.append((SUMS, f"{SUMS}: {sums_problem or 'does not match the signed manifest'}"))
    problems += _check_signature_record(r.read(SIGNATURE), actual, pem)
    problems += _check_cross_refs(manifest, listed)
    return problems


def _parse_sums(data: bytes) -> tuple[dict[str, str], str | None]:
    out: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return out, "not UTF-8 text"
    for no, line in enumerate(text.splitlines(), start=1):
        m = re.fullmatch(r"([0-9a-f]{64})  (.+)", line)
        if m is None or not safe_rel(m.group(2)):
            return out, f"line {no} is not '<sha256>  <relative path>'"
        out[m.group(2)] = m.group(1)
    return out, None


def _check_signature_record(data: bytes, actual: Mapping[str, str], pem: bytes) -> list[tuple[str, str]]:
    try:
        rec = json.loads(data)
        if not isinstance(rec, dict) or set(rec) != SIGNATURE_KEYS:
            raise ValueError(f"fields must be {sorted(SIGNATURE_KEYS)}")
        sig = base64.b64decode(rec["statement_signature_b64"], validate=True)
    except (ValueError, TypeError) as e:
        return [(SIGNATURE, f"{SIGNATURE}: not a valid signature record ({e})")]
    statement = {k: rec[k] for k in ("manifest_sha256", "public_key_sha256", "signed_at_utc")}
    checks = [
        (json_file(rec) == data, "not in its canonical form"),
        ((rec["algorithm"], rec["signed_file"], rec["signature_file"], rec["public_key_file"])
         == ("Ed25519", MANIFEST, MANIFEST_SIG, PUBLIC_KEY), "names the wrong files or algorithm"),
        (rec["manifest_sha256"] == actual[MANIFEST], "manifest_sha256 is not the manifest's hash"),
        (rec["public_key_sha256"] == fingerprint(pem), "public_key_sha256 is not the key's fingerprint"),
        (verify_signature(pem, sig, canonical_json(statement)), "the signature over the signing time does not "
                                                                "verify"),
    ]
    return [(SIGNATURE, f"{SIGNATURE}: {why}") for ok, why in checks if not ok][:1]


def _check_cross_refs(manifest: Mapping[str, Any], listed: Mapping[str, str]) -> list[tuple[str, str]]:
    """Hashes quoted inside the manifest (spans, thumbnails, videos) must agree with its file list."""
    refs: list[tuple[str, str]] = []
    for s in manifest.get("sources", []):
        refs += [(sp["file"], sp["sha256"]) for sp in s.get("spans", [])]
    refs += [(o["thumbnail"]["file"], o["thumbnail"]["sha256"]) for o in manifest.get("objects", [])
             if o.get("thumbnail")]
    for v in manifest.get("videos", {}).values():
        refs.append((v["file"], v["sha256"]))
        if v.get("source_map"):
            refs.append((v["source_map"], v["source_map_sha256"]))
    return [(MANIFEST, f"{MANIFEST}: {rel} is quoted with SHA-256 {h} but listed with {listed.get(rel)}")
            for rel, h in refs if listed.get(rel) != h][:1]


