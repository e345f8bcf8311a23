"""Options and glue shared by the commands (presentation and argument plumbing only)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from vsearch.errors import UsageError
from vsearch.site import guarded_access as guarded  # authorise + audit an access to footage

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


def check_output_file(path: Path, force: bool, option: str) -> None:
    """An output file option must name a file in an existing folder, and not silently replace one."""
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name inside it, e.g. {path / 'still.jpg'}")
    if not path.parent.is_dir():
        raise UsageError(f"{option} {path}: folder {path.parent} does not exist; create it first")
    if path.exists() and not force:
        raise UsageError(f"{option} {path}: file exists; choose another name or pass --force to overwrite it")
