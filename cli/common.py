"""Options and glue shared by the commands (presentation and argument plumbing only)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from vsearch.site import Access, ActionRecord, audited_action, load_site_config, resolve_investigator_id

out = Console()
err = Console(stderr=True)

StoreOpt = Annotated[str, typer.Option("--store", help="Store: a folder, or an object-store URI such as "
                                       "s3://bucket/prefix (docs/scale-out.md).",
                                        envvar="VSEARCH_STORE")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="Site config (default $VSEARCH_CONFIG or "
                                                   "./vsearch.toml).")]
InvestigatorOpt = Annotated[Optional[str], typer.Option("--investigator", help="Your investigator id "
                                                        "(or $VSEARCH_INVESTIGATOR).")]
CaseOpt = Annotated[str, typer.Option("--case", help="Case reference (required for any access to footage).")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why this access is needed (logged).")]
RecipientOpt = Annotated[Optional[list[str]], typer.Option("--recipient", help="Who receives the results "
                                                           "(repeatable; logged).")]


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


@contextmanager
def guarded(action: str, store: Path | str, config: Path | None, investigator: str | None, case: str, reason: str,
            recipients: list[str] | None, params: dict[str, Any]) -> Iterator[ActionRecord]:
    """Authorise the investigator for `action` and write the audit entry (also on refusal or failure)."""
    cfg = load_site_config(config)
    access = Access(resolve_investigator_id(investigator), case, reason, tuple(recipients or ()))
    with audited_action(cfg, access, action, cfg.open_audit_log(store), params) as record:
        yield record
