"""`tracker message show ID`: one stored message, safe to read in a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tracker.cli.base import TrackerGroup, echo, emit_json, main, with_workspace
from tracker.core.errors import InputError
from tracker.core.inert import inert_line, inert_text
from tracker.mail.admission import RULES
from tracker.services.files import write_new_file
from tracker.services.messages import MessageView, raw_message, show_message
from tracker.services.workspace import Workspace
from tracker.store import db


@main.group(cls=TrackerGroup)
def message() -> None:
    """Stored messages: read one safely, or take its exact bytes."""


@message.command(name="show")
@click.argument("message_id", metavar="ID", type=int)
@click.option("--raw", is_flag=True,
              help="The exact stored bytes (the .eml), untouched: binary, for evidence.")
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="With --raw: write them to this new file (mode 0600) instead of stdout.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def message_show(ws: Workspace, message_id: int, raw: bool, output: Path | None,
                 as_json: bool) -> None:
    """A stored message: its headers, how tracker judged it, its text and attachments.

    IDs are in `tracker inbox` and `tracker request show REF`. Everything the sender wrote is
    shown inert: escape sequences, hidden line breaks and bidi controls appear as U+FFFD.
    """
    if output is not None and not raw:
        raise InputError("--output writes the exact bytes: add --raw")
    if raw and as_json:
        raise InputError("give --raw or --json, not both")
    if raw:
        with db.transaction(ws.engine) as session:
            data = raw_message(session, message_id)
        if output is None:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            write_new_file(output, data)
            echo(f"wrote message {message_id} ({len(data)} bytes) to {output}", err=True)
        return
    with db.transaction(ws.engine) as session:
        view = show_message(session, message_id, ws.settings.tz)
    if as_json:
        emit_json(view.to_dict())
        return
    _print(view)


def _print(view: MessageView) -> None:
    # Values from mail are made one line each (a CR LF in a subject must not start a line of
    # its own); echo makes the whole output inert as the last guard.
    direction = "inbound" if view.direction == "in" else "outbound"
    echo(f"message {view.id}: {direction} {view.kind}, {view.status}"
         f"{' ' + view.at if view.at else ''} (stored {view.stored_at})")
    for name, value in view.headers:
        echo(f"{name}: {inert_line(value)}")
    judged = [("request", view.ref or "-")]
    if view.direction == "in":  # how tracker judged it when it arrived
        counts = f"{view.admission}: {RULES.get(view.admission, '')}" if view.admission \
            else "no" + (f" (waits for a person: {view.hold})" if view.hold else "")
        if view.sender_source:
            judged.append(("sender", f"{view.sender} (taken from {view.sender_source}: no "
                           "usable From: header; a guess, never verified)"))
        judged += [("match", view.match_rule or "-"), ("authenticity", view.authenticity or "-"),
                   ("counts", counts), ("triage", view.triage or "-"), ("ticket", view.ticket),
                   ("bounced", "; ".join(view.bounced)), ("reasons", "; ".join(view.reasons)),
                   ("defects", "; ".join(view.defects))]
    judged.append(("note", view.note))
    echo()
    for label, value in judged:
        if value:
            echo(f"{label}: {inert_line(value)}")
    if view.size:
        echo(f"stored: {view.size} bytes ({view.file_type}), sha256 {view.sha256}")
    elif view.direction == "out":
        echo(f"stored: no bytes yet (a draft: `tracker letter {view.ref}` shows it)")
    else:
        echo("stored: no bytes (a reply recorded by hand)")
    if view.size and not view.is_mail:
        echo(f"not an email: save it with `tracker message show {view.id} --raw --output FILE`")
    if view.is_mail:
        echo()
        echo("text (from the HTML part):" if view.text_from_html else "text:")
        echo(inert_text(view.text).strip("\n") or "(no text)")
    if view.attachments:
        echo()
        echo("attachments:")
        for item in view.attachments:
            echo(f"  {inert_line(item.name) or '(no name)'}  {inert_line(item.content_type)}  "
                 f"{item.size} bytes")
    if view.size:
        echo()
        echo(f"the exact message: `tracker message show {view.id} --raw --output FILE`")
