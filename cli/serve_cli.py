"""serve: the local review UI (`vsearch.web`) on loopback, or on another interface only when asked to."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Optional

import typer

from vsearch.cli.common import ConfigOpt, StoreOpt, err
from vsearch.errors import UsageError


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(store: StoreOpt = Path("vsearch-data"), config: ConfigOpt = None,
          host: Annotated[str, typer.Option(help="Interface to listen on (loopback by default).")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8765,
          allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Allow a --host other than loopback "
                                                     "(other machines can then reach the login page).")] = False,
          exports: Annotated[Optional[Path], typer.Option("--exports", help="Folder for bundles exported from "
                                                          "the UI (default <store>/exports).")] = None,
          session_hours: Annotated[float, typer.Option("--session-hours", help="Session lifetime.", min=0.1,
                                                       max=24)] = 8.0) -> None:
    """Serve the review UI in a browser: search, look, play, confirm and export (login with case and reason)."""
    import uvicorn

    from vsearch.site import load_site_config
    from vsearch.web.app import create_app

    if not _is_loopback(host) and not allow_remote:
        raise UsageError(f"--host {host}: not a loopback address; other machines could reach the UI. Pass "
                         f"--allow-remote as well if that is intended (use it on a closed network only)")
    load_site_config(config)  # no site config, no access: fail now with the CLI's message
    app = create_app(store, config, exports_dir=exports, lifetime_s=int(session_hours * 3600), host=host)
    if not _is_loopback(host):
        err.print(f"[bold yellow]warning:[/] serving on {host}: any machine that can reach this address sees "
                  f"the login page; traffic is plain HTTP", highlight=False)
    err.print(f"vsearch review UI on http://{host}:{port}/ (store {store}); Ctrl-C to stop", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")
