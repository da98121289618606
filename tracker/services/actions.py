"""Use cases: create a request, draft, send or record letters, extend, close, reopen.

Each function is one unit of work in one transaction; every change of a request goes through
``record_event``. The CLI only parses arguments and calls these. `NewRequest` (what a new
request asks for) lives in `intake`, with the checks a preview shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tracker.core import clock
from tracker.core.deadlines import parse_rule
from tracker.core.errors import (
    InputError,
    NotFoundError,
    StateError,
)
from tracker.core.iso import iso_day
from tracker.letters.loading import LetterTemplate, get_template
from tracker.services.compose import render_message
from tracker.services.facts import derive
from tracker.services.intake import (
    NewRequest,
    case_variables,
    existing_case,
    next_ref,
    plan_request,
)
from tracker.services.records import (
    get_request,
    pending_letter,
    refresh_due,
    request_messages,
    sent_letters,
    settle_state,
)
from tracker.services.search import index_message
from tracker.services.workspace import Workspace
from tracker.store.db import MAX_ROW_ID, transaction
from tracker.store.events import record_event
from tracker.store.models import Case, Message, Platform, Request, Resolution, State

MAX_REF_ATTEMPTS = 5


# ---------------------------------------------------------------- create



def create_request(ws: Workspace, spec: NewRequest, now: datetime) -> Request:
    """Create a draft request (and its case, if new) and return it."""
    plan = plan_request(ws, spec)
    platform, template, language = plan.platform, plan.template, plan.language
    recipient, channel, rule = plan.recipient, plan.channel, plan.rule
    today = clock.local_date(now, ws.settings.tz)
    for attempt in range(MAX_REF_ATTEMPTS):
        try:
            with transaction(ws.engine) as session:
                case = _case_for(session, spec, template)
                variables = case_variables(template, case.facts, spec.variables)
                _snapshot_platform(session, platform.slug, platform.name, platform.to_dict(), now)
                assert case.id is not None
                request = Request(
                    ref=next_ref(session, ws.settings.organisation.reference_prefix, today.year),
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
        return existing_case(session, spec.case_id)
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
            raise StateError(f"{request.ref} already has a letter waiting to be sent; send it "
                             f"with `tracker send {request.ref}`, or change it with `tracker "
                             f"draft redraft {request.ref}` or `tracker draft discard "
                             f"{request.ref}`")
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


# ---------------------------------------------------------------- replies recorded by hand


def record_reply(ws: Workspace, ref: str, on: datetime, kind: str, note: str, now: datetime,
                 raw: bytes | None = None) -> Message:
    """Record a reply that came outside the watched mailbox (post, portal, phone)."""
    kinds = {"answer": "reply", "acknowledgement": "auto_reply"}
    if kind not in kinds:
        raise InputError(f"--kind {kind!r}: use answer or acknowledgement")
    if on > now and on.date() == now.date():
        on = now  # "today" given as a bare date: it arrived before now
    if on > now + timedelta(minutes=5):
        raise InputError(f"--on {on.date()} is in the future")
    import hashlib

    message_kind = kinds[kind]
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        messages = request_messages(session, request)
        if not sent_letters(messages):
            raise StateError(f"{request.ref} has not been sent; a reply cannot come before it")
        if request.state == State.CLOSED:
            raise StateError(f"{request.ref} is closed; reopen it first with `tracker reopen`")
        message = Message(request_id=request.id, direction="in", status="received",
                          kind=message_kind, channel="manual", occurred_at=on, note=note, raw=raw,
                          sha256=hashlib.sha256(raw).hexdigest() if raw else "", created_at=now,
                          admission="recorded-by-hand")
        if raw:  # an .eml says who wrote it; a scan says nothing here
            from tracker.mail.header_info import parse_headers

            headers = parse_headers(raw)
            message.subject, message.from_addr = headers.subject, headers.from_addr
            message.message_id = headers.message_id
        session.add(message)
        session.flush()
        index_message(session, message)
        target = settle_state(ws, session, request, clock.local_date(now, ws.settings.tz))
        record_event(session, request, "reply_recorded", ws.actor, to_state=target,
                     message=message, at=now, reply_kind=kind, received_at=on.isoformat(),
                     note=note)
        return message


# ---------------------------------------------------------------- deadline and closing


@dataclass(frozen=True)
class Extended:
    """What `extend_deadline` did: the request as extended, and what staff should know."""

    request: Request
    warnings: tuple[str, ...]


def extend_deadline(ws: Workspace, ref: str, rule_text: str | None, reason: str,
                    now: datetime, notice: int | None = None) -> Extended:
    """Extend the current wait's deadline (a platform announced an extension).

    *notice*: the id of the platform's extension notice; its claimed period stands in for a
    missing *rule_text*, and it dates the extension. A notice (or, without one, the extension)
    after the deadline it extends is allowed, and warned about: GDPR Art. 12(3) wants the data
    subject told within the first month.
    """
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        if request.state not in (State.AWAITING, State.ACKNOWLEDGED):
            raise StateError(f"{request.ref} is {request.state}; only a request waiting for an "
                             "answer has a deadline to extend")
        granted, claimed = now, None
        if notice is not None:
            message = session.get(Message, notice) if 0 < notice <= MAX_ROW_ID else None
            if message is None or message.request_id != request.id \
                    or message.kind != "extension":
                raise NotFoundError(f"message {notice} is no extension notice of {request.ref}; "
                                    f"see `tracker request show {request.ref}`")
            granted, claimed = message.occurred_at or now, message.extension or None
            reason = reason.strip() or (f"extension notice of "
                                        f"{clock.local_date(granted, ws.settings.tz)} "
                                        f"(message {notice})")
        if not reason.strip():
            raise InputError("--reason is required: say who extended the deadline and why")
        rule_text = rule_text or claimed
        if not rule_text:
            raise InputError("give the extension as RULE (2m, 14d, 10bd or statutory): "
                             "the notice does not say how long")
        base = parse_rule(request.deadline_rule,
                          default=ws.settings.organisation.default_deadline)
        if rule_text.strip().lower() == "statutory":
            if base.extension is None:
                raise InputError(f"rule {base.text} has no statutory extension; give one such "
                                 "as 2m, 14d or 10bd")
            text = "statutory"
        else:
            text = parse_rule(rule_text).text
        before = request.due_on
        record: dict[str, Any] = {"rule": text, "granted_at": granted.isoformat(),
                                  "reason": reason}
        if notice is not None:
            record["notice"] = notice
        request.extensions = [*request.extensions, record]
        wait = refresh_due(ws, session, request, clock.local_date(now, ws.settings.tz))
        warnings = []
        on = clock.local_date(granted, ws.settings.tz)
        if before is not None and on > before:
            what = "the notice arrived" if notice is not None else "it was granted"
            warnings.append(f"{what} on {clock.format_day(on)}, after the deadline of "
                            f"{clock.format_day(before)} it extends; GDPR Art. 12(3) requires "
                            "notice of an extension within the first month")
        record_event(session, request, "extended", ws.actor, at=now, rule=text, reason=reason,
                     notice=notice, late=bool(warnings),
                     due_before=iso_day(before),
                     due_after=iso_day(wait.due_on))
        return Extended(request, tuple(warnings))


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
        facts = derive(ws, request, request_messages(session, request),
                       clock.local_date(now, ws.settings.tz))
        request.due_on = facts.wait.due_on
        state = facts.state
        previous = request.resolution
        request.resolution = None
        record_event(session, request, "reopened", ws.actor, to_state=state, at=now,
                     previous_resolution=previous)
        return request
