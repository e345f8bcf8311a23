"""The pipeline identity: what made a source's rows, recorded with the source and in every job report.

One `StageIdentity` per stage and model (name, version, SHA-256 of the weights file where there is one), plus
the analysis parameters and the vsearch version. A job compares the identity stored with each source to the
current one; a file whose identity differs is indexed again and the job says why (`differences`), unless the
user asked to keep existing rows (`--keep-existing`). The vsearch version is recorded for the record (export
manifests, court) but not compared: a release changes what an index holds only through the stage versions,
parameters or weights it changes, and re-indexing weeks of footage for a documentation fix would be wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace

from vsearch import __version__


@dataclass(frozen=True)
class StageIdentity:
    stage: str  # decode | detect | track | describe | embed
    name: str  # e.g. "pvb-2002", "bytetrack-app-v1", "palette-lab11-v1", "person-attributes-recognition-..."
    version: str = ""  # the component's own version where its name does not carry one
    weights_sha256: str = ""  # "" for weight-free components


@dataclass(frozen=True)
class PipelineIdentity:
    components: tuple[StageIdentity, ...]
    params: tuple[tuple[str, str], ...]  # analysis parameters, values as JSON text (sorted by name)
    vsearch_version: str = __version__

    @classmethod
    def of(cls, components: Iterable[StageIdentity], params: Mapping[str, object]) -> PipelineIdentity:
        comps = tuple(sorted(components, key=lambda c: (c.stage, c.name)))
        return cls(comps, tuple((k, json.dumps(params[k], sort_keys=True)) for k in sorted(params)))

    def to_dict(self) -> dict[str, object]:
        return {"vsearch_version": self.vsearch_version, "components": [asdict(c) for c in self.components],
                "params": {k: json.loads(v) for k, v in self.params}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> PipelineIdentity:
        made = cls.of([StageIdentity(**c) for c in d["components"]], d["params"])  # type: ignore[arg-type, union-attr]
        return replace(made, vsearch_version=str(d["vsearch_version"]))

    def differences(self, stored: PipelineIdentity | None) -> list[str]:
        """Why rows made by `stored` are not what this pipeline would make (empty: the same)."""
        if stored is None:
            return ["indexed before the pipeline identity was recorded (store schema v1)"]
        out = []
        mine = {(c.stage, c.name): c for c in self.components}
        theirs = {(c.stage, c.name): c for c in stored.components}
        for key in sorted(mine.keys() - theirs.keys()):
            out.append(f"{key[0]} {key[1]} added")
        for key in sorted(theirs.keys() - mine.keys()):
            out.append(f"{key[0]} {key[1]} removed")
        for key in sorted(mine.keys() & theirs.keys()):
            a, b = theirs[key], mine[key]
            if a.version != b.version:
                out.append(f"{key[0]} {key[1]} version {a.version or '-'} → {b.version or '-'}")
            if a.weights_sha256 != b.weights_sha256:
                out.append(f"{key[0]} {key[1]} weights {a.weights_sha256[:12] or '-'}… → "
                           f"{b.weights_sha256[:12] or '-'}…")
        p_old, p_new = dict(stored.params), dict(self.params)
        for k in sorted(p_old.keys() | p_new.keys()):
            if p_old.get(k) != p_new.get(k):
                out.append(f"parameter {k} {p_old.get(k, '-')} → {p_new.get(k, '-')}")
        return out


def parse(identity_json: str | None) -> PipelineIdentity | None:
    return PipelineIdentity.from_dict(json.loads(identity_json)) if identity_json else None


def components_of(identities: Iterable[PipelineIdentity | None]) -> list[dict[str, str]]:
    """Every stage/model recorded for a set of sources, once each, with its weights' SHA-256: what an export
    manifest lists as "models used" (sources indexed before identities were recorded contribute nothing)."""
    seen = {c for ident in identities if ident is not None for c in ident.components}
    return [asdict(c) for c in sorted(seen, key=lambda c: (c.stage, c.name, c.version, c.weights_sha256))]
