"""`tracker status`: the days-without-response table."""

from __future__ import annotations

import click

from tracker.cli.base import (
    emit_json,
    main,
    now_for,
    out,
    parse_day,
    with_workspace,
)
from tracker.cli.tables import status_table
from tracker.directory.loading import find_platform
from tracker.services.status import status_rows
from tracker.services.workspace import Workspace
from tracker.store import db


def print_status(ws: Workspace, as_of: str | None, platform_slug: str | None, overdue: bool,
                  include_closed: bool, as_json: bool) -> None:
    day = parse_day(as_of, "--as-of") or now_for(ws).date()
    if platform_slug:
        platform_slug = find_platform(ws.platforms, platform_slug).slug
    with db.transaction(ws.engine) as session:
        rows = status_rows(ws, session, day, platform=platform_slug, overdue_only=overdue,
                           include_closed=include_closed)
    if as_json:
        emit_json([r.to_dict() for r in rows])
        return
    if not rows:
        click.echo(f"no {'overdue ' if overdue else ''}open requests as of {day}")
        return
    out.print(status_table(rows, day))


@main.command()
@click.option("--as-of", default=None, help="Day to count to (default: today).")
@click.option("--platform", "platform_slug", default=None, help="Only this platform.")
@click.option("--overdue", is_flag=True, help="Only overdue requests.")
@click.option("--all", "include_closed", is_flag=True, help="Include closed requests.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def status(ws: Workspace, as_of: str | None, platform_slug: str | None, overdue: bool,
           include_closed: bool, as_json: bool) -> None:
    """One row per open request: days without response, deadline, overdue."""
    print_status(ws, as_of, platform_slug, overdue, include_closed, as_json)
