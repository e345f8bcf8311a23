"""Heads of the audit log recorded outside it (job reports, export manifests, case files), as `Anchor`s."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from vsearch.errors import UsageError
from vsearch.evidence.audit import Anchor
from vsearch.evidence.layout import MANIFEST


def anchor_of(head: Any, origin: str) -> Anchor | None:
    if not isinstance(head, dict) or not isinstance(head.get("seq"), int) or not isinstance(head.get("sha256"), str):
        return None
    return Anchor(head["seq"], head["sha256"], origin)


def store_anchors(store_dir: Path) -> list[Anchor]:
    """The audit heads recorded in the store's job reports (`jobs/*.json`, field `audit_head`)."""
    found = []
    for report in sorted((Path(store_dir) / "jobs").glob("*.json")):
        try:
            a = anchor_of(json.loads(report.read_text(encoding="utf-8")).get("audit_head"), f"job report {report.name}")
        except (OSError, ValueError, AttributeError):
            continue  # a damaged report is not an anchor; the job itself is in the log
        if a is not None:
            found.append(a)
    return found


def parse_anchor(value: str) -> Anchor:
    """`--anchor` value: SEQ:SHA256, or an export bundle folder/.zip whose manifest records `audit_head`."""
    m = re.fullmatch(r"(\d+):([0-9a-fA-F]{64})", value.strip())
    if m:
        return Anchor(int(m.group(1)), m.group(2).lower(), f"--anchor {value.strip()}")
    path = Path(value)
    try:
        if path.is_dir():
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        elif path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                name = next(n for n in zf.namelist() if n.rsplit("/", 1)[-1] == MANIFEST and n.count("/") <= 1)
                manifest = json.loads(zf.read(name))
        else:
            raise FileNotFoundError(value)
    except (OSError, ValueError, StopIteration, zipfile.BadZipFile) as e:
        raise UsageError(f"--anchor {value!r}: neither SEQ:SHA256 nor a readable export bundle ({e})") from e
    a = anchor_of(manifest.get("audit_head"), f"bundle {path.name}")
    if a is None:
        raise UsageError(f"--anchor {value!r}: this bundle's manifest records no audit head (older export)")
    return a
