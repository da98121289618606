"""The command group, and what every command shares: errors, output, today, the workspace.

Output goes through `out` (a rich console that makes every printed character inert, see
tracker.inert), `echo` (plain lines, inert) or `emit_json` (JSON with terminal controls escaped):
whatever a command prints may come from a hostile message.

Nothing here imports the database layer, the templates or the holiday calendars at start:
`tracker --help` and `--version` load only click and rich (tests/test_startup.py), and a
command imports what it needs when it runs (its module, see ``COMMAND_MODULES``).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from tracker import __version__
from tracker.core.errors import DatabaseError, InputError, TrackerError
from tracker.core.inert import inert_json, inert_line, inert_text
from tracker.report.console import inert_console

if TYPE_CHECKING:
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
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            fail(f"database error: {text[0] if text else type(exc).__name__}",
                 DatabaseError.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)


def _is_database_error(exc: Exception) -> bool:
    """Is *exc* SQLAlchemy's? Asked without importing it: if nothing loaded SQLAlchemy, no
    command used the database, and the error is something else."""
    module = sys.modules.get("sqlalchemy.exc")
    return module is not None and isinstance(exc, module.SQLAlchemyError)


# Which module defines each command: a command's module (and the library parts it needs) is
# imported only when that command runs, so that `tracker sync` does not load the evidence
# exporter. tests/test_docs.py checks this table against the modules.
COMMAND_MODULES = {
    "init": "setup", "db": "setup", "demo": "setup",
    "platform": "directory", "template": "directory",
    "request": "requests", "case": "requests", "letter": "requests", "send": "requests",
    "mark-sent": "requests", "follow-up": "requests", "record-reply": "requests",
    "extend": "requests", "close": "requests", "reopen": "requests", "receipt": "requests",
    "draft": "drafts",
    "status": "status",
    "search": "search",
    "sync": "mail", "import": "mail", "watch": "mail", "inbox": "mail", "link": "mail",
    "dismiss": "mail", "inspect": "mail", "message": "message",
    "report": "report", "stats": "report", "export": "report",
    "remind": "schedule", "run-scheduled": "schedule",
    "evidence": "evidence",
    "user": "users",
    "serve": "serve",
    "auth": "auth", "setup": "mail_setup",
    "config": "configure",
}

# Each command's help summary (the first paragraph of its docstring), so that `tracker --help`
# lists the commands without importing them. tests/test_startup.py checks it against them.
COMMAND_SUMMARIES = {
    "auth": "Sign in to the mail provider (Microsoft 365, Google) for IMAP and SMTP.",
    "case": "Cases: the incidents behind requests.",
    "config": "Show and change tracker.toml safely (validated, comments kept, no secrets).",
    "close": "Close a request with a resolution.",
    "db": "Database schema migrations and a consistency check.",
    "demo": "Build a throw-away workspace with a sample case, and show its status.",
    "dismiss": "Set inbox MESSAGE aside: it stays stored but never counts.",
    "draft": "Letters waiting to be sent: review and approve, redraft or discard them.",
    "evidence": "Evidence bundles: requests as a zip of their exact mail with a SHA-256 "
                "manifest.",
    "export": "Every request, closed ones too, with states and dates (CSV or JSON).",
    "extend": "Extend the deadline by RULE (2m, 14d, 10bd, or `statutory`), or by what the "
              "platform's extension notice (--notice ID) says.",
    "follow-up": "Draft a follow-up letter on a request, threaded to the first one.",
    "import": "Import past mail from an mbox file, a Maildir or .eml files (idempotent).",
    "inbox": "Messages waiting for a person, each with why: unmatched, probable matches, "
             "senders that are not the platform's, unproven or suspicious replies, kinds in "
             "doubt.",
    "init": "Create a workspace in DIRECTORY: tracker.toml, a private database and folders for "
            "your own templates and platforms.",
    "inspect": "Show how tracker sees an .eml file, without storing anything.",
    "letter": "Print the request's letter: the draft, or the last one sent (eml: the exact "
              "bytes; pdf: the letter on paper, with letterhead and the recipient's postal "
              "address).",
    "link": "Confirm that inbox MESSAGE belongs to request REF (and counts for it).",
    "mark-sent": "Record that the letter went by web form, post, fax or another mail client.",
    "message": "Stored messages: read one safely, or take its exact bytes.",
    "platform": "The platform directory: who to write to, and how.",
    "receipt": "Proof that letters went out: saved confirmation pages, screenshots, scans.",
    "record-reply": "Record a reply that came by post, portal or phone (not through the "
                    "mailbox).",
    "remind": "Draft follow-ups for overdue requests (safe to run daily: never twice per "
              "window).",
    "reopen": "Reopen a closed request.",
    "report": "Reports for staff: the weekly overdue report.",
    "request": "Create and inspect requests.",
    "run-scheduled": "Run the jobs whose time has come (weekly report, daily reminders); for "
                     "cron.",
    "search": "Find requests by reference, platform, subject or the text of their messages.",
    "send": "Send the request's pending letter by SMTP.",
    "setup": "Guided setup: connect the organisation's mailbox.",
    "stats": "Per platform: requests, answered share, median days to the first reply, longest "
             "silence; over all time and per year of the first letter.",
    "status": "One row per open request: days without response, deadline, overdue.",
    "sync": "Read new mail once (IMAP, read-only) and match it to requests.",
    "template": "Letter templates (shipped, and your workspace's templates/ folder).",
    "user": "People who sign in to the web face (`tracker serve`): add, list, disable, "
            "passwords.",
    "serve": "Serve the workspace to a browser: the web dashboard (and the mailbox watcher).",
    "watch": "Watch the mailbox (IMAP IDLE) and keep requests up to date until stopped.",
}


class MainGroup(TrackerGroup):
    """The top-level group: loads each command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMAND_MODULES, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            _import_for_good(f"tracker.cli.{COMMAND_MODULES[cmd_name]}")
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands, as click lays it out, without importing them: a command not
        loaded yet is shown by a stand-in with its summary (`COMMAND_SUMMARIES`)."""
        commands = [(name, self.commands.get(name)
                     or click.Command(name, help=COMMAND_SUMMARIES[name]))
                    for name in self.list_commands(ctx)]
        commands = [(name, command) for name, command in commands if not command.hidden]
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit))
                                    for name, command in commands])


def _import_for_good(module: str) -> None:
    """Import a command's module with the cyclic garbage collector held, then freeze it all.

    A command's module brings hundreds of modules (SQLAlchemy, SQLModel, rich) whose objects
    live as long as the process; the collector finds no garbage among them, yet walks them
    again and again while they pile up, and once more when the interpreter exits: a third of
    `tracker status`'s time. Frozen (`gc.freeze`), they are skipped by every later collection;
    what the command then makes is collected as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        importlib.import_module(module)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def emit_json(data: Any) -> None:
    """Print *data* as JSON, exact, with what a terminal would obey written as escapes."""
    click.echo(inert_json(json.dumps(data, indent=2, ensure_ascii=False, default=str)))


def now_for(ws: Workspace) -> datetime:
    """The current moment; ``TRACKER_TODAY`` fixes the date (the time of day stays real)."""
    from tracker.services.workspace import current_time

    return current_time(ws)


def parse_day(text: str | None, option: str) -> date | None:
    """The day given to *option* (YYYY-MM-DD), or None when it was not given."""
    if text is None:
        return None
    from tracker.core.clock import check_day

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not a date; use YYYY-MM-DD") from None
    return check_day(day, option)


def actor() -> str:
    """Who runs the command, for the events it records."""
    return os.environ.get("TRACKER_ACTOR") or _user()


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
        from tracker.config.loading import find_workspace, load_settings
        from tracker.services.workspace import Workspace

        path = find_workspace(explicit)
        ws = Workspace(load_settings(path), actor=actor())
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
