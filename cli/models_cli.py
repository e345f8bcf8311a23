"""`vsearch models list | install DIR | fetch`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from vsearch.models import registry as catalogue
from vsearch.models.resolve import resolve_models
from vsearch.cli.common import ConfigOpt, JsonOpt, out, print_json
from vsearch.site import optional_site_config

app = typer.Typer(no_args_is_help=True, help="Install and check detector, attribute and re-id model files.")
ModelsDirOpt = Annotated[Optional[Path], typer.Option("--models-dir", help="Models folder (default $VSEARCH_MODELS "
                                                      "or ~/.local/share/vsearch/models).")]
ListDirOpt = Annotated[Optional[Path], typer.Option("--models-dir", help="Configured models folder, searched before "
                                                    "the installed and built-in models (default $VSEARCH_MODELS, "
                                                    "then the site config's models_dir).")]
KeyOpt = Annotated[Optional[list[str]], typer.Option("--key", help="Only these catalogue keys (repeatable).")]


def _report(rep: catalogue.InstallReport, as_json: bool) -> None:
    if as_json:
        print_json({"models_dir": str(rep.models_dir), "placed": rep.placed, "already_present": rep.already_present,
                    "not_found": rep.not_found, "refused": rep.refused})
        return
    out.print(f"{rep.models_dir}: {len(rep.placed)} file(s) installed and verified, "
              f"{len(rep.already_present)} already present, {len(rep.not_found)} not in the source")


@app.command("list")
def list_(models_dir: ListDirOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Show every supported model: the copy a job would use (configured, installed, built-in, or missing),
    its path and SHA-256, and copies passed over because they failed their hash check."""
    if models_dir is None and not os.environ.get(catalogue.ENV_VAR):  # same precedence as `vsearch index`
        site = optional_site_config(config)
        models_dir = site.models_dir if site is not None else None
    models = resolve_models(models_dir, strict=False)
    if as_json:
        print_json([{"key": m.key, "origin": m.origin, "path": str(m.path) if m.path else None, "sha256": m.sha256,
                     "purpose": catalogue.CATALOGUE[m.key].purpose, "licence": catalogue.CATALOGUE[m.key].licence,
                     "passed_over": list(m.passed_over)} for m in models.models])
        return
    t = Table("model", "from")
    t.add_column("sha256 (main file)", overflow="fold")
    for m in models.models:
        t.add_row(m.key, m.origin, m.sha256)
    out.print(t)
    out.print("first verified copy wins: " + "; ".join(f"{layer.origin} = {layer.folder}" for layer in models.layers),
              soft_wrap=True)
    for w in models.warnings:
        out.print(w, soft_wrap=True, highlight=False)


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
