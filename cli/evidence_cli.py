"""Evidence and retention commands: verify, lock, purge (export lives with the query commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vsearch.evidence import retention
from vsearch.evidence.verify import parse_trusted_key, require_trusted, site_trusted_keys, verify_bundle
from vsearch.cli.common import (CaseOpt, ConfigOpt, InvestigatorOpt, JsonOpt, ReasonOpt, RecipientOpt, StoreOpt,
                                guarded, out, print_json)
from vsearch.query.clock import parse_time_option
from vsearch.site import load_site_config, optional_site_config
from vsearch.catalogue.store import Store


def verify(bundle: Annotated[Path, typer.Argument(help="Export bundle folder or .zip.")],
           trusted_key: Annotated[Optional[list[str]], typer.Option(
               "--trusted-key", help="A signer to trust: the key fingerprint the site published (64 hex digits) "
                                     "or its public key PEM file (repeatable).")] = None,
           store: Annotated[Optional[str], typer.Option("--store", envvar="VSEARCH_STORE", help="Trust this "
                                                        "site's own key (<store>/keys, or key_dir; a folder or "
                                                        "an s3:// / gs:// / az:// store).")] = None,
           config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Re-check an export bundle offline: every hash, the signature, the manifest, and who signed it.

    Exit 0 only when the signer is trusted (the site's own key via --store / the site config, or a
    --trusted-key); 4 when the bundle is damaged or forged; 5 when it is intact but signed by another key."""
    trusted = [parse_trusted_key(v) for v in trusted_key or ()]
    trusted += site_trusted_keys(store, optional_site_config(config))
    rep = verify_bundle(bundle, trusted)
    if as_json:
        print_json(rep.to_dict())
    require_trusted(rep, bundle)
    if not as_json:
        out.print(f"{bundle}: OK — {rep.files_checked} files, hashes and signature verified; signed by key "
                  f"{rep.signer_fingerprint} (site {rep.site_name!r}), trusted: {rep.trusted_by}", soft_wrap=True)


def lock(case: CaseOpt, camera: Annotated[str, typer.Option(help="Camera id.")],
         from_: Annotated[str, typer.Option("--from", help="Start (ISO-8601).")],
         to: Annotated[str, typer.Option("--to", help="End (ISO-8601).")],
         reason: ReasonOpt, store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None,
         investigator: InvestigatorOpt = None, tz: Annotated[str, typer.Option(help="Zone of times without offset.")] = "Europe/Paris",
         as_json: JsonOpt = False) -> None:
    """Tie footage to a judicial case so retention never purges it."""
    st = Store(store, create=False)
    t0 = parse_time_option(from_, tz=tz, option="--from")
    t1 = parse_time_option(to, tz=tz, option="--to")
    params = {"camera": camera, "from": t0.isoformat(), "to": t1.isoformat()}
    with guarded("lock", store, config, investigator, case, reason, None, params) as rec:
        lk = retention.add_lock(st, case_ref=case, camera=camera, from_utc=t0, to_utc=t1,
                                investigator=rec.investigator.id, reason=reason)
        rec.result = {"lock_id": lk.lock_id}
    if as_json:
        print_json(lk.to_dict())
    else:
        out.print(f"locked {camera} {t0.isoformat()} → {t1.isoformat()} for case {case} (lock {lk.lock_id})")


def purge(reason: ReasonOpt, case: CaseOpt = "retention",
          older_than: Annotated[Optional[str], typer.Option("--older-than", help="e.g. 30d (default: the site's "
                                                           "retention_days).")] = None,
          dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be purged.")] = False,
          store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None, investigator: InvestigatorOpt = None,
          recipient: RecipientOpt = None, as_json: JsonOpt = False) -> None:
    """Purge index data of footage past retention, unless locked to a case."""
    cfg = load_site_config(config)
    age = retention.parse_age(older_than) if older_than else retention.parse_age(f"{cfg.retention_days}d")
    st = Store(store, create=False)
    with guarded("purge", store, config, investigator, case, reason, recipient,
                 {"older_than_s": age.total_seconds(), "dry_run": dry_run}) as rec:
        rep = retention.purge(st, older_than=age, dry_run=dry_run, delete_sources=cfg.allow_source_deletion)
        rec.result = {"purged": len(rep.purged), "kept_locked": len(rep.kept_locked), "dry_run": dry_run,
                      "purged_sha256": [p["sha256"] for p in rep.purged]}
    if as_json:
        print_json(rep.to_dict())
        return
    verb = "would purge" if dry_run else "purged"
    out.print(f"{verb} {len(rep.purged)} source(s) recorded before {rep.cutoff_utc}; "
              f"kept {len(rep.kept_locked)} locked")
    for p in rep.purged:
        out.print(f"  {verb}: {p['camera']} {p['path']} (ended {p['end_utc']})", soft_wrap=True)
    if rep.tables:
        versions = sum(v["old_versions_removed"] for v in rep.tables.values())
        out.print(f"  erased {versions} old table version(s) of {', '.join(sorted(rep.tables))} "
                  f"({sum(v['bytes_removed'] for v in rep.tables.values()) / 1e6:.1f} MB), "
                  f"{rep.thumbnails_deleted} thumbnail(s), {len(rep.temp_files_deleted)} temp file(s)", soft_wrap=True)
    for p in rep.kept_locked:
        out.print(f"  kept (locked for {', '.join(p['locks'])}): {p['path']}", soft_wrap=True)
