"""`tracker config`: show the settings and where each comes from, set or unset one key."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from tracker.cli.base import TrackerGroup, actor, echo, emit_json, main, out
from tracker.config.editing import override_variable
from tracker.config.loading import find_workspace
from tracker.services import configuration


def _workspace(ctx: click.Context) -> Path:
    # Not with_workspace: that loads the settings, and a broken tracker.toml is what
    # `config set` and `unset` are there to mend.
    return find_workspace(ctx.find_root().params.get("workspace"))


@main.group(name="config", cls=TrackerGroup)
def config_group() -> None:
    """Show and change tracker.toml safely (validated, comments kept, no secrets).

    Keys are SECTION.KEY, as in `tracker config set imap.host imap.org.example`. Every change
    is checked as every command checks the file, and nothing is written if it fails.
    """


@config_group.command(name="show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def config_show(ctx: click.Context, as_json: bool) -> None:
    """Every setting as loaded, and where it comes from: tracker.toml, the environment or the
    default (secrets and commands are shown only as set or not)."""
    rows = configuration.effective_settings(_workspace(ctx))
    if as_json:
        emit_json([{"key": key, "value": value, "from": origin} for key, value, origin in rows])
        return
    table = Table("key", "value", "from")
    for key, value, origin in rows:
        table.add_row(Text(key), Text(value), Text(origin))
    out.print(table)


def _recorded(done: bool) -> None:
    if not done:
        echo("note: the database could not be opened, so this change is not in the record",
             err=True)


@config_group.command(name="set")
@click.argument("key")
@click.argument("value")
@click.pass_context
def config_set(ctx: click.Context, key: str, value: str) -> None:
    """Set KEY (section.key) to VALUE in tracker.toml; lists are comma-separated."""
    path = _workspace(ctx)
    configuration.change_setting(path, key, value)
    shown = "set" if key.endswith("_command") else f"set to {value}"  # a command may hold a secret
    echo(f"{key} {shown}")
    _recorded(configuration.record_change_at(path, {key: value}, actor()))
    _note_override(key)


@config_group.command(name="unset")
@click.argument("key")
@click.pass_context
def config_unset(ctx: click.Context, key: str) -> None:
    """Remove KEY (section.key) from tracker.toml: its default applies again."""
    path = _workspace(ctx)
    configuration.remove_setting(path, key)
    echo(f"{key} removed from tracker.toml")
    _recorded(configuration.record_change_at(path, {key: None}, actor()))
    _note_override(key)


def _note_override(key: str) -> None:
    variable = override_variable(key)
    if variable in os.environ:
        echo(f"note: ${variable} is set and overrides {key} in this environment", err=True)
