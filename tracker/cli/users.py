"""`tracker user`: the people who sign in to the web face, and their roles."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from rich.table import Table
from rich.text import Text

from tracker.cli.base import TrackerGroup, emit_json, main, out, with_workspace
from tracker.core.errors import InputError
from tracker.services import users
from tracker.services.workspace import Workspace


def _read_password(confirm: bool = True) -> str:
    """Prompted twice on a terminal (not echoed); the first line of stdin otherwise."""
    if sys.stdin.isatty():
        text = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
        return str(text)
    line = sys.stdin.readline()
    if not line:
        raise InputError("no password given: type it at the prompt, or pipe it on stdin")
    return line.rstrip("\r\n")


def _now() -> datetime:
    return datetime.now(UTC)  # accounts and sessions live in real time, not TRACKER_TODAY's


@main.group(cls=TrackerGroup)
def user() -> None:
    """People who sign in to the web face (`tracker serve`): add, list, disable, passwords."""


@user.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "editor", "viewer"]), required=True,
              help="viewer reads; editor also creates, sends and triages; admin also manages "
                   "users and platforms.")
@click.option("--language", type=click.Choice(list(users.LANGUAGES)), default="en",
              show_default=True, help="The interface language.")
@with_workspace
def user_add(ws: Workspace, name: str, role: str, language: str) -> None:
    """Add a person NAME with a role; the password is asked twice (or read from stdin)."""
    users.check_name(name)
    made = users.add_user(ws, name, role, _read_password(), _now(), language=language)
    click.echo(f"added {made.name} ({made.role})")


@user.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def user_list(ws: Workspace, as_json: bool) -> None:
    """List the people, their roles, and whether they are disabled or use a second factor."""
    found = users.list_users(ws)
    rows = [{"name": u.name, "role": u.role, "disabled": u.disabled, "language": u.language,
             "second_factor": bool(u.totp_secret)} for u in found]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no users yet; add the first admin with `tracker user add NAME --role admin`")
        return
    table = Table("name", "role", "state", "language", "second factor")
    for row in rows:
        table.add_row(Text(str(row["name"])), Text(str(row["role"])),
                      Text("disabled" if row["disabled"] else "active"),
                      Text(str(row["language"])), Text("yes" if row["second_factor"] else "no"))
    out.print(table)


@user.command(name="disable")
@click.argument("name")
@with_workspace
def user_disable(ws: Workspace, name: str) -> None:
    """Disable NAME: their sessions end at once and they cannot sign in."""
    users.set_disabled(ws, name, True, _now())
    click.echo(f"disabled {name}; their sessions have ended")


@user.command(name="enable")
@click.argument("name")
@with_workspace
def user_enable(ws: Workspace, name: str) -> None:
    """Let a disabled NAME sign in again."""
    users.set_disabled(ws, name, False, _now())
    click.echo(f"enabled {name}")


@user.command(name="passwd")
@click.argument("name")
@with_workspace
def user_passwd(ws: Workspace, name: str) -> None:
    """Set a new password for NAME (asked twice, or read from stdin); their sessions end."""
    users.set_password(ws, name, _read_password(), _now())
    click.echo(f"changed the password of {name}; their sessions have ended")


@user.command(name="role")
@click.argument("name")
@click.argument("role", type=click.Choice(["admin", "editor", "viewer"]))
@with_workspace
def user_role(ws: Workspace, name: str, role: str) -> None:
    """Give NAME another ROLE."""
    users.set_role(ws, name, role, _now())
    click.echo(f"{name} is now {role}")
