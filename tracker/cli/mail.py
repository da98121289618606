"""Commands for the mailbox: sync, watch, import, inspect, and the triage inbox."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from tracker.cli.base import emit_json, main, now_for, out, with_workspace
from tracker.core.errors import InputError
from tracker.jobs.watch import watch as run_watch
from tracker.mail.authenticity import Trust
from tracker.report.console import cell
from tracker.services.files import read_file
from tracker.services.importer import import_path
from tracker.services.inbound import Counts
from tracker.services.reading import inspect_message, mailbox_trust
from tracker.services.sync import sync_all
from tracker.services.triage import LINK_KINDS, dismiss_message, inbox_items, link_message
from tracker.services.workspace import Workspace
from tracker.store import db


def _report(counts: Counts, as_json: bool, what: str) -> None:
    if as_json:
        emit_json(counts.as_dict())
        return
    data = counts.as_dict()
    click.echo(f"{what}: " + ", ".join(f"{k} {len(v) if isinstance(v, list) else v}"
                                        for k, v in data.items() if v) if any(
        data.values()) else f"{what}: nothing new")
    if counts.unmatched or counts.probable or counts.suspicious or counts.held:
        click.echo("some messages need a person: see `tracker inbox`")


class _Bar:
    """A progress bar on a terminal for long first syncs; silent otherwise."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bar:
        if sys.stderr.isatty():
            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), transient=True)
            self.progress.start()
        return self

    def __call__(self, folder: str, done: int, total: int) -> None:
        if self.progress is None or not total:
            return
        if folder not in self.tasks:
            self.tasks[folder] = self.progress.add_task(folder, total=total)
        self.progress.update(self.tasks[folder], completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@with_workspace
def sync(ws: Workspace, as_json: bool) -> None:
    """Read new mail once (IMAP, read-only) and match it to requests."""
    with _Bar() as bar:
        counts = sync_all(ws, progress=bar, now=lambda: now_for(ws))
    _report(counts, as_json, "sync")


def _trust_options(command: Any) -> Any:
    """--received-by and --trust-mailbox: whose Authentication-Results in files count."""
    command = click.option(
        "--trust-mailbox", is_flag=True,
        help="The files are an export of the organisation's own mailbox: trust them as "
             "[imap] trusted_authserv_ids says.")(command)
    return click.option(
        "--received-by", "received_by", multiple=True, metavar="SERVER",
        help="The authserv-id of the server these messages came in through (repeat); its "
             "Authentication-Results then count. Without it (or --trust-mailbox) no message "
             "from a file is verified.")(command)


@main.command(name="import")
@click.argument("path", type=click.Path(exists=True))
@_trust_options
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@with_workspace
def import_(ws: Workspace, path: str, received_by: tuple[str, ...], trust_mailbox: bool,
            as_json: bool) -> None:
    """Import past mail from an mbox file, a Maildir or .eml files (idempotent)."""
    if received_by and trust_mailbox:
        raise InputError("give --received-by or --trust-mailbox, not both")
    counts = import_path(ws, Path(path), received_by=received_by, trust_mailbox=trust_mailbox,
                         now=lambda: now_for(ws))
    _report(counts, as_json, "import")


@main.command()
@with_workspace
def watch(ws: Workspace) -> None:
    """Watch the mailbox (IMAP IDLE) and keep requests up to date until stopped."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        raise KeyboardInterrupt  # break out of a blocking IDLE read at once

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # imapclient logs whole IMAP conversations (mail content) at DEBUG: never let them through.
    imap_log = logging.getLogger("imapclient")
    level = imap_log.level
    imap_log.setLevel(logging.WARNING)
    try:
        run_watch(ws, stop)
    except KeyboardInterrupt:
        logging.getLogger("tracker.watch").info("stopped")
    finally:
        imap_log.setLevel(level)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def inbox(ws: Workspace, as_json: bool) -> None:
    """Messages waiting for a person, each with why: unmatched, probable matches, senders
    that are not the platform's, unproven or suspicious replies, kinds in doubt."""
    with db.transaction(ws.engine) as session:
        items = inbox_items(session)
    if as_json:
        emit_json([item.__dict__ for item in items])
        return
    if not items:
        click.echo("the inbox is empty")
        return
    table = Table("id", "received", "from", "subject, first lines, why it waits", "kind",
                  "authenticity", "request", title="messages waiting for a person",
                  title_justify="left")
    for item in items:
        style = "bold red" if item.authenticity == "suspicious" else ""
        subject = cell(item.subject[:50])
        for line in item.first_lines:  # already inert
            subject.append(f"\n{line}", style="dim")
        if item.hold:
            subject.append("\n")
            subject.append(cell(f"waits: {item.hold}", "italic"))
        table.add_row(str(item.id), cell((item.received_at or "-")[:16]), cell(item.sender),
                      subject, cell(item.kind), cell(item.authenticity),
                      cell(f"{item.ref} ({item.match_rule})" if item.ref else "-"),
                      style=style)
    out.print(table)
    click.echo("read one with `tracker message show ID`; sort them with `tracker link ID REF` "
               "or `tracker dismiss ID`")


@main.command()
@click.argument("message", type=int)
@click.argument("ref")
@click.option("--as", "kind", type=click.Choice(list(LINK_KINDS)), default=None,
              help="What the message is, if tracker read it wrong.")
@click.option("--approve-domain", is_flag=True,
              help="The sender's domain really answers for this platform: mail from it counts "
                   "from now on (recorded in the event log).")
@with_workspace
def link(ws: Workspace, message: int, ref: str, kind: str | None, approve_domain: bool) -> None:
    """Confirm that inbox MESSAGE belongs to request REF (and counts for it)."""
    linked = link_message(ws, message, ref, now_for(ws), kind=kind,
                          approve_domain=approve_domain)
    approved = f"; {linked.from_addr.rpartition('@')[2]} approved for it" if approve_domain \
        else ""
    click.echo(f"linked message {linked.id} to {ref.upper()} as {linked.kind}{approved}")


@main.command()
@click.argument("message", type=int)
@click.option("--reason", default="", help="Why it does not count.")
@with_workspace
def dismiss(ws: Workspace, message: int, reason: str) -> None:
    """Set inbox MESSAGE aside: it stays stored but never counts."""
    dismiss_message(ws, message, now_for(ws), reason)
    click.echo(f"dismissed message {message}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_trust_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def inspect(ws: Workspace, file: str, received_by: tuple[str, ...], trust_mailbox: bool,
            as_json: bool) -> None:
    """Show how tracker sees an .eml file, without storing anything."""
    raw = read_file(Path(file))
    if not raw:
        raise InputError(f"{file} is empty")
    if received_by and trust_mailbox:
        raise InputError("give --received-by or --trust-mailbox, not both")
    trust = mailbox_trust(ws) if trust_mailbox else Trust.of(received_by)
    with db.transaction(ws.engine) as session:
        data = inspect_message(ws, session, raw, trust)
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        if isinstance(value, list):
            value = "; ".join(value) or "-"
        out.print(cell(f"{key.replace('_', ' ')}: {value if value is not None else '-'}"),
                  soft_wrap=True)  # one line per fact, however long (see `request show`)

