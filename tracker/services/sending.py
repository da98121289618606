"""Letters leaving: SMTP with a crash-safe two-step record, or recorded as sent another way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from tracker.core import clock
from tracker.core.errors import (
    DeliveryUncertain,
    InputError,
    StateError,
    TrackerError,
)
from tracker.core.postal import parse_tracking
from tracker.mail.outbound import Outgoing
from tracker.net import smtp as mailer
from tracker.net.logins import smtp_login
from tracker.services import paper
from tracker.services.actions import create_request
from tracker.services.compose import compose_email, compose_record
from tracker.services.drafts import draft_of
from tracker.services.intake import NewRequest, plan_request
from tracker.services.receipts import (
    Upload,
    check_receipt,
    check_ticket,
    label_of,
    set_ticket,
    set_tracking,
    store_document,
)
from tracker.services.records import get_request, pending_letter, request_messages, settle_state
from tracker.services.search import index_message
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.events import record_event
from tracker.store.models import Channel, Document, DocumentRole, Message, Request


@dataclass(frozen=True)
class SendResult:
    ref: str
    outgoing: Outgoing
    dry_run: bool


def _pending(session: Session, ref: str) -> tuple[Request, Message]:
    """The request and its letter waiting to be sent, or a StateError saying what to do."""
    request = get_request(session, ref)
    message = pending_letter(request_messages(session, request))
    if message is None:
        raise StateError(f"{request.ref} has no letter waiting to be sent (it is "
                         f"{request.state}); draft one with `tracker follow-up {request.ref}`")
    return request, message


def send_request(ws: Workspace, ref: str, now: datetime, *, dry_run: bool = False,
                 retry: bool = False, approved_only: bool = False) -> SendResult:
    """Send the request's pending letter by SMTP; on any failure nothing is recorded as sent.

    *approved_only*: send it only if staff approved this very draft (`tracker draft approve`)
    and did not change it since; checked in the transaction that takes it for sending.

    Two transactions bracket the SMTP call: the first stores the exact bytes and marks the letter
    "sending"; the second marks it sent (or back to draft on failure). A crash in between leaves
    "sending", which `send` refuses to repeat blindly: the letter may or may not have left.
    """
    smtp = ws.settings.smtp
    with transaction(ws.engine) as session:
        request, message = _pending(session, ref)
        if approved_only:
            draft = draft_of(session, request)
            if draft is None or draft.status != "draft" or not draft.approved:
                raise StateError(f"the draft of {request.ref} is not approved; review it with "
                                 f"`tracker letter {request.ref}`, then `tracker draft approve "
                                 f"{request.ref}`")
        if message.channel != Channel.EMAIL:
            raise StateError(
                f"{request.ref} goes by {message.channel} to {message.to_addrs or '(no address)'}"
                f"; submit it there, then run `tracker mark-sent {request.ref} --on DATE "
                f"--channel {message.channel}`")
        if message.status == "sending" and not retry:
            raise StateError(
                f"an earlier send of {request.ref} was interrupted and may have gone out; check "
                f"the Sent folder of {ws.settings.organisation.email}: if it is there run "
                f"`tracker mark-sent {request.ref} --on DATE --channel email`, otherwise "
                f"`tracker send {request.ref} --retry`")
        if message.status == "sending" and message.raw:
            outgoing = Outgoing(raw=message.raw, sha256=message.sha256,
                                message_id=message.message_id, subject=message.subject,
                                sender=message.from_addr,
                                recipients=tuple(message.to_addrs.split(", ")),
                                headers=message.headers)
        else:
            outgoing = compose_email(ws, session, request, message, now)
        if dry_run:  # nothing above changed the database
            return SendResult(request.ref, outgoing, dry_run=True)
        mailer.check_smtp_settings(smtp, signs_in=bool(ws.settings.auth.provider))
        login = smtp_login(ws.settings)  # a sign-in's token may be refreshed: seconds at most
        message.status = "sending"
        message.raw, message.sha256 = outgoing.raw, outgoing.sha256
        message.message_id, message.subject = outgoing.message_id, outgoing.subject
        message.from_addr, message.to_addrs = outgoing.sender, ", ".join(outgoing.recipients)
        message.headers = outgoing.headers
        session.add(message)
        index_message(session, message)
        record_event(session, request, "sending", ws.actor, message=message, at=now,
                     message_id=outgoing.message_id, sha256=outgoing.sha256)
        message_pk = message.id
    try:
        mailer.send_raw(smtp, outgoing.sender, outgoing.recipients, outgoing.raw, login)
    except DeliveryUncertain as exc:
        # Keep the bytes and the "sending" mark: the next `send` asks a person to check.
        with transaction(ws.engine) as session:
            request = get_request(session, ref)
            record_event(session, request, "send_uncertain", ws.actor, error=str(exc))
        raise
    except TrackerError as exc:
        with transaction(ws.engine) as session:
            request = get_request(session, ref)
            failed = session.get(Message, message_pk)
            assert failed is not None
            failed.status, failed.raw, failed.sha256, failed.message_id = "draft", None, "", ""
            session.add(failed)
            index_message(session, failed)
            record_event(session, request, "send_failed", ws.actor, message=failed,
                         error=str(exc))
        raise
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        sent = session.get(Message, message_pk)
        assert sent is not None
        sent.status, sent.occurred_at = "sent", now
        session.add(sent)
        # A follow-up keeps an acknowledged request acknowledged: the messages decide.
        state = settle_state(ws, session, request, clock.local_date(now, ws.settings.tz))
        record_event(session, request, "sent", ws.actor, to_state=state,
                     message=sent, at=sent.occurred_at, channel="email",
                     message_id=outgoing.message_id, sha256=outgoing.sha256,
                     to=list(outgoing.recipients))
    return SendResult(request.ref, outgoing, dry_run=False)


@dataclass(frozen=True)
class MarkedSent:
    """What `mark_sent` recorded: the letter, the files kept with it, and what to tell staff."""

    message: Message
    documents: tuple[Document, ...] = ()  # the posted PDF first, then the receipts
    tracking: str = ""  # the tracking number with its carrier, as `describe` says it
    warnings: tuple[str, ...] = ()


def mark_sent(ws: Workspace, ref: str, on: datetime, channel: str, note: str,
              now: datetime, *, receipts: Sequence[Upload] = (), tracking: str = "",
              ticket: str = "", pdf: Upload | None = None) -> MarkedSent:
    """Record that the pending letter went out by web form, post, fax or another mail client.

    A letter that went by post or fax keeps its PDF: *pdf* if given (the file that was
    printed, exactly), else the PDF `tracker letter --format pdf` makes of it dated the day it
    went out. *receipts* (saved confirmation pages, screenshots, scans), the *tracking*
    number and the platform's *ticket* are kept with it. All of it or nothing is recorded:
    every file is checked before anything is written.
    """
    if channel not in set(Channel):
        raise InputError(f"--channel {channel!r}: use one of {', '.join(Channel)}")
    if on > now + timedelta(minutes=5):
        raise InputError(f"--on {on.date()} is in the future; give the day the letter went out")
    limit = ws.settings.letters.receipt_max_mb
    typed = [(upload, check_receipt(upload, limit)) for upload in receipts]
    if pdf is not None and check_receipt(pdf, limit) != "application/pdf":
        raise InputError(f"--pdf {label_of(pdf.name)} is not a PDF file; give the PDF that "
                         "was printed, or leave --pdf out to keep the one tracker makes")
    if pdf is not None and not paper.posted_channel(channel):
        raise InputError(f"--pdf is for letters sent by post or fax, not by {channel}; give "
                         "the saved page or screenshot with --receipt")
    if tracking:
        parse_tracking(tracking)  # a malformed number is refused before anything is written
    if ticket:
        check_ticket(ticket)
    with transaction(ws.engine) as session:
        request, message = _pending(session, ref)
        message.channel = channel
        recipient = message.to_addrs or request.recipient
        if message.status != "sending":
            outgoing = compose_record(ws, session, request, message, on, recipient)
            message.raw, message.sha256 = outgoing.raw, outgoing.sha256
            message.message_id, message.subject = outgoing.message_id, outgoing.subject
            message.headers = outgoing.headers
            message.from_addr = ws.settings.organisation.email
        message.status, message.occurred_at, message.note = "sent", on, note
        session.add(message)
        session.flush()
        index_message(session, message)
        warnings: list[str] = []
        documents: list[Document] = []
        if paper.posted_channel(channel):
            if pdf is None:
                made = paper.make_pdf(ws, session, request, message,
                                      clock.local_date(on, ws.settings.tz))
                warnings += made.warnings
                pdf = Upload(made.filename, made.data)
            documents.append(store_document(session, request, message, DocumentRole.LETTER,
                                            pdf, "application/pdf", ws.actor, now))
        documents += [store_document(session, request, message, DocumentRole.RECEIPT, upload,
                                     media_type, ws.actor, now)
                      for upload, media_type in typed]
        described = set_tracking(session, request, message, tracking, ws.actor, now) \
            if tracking else ""
        if ticket:
            set_ticket(session, request, message, ticket, ws.actor, now)
        state = settle_state(ws, session, request, clock.local_date(now, ws.settings.tz))
        record_event(session, request, "sent", ws.actor, to_state=state,
                     message=message, at=now, channel=channel, sent_at=on.isoformat(),
                     note=note, recorded=True)
        return MarkedSent(message, tuple(documents), described, tuple(warnings))


@dataclass(frozen=True)
class SentNew:
    """What `create_and_send` did: the request saved, and its letter sent or why not."""

    ref: str
    result: SendResult | None
    error: str


def create_and_send(ws: Workspace, spec: NewRequest, now: datetime) -> SentNew:
    """Create the request *spec* asks for and send its letter by SMTP at once.

    The request is saved first, so that a failed send leaves it a draft to send again, and
    *error* says why it did not go; a letter that goes by web form or post is refused before
    anything is saved.
    """
    plan = plan_request(ws, spec)
    if plan.channel != Channel.EMAIL:
        raise StateError(f"this letter goes by {plan.channel} to {plan.recipient or '(no address)'}"
                         "; save the draft, submit it there, then record it as sent")
    # Before saving: no draft for a mistake here.
    mailer.check_smtp_settings(ws.settings.smtp, signs_in=bool(ws.settings.auth.provider))
    request = create_request(ws, spec, now)
    try:
        return SentNew(request.ref, send_request(ws, request.ref, now), "")
    except TrackerError as exc:
        return SentNew(request.ref, None, str(exc))
