"""`tracker serve`: the web dashboard for a browser, with the mailbox watcher beside it."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from tracker.cli.base import main, with_workspace
from tracker.services.workspace import Workspace


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --behind-proxy or a "
                   "certificate.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.option("--behind-proxy", is_flag=True,
              help="A reverse proxy with TLS forwards to tracker ([web] base_url is https; "
                   "forwarded headers count only from [web] trusted_proxies).")
@click.option("--certfile", type=click.Path(dir_okay=False, path_type=Path),
              help="Serve https with this certificate (PEM)...")
@click.option("--keyfile", type=click.Path(dir_okay=False, path_type=Path),
              help="...and this private key (PEM).")
@click.option("--no-watch", is_flag=True,
              help="Do not watch the mailbox here (leave it to a separate `tracker watch`).")
@click.option("--workers", default=1, show_default=True, type=int,
              help="Processes serving pages, about one per processor core, for a team on one "
                   "server (needs --no-watch: run `tracker watch` beside it).")
@with_workspace
def serve(ws: Workspace, host: str, port: int, behind_proxy: bool, certfile: Path | None,
          keyfile: Path | None, no_watch: bool, workers: int) -> None:
    """Serve the workspace to a browser: the web dashboard (and the mailbox watcher)."""
    from tracker.web.serving import ServeOptions, check_options
    from tracker.web.serving import serve as run_server

    options = ServeOptions(host=host, port=port, behind_proxy=behind_proxy, certfile=certfile,
                           keyfile=keyfile, watch=not no_watch, workers=workers)
    check_options(ws, options)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("imapclient").setLevel(logging.WARNING)  # it logs mail at DEBUG
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if certfile else "http"
    click.echo(f"tracker: serving {ws.settings.workspace} at "
               f"{ws.settings.web.base_url or f'{scheme}://{shown}:{port}'}/ (Ctrl-C stops)",
               err=True)
    run_server(ws, options)
