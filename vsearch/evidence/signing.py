"""Per-site Ed25519 signing key (cryptography library).

The private key is a PKCS#8 PEM file readable only by its owner (0600) in `key_dir`; it is created once, on
first use, atomically (two processes starting together end up with the same key). The public key travels in
every export bundle; its fingerprint is the SHA-256 of its DER SubjectPublicKeyInfo, which a court expert can
recompute with `openssl pkey -pubin -in public_key.pem -outform DER | sha256sum`.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vsearch.errors import ConfigError

PRIVATE_KEY_FILE = "site_ed25519.pem"
PUBLIC_KEY_FILE = "site_ed25519.pub.pem"


@dataclass(frozen=True)
class SiteKey:
    private_key: Ed25519PrivateKey
    key_dir: Path

    @classmethod
    def load_or_create(cls, key_dir: Path) -> SiteKey:
        """Load `key_dir/site_ed25519.pem`, creating the key pair if absent. Refuses a private key file that
        group or others can read (ConfigError: chmod 600 it)."""
        key_dir = Path(key_dir)
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        priv_path = key_dir / PRIVATE_KEY_FILE
        if not priv_path.exists():
            _create(priv_path)
        mode = stat.S_IMODE(priv_path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(f"site signing key {priv_path} is readable by others (mode {mode:o}); "
                              f"run `chmod 600 {priv_path}`")
        try:
            key = serialization.load_pem_private_key(priv_path.read_bytes(), password=None)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"site signing key {priv_path} cannot be loaded ({e}); restore it from backup") from e
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"site signing key {priv_path} is not an Ed25519 key")
        site_key = cls(key, key_dir)
        pub_path = key_dir / PUBLIC_KEY_FILE
        if not pub_path.exists() or pub_path.read_bytes() != site_key.public_pem():
            pub_path.write_bytes(site_key.public_pem())
        return site_key

    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_pem(self) -> bytes:
        return public_pem(self.public_key())

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_pem())

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)


def _create(priv_path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    tmp = priv_path.with_name(f".{priv_path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, priv_path)  # atomic and never overwrites: a concurrent creator's key wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def site_public_fingerprint(key_dir: Path) -> str:
    """Fingerprint of the site key kept in `key_dir` (its public file, else the private key), without ever creating
    a key: a verifier must not mint the key it then trusts. ConfigError when there is none."""
    key_dir = Path(key_dir)
    pub, priv = key_dir / PUBLIC_KEY_FILE, key_dir / PRIVATE_KEY_FILE
    try:
        if pub.is_file():
            return fingerprint(pub.read_bytes())
        if priv.is_file():
            return SiteKey.load_or_create(key_dir).fingerprint
    except (OSError, ValueError) as e:
        raise ConfigError(f"site key in {key_dir} cannot be read ({e}); restore it from backup") from e
    raise ConfigError(f"no site signing key in {key_dir} ({PUBLIC_KEY_FILE}); check --store / key_dir, or pass "
                      "--trusted-key with the fingerprint the site published")


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(pem: bytes) -> str:
    """SHA-256 (hex) of the DER SubjectPublicKeyInfo of a PEM public key."""
    der = load_public_key(pem).public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """Raises ValueError when `pem` is not an Ed25519 public key."""
    try:
        key = serialization.load_pem_public_key(pem)
    except UnsupportedAlgorithm as e:
        raise ValueError(f"unsupported public key: {e}") from e
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify_signature(pem: bytes, signature: bytes, data: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature of `data` by the key in `pem`."""
    try:
        load_public_key(pem).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True
