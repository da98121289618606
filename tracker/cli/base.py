"""The command group, and what every command shares: errors, output, today, the workspace.

Output goes through `out` (a rich console that makes every printed character inert, see
tracker.inert), `echo` (plain lines, inert) or `emit_json` (JSON with terminal controls escaped):
whatever a command prints may come from a hostile message.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from tracker import __version__
from tracker.config.loading import find_workspace, load_settings
from tracker.core.clock import check_day
from tracker.core.errors import DatabaseError, InputError, TrackerError
from tracker.core.inert import inert_json, inert_line, inert_text
from tracker.report.console import inert_console
from tracker.services.workspace import Workspace

# Piped output (reports pasted into mail, logs) gets a usable width instead of rich's 80.
out = inert_console(highlight=False,
                    width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 140))


def echo(text: str = "", err: bool = False) -> None:
    """Print lines of text (to stderr with *err*), made inert (tracker.inert)."""
    click.echo(inert_text(text), err=err)


def fail(message: str, code: int = 1) -> NoReturn:
    # One line, whatever the message quotes (a subject, a database error echoing a value).
    click.echo(f"tracker: error: {inert_line(message)}", err=True)
    sys.exit(code)


class TrackerGroup(click.Group):
    """Turns every TrackerError into one line on stderr and its exit code; no tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            fail(str(exc), exc.exit_code)
        except SQLAlchemyError as exc:
            text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            fail(f"database error: {text[0] if text else type(exc).__name__}",
                 DatabaseError.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)


# Which module defines each command: a command's module (and the library parts it needs) is
# imported only when that command runs, so that `tracker sync` does not load the evidence
# exporter. tests/test_docs.py checks this table against the modules.
COMMAND_MODULES = {
    "init": "setup", "db": "setup", "demo": "setup",
    "platform": "directory", "template": "directory",
    "request": "requests", "case": "requests", "letter": "requests", "send": "requests",
    "mark-sent": "requests", "follow-up": "requests", "record-reply": "requests",
    "extend": "requests", "close": "requests", "reopen": "requests",
    "draft": "drafts",
    "status": "status",
    "sync": "mail", "import": "mail", "watch": "mail", "inbox": "mail", "link": "mail",
    "dismiss": "mail", "inspect": "mail", "message": "message",
    "report": "report", "stats": "report", "export": "report",
    "remind": "schedule", "run-scheduled": "schedule",
    "evidence": "evidence",
}


class MainGroup(TrackerGroup):
    """The top-level group: loads each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            importlib.import_module(f"tracker.cli.{COMMAND_MODULES[cmd_name]}")
        return super().get_command(ctx, cmd_name)


def emit_json(data: Any) -> None:
    """Print *data* as JSON, exact, with what a terminal would obey written as escapes."""
    click.echo(inert_json(json.dumps(data, indent=2, ensure_ascii=False, default=str)))


def now_for(ws: Workspace) -> datetime:
    """The current moment; ``TRACKER_TODAY`` fixes the date (the time of day stays real)."""
    tz = ws.settings.tz
    real = datetime.now(tz)
    fixed = ws.env.get("TRACKER_TODAY")
    if not fixed:
        return real
    try:
        day = date.fromisoformat(fixed)
    except ValueError:
        raise InputError(f"TRACKER_TODAY={fixed!r} is not a date; use YYYY-MM-DD") from None
    return datetime.combine(check_day(day, "TRACKER_TODAY"), real.timetz())


def parse_day(text: str | None, option: str) -> date | None:
    """The day given to *option* (YYYY-MM-DD), or None when it was not given."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date; use YYYY-MM-DD") from None
    return check_day(day, option)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "staff"


def with_workspace(func: Callable[..., Any]) -> Callable[..., Any]:
    """Open the workspace for a command and pass it as the first argument."""

    @click.pass_context
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        root = ctx.find_root()
        explicit = root.params.get("workspace")
        path = find_workspace(explicit)
        ws = Workspace(load_settings(path), actor=os.environ.get("TRACKER_ACTOR") or _user())
        if ws.read_only:
            click.echo(f"tracker: note: workspace {path} is read-only: the database is opened "
                       "read-only; commands that change it will fail", err=True)
        try:
            return func(ws, *args, **kwargs)
        finally:
            ws.close()

    wrapper.__name__, wrapper.__doc__ = func.__name__, func.__doc__
    wrapper.__module__ = func.__module__
    return wrapper


@click.group(cls=MainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", type=click.Path(file_okay=False),
              help="Workspace folder (default: $TRACKER_WORKSPACE, then the current folder "
                   "and its parents).")
@click.version_option(__version__, prog_name="tracker")
def main(workspace: str | None) -> None:
    """tracker: formal inquiries to platforms, their answers, their silence and deadlines.

    Set TRACKER_TODAY=YYYY-MM-DD to run any command as of another day.
    """
    os.umask(0o077)  # everything tracker creates is private to its user
