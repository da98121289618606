"""Letters of a request: the context templates see, rendering, and the email they become."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from tracker.core import clock
from tracker.core.deadlines import apply_rule, parse_rule
from tracker.core.errors import (
    StateError,
)
from tracker.core.tags import reply_address
from tracker.letters.loading import LetterTemplate, get_template
from tracker.letters.rendering import (
    RenderedLetter,
    letter_html,
    longdate,
    longdates,
    render_letter,
)
from tracker.mail.outbound import Outgoing, build_email, new_message_id
from tracker.services.facts import counts_for_clock, derive
from tracker.services.records import pending_letter, request_messages, sent_letters
from tracker.services.workspace import Workspace
from tracker.store.models import Case, Channel, Message, Request


@dataclass(frozen=True)
class Letter:
    """A letter of a request, rendered (drafts) or as stored (sent)."""

    template: LetterTemplate
    rendered: RenderedLetter
    message: Message


def _context(ws: Workspace, request: Request, message: Message, letter_date: date,
             template: LetterTemplate, messages: list[Message],
             case_title: str, medium: str = "email") -> dict[str, Any]:
    org = ws.settings.organisation
    platform = ws.platforms.get(request.platform_slug)
    entity = platform.entity_for() if platform else None
    rule = parse_rule(request.deadline_rule, default=org.default_deadline)
    original: dict[str, Any] | None = None
    if template.kind == "follow-up":
        sent = sent_letters(messages)
        if not sent:
            raise StateError(f"{request.ref} has no letter sent yet to follow up on")
        wait = derive(ws, request, [m for m in messages if m.id != message.id],
                      letter_date).wait
        first = sent[0]
        assert first.occurred_at is not None
        original = {
            "ref": request.ref,
            "date": clock.local_date(first.occurred_at, ws.settings.tz),
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
    due_on = request.due_on if template.kind == "follow-up" else apply_rule(
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
        "case": {"title": case_title},
        "letter_date": letter_date,
        "original": original,
        "medium": medium,
    }


# What tracker knows and fills into a follow-up letter when staff gave no value for it.
FILLED_VARIABLES = ("ticket", "final_deadline", "authority", "reminder_dates")


def filled_variables(template: LetterTemplate, given: Mapping[str, Any], *, letter_date: date,
                     final_notice_days: int, ticket: str, authority: str,
                     reminders_on: Sequence[date]) -> dict[str, str]:
    """The values tracker fills into a follow-up *template* where *given* has none (pure).

    ``ticket``: the platform's ticket number; ``final_deadline``: the letter date plus
    *final_notice_days*, written as the template's language writes dates; ``authority``: the
    platform's lead authority; ``reminder_dates``: the days follow-ups were sent. Only names
    the template declares, never over a value staff gave, and never an empty one: a letter
    keeps its own words for "none" (no ticket, "the competent supervisory authority").
    """
    if template.kind != "follow-up":
        return {}
    language = template.language
    known = {
        "ticket": ticket,
        "final_deadline": longdate(letter_date + timedelta(days=final_notice_days), language),
        "authority": authority,
        "reminder_dates": longdates(reminders_on, language),
    }
    declared = {v.name for v in template.variables}
    return {name: value for name, value in known.items()
            if value and name in declared and not str(given.get(name, "")).strip()}


def platform_ticket(request: Request, messages: Sequence[Message]) -> str:
    """The platform's ticket for *request*: the first one learned from mail that counts.

    A ticket staff entered from a web form's confirmation counts too. A ticket taken only
    from mail nobody has confirmed (a suspicious or probable match waiting
    in triage, or dismissed) never goes into a letter: a forger must not choose what we quote.
    """
    confirmed = {m.ticket for m in messages if m.ticket and (
        (m.direction == "in" and counts_for_clock(m))
        or (m.direction == "out" and m.status == "sent"))}  # entered by staff
    return next((t for t in request.tickets if t in confirmed), "")


def letter_authority(ws: Workspace, platform_slug: str, language: str) -> str:
    """The platform's lead authority as a letter names it, or "" if unknown or unconfirmed.

    The directory marks some lead authorities as unverified: a formal letter does not name
    an authority on a guess. English letters get the article ("the Irish Data Protection
    Commission"), as the template's sentence needs it.
    """
    platform = ws.platforms.get(platform_slug)
    if platform is None or not platform.lead_authority \
            or "lead_authority" in platform.unverified_fields:
        return ""
    from tracker.directory.authorities import load_authorities

    found = load_authorities().get(platform.lead_authority)
    if found is None:
        return ""
    if language == "en" and not found.name.lower().startswith("the "):
        return f"the {found.name}"
    return found.name


def _filled(ws: Workspace, request: Request, message: Message, template: LetterTemplate,
            messages: list[Message], letter_date: date) -> dict[str, str]:
    if template.kind != "follow-up":
        return {}
    tz = ws.settings.tz
    sent = sent_letters([m for m in messages if m.id != message.id])
    reminders_on = [clock.local_date(m.occurred_at, tz) for m in sent[1:]
                    if m.kind == "follow-up" and m.occurred_at is not None
                    and clock.local_date(m.occurred_at, tz) <= letter_date]
    return filled_variables(
        template, message.variables, letter_date=letter_date,
        final_notice_days=ws.settings.reminders.final_notice_days,
        ticket=platform_ticket(request, messages),
        authority=letter_authority(ws, request.platform_slug, template.language),
        reminders_on=reminders_on)


def render_message(ws: Workspace, session: Session, request: Request, message: Message,
                   letter_date: date, language: str | None = None,
                   medium: str = "email") -> Letter:
    """Render an outbound letter (draft or sent) with its template and the request's facts.

    *language*: render the message's template in another language (a preview); the message
    itself is not changed. *medium*: ``print`` renders the text that goes on paper, without
    the heading the page lays out (see tracker.letters.pdf).
    """
    template = get_template(ws.templates, message.template, language or message.language)
    messages = request_messages(session, request)
    case = session.get(Case, request.case_id)
    context = _context(ws, request, message, letter_date, template, messages,
                       case.title if case else "", medium)
    variables = {**message.variables,
                 **_filled(ws, request, message, template, messages, letter_date)}
    rendered = render_letter(template, variables, context)
    return Letter(template=template, rendered=rendered, message=message)


def render_unsaved(ws: Workspace, request: Request, message: Message, case_title: str,
                   letter_date: date, language: str | None = None) -> Letter:
    """Render the first letter of a request not stored yet (a preview before saving).

    The same context and variables as `render_message` gives the letter once saved: a new
    request has no other messages, so nothing here needs the database.
    """
    template = get_template(ws.templates, message.template, language or message.language)
    if template.kind != "initial":
        raise StateError(f"template {template.id} is a follow-up letter; only a first letter "
                         "can be shown before its request exists")
    context = _context(ws, request, message, letter_date, template, [], case_title)
    rendered = render_letter(template, message.variables, context)
    return Letter(template=template, rendered=rendered, message=message)


def _current_message(request: Request, messages: list[Message]) -> Message:
    sent = sent_letters(messages)
    message = pending_letter(messages) or (sent[-1] if sent else None)
    if message is None:
        raise StateError(f"{request.ref} has no letter")
    return message


def current_letter(ws: Workspace, session: Session, request: Request, today: date) -> Letter:
    """The letter `tracker letter` shows: the pending draft, else the last one sent."""
    message = _current_message(request, request_messages(session, request))
    if message.status == "sent" and message.raw:
        return _stored_letter(ws, request, message)
    return render_message(ws, session, request, message, today)


def letter_in_language(ws: Workspace, session: Session, request: Request, language: str,
                       today: date) -> Letter:
    """The current letter's template rendered in *language* as of *today*; changes nothing.

    For a letter already sent this is a preview of its template, not what went out (that stays
    as sent). NotFoundError if the template has no such language.
    """
    message = _current_message(request, request_messages(session, request))
    if not message.template:
        raise StateError(f"the last letter of {request.ref} was found in the Sent folder, not "
                         "written from a template: there is nothing to render in another "
                         "language")
    return render_message(ws, session, request, message, today, language=language)


def _stored_letter(ws: Workspace, request: Request, message: Message) -> Letter:
    """A letter already sent, read back from its stored bytes: what went out, not a re-render.

    A letter found in the Sent folder was written in a mail client, from no template: the
    request's own template stands for it.
    """
    from tracker.mail.parsing import parse_message

    assert message.raw is not None
    parsed = parse_message(bytes(message.raw))
    text, subject = parsed.text, parsed.headers.subject
    template = get_template(ws.templates, message.template or request.template,
                            message.language or request.language)
    html = letter_html(text, subject, message.language)
    return Letter(template=template, rendered=RenderedLetter(subject, text, html),
                  message=message)


def compose_email(ws: Workspace, session: Session, request: Request, message: Message,
                  now: datetime, language: str | None = None) -> Outgoing:
    """The email *message* becomes if sent at *now* (*language*: a preview in another one)."""
    org = ws.settings.organisation
    today = clock.local_date(now, ws.settings.tz)
    letter = render_message(ws, session, request, message, today, language)
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
                  now: datetime, language: str | None = None) -> bytes:
    """The email a draft would become if sent now (a fresh Message-ID each time)."""
    return compose_email(ws, session, request, message, now, language).raw


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
