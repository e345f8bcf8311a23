"""`vsearch audit show | verify`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from vsearch.evidence.audit import AuditLog
from vsearch.cli.common import ConfigOpt, JsonOpt, StoreOpt, out, print_json
from vsearch.errors import VerificationError
from vsearch.site import load_site_config

app = typer.Typer(no_args_is_help=True, help="The tamper-evident (hash-chained) audit log.")
LogOpt = Annotated[Optional[Path], typer.Option("--log", help="Audit log file (default from the site config, "
                                                "else <store>/audit.jsonl).")]


def _log(store: Path | str, config: Path | None, log: Path | None) -> AuditLog:
    if log is not None:
        return AuditLog(log)
    return load_site_config(config).open_audit_log(store)


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
           as_json: JsonOpt = False) -> None:
    """Check the hash chain; report the first broken entry by line number."""
    audit = _log(store, config, log)
    res = audit.verify()
    if as_json:
        print_json({"ok": res.ok, "entries": res.entries, "first_bad_line": res.first_bad_line,
                    "reason": res.reason, "head_sha256": res.head_sha256})
    if not res.ok:
        raise VerificationError(f"{audit.path}: line {res.first_bad_line}: {res.reason}")
    if not as_json:
        out.print(f"{audit.path}: {res.entries} entries, chain intact (head {res.head_sha256})")
