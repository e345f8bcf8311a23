"""`vsearch audit show | verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from vsearch.catalogue.store import has_history
from vsearch.cli.common import ConfigOpt, JsonOpt, StoreOpt, out, print_json
from vsearch.errors import UsageError, VerificationError
from vsearch.evidence.audit import AuditLog
from vsearch.evidence.audit_anchors import parse_anchor, store_anchors
from vsearch.site import audit_log_for, optional_site_config, os_operator

app = typer.Typer(no_args_is_help=True, help="The tamper-evident (hash-chained, head-signed) audit log.")
LogOpt = Annotated[Optional[Path], typer.Option("--log", help="Audit log file (default from the site config, "
                                                "else <store>/audit.jsonl).")]


def _log(store: Path | str, config: Path | None, log: Path | None) -> AuditLog:
    cfg = optional_site_config(config)
    if log is not None:
        if not log.is_file():
            raise UsageError(f"--log {log}: no such audit log file; give the path of audit.jsonl")
        return AuditLog(log, key_dir=cfg.key_dir_path(store) if cfg is not None else None)
    return audit_log_for(store, config)


@app.command()
def show(store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None, log: LogOpt = None,
         case: Annotated[Optional[str], typer.Option(help="Only this case.")] = None,
         investigator: Annotated[Optional[str], typer.Option(help="Only this investigator.")] = None,
         as_json: JsonOpt = False) -> None:
    """List audit entries."""
    entries = _log(store, config, log).entries(case=case, investigator=investigator)
    if as_json:
        print_json([e.body() | {"sha256": e.sha256} for e in entries])
        return
    t = Table("#", "time (UTC)", "investigator", "case", "action", "reason", "result")
    for e in entries:
        t.add_row(str(e.seq), e.time_utc, e.investigator or "-", e.case or "-", e.action, e.reason or "",
                  ", ".join(f"{k}={v}" for k, v in sorted((e.result or {}).items()))[:80])
    out.print(t)


@app.command()
def verify(store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None, log: LogOpt = None,
           anchor: Annotated[Optional[list[str]], typer.Option(
               "--anchor", help="A head recorded elsewhere that the log must still contain: SEQ:SHA256 (from a "
                                "case file) or an export bundle folder/.zip (its manifest's audit_head). "
                                "Repeatable.")] = None,
           as_json: JsonOpt = False) -> None:
    """Check the hash chain, the signed head, and the heads recorded in job reports, bundles and case files.

    A missing log fails when the store has indexed data. Reports the first broken entry by line number."""
    audit = _log(store, config, log)
    anchors = store_anchors(Path(store)) + [parse_anchor(a) for a in anchor or ()]
    res = audit.verify(anchors, expect_history=has_history(Path(store)))
    if as_json:
        print_json({"ok": res.ok, "entries": res.entries, "first_bad_line": res.first_bad_line,
                    "reason": res.reason, "head_sha256": res.head_sha256, "anchors_checked": len(anchors)})
    if not res.ok:
        raise VerificationError(f"{audit.path}: line {res.first_bad_line}: {res.reason}")
    if not as_json:
        out.print(f"{audit.path}: {res.entries} entries, chain intact and matching its signed head "
                  f"(head {res.head_sha256}); {len(anchors)} recorded anchor(s) agree", soft_wrap=True)


@app.command()
def adopt(reason: Annotated[str, typer.Option("--reason", help="Why (e.g. 'upgrade to vsearch 0.x'); logged.")],
          store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None, log: LogOpt = None) -> None:
    """Start anchoring a log written by a vsearch without signed heads (after an upgrade). Refused when the
    log already has a head or its chain is broken; the adoption itself is logged."""
    audit = _log(store, config, log)
    entry = audit.adopt(os_operator(), reason)
    out.print(f"{audit.path}: anchored at entry {entry.result['anchored_from_seq']}; adoption logged as entry "
              f"{entry.seq}", soft_wrap=True)
