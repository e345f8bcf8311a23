"""Offline verification of an export bundle (folder or zip): hashes, signature, layout, and who signed it."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsearch.evidence.audit import canonical_json
from vsearch.catalogue.location import StoreLocation
from vsearch.evidence.layout import (CHUNK, CONTROL_FILES, MANIFEST, MANIFEST_SIG, PUBLIC_KEY, REPORT, SIGNATURE,
                                     SIGNATURE_KEYS, SUMS, VERIFY_TXT, json_file, safe_rel, sums_text)
from vsearch.evidence.signing import fingerprint, site_public_fingerprint, verify_signature
from vsearch.errors import UsageError, VerificationError
from vsearch.indexing.sources import sha256_file
from vsearch.site import SiteConfig


# Members a bundle may hold, below its one top folder in a zip: the control files, the two texts, and these folders.
TOP_FILES = CONTROL_FILES | {VERIFY_TXT, REPORT}
PAYLOAD_FOLDERS = frozenset({"spans", "thumbnails", "synopsis", "passages"})


class UntrustedSignerError(VerificationError):
    """The bundle is intact and validly signed, but by a key nobody told us to trust."""

    exit_code = 5


@dataclass(frozen=True)
class VerifyReport:
    ok: bool  # every hash, the signature and the layout hold (says nothing about *who* signed)
    first_bad: str | None  # bundle-relative name of the first file that does not hold
    problems: list[str]
    files_checked: int
    signer_fingerprint: str | None = None  # SHA-256 of the DER public key that signed (when the signature holds)
    site_name: str | None = None  # as the signed manifest states it (a forger can write any name)
    trusted_by: str | None = None  # which trusted key matched the signer, e.g. "site key of store X"

    @property
    def trusted(self) -> bool:
        return self.ok and self.trusted_by is not None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "trusted": self.trusted, "trusted_by": self.trusted_by,
                "signer_fingerprint": self.signer_fingerprint, "site_name": self.site_name,
                "first_bad": self.first_bad, "problems": self.problems, "files_checked": self.files_checked}


@dataclass(frozen=True)
class TrustedKey:
    """A key fingerprint the verifier accepts as a signer, and where it came from (for the report)."""

    fingerprint: str
    origin: str


def parse_trusted_key(value: str) -> TrustedKey:
    """`--trusted-key` value: a fingerprint (64 hex digits, colons and spaces allowed) or a PEM public key file."""
    compact = re.sub(r"[\s:]", "", value).lower()
    if re.fullmatch(r"[0-9a-f]{64}", compact):
        return TrustedKey(compact, f"--trusted-key {compact[:16]}…")
    path = Path(value)
    if not path.is_file():
        raise UsageError(f"--trusted-key {value!r}: neither a 64-hex-digit key fingerprint nor an existing public "
                         "key file; give the fingerprint the site published or its public_key.pem")
    try:
        return TrustedKey(fingerprint(path.read_bytes()), f"--trusted-key {path}")
    except (OSError, ValueError) as e:
        raise UsageError(f"--trusted-key {path}: not an Ed25519 public key PEM file ({e})") from e


def site_trusted_keys(store: Path | str | None, config: SiteConfig | None) -> list[TrustedKey]:
    """The site's own key, when we know where it is: the config's `key_dir`, else `keys/` in the store's site
    folder (the store folder; for a store on object storage, its folder on this machine)."""
    if config is not None and config.key_dir is not None:
        key_dir = config.key_dir
    elif store is not None:
        key_dir = config.key_dir_path(store) if config is not None else StoreLocation.parse(store).site_dir / "keys"
    else:
        return []
    site = f" ({config.site_name})" if config is not None else ""
    return [TrustedKey(site_public_fingerprint(key_dir), f"site key in {key_dir}{site}")]


def require_trusted(rep: VerifyReport, where: Path) -> None:
    """Raise unless the bundle holds and its signer is trusted: VerificationError (exit 4) for a damaged or
    forged bundle, UntrustedSignerError (exit 5) for a valid signature by a key not among the trusted ones."""
    if not rep.ok:
        raise VerificationError(f"{where}: FAILED at {rep.first_bad}: {rep.problems[0] if rep.problems else ''}")
    if rep.trusted_by is None:
        raise UntrustedSignerError(
            f"{where}: intact, but signed by an UNTRUSTED key {rep.signer_fingerprint} (manifest says site "
            f"{rep.site_name!r}); compare it with the fingerprint the site declared, then pass --trusted-key "
            "FINGERPRINT (or --store of that site)")


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
            self._names = self._zip_names(self.zip)

    def _zip_names(self, zf: zipfile.ZipFile) -> list[str]:
        """Bundle names of the members, after refusing what `unzip` could turn into something other than what we
        check: repeated names (the extracted copy may be a forged one placed first), directory or link members,
        and members outside the one top folder or the bundle layout."""
        infos = zf.infolist()
        tops = {i.filename.split("/", 1)[0] for i in infos}
        if len(tops) == 1 and all("/" in i.filename for i in infos):
            self.prefix = next(iter(tops)) + "/"
        seen: set[str] = set()
        names = []
        for info in infos:
            n = info.filename
            rel = n[len(self.prefix):]
            mode = info.external_attr >> 16
            if n in seen:
                self.problems.append((rel, f"{rel}: appears more than once in the zip (a second copy could be "
                                           "the one extracted)"))
            elif info.is_dir() or stat.S_ISDIR(mode):
                self.problems.append((rel, f"{rel}: directory entry; a bundle zip holds files only"))
            elif stat.S_ISLNK(mode):
                self.problems.append((rel, f"{rel}: is a symbolic link, not a file"))
            elif not self.prefix or not safe_rel(rel) or not _in_layout(rel):
                self.problems.append((rel or n, f"{n}: outside the bundle layout (one top folder holding "
                                                 f"{', '.join(sorted(TOP_FILES))} and "
                                                 f"{', '.join(sorted(PAYLOAD_FOLDERS))}/)"))
            else:
                names.append(rel)
            seen.add(n)
        return sorted(set(names))

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


def _in_layout(rel: str) -> bool:
    parts = rel.split("/")
    return rel in TOP_FILES if len(parts) == 1 else parts[0] in PAYLOAD_FOLDERS


def verify_bundle(path: Path, trusted: Sequence[TrustedKey] = ()) -> VerifyReport:
    """Check a bundle folder or zip: every file's hash, no missing or extra file, the manifest signature,
    the signature record and the manifest's own cross-references. `first_bad` names the first failing file.
    When everything holds, the report names the signer's key fingerprint and which of `trusted` it matched."""
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
        if problems:
            return VerifyReport(False, problems[0][0], [p[1] for p in problems], len(reader.names()))
        fp = fingerprint(reader.read(PUBLIC_KEY))
        site = json.loads(reader.read(MANIFEST)).get("site_name")
        by = next((k.origin for k in trusted if k.fingerprint == fp), None)
        return VerifyReport(True, None, [], len(reader.names()), fp, site, by)
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


