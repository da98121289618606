"""Commands that create, send, record and close requests."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from tracker.cli.base import (
    TrackerGroup,
    echo,
    emit_json,
    main,
    now_for,
    out,
    parse_day,
    with_workspace,
)
from tracker.cli.status import print_status
from tracker.core import clock
from tracker.core.errors import InputError
from tracker.core.iso import iso_day
from tracker.core.tags import parse_ref
from tracker.letters.loading import parse_var_assignments
from tracker.report.console import cell
from tracker.services import actions, compose, intake, paper, receipts, records, sending
from tracker.services.files import read_file, write_atomic, write_new_file
from tracker.services.overview import show_request
from tracker.services.receipts import Upload
from tracker.services.workspace import Workspace
from tracker.store import db
from tracker.store.models import Channel, Document, DocumentRole, Resolution


@main.group(cls=TrackerGroup)
def request() -> None:
    """Create and inspect requests."""


@request.command(name="new")
@click.option("--platform", "platform_slug", required=True, help="Platform slug (see "
              "`tracker platform list`).")
@click.option("--template", "template_name", required=True, help="Template name (see "
              "`tracker template list`).")
@click.option("--case", "case_title", default=None, help="Short description of a new case.")
@click.option("--case-id", type=int, default=None, help="Attach to an existing case.")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="A template variable (repeat).")
@click.option("--to", default=None, help="Recipient address (default: platform's contact).")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), default=None,
              help="How the letter goes (default: from the recipient / platform).")
@click.option("--language", default=None, type=click.Choice(["en", "zh-Hans"]),
              help="Letter language (default: workspace's).")
@click.option("--deadline", default=None, help="Deadline rule: 30d, 20bd, 1m, gdpr, ccpa, dsa.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def request_new(ws: Workspace, platform_slug: str, template_name: str, case_title: str | None,
                case_id: int | None, variables: Sequence[str], to: str | None,
                channel: str | None, language: str | None, deadline: str | None,
                as_json: bool) -> None:
    """Create a draft request and print its reference."""
    spec = intake.new_request(platform=platform_slug, template=template_name,
                              language=language, case_title=case_title, case_id=case_id,
                              variables=parse_var_assignments(list(variables)), to=to,
                              channel=channel, deadline=deadline)
    req = actions.create_request(ws, spec, now_for(ws))
    if as_json:
        emit_json({"ref": req.ref, "state": req.state, "platform": req.platform_slug,
                   "template": req.template, "language": req.language,
                   "recipient": req.recipient, "channel": req.channel,
                   "deadline": req.deadline_rule, "case_id": req.case_id})
    else:
        click.echo(req.ref)


@request.command(name="show")
@click.argument("ref")
@click.option("--as-of", default=None, help="Compute the clock as of this day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def request_show(ws: Workspace, ref: str, as_of: str | None, as_json: bool) -> None:
    """Everything about a request: facts, clock with its explanation, timeline."""

    day = parse_day(as_of, "--as-of") or now_for(ws).date()
    shown = show_request(ws, ref, day)
    req, row, items = shown.request, shown.row, shown.timeline
    data = {**row.to_dict(), "as_of": day.isoformat(), "case_id": req.case_id,
            "case": shown.case_title, "language": req.language,
            "variables": req.variables, "extensions": req.extensions, "timeline": items,
            "tickets": list(req.tickets), "tracking": shown.tracking,
            "documents": [{"id": d.id, "role": d.role, "media_type": d.media_type,
                           "label": d.label, "size": d.size, "sha256": d.sha256}
                          for d in shown.documents]}
    if as_json:
        emit_json(data)
        return
    out.print(cell(f"{row.ref}  {row.subject}", style="bold"), soft_wrap=True)
    for label in ("platform", "template", "language", "state", "resolution", "channel",
                  "recipient", "case", "rule", "sent_on", "due_on", "days_without_response",
                  "business_days_without_response", "overdue", "last_reply_on"):
        value = data.get(label)
        if value not in (None, "", False):
            out.print(cell(f"{label.replace('_', ' ')}: {value}"))
    out.print(cell(f"clock: {row.explanation}", style="red" if row.overdue else ""))
    if req.tickets:
        out.print(cell(f"platform tickets: {', '.join(req.tickets)}"))
    for tracking in shown.tracking:
        out.print(cell(f"tracking: {tracking}"))
    if shown.documents:
        out.print(Text("\nkept files:", style="bold"))
    for d in shown.documents:
        kind = "letter as posted" if d.role == DocumentRole.LETTER else "receipt"
        out.print(cell(f"  {d.id}: {kind} {d.label} ({d.media_type}, {d.size} bytes) sha256 "
                       f"{d.sha256}"), soft_wrap=True)
    out.print(Text("\ntimeline:", style="bold"))
    for item in items:
        if item["type"] == "event":
            change = (f" {item['from_state']} -> {item['to_state']}"
                      if item["from_state"] != item["to_state"] else "")
            out.print(cell(f"  {item['at']}  event {item['kind']}{change} by {item['actor']}"))
        else:
            # The id is what `tracker message show` reads (and `link` and `dismiss` take).
            # Not wrapped: a subject padded to a known width must not start a line of its own.
            arrow = "->" if item["direction"] == "out" else "<-"
            out.print(cell(f"  {item['at']}  {arrow} message {item['id']}: {item['kind']} "
                           f"{item['status']} via {item['channel']} {item['subject']}".rstrip()),
                      soft_wrap=True)
    if any(item["type"] == "message" for item in items):
        click.echo("read a message with `tracker message show ID`")


@request.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def request_list(ws: Workspace, as_json: bool) -> None:
    """List every request, closed ones included."""
    print_status(ws, None, None, False, True, as_json)


@main.group(cls=TrackerGroup)
def case() -> None:
    """Cases: the incidents behind requests."""


@case.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def case_list(ws: Workspace, as_json: bool) -> None:
    """List cases with their ids (for `request new --case-id`)."""
    rows = [{"id": c.id, "title": c.title, "account": c.account,
             "incident_on": iso_day(c.incident_on)} for c in intake.list_cases(ws)]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "title", "account", "incident")
    for r in rows:
        table.add_row(str(r["id"]), Text(str(r["title"])), Text(str(r["account"])),
                      Text(str(r["incident_on"] or "-")))
    out.print(table)


@main.command()
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["text", "html", "eml", "pdf"]),
              default="text", help="text, html, the exact email (.eml), or pdf to print.")
@click.option("--language", default=None, type=click.Choice(["en", "zh-Hans"]),
              help="Preview the letter in this language (nothing is changed).")
@click.option("--output", "-o", default=None, type=click.Path(),
              help="Write it to this file (pdf: required unless piped).")
@with_workspace
def letter(ws: Workspace, ref: str, fmt: str, language: str | None,
           output: str | None) -> None:
    """Print the request's letter: the draft, or the last one sent (eml: the exact bytes;
    pdf: the letter on paper, with letterhead and the recipient's postal address)."""
    now = now_for(ws)
    if fmt == "pdf":
        _letter_pdf(ws, ref, now.date(), language, output)
        return
    with db.transaction(ws.engine) as session:
        req = records.get_request(session, ref)
        if language is None:
            current = compose.current_letter(ws, session, req, now.date())
        else:
            current = compose.letter_in_language(ws, session, req, language, now.date())
            if current.message.status == "sent":
                click.echo(f"{req.ref}: the letter sent in {current.message.language} stays "
                           f"as sent; this is its template {current.template.label} as of "
                           "today, not what went out", err=True)
        if fmt == "eml":
            message = current.message
            raw = message.raw if message.status == "sent" and message.raw and not language \
                else compose.preview_email(ws, session, req, message, now, language)
            _write_out(raw, output, f"the email of {req.ref}")
            return
    if fmt == "html":
        _write_out(current.rendered.html.encode() if output else current.rendered.html,
                   output, f"the letter of {req.ref}")
    else:
        text = f"Subject: {current.rendered.subject}\n\n{current.rendered.text}"
        _write_out(text.encode() if output else text, output, f"the letter of {req.ref}")


def _write_out(data: bytes | str, output: str | None, what: str) -> None:
    if output:
        write_atomic(Path(output), data if isinstance(data, bytes) else data.encode())
        click.echo(f"wrote {what} to {output}", err=True)
    elif isinstance(data, str):
        click.echo(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _letter_pdf(ws: Workspace, ref: str, today: date, language: str | None,
                output: str | None) -> None:
    if output is None and sys.stdout.isatty():
        raise InputError("a PDF is not for the terminal: give --output FILE (e.g. --output "
                         f"{parse_ref(ref)}.pdf)")
    made = paper.request_pdf(ws, ref, today, language)
    for warning in made.warnings:
        echo(f"warning: {warning}", err=True)
    _write_out(made.data, output, f"the letter of {made.ref}")
    said = "as posted" if made.stored else f"dated {clock.format_day(made.letter_date)}"
    click.echo(f"{made.ref}: PDF {said}, {len(made.data)} bytes, sha256 {made.sha256}",
               err=True)


@main.command()
@click.argument("ref")
@click.option("--dry-run", is_flag=True, help="Print the email instead of sending it.")
@click.option("--retry", is_flag=True,
              help="Send again a letter whose earlier send was interrupted.")
@with_workspace
def send(ws: Workspace, ref: str, dry_run: bool, retry: bool) -> None:
    """Send the request's pending letter by SMTP."""
    result = sending.send_request(ws, ref, now_for(ws), dry_run=dry_run, retry=retry)
    if dry_run:
        sys.stdout.buffer.write(result.outgoing.raw)
        sys.stdout.buffer.flush()
        click.echo(f"\n(dry run: nothing sent; {len(result.outgoing.raw)} bytes)", err=True)
        return
    click.echo(f"sent {result.ref} to {', '.join(result.outgoing.recipients)} "
               f"{result.outgoing.message_id} sha256 {result.outgoing.sha256[:16]}")


@main.command(name="mark-sent")
@click.argument("ref")
@click.option("--on", "on", required=True, help="Day (or day and time) it went out.")
@click.option("--channel", required=True, type=click.Choice([c.value for c in Channel]),
              help="How it went out.")
@click.option("--note", default="", help="Anything else to keep with it.")
@click.option("--receipt", "receipt_files", multiple=True, type=click.Path(),
              help="Proof it went: the form's confirmation page (PDF or screenshot), the "
              "confirmation email, a post office receipt (repeat).")
@click.option("--tracking", default="", help="Registered post: the tracking number, e.g. "
              "RR123456785DE.")
@click.option("--ticket", default="", help="The ticket or case number the web form showed; "
              "replies quoting it match this request.")
@click.option("--pdf", "pdf_file", default=None, type=click.Path(),
              help="Post or fax: the PDF that was printed, to keep exactly (default: the one "
              "`tracker letter --format pdf` makes, dated --on).")
@with_workspace
def mark_sent(ws: Workspace, ref: str, on: str, channel: str, note: str,
              receipt_files: Sequence[str], tracking: str, ticket: str,
              pdf_file: str | None) -> None:
    """Record that the letter went by web form, post, fax or another mail client."""
    moment = records.parse_when(on, ws.settings.tz)
    receipts = [_upload(name, ws.settings.letters.receipt_max_mb) for name in receipt_files]
    pdf = _upload(pdf_file, ws.settings.letters.receipt_max_mb) if pdf_file else None
    done = sending.mark_sent(ws, ref, moment, channel, note, now_for(ws), receipts=receipts,
                             tracking=tracking, ticket=ticket, pdf=pdf)
    for warning in done.warnings:
        echo(f"warning: {warning}", err=True)
    click.echo(f"recorded {parse_ref(ref)} as sent by {done.message.channel} on "
               f"{clock.format_day(moment.date())}")
    _print_kept(done.documents, done.tracking, done.message.ticket if ticket else "")


def _upload(name: str, limit_mb: int) -> Upload:
    """A file named on the command line, read no further than the receipts' size limit and a
    byte (the service says it is over the limit)."""
    path = Path(name)
    return Upload(path.name, read_file(path, limit=limit_mb * 2**20, cut=True))


def _print_kept(documents: Sequence[Document], tracking: str, ticket: str) -> None:
    for document in documents:
        what = "letter as posted" if document.role == DocumentRole.LETTER else "receipt"
        echo(f"kept {what} {document.label} ({document.media_type}, {document.size} bytes) "
             f"sha256 {document.sha256}")
    if tracking:
        echo(f"tracking: {tracking}")
    if ticket:
        echo(f"platform ticket: {ticket}")


@main.group(cls=TrackerGroup)
def receipt() -> None:
    """Proof that letters went out: saved confirmation pages, screenshots, scans."""


@receipt.command(name="add")
@click.argument("ref")
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--note", default="", help="What it is, e.g. 'delivery confirmation'.")
@click.option("--tracking", default="", help="The registered letter's tracking number.")
@click.option("--ticket", default="", help="The platform's ticket or case number.")
@with_workspace
def receipt_add(ws: Workspace, ref: str, files: Sequence[str], note: str, tracking: str,
                ticket: str) -> None:
    """Keep FILES (PDF, PNG, JPEG, EML or text) as receipts of the last letter REF sent."""
    uploads = [_upload(name, ws.settings.letters.receipt_max_mb) for name in files]
    added = receipts.add_receipts(ws, ref, uploads, now_for(ws), note=note, tracking=tracking,
                                  ticket=ticket)
    _print_kept(added.documents, added.tracking, added.ticket)


@receipt.command(name="list")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def receipt_list(ws: Workspace, ref: str, as_json: bool) -> None:
    """The files kept for REF: posted letters' PDFs and receipts, with their SHA-256."""
    found_ref, documents = receipts.list_documents(ws, ref)
    if as_json:
        emit_json([{"id": d.id, "role": d.role, "media_type": d.media_type, "label": d.label,
                    "size": d.size, "sha256": d.sha256, "note": d.note,
                    "added_by": d.added_by, "added_at": d.added_at.isoformat()}
                   for d in documents])
        return
    if not documents:
        echo(f"{found_ref} has no receipts; add one with `tracker receipt add {found_ref} FILE`")
        return
    table = Table(box=None)
    for column in ("id", "kind", "file", "type", "bytes", "added", "sha256"):
        table.add_column(column)
    for d in documents:
        table.add_row(str(d.id), "letter" if d.role == DocumentRole.LETTER else "receipt",
                      cell(d.label), d.media_type, str(d.size),
                      clock.format_day(clock.local_date(d.added_at, ws.settings.tz)), d.sha256)
    out.print(table)


@receipt.command(name="get")
@click.argument("ref")
@click.argument("document_id", type=int)
@click.option("--output", "-o", required=True, type=click.Path(),
              help="A new file to write it to.")
@with_workspace
def receipt_get(ws: Workspace, ref: str, document_id: int, output: str) -> None:
    """Write kept file DOCUMENT_ID of REF, exactly as it was kept."""
    found = receipts.get_document(ws, ref, document_id)
    write_new_file(Path(output), found.data)
    echo(f"wrote {found.info.label} ({found.info.size} bytes, sha256 {found.info.sha256}) to "
         f"{output}")


@main.command(name="follow-up")
@click.argument("ref")
@click.option("--template", "template_name", default="follow-up",
              help="follow-up or final-notice (or your own follow-up template).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE",
              help="A template variable (repeat).")
@click.option("--language", default=None, type=click.Choice(["en", "zh-Hans"]),
              help="Letter language (default: the request's).")
@with_workspace
def follow_up(ws: Workspace, ref: str, template_name: str, variables: Sequence[str],
              language: str | None) -> None:
    """Draft a follow-up letter on a request, threaded to the first one."""
    actions.draft_follow_up(ws, ref, template_name, parse_var_assignments(list(variables)),
                            now_for(ws), language)
    click.echo(f"drafted {template_name} for {parse_ref(ref)}; review it with "
               f"`tracker letter {parse_ref(ref)}`, then `tracker send {parse_ref(ref)}` (or "
               f"`tracker draft approve {parse_ref(ref)}` for `tracker remind --send`)")


@main.command(name="record-reply")
@click.argument("ref")
@click.option("--on", "on", required=True, help="Day (or day and time) it arrived.")
@click.option("--kind", type=click.Choice(["answer", "acknowledgement"]), default="answer",
              help="answer stops the clock; acknowledgement does not.")
@click.option("--note", default="", help="What it said, where it came from.")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The reply as a file (.eml, scan) to keep with it.")
@with_workspace
def record_reply(ws: Workspace, ref: str, on: str, kind: str, note: str,
                 file: str | None) -> None:
    """Record a reply that came by post, portal or phone (not through the mailbox)."""
    raw = read_file(Path(file)) if file else None
    moment = records.parse_when(on, ws.settings.tz, end_of_day=True)
    actions.record_reply(ws, ref, moment, kind, note, now_for(ws), raw)
    click.echo(f"recorded {kind} for {parse_ref(ref)}")


@main.command()
@click.argument("ref")
@click.argument("rule", required=False)
@click.option("--reason", default="", help="Who extended it and why (required without "
              "--notice).")
@click.option("--notice", type=int, default=None, metavar="ID",
              help="The platform's extension notice (a message id): its period and date.")
@with_workspace
def extend(ws: Workspace, ref: str, rule: str | None, reason: str, notice: int | None) -> None:
    """Extend the deadline by RULE (2m, 14d, 10bd, or `statutory`), or by what the platform's
    extension notice (--notice ID) says."""
    done = actions.extend_deadline(ws, ref, rule, reason, now_for(ws), notice)
    for warning in done.warnings:
        echo(f"warning: {warning}", err=True)
    req = done.request
    due = clock.format_day(req.due_on) if req.due_on else "-"
    click.echo(f"{req.ref} now due {due}")


@main.command()
@click.argument("ref")
@click.option("--resolution", required=True, type=click.Choice([r.value for r in Resolution]),
              help="How it ended.")
@click.option("--note", default="", help="Why.")
@with_workspace
def close(ws: Workspace, ref: str, resolution: str, note: str) -> None:
    """Close a request with a resolution."""
    req = actions.close_request(ws, ref, resolution, note, now_for(ws))
    click.echo(f"closed {req.ref}: {resolution}")


@main.command()
@click.argument("ref")
@with_workspace
def reopen(ws: Workspace, ref: str) -> None:
    """Reopen a closed request."""
    req = actions.reopen_request(ws, ref, now_for(ws))
    click.echo(f"reopened {req.ref}: {req.state}")
