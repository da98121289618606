"""Use cases: create a request, draft, send or record letters, extend, close, reopen.

Each function is one unit of work in one transaction; every change of a request goes through
``record_event``. The CLI only parses arguments and calls these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.utils import parseaddr
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tracker import clock, mailer
from tracker.db import transaction
from tracker.errors import InputError, NotFoundError, SendError, StateError, TrackerError
from tracker.events import record_event
from tracker.letters import (
    LetterTemplate,
    RenderedLetter,
    get_template,
    letter_html,
    render_letter,
)
from tracker.models import Case, Channel, Message, Platform, Request, Resolution, State
from tracker.outbound import Outgoing, build_email, check_address, new_message_id
from tracker.platforms import find_platform
from tracker.tags import format_ref, parse_ref, reply_address
from tracker.workspace import Workspace

MAX_REF_ATTEMPTS = 5


# ---------------------------------------------------------------- lookups


def get_request(session: Session, ref: str) -> Request:
    """The request with reference *ref*, or NotFoundError with the closest references."""
    ref = parse_ref(ref)
    request = session.exec(select(Request).where(Request.ref == ref)).first()
    if request is None:
        prefix = ref.rsplit("-", 1)[0]
        near = session.exec(select(Request.ref).where(col(Request.ref).startswith(prefix))).all()
        from tracker.errors import suggest

        raise NotFoundError(f"no request {ref}{suggest(ref, near)}; see `tracker status`")
    return request


def request_messages(session: Session, request: Request) -> list[Message]:
    return list(session.exec(
        select(Message).where(Message.request_id == request.id).order_by(col(Message.id))
    ).all())


def pending_letter(messages: list[Message]) -> Message | None:
    """The outbound letter not yet sent (draft, or interrupted while sending), if any."""
    for message in messages:
        if message.direction == "out" and message.status in ("draft", "sending"):
            return message
    return None


class MessageFacts(Protocol):
    """What the clock needs of a message: full rows and light column tuples both fit."""

    @property
    def direction(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def sent_at(self) -> datetime | None: ...
    @property
    def subject(self) -> str: ...


M = TypeVar("M", bound=MessageFacts)


def sent_letters(messages: Sequence[M]) -> list[M]:
    return [m for m in messages if m.direction == "out" and m.status == "sent"]


def parse_extension(record: dict[str, Any], base: clock.DeadlineRule) -> clock.Extension:
    rule = base.extension if record["rule"] == "statutory" and base.extension else \
        clock.parse_rule(record["rule"])
    return clock.Extension(rule=rule, granted_at=datetime.fromisoformat(record["granted_at"]),
                           reason=record.get("reason", ""))


def wait_for(ws: Workspace, request: Request, messages: Sequence[MessageFacts],
             as_of: date) -> clock.Wait:
    """The clock of *request* as of *as_of* (pure computation over its messages)."""
    org = ws.settings.organisation
    rule = clock.parse_rule(request.deadline_rule, default=org.default_deadline)
    letters = [clock.Letter(sent_at=m.sent_at) for m in sent_letters(messages)
               if m.sent_at is not None]
    replies = [clock.Reply(received_at=m.sent_at, substantive=m.kind == "reply")
               for m in messages
               if m.direction == "in" and m.sent_at is not None
               and m.kind in ("reply", "auto_reply") and m.status == "received"]
    extensions = [parse_extension(e, rule) for e in request.extensions]
    return clock.compute_wait(letters, replies, rule, extensions, as_of, ws.settings.tz,
                              ws.calendar_for(request.platform_slug))


def _refresh_due(ws: Workspace, session: Session, request: Request, today: date) -> clock.Wait:
    session.flush()
    wait = wait_for(ws, request, request_messages(session, request), today)
    request.due_on = wait.due_on
    return wait


# ---------------------------------------------------------------- letters


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


# ---------------------------------------------------------------- create


@dataclass(frozen=True)
class NewRequest:
    """What `tracker request new` asks for."""

    platform: str
    template: str
    language: str | None = None
    case_title: str | None = None
    case_id: int | None = None
    variables: dict[str, str] | None = None
    to: str | None = None
    channel: str | None = None
    deadline: str | None = None


def _next_ref(session: Session, prefix: str, year: int) -> str:
    stem = f"{prefix.upper()}-{year:04d}-"
    refs = session.exec(select(Request.ref).where(col(Request.ref).startswith(stem))).all()
    seq = max((int(r.rsplit("-", 1)[1]) for r in refs), default=0) + 1
    return format_ref(prefix, year, seq)


def _recipient(platform_contact: Any, to: str | None, channel: str | None) -> tuple[str, str]:
    if to:
        chosen = channel or ("email" if "@" in to and "://" not in to else "webform")
        if chosen == Channel.EMAIL:
            to = check_address("--to", to)
        return to, chosen
    if platform_contact is None:
        return "", channel or Channel.EMAIL
    if channel and channel != platform_contact.channel:
        raise InputError(
            f"the platform's contact is by {platform_contact.channel}, not {channel}; "
            "give the address with --to"
        )
    return platform_contact.value, platform_contact.channel


def create_request(ws: Workspace, spec: NewRequest, now: datetime) -> Request:
    """Create a draft request (and its case, if new) and return it."""
    org = ws.settings.organisation
    platform = find_platform(ws.platforms, spec.platform)
    language = spec.language or org.language
    template = get_template(ws.templates, spec.template, language)
    if template.kind != "initial":
        raise InputError(
            f"template {template.id} is a follow-up letter; "
            f"draft it on an existing request with `tracker follow-up REF --template {template.id}`"
        )
    if spec.channel and spec.channel not in set(Channel):
        raise InputError(f"--channel {spec.channel!r}: use one of {', '.join(Channel)}")
    contact = platform.contact_for(channel=spec.channel) if spec.channel else \
        platform.default_recipient()
    recipient, channel = _recipient(contact, spec.to, spec.channel)
    deadline = spec.deadline or template.deadline or org.default_deadline
    rule = clock.parse_rule(deadline, default=org.default_deadline)
    today = clock.local_date(now, ws.settings.tz)
    for attempt in range(MAX_REF_ATTEMPTS):
        try:
            with transaction(ws.engine) as session:
                case = _case_for(session, spec, template)
                variables = {**{k: str(v) for k, v in case.facts.items()},
                             **(spec.variables or {})}
                declared = {v.name for v in template.variables}
                variables = {k: v for k, v in variables.items()
                             if k in declared or k in (spec.variables or {})}
                _snapshot_platform(session, platform.slug, platform.name, platform.to_dict(), now)
                assert case.id is not None
                request = Request(
                    ref=_next_ref(session, org.reference_prefix, today.year),
                    case_id=case.id, platform_slug=platform.slug, template=template.id,
                    language=language, recipient=recipient, channel=channel,
                    deadline_rule=rule.text, variables=variables, created_at=now, updated_at=now,
                )
                session.add(request)
                session.flush()
                letter = Message(request_id=request.id, direction="out", status="draft",
                                 kind=template.kind, template=template.id, language=language,
                                 variables=variables, channel=channel, to_addrs=recipient,
                                 created_at=now)
                session.add(letter)
                # Render now so that a request that cannot produce its letter is never stored.
                render_message(ws, session, request, letter, today)
                if not case.facts:
                    case.facts = dict(variables)
                record_event(session, request, "created", ws.actor,
                             message=letter, at=now, platform=platform.slug,
                             template=template.id, language=language, recipient=recipient,
                             channel=channel, deadline=rule.text)
                return request
        except IntegrityError:
            # Another user took the same reference number at the same moment: try the next.
            if attempt == MAX_REF_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _case_for(session: Session, spec: NewRequest, template: LetterTemplate) -> Case:
    if spec.case_id is not None:
        case = session.get(Case, spec.case_id)
        if case is None:
            raise NotFoundError(f"no case {spec.case_id}; see `tracker case list`")
        return case
    variables = spec.variables or {}
    incident_on = None
    if variables.get("incident_date"):
        try:
            incident_on = date.fromisoformat(variables["incident_date"])
        except ValueError:
            incident_on = None
    case = Case(title=spec.case_title or template.title, account=variables.get("account", ""),
                incident_on=incident_on, facts={})
    session.add(case)
    session.flush()
    return case


def _snapshot_platform(session: Session, slug: str, name: str, record: dict[str, Any],
                       now: datetime) -> None:
    row = session.get(Platform, slug)
    if row is None:
        session.add(Platform(slug=slug, name=name, record=record, updated_at=now))
    elif row.record != record:
        row.name, row.record, row.updated_at = name, record, now
        session.add(row)


# ---------------------------------------------------------------- follow-ups


def draft_follow_up(ws: Workspace, ref: str, template_id: str, variables: dict[str, str],
                    now: datetime, language: str | None = None) -> Message:
    """Draft a further letter (follow-up, final notice) on a request that has been sent."""
    today = clock.local_date(now, ws.settings.tz)
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        if request.state in (State.DRAFT, State.CLOSED):
            raise StateError(
                f"{request.ref} is {request.state}; follow-ups are for letters already sent"
                + ("; reopen it with `tracker reopen`" if request.state == State.CLOSED else "")
            )
        messages = request_messages(session, request)
        if pending_letter(messages) is not None:
            raise StateError(f"{request.ref} already has a letter waiting to be sent; "
                             "send it with `tracker send` first")
        template = get_template(ws.templates, template_id, language or request.language)
        if template.kind != "follow-up":
            raise InputError(f"template {template.id} opens a new request; "
                             "use a follow-up template such as follow-up or final-notice")
        merged = {k: v for k, v in request.variables.items()
                  if k in {var.name for var in template.variables}}
        merged.update(variables)
        message = Message(request_id=request.id, direction="out", status="draft",
                          kind=template.kind, template=template.id, language=template.language,
                          variables=merged, channel=request.channel, to_addrs=request.recipient,
                          created_at=now)
        session.add(message)
        session.flush()
        render_message(ws, session, request, message, today)
        record_event(session, request, "follow_up_drafted", ws.actor, message=message, at=now,
                     template=template.id)
        return message


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class SendResult:
    ref: str
    outgoing: Outgoing
    dry_run: bool


def _compose(ws: Workspace, session: Session, request: Request, message: Message,
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
    return _compose(ws, session, request, message, now).raw


def send_request(ws: Workspace, ref: str, now: datetime, *, dry_run: bool = False,
                 retry: bool = False) -> SendResult:
    """Send the request's pending letter by SMTP; on any failure nothing is recorded as sent.

    Two transactions bracket the SMTP call: the first stores the exact bytes and marks the letter
    "sending"; the second marks it sent (or back to draft on failure). A crash in between leaves
    "sending", which `send` refuses to repeat blindly: the letter may or may not have left.
    """
    smtp = ws.settings.smtp
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        message = pending_letter(request_messages(session, request))
        if message is None:
            raise StateError(f"{request.ref} has no letter waiting to be sent (it is "
                             f"{request.state}); draft one with `tracker follow-up {request.ref}`")
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
            outgoing = _compose(ws, session, request, message, now)
        if dry_run:  # nothing above changed the database
            return SendResult(request.ref, outgoing, dry_run=True)
        mailer.check_smtp_settings(smtp)
        password = mailer.smtp_password(smtp)
        message.status = "sending"
        message.raw, message.sha256 = outgoing.raw, outgoing.sha256
        message.message_id, message.subject = outgoing.message_id, outgoing.subject
        message.from_addr, message.to_addrs = outgoing.sender, ", ".join(outgoing.recipients)
        message.headers = outgoing.headers
        session.add(message)
        record_event(session, request, "sending", ws.actor, message=message, at=now,
                     message_id=outgoing.message_id, sha256=outgoing.sha256)
        message_pk = message.id
    try:
        mailer.send_raw(smtp, outgoing.sender, outgoing.recipients, outgoing.raw, password)
    except TrackerError as exc:
        with transaction(ws.engine) as session:
            request = get_request(session, ref)
            message = session.get(Message, message_pk)
            assert message is not None
            message.status, message.raw, message.sha256, message.message_id = "draft", None, "", ""
            session.add(message)
            record_event(session, request, "send_failed", ws.actor, message=message,
                         error=str(exc))
        raise
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        message = session.get(Message, message_pk)
        assert message is not None
        message.status, message.sent_at = "sent", now
        session.add(message)
        record_event(session, request, "sent", ws.actor, to_state=State.AWAITING,
                     message=message, at=message.sent_at, channel="email",
                     message_id=outgoing.message_id, sha256=outgoing.sha256,
                     to=list(outgoing.recipients))
        _refresh_due(ws, session, request, clock.local_date(now, ws.settings.tz))
    return SendResult(request.ref, outgoing, dry_run=False)


def parse_when(text: str, tz: Any, *, end_of_day: bool = False) -> datetime:
    """A date (``2020-06-08``) or date-time (``2020-06-08T14:30``) in the organisation's zone.

    A bare date means the start of that day for letters and its end for replies, so that a
    reply recorded on the day a letter went out still counts as coming after it.
    """
    try:
        if "T" in text or " " in text.strip():
            moment = datetime.fromisoformat(text.strip())
            return moment if moment.tzinfo else moment.replace(tzinfo=tz)
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    at = time(23, 59, 59) if end_of_day else time(0, 0)
    return datetime.combine(day, at, tzinfo=tz)


def mark_sent(ws: Workspace, ref: str, on: datetime, channel: str, note: str,
              now: datetime) -> Message:
    """Record that the pending letter went out by web form, post, fax or another mail client."""
    if channel not in set(Channel):
        raise InputError(f"--channel {channel!r}: use one of {', '.join(Channel)}")
    if on > now + timedelta(minutes=5):
        raise InputError(f"--on {on.date()} is in the future; give the day the letter went out")
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        message = pending_letter(request_messages(session, request))
        if message is None:
            raise StateError(f"{request.ref} has no letter waiting to be sent (it is "
                             f"{request.state}); draft one with `tracker follow-up {request.ref}`")
        message.channel = channel
        recipient = message.to_addrs or request.recipient
        if message.status != "sending":
            outgoing = _compose_record(ws, session, request, message, on, recipient)
            message.raw, message.sha256 = outgoing.raw, outgoing.sha256
            message.message_id, message.subject = outgoing.message_id, outgoing.subject
            message.headers = outgoing.headers
            message.from_addr = ws.settings.organisation.email
        message.status, message.sent_at, message.note = "sent", on, note
        session.add(message)
        record_event(session, request, "sent", ws.actor, to_state=State.AWAITING,
                     message=message, at=now, channel=channel, sent_at=on.isoformat(),
                     note=note, recorded=True)
        _refresh_due(ws, session, request, clock.local_date(now, ws.settings.tz))
        return message


def _compose_record(ws: Workspace, session: Session, request: Request, message: Message,
                    on: datetime, recipient: str) -> Outgoing:
    """The letter as it was submitted, kept as an .eml for the record (never sent by tracker)."""
    if message.channel == Channel.EMAIL and "@" in recipient:
        return _compose(ws, session, request, message, on)
    org = ws.settings.organisation
    letter = render_message(ws, session, request, message, clock.local_date(on, ws.settings.tz))
    # Web forms and post have no email address: record the letter addressed to the org itself.
    outgoing = build_email(
        ref=request.ref, letter=letter.rendered, sender_name=org.name, sender=org.email,
        recipient=org.email, reply_to=None,
        message_id=new_message_id(request.ref, org.message_domain), date=on,
    )
    return outgoing


# ---------------------------------------------------------------- replies recorded by hand


def record_reply(ws: Workspace, ref: str, on: datetime, kind: str, note: str, now: datetime,
                 raw: bytes | None = None) -> Message:
    """Record a reply that came outside the watched mailbox (post, portal, phone)."""
    kinds = {"answer": ("reply", State.ANSWERED), "acknowledgement": ("auto_reply",
                                                                       State.ACKNOWLEDGED)}
    if kind not in kinds:
        raise InputError(f"--kind {kind!r}: use answer or acknowledgement")
    if on > now and on.date() == now.date():
        on = now  # "today" given as a bare date: it arrived before now
    if on > now + timedelta(minutes=5):
        raise InputError(f"--on {on.date()} is in the future")
    import hashlib

    message_kind, state = kinds[kind]
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        messages = request_messages(session, request)
        if not sent_letters(messages):
            raise StateError(f"{request.ref} has not been sent; a reply cannot come before it")
        if request.state == State.CLOSED:
            raise StateError(f"{request.ref} is closed; reopen it first with `tracker reopen`")
        message = Message(request_id=request.id, direction="in", status="received",
                          kind=message_kind, channel="manual", sent_at=on, note=note, raw=raw,
                          sha256=hashlib.sha256(raw).hexdigest() if raw else "", created_at=now)
        if raw:
            from email import message_from_bytes, policy

            parsed = message_from_bytes(raw, policy=policy.compat32)
            message.subject = str(parsed.get("Subject", ""))
            message.from_addr = parseaddr(str(parsed.get("From", "")))[1]
            message.message_id = str(parsed.get("Message-ID", "")).strip()
        session.add(message)
        session.flush()
        wait = _refresh_due(ws, session, request, clock.local_date(now, ws.settings.tz))
        # A late-recorded acknowledgement must not undo an answer already on record.
        acknowledged = state == State.ACKNOWLEDGED or request.state == State.ACKNOWLEDGED
        target = State.ANSWERED if wait.answered else (
            State.ACKNOWLEDGED if acknowledged else State.AWAITING)
        record_event(session, request, "reply_recorded", ws.actor, to_state=target,
                     message=message, at=now, reply_kind=kind, received_at=on.isoformat(),
                     note=note)
        return message


# ---------------------------------------------------------------- deadline and closing


def extend_deadline(ws: Workspace, ref: str, rule_text: str, reason: str,
                    now: datetime) -> Request:
    """Extend the current wait's deadline (a platform announced an extension)."""
    if not reason.strip():
        raise InputError("--reason is required: say who extended the deadline and why")
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        if request.state not in (State.AWAITING, State.ACKNOWLEDGED):
            raise StateError(f"{request.ref} is {request.state}; only a request waiting for an "
                             "answer has a deadline to extend")
        base = clock.parse_rule(request.deadline_rule,
                                default=ws.settings.organisation.default_deadline)
        if rule_text.strip().lower() == "statutory":
            if base.extension is None:
                raise InputError(f"rule {base.text} has no statutory extension; give one such "
                                 "as 2m, 14d or 10bd")
            text = "statutory"
        else:
            text = clock.parse_rule(rule_text).text
        before = request.due_on
        request.extensions = [*request.extensions,
                              {"rule": text, "granted_at": now.isoformat(), "reason": reason}]
        wait = _refresh_due(ws, session, request, clock.local_date(now, ws.settings.tz))
        record_event(session, request, "extended", ws.actor, at=now, rule=text, reason=reason,
                     due_before=before.isoformat() if before else None,
                     due_after=wait.due_on.isoformat() if wait.due_on else None)
        return request


def close_request(ws: Workspace, ref: str, resolution: str, note: str,
                  now: datetime) -> Request:
    """Close a request with a resolution."""
    if resolution not in set(Resolution):
        raise InputError(f"--resolution {resolution!r}: use one of {', '.join(Resolution)}")
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        if request.state == State.CLOSED:
            raise StateError(f"{request.ref} is closed already ({request.resolution})")
        request.resolution = resolution
        record_event(session, request, "closed", ws.actor, to_state=State.CLOSED, at=now,
                     resolution=resolution, note=note)
        return request


def reopen_request(ws: Workspace, ref: str, now: datetime) -> Request:
    """Reopen a closed request; its state is what its letters and replies say."""
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        if request.state != State.CLOSED:
            raise StateError(f"{request.ref} is {request.state}, not closed")
        messages = request_messages(session, request)
        wait = _refresh_due(ws, session, request, clock.local_date(now, ws.settings.tz))
        if not sent_letters(messages):
            state = State.DRAFT
        elif wait.answered:
            state = State.ANSWERED
        elif any(m.direction == "in" and m.kind == "auto_reply" and m.sent_at
                 and wait.started_on and clock.local_date(m.sent_at, ws.settings.tz)
                 >= wait.started_on for m in messages):
            state = State.ACKNOWLEDGED
        else:
            state = State.AWAITING
        previous = request.resolution
        request.resolution = None
        record_event(session, request, "reopened", ws.actor, to_state=state, at=now,
                     previous_resolution=previous)
        return request


__all__ = [
    "Letter", "NewRequest", "SendError", "SendResult", "close_request", "create_request",
    "current_letter", "draft_follow_up", "extend_deadline", "get_request", "mark_sent",
    "parse_when", "record_reply", "reopen_request", "send_request", "wait_for",
]
