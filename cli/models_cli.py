"""`vsearch models list | install DIR | fetch`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from vsearch.models import registry as catalogue
from vsearch.cli.common import JsonOpt, out, print_json

app = typer.Typer(no_args_is_help=True, help="Install and check detector, attribute and re-id model files.")
ModelsDirOpt = Annotated[Optional[Path], typer.Option("--models-dir", help="Models folder (default $VSEARCH_MODELS "
                                                      "or ~/.local/share/vsearch/models).")]
KeyOpt = Annotated[Optional[list[str]], typer.Option("--key", help="Only these catalogue keys (repeatable).")]


def _report(rep: catalogue.InstallReport, as_json: bool) -> None:
    if as_json:
        print_json({"models_dir": str(rep.models_dir), "placed": rep.placed, "already_present": rep.already_present,
                    "not_found": rep.not_found, "refused": rep.refused})
        return
    out.print(f"{rep.models_dir}: {len(rep.placed)} file(s) installed and verified, "
              f"{len(rep.already_present)} already present, {len(rep.not_found)} not in the source")


@app.command("list")
def list_(models_dir: ModelsDirOpt = None, as_json: JsonOpt = False) -> None:
    """Show the supported models and whether each is installed and hash-verified."""
    mdir = catalogue.resolve_models_dir(models_dir)
    rows = catalogue.list_models(mdir)
    if as_json:
        print_json([{"key": s.key, "purpose": s.purpose, "state": s.state, "path": str(s.path), "detail": s.detail}
                    for s in rows])
        return
    t = Table("model", "state", "purpose", title=str(mdir))
    for s in rows:
        t.add_row(s.key, s.state + (f" ({s.detail})" if s.detail else ""), s.purpose)
    out.print(t)


@app.command()
def install(src: Annotated[Path, typer.Argument(help="Folder or USB stick holding the model files.")],
            models_dir: ModelsDirOpt = None, key: KeyOpt = None, as_json: JsonOpt = False) -> None:
    """Copy model files from a folder, verifying every SHA-256 (the air-gapped path)."""
    _report(catalogue.install_from(src, catalogue.resolve_models_dir(models_dir), key), as_json)


@app.command()
def fetch(models_dir: ModelsDirOpt = None, key: KeyOpt = None,
          base_url: Annotated[Optional[str], typer.Option("--base-url", help="Mirror serving the catalogue paths.")] = None,
          as_json: JsonOpt = False) -> None:
    """Download model files (resumable), verifying every SHA-256."""
    _report(catalogue.fetch(catalogue.resolve_models_dir(models_dir), base_url, key), as_json)
