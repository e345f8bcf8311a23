"""Where a store lives: a local folder, or a prefix on an object store (`s3://`, `gs://`, `az://`).

The catalogue tables go through LanceDB, the thumbnails and job reports through one pyarrow filesystem, so a
store on S3 holds exactly what a store folder holds. Credentials and endpoints come from the standard variables
of each cloud (for S3: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, and
AWS_ALLOW_HTTP=true for a plain-HTTP endpoint such as a MinIO on the site's network); both LanceDB and pyarrow
read them.

What never goes to the object store by default: the site's signing key and the audit log. They live on the
disk of the machine that runs the command (`site_dir`), so that whoever can write the bucket cannot forge an
exhibit signature or rewrite the log of who searched what. The site config's `key_dir` / `audit_log` move them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

from vsearch.errors import StoreError, UsageError

# The object stores LanceDB (the Rust object_store crate) and pyarrow can both reach.
REMOTE_SCHEMES = ("s3", "gs", "az")
_URI = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<rest>.+)$")


@dataclass(frozen=True)
class StoreLocation:
    """A parsed `--store` value. `uri` is what the user gave, normalised (no trailing slash)."""

    uri: str
    scheme: str  # "file" for a local folder

    @classmethod
    def parse(cls, value: str | os.PathLike[str]) -> StoreLocation:
        text = os.fspath(value)
        m = _URI.match(text)
        if m is None:
            return cls(uri=str(Path(text)), scheme="file")
        scheme, rest = m["scheme"], m["rest"].strip("/")
        if scheme == "file":
            return cls(uri=str(Path("/" + rest)), scheme="file")
        if scheme not in REMOTE_SCHEMES:
            raise UsageError(f"--store {text}: unsupported scheme {scheme}://; use a folder or one of "
                             + ", ".join(f"{s}://bucket/prefix" for s in REMOTE_SCHEMES))
        if "/" not in rest:
            raise UsageError(f"--store {text}: give a prefix inside the bucket, e.g. {scheme}://{rest}/vsearch")
        return cls(uri=f"{scheme}://{rest}", scheme=scheme)

    @property
    def is_remote(self) -> bool:
        return self.scheme != "file"

    @property
    def local_path(self) -> Path | None:
        """The store folder, for a local store; None on an object store."""
        return None if self.is_remote else Path(self.uri)

    def child(self, rel: str) -> str:
        """`rel` inside the store as a path (local) or a URI (remote): what users see and LanceDB opens."""
        return str(Path(self.uri) / rel) if not self.is_remote else f"{self.uri}/{rel}"

    @property
    def site_dir(self) -> Path:
        """Where this store's site secrets and audit log go by default: the store folder for a local store;
        for an object store, a folder on this machine's disk named after the bucket and prefix
        ($VSEARCH_STATE_DIR, else $XDG_STATE_HOME/vsearch, else ~/.local/state/vsearch)."""
        if not self.is_remote:
            return Path(self.uri)
        base = os.environ.get("VSEARCH_STATE_DIR") or os.path.join(
            os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state"), "vsearch")
        return Path(base) / self.scheme / self.uri.split("://", 1)[1]


# What object stores answer, in words (the client's own error is a long nested dump).
_ERROR_CODES = {"NoSuchBucket": "the bucket does not exist (create it first)",
                "AccessDenied": "access denied (check the credentials' rights on the bucket)",
                "InvalidAccessKeyId": "unknown access key (check AWS_ACCESS_KEY_ID)",
                "SignatureDoesNotMatch": "wrong secret key (check AWS_SECRET_ACCESS_KEY)",
                "Connection refused": "connection refused (check AWS_ENDPOINT_URL)"}


def describe_error(e: BaseException) -> str:
    """An object-store error as a short phrase: the known S3 code in words, else the error's first 200 chars."""
    text = str(e)
    for code, words in _ERROR_CODES.items():
        if code in text:
            return words
    return text[:200] + ("…" if len(text) > 200 else "")


class StoreFiles:
    """The store's plain files (thumbnails, job reports) on the local disk or the object store."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        try:
            self.fs, self._base = pafs.FileSystem.from_uri(location.uri if location.is_remote
                                                           else str(Path(location.uri).resolve()))
        except (OSError, ValueError) as e:
            raise StoreError(f"--store {location.uri}: cannot reach the object store ({describe_error(e)}); check the bucket "
                             "name and AWS_ENDPOINT_URL / credentials (see docs/scale-out.md)") from e

    def _path(self, rel: str) -> str:
        return f"{self._base}/{rel}"

    def exists(self, rel: str) -> bool:
        return self.fs.get_file_info(self._path(rel)).type != pafs.FileType.NotFound

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write one file whole. Local: a temporary file renamed into place; object store: one PUT, which is
        atomic by itself. A reader never sees half a file."""
        path = self._path(rel)
        if self.location.is_remote:  # no folders on an object store: no marker objects either
            with self.fs.open_output_stream(path) as f:
                f.write(data)
            return
        # Local: person-derived files (crops) readable by their owner only: folders 0700, files 0600.
        target = Path(path)
        folder = target.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        base = Path(self._base)
        for d in (folder, *folder.parents):
            if d == base or base not in d.parents:
                break
            if d.stat().st_uid == os.getuid() and d.stat().st_mode & 0o077:
                os.chmod(d, 0o700)
        tmp = folder / f".{target.name}.tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(data)
        os.replace(tmp, target)

    def read_bytes(self, rel: str) -> bytes:
        try:
            with self.fs.open_input_stream(self._path(rel)) as f:
                return f.read()
        except FileNotFoundError as e:
            raise StoreError(f"{self.location.child(rel)}: missing from the store; re-index its source") from e

    def delete_dir(self, rel: str) -> None:
        path = self._path(rel)
        if self.fs.get_file_info(path).type == pafs.FileType.NotFound:
            return
        self.fs.delete_dir(path)


__all__ = ["REMOTE_SCHEMES", "StoreFiles", "StoreLocation", "describe_error"]
