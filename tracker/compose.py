"""Letters of a request: the context templates see, rendering, and the email they become."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from tracker import clock
from tracker.errors import (
    StateError,
)
from tracker.letters import (
    LetterTemplate,
    RenderedLetter,
    get_template,
    letter_html,
    render_letter,
)
from tracker.models import Case, Channel, Message, Request
from tracker.outbound import Outgoing, build_email, new_message_id
from tracker.records import pending_letter, request_messages, sent_letters, wait_for
from tracker.tags import reply_address
from tracker.workspace import Workspace


@dataclass(frozen=True)
class Letter:
    """A letter of a request, rendered (drafts) or as stored (sent)."""

    template: LetterTemplate
    rendered: RenderedLetter
    message: Message


def _context(ws: Workspace, session: Session, request: Request, message: Message,
             letter_date: date, template: LetterTemplate) -> dict[str, Any]:
    org = ws.settings.organisation
    platform = ws.platforms.get(request.platform_slug)
    entity = platform.entity_for() if platform else None
    case = session.get(Case, request.case_id)
    rule = clock.parse_rule(request.deadline_rule, default=org.default_deadline)
    messages = request_messages(session, request)
    original: dict[str, Any] | None = None
    if template.kind == "follow-up":
        sent = sent_letters(messages)
        if not sent:
            raise StateError(f"{request.ref} has no letter sent yet to follow up on")
        wait = wait_for(ws, request, [m for m in messages if m.id != message.id], letter_date)
        first = sent[0]
        assert first.sent_at is not None
        original = {
            "ref": request.ref,
            "date": clock.local_date(first.sent_at, ws.settings.tz),
            "subject": first.subject,
            "message_id": first.message_id,
            "days_without_response": wait.days_without_response or 0,
            "business_days_without_response": wait.business_days_without_response or 0,
            "due_on": wait.due_on,
            "deadline": rule.describe(),
            "legal_basis": rule.citation or template.legal_basis,
            "overdue_by_days": wait.overdue_by_days,
        }
    # An initial letter states its own deadline, counted from the day it is dated.
    due_on = request.due_on if template.kind == "follow-up" else clock.apply_rule(
        letter_date, rule, ws.calendar_for(request.platform_slug))
    return {
        "org": {"name": org.name, "signatory": org.signatory or org.name, "email": org.email,
                "address": org.address},
        "platform": {"name": platform.name if platform else request.platform_slug,
                     "slug": request.platform_slug,
                     "entity": entity.name if entity else "",
                     "address": entity.address if entity else ""},
        "request": {"ref": request.ref, "recipient": request.recipient,
                    "deadline": rule.describe(), "due_on": due_on},
        "case": {"title": case.title if case else ""},
        "letter_date": letter_date,
        "original": original,
    }


def render_message(ws: Workspace, session: Session, request: Request, message: Message,
                   letter_date: date) -> Letter:
    """Render an outbound letter (draft or sent) with its template and the request's facts."""
    template = get_template(ws.templates, message.template, message.language)
    context = _context(ws, session, request, message, letter_date, template)
    rendered = render_letter(template, message.variables, context)
    return Letter(template=template, rendered=rendered, message=message)


def current_letter(ws: Workspace, session: Session, request: Request, today: date) -> Letter:
    """The letter `tracker letter` shows: the pending draft, else the last one sent."""
    messages = request_messages(session, request)
    sent = sent_letters(messages)
    message = pending_letter(messages) or (sent[-1] if sent else None)
    if message is None:
        raise StateError(f"{request.ref} has no letter")
    if message.status == "sent" and message.raw:
        return _stored_letter(ws, message)
    return render_message(ws, session, request, message, today)


def _stored_letter(ws: Workspace, message: Message) -> Letter:
    """A letter already sent, read back from its stored bytes: what went out, not a re-render."""
    from email import message_from_bytes, policy

    assert message.raw is not None
    parsed = message_from_bytes(message.raw, policy=policy.default)
    part = parsed.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    subject = str(parsed.get("Subject", ""))
    template = get_template(ws.templates, message.template, message.language)
    html = letter_html(text, subject, message.language)
    return Letter(template=template, rendered=RenderedLetter(subject, text, html),
                  message=message)


def compose_email(ws: Workspace, session: Session, request: Request, message: Message,
             now: datetime) -> Outgoing:
    org = ws.settings.organisation
    today = clock.local_date(now, ws.settings.tz)
    letter = render_message(ws, session, request, message, today)
    previous = [m.message_id for m in sent_letters(request_messages(session, request))
                if m.message_id and m.id != message.id]
    reply_to = reply_address(org.reply_to, request.ref, ws.tag_secret) if org.reply_to else None
    return build_email(
        ref=request.ref, letter=letter.rendered, sender_name=org.name, sender=org.email,
        recipient=message.to_addrs or request.recipient, reply_to=reply_to,
        message_id=new_message_id(request.ref, org.message_domain), date=now,
        in_reply_to=previous[-1] if previous else None, references=tuple(previous),
    )


def preview_email(ws: Workspace, session: Session, request: Request, message: Message,
                  now: datetime) -> bytes:
    """The email a draft would become if sent now (a fresh Message-ID each time)."""
    return compose_email(ws, session, request, message, now).raw


def compose_record(ws: Workspace, session: Session, request: Request, message: Message,
                    on: datetime, recipient: str) -> Outgoing:
    """The letter as it was submitted, kept as an .eml for the record (never sent by tracker)."""
    if message.channel == Channel.EMAIL and "@" in recipient:
        return compose_email(ws, session, request, message, on)
    org = ws.settings.organisation
    letter = render_message(ws, session, request, message, clock.local_date(on, ws.settings.tz))
    # Web forms and post have no email address: record the letter addressed to the org itself.
    outgoing = build_email(
        ref=request.ref, letter=letter.rendered, sender_name=org.name, sender=org.email,
        recipient=org.email, reply_to=None,
        message_id=new_message_id(request.ref, org.message_domain), date=on,
    )
    return outgoing
