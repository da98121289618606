"""Commands that make or migrate a workspace, and the demo."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.text import Text

from tracker.cli.base import (
    TrackerGroup,
    echo,
    main,
    now_for,
    out,
    with_workspace,
)
from tracker.config.loading import find_workspace, load_settings
from tracker.core.errors import StateError
from tracker.services.workspace import Workspace, init_workspace
from tracker.store import db


@main.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--org-name", default="", help="Organisation name, as it signs letters.")
@click.option("--signatory", default="", help="Person or role who signs the letters.")
@click.option("--email", default="", help="From address of the letters.")
@click.option("--reply-to", default="",
              help="Base address for per-request reply tags (inquiries@org.example).")
@click.option("--domain", default="", help="Domain for Message-IDs (default: from --email).")
@click.option("--address", default="", help="Postal address printed on letters.")
@click.option("--reference-prefix", default="", help="Prefix of request references (HC).")
@click.option("--timezone", default="", help="IANA time zone, e.g. Europe/Berlin.")
@click.option("--country", default="", help="Country code for public holidays, e.g. DE.")
@click.option("--subdivision", default="", help="Region code for holidays, e.g. BY.")
@click.option("--default-deadline", default="", help="Deadline rule when a template has none.")
@click.option("--language", default="", type=click.Choice(["", "en", "zh-Hans"]),
              help="Default letter language.")
@click.option("--database-url", default="",
              help="PostgreSQL URL without a password (default: SQLite in the workspace).")
@click.option("--smtp-host", default="", help="Outgoing mail server.")
@click.option("--smtp-port", default=0, type=int, help="Its port (default by TLS mode).")
@click.option("--smtp-username", default="", help="SMTP login name.")
@click.option("--smtp-password-env", default="",
              help="Name of the environment variable holding the SMTP password.")
@click.option("--smtp-tls", default="", type=click.Choice(["", "ssl", "starttls", "none"]),
              help="TLS mode (none only to a loopback host).")
def init(directory: str, org_name: str, signatory: str, email: str, reply_to: str, domain: str,
         address: str, reference_prefix: str, timezone: str, country: str, subdivision: str,
         default_deadline: str, language: str, database_url: str, smtp_host: str,
         smtp_port: int, smtp_username: str, smtp_password_env: str, smtp_tls: str) -> None:
    """Create a workspace in DIRECTORY: tracker.toml, a private database and folders for your
    own templates and platforms."""
    path = Path(directory).expanduser().resolve()
    settings = init_workspace(path, {
        "organisation": {"name": org_name, "signatory": signatory, "email": email,
                         "reply_to": reply_to, "domain": domain, "address": address,
                         "reference_prefix": reference_prefix, "timezone": timezone,
                         "country": country.upper(), "subdivision": subdivision.upper(),
                         "default_deadline": default_deadline, "language": language},
        "database": {"url": database_url},
        "smtp": {"host": smtp_host, "port": smtp_port or None, "username": smtp_username,
                 "password_env": smtp_password_env, "tls": smtp_tls},
    })
    click.echo(f"workspace ready: {path}")
    click.echo(f"database: {db.safe_url(settings.database_url)}")
    click.echo("next: `tracker platform list`, then `tracker request new`")


@main.group(name="db", cls=TrackerGroup)
def db_group() -> None:
    """Database schema migrations and a consistency check."""


@db_group.command(name="upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending schema migrations (safe to run at any time)."""
    path = find_workspace(ctx.find_root().params.get("workspace"))
    settings = load_settings(path)
    from tracker.services.search import message_words

    engine = db.make_engine(settings.database_url)
    try:
        before, after = db.upgrade(engine, message_words)
    finally:
        engine.dispose()
    click.echo(f"schema {before or 'empty'} -> {after}" if before != after
               else f"schema already at {after}")


@db_group.command(name="current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Show the database's schema revision and the one this tracker needs."""
    path = find_workspace(ctx.find_root().params.get("workspace"))
    engine = db.make_engine(load_settings(path).database_url)
    try:
        click.echo(f"database {db.safe_url(str(engine.url))}: schema "
                   f"{db.current_revision(engine) or 'empty'}; needed: {db.HEAD}")
    finally:
        engine.dispose()


@db_group.command(name="check")
@with_workspace
def db_check(ws: Workspace) -> None:
    """Check that every stored state, due date and ticket is what the messages and events say."""
    from tracker.services.invariants import check_invariants

    with db.transaction(ws.engine) as session:
        problems = check_invariants(ws, session, now_for(ws).date())
    for problem in problems:
        echo(problem)
    if problems:
        raise StateError(f"{len(problems)} problem(s) found: the stored record disagrees with "
                         "its messages and events; please report it to the tracker developers")
    click.echo("the record is consistent")


@main.command()
@click.option("--dir", "directory", default=None, type=click.Path(file_okay=False),
              help="Where to build the demo workspace (default: a new temporary folder).")
@click.option("--serve", is_flag=True,
              help="Then serve it to the browser (tracker serve) with a demo login.")
@click.option("--port", default=8765, show_default=True, type=int,
              help="With --serve: the port on 127.0.0.1.")
def demo(directory: str | None, serve: bool, port: int) -> None:
    """Build a throw-away workspace with a sample case, and show its status."""
    from tracker.cli.tables import status_table
    from tracker.services.demo import run_demo

    made = run_demo(Path(directory) if directory else None)
    if serve:
        _serve_demo(made.path, port)
        return
    path, rows = made.path, made.rows
    out.print(Text(f"demo workspace: {path} (sample mailbox imported from "
                   f"{path / 'sample-mailbox.mbox'})", style="bold"))
    out.print(status_table(rows, made.today))
    for row in rows:
        out.print(Text(f"{row.ref}: {row.explanation}"))
    out.print(Text(
        f"\nTry: tracker -w {path} request show {rows[0].ref}\n"
        f"     tracker -w {path} letter {rows[0].ref}\n"
        f"     tracker -w {path} inbox\n"
        f"     tracker demo --serve       (the same in the browser)"))


def _serve_demo(path: Path, port: int) -> None:
    """Serve the demo workspace just built on loopback, with a demo admin login."""
    import logging
    import threading
    import webbrowser

    from tracker.services.demo import add_demo_login
    from tracker.web.serving import ServeOptions, serve

    ws = Workspace(load_settings(path), actor="demo")
    name, password = add_demo_login(ws)
    url = f"http://127.0.0.1:{port}/"
    click.echo(f"demo workspace: {path}\nopen {url} and sign in as {name} with the password "
               f"{password}\n(Ctrl-C stops)")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = threading.Event()
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        def _open() -> None:  # only where there is a screen: no text browser in the terminal
            if started.wait(30):
                webbrowser.open(url)
        threading.Thread(target=_open, daemon=True).start()
    try:
        serve(ws, ServeOptions(port=port, watch=False), started=started)
    finally:
        ws.close()
