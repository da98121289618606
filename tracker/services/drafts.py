"""Drafts waiting to be sent: list them, approve one after review, redraft or discard it.

A draft is a letter of a request that has not gone out (a Message with status "draft", or
"sending" while a send is under way or was interrupted). Staff read it with `tracker letter REF`
and approve it (event ``draft_approved``); `tracker remind --send` sends only approved
follow-ups. A redraft renders the same row again with new variables, template or language, and
an approval given before it no longer counts. A discarded draft keeps its row, with status
"discarded": nothing of what was drafted, by whom and why it went no further is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from tracker.core import clock
from tracker.core.deadlines import parse_rule
from tracker.core.errors import InputError, StateError
from tracker.letters.loading import get_template
from tracker.services.compose import render_message
from tracker.services.records import get_request, pending_letter, request_messages, sent_letters
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.events import record_event
from tracker.store.models import Case, Event, Message, Request

# Events that (re)write a draft's text: an approval before the last of them no longer counts.
DRAFTING_EVENTS = ("created", "follow_up_drafted", "draft_redrafted")


@dataclass(frozen=True)
class Draft:
    """A letter waiting to be sent, as `tracker draft list` shows it."""

    ref: str
    template: str
    language: str
    kind: str  # initial | follow-up
    status: str  # draft | sending
    channel: str
    state: str  # the request's state
    drafted_at: datetime
    drafted_by: str
    approved_at: datetime | None
    approved_by: str | None

    @property
    def approved(self) -> bool:
        return self.approved_at is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (times as ISO 8601)."""
        return {"ref": self.ref, "template": self.template, "language": self.language,
                "kind": self.kind, "status": self.status, "channel": self.channel,
                "state": self.state, "drafted_at": self.drafted_at.isoformat(),
                "drafted_by": self.drafted_by, "approved": self.approved,
                "approved_at": self.approved_at.isoformat() if self.approved_at else None,
                "approved_by": self.approved_by}


def current_approval(events: Sequence[Event]) -> Event | None:
    """The approval that counts among a draft's *events* (in order): the last
    ``draft_approved`` after the last time the draft was written or rewritten."""
    approval = None
    for event in events:
        if event.kind in DRAFTING_EVENTS:
            approval = None
        elif event.kind == "draft_approved":
            approval = event
    return approval


def _events_by_message(session: Session, message_ids: list[int]) -> dict[int, list[Event]]:
    found: dict[int, list[Event]] = {i: [] for i in message_ids}
    if message_ids:
        for event in session.exec(select(Event).where(col(Event.message_id).in_(message_ids))
                                  .order_by(col(Event.id))).all():
            assert event.message_id is not None
            found[event.message_id].append(event)
    return found


def _as_draft(request: Request, message: Message, events: Sequence[Event]) -> Draft:
    drafted = [e for e in events if e.kind in DRAFTING_EVENTS]
    approval = current_approval(events)
    return Draft(ref=request.ref, template=message.template, language=message.language,
                 kind=message.kind, status=message.status, channel=message.channel,
                 state=request.state,
                 drafted_at=drafted[-1].at if drafted else message.created_at,
                 drafted_by=drafted[-1].actor if drafted else "",
                 approved_at=approval.at if approval else None,
                 approved_by=approval.actor if approval else None)


def list_drafts(ws: Workspace) -> list[Draft]:
    """Every letter waiting to be sent, by reference."""
    with transaction(ws.engine) as session:
        rows = session.exec(
            select(Request, Message).join(Message, col(Message.request_id) == col(Request.id))
            .where(Message.direction == "out", col(Message.status).in_(["draft", "sending"]))
            .order_by(col(Request.ref), col(Message.id))).all()
        events = _events_by_message(session, [m.id for _, m in rows if m.id is not None])
        return [_as_draft(r, m, events[m.id]) for r, m in rows if m.id is not None]


def draft_of(session: Session, request: Request) -> Draft | None:
    """The pending draft of *request* with its approval, if it has one."""
    message = pending_letter(request_messages(session, request))
    if message is None or message.id is None:
        return None
    return _as_draft(request, message, _events_by_message(session, [message.id])[message.id])


def _pending_draft(session: Session, ref: str) -> tuple[Request, Message]:
    request = get_request(session, ref)
    message = pending_letter(request_messages(session, request))
    if message is None:
        raise StateError(f"{request.ref} has no draft waiting to be sent; "
                         "see `tracker draft list`")
    if message.status == "sending":
        raise StateError(f"a send of {request.ref} was started and may have gone out; "
                         f"settle it first with `tracker send {request.ref}`")
    return request, message


def approve_draft(ws: Workspace, ref: str, now: datetime) -> tuple[Draft, bool]:
    """Record that staff reviewed the draft of *ref*; False if it was approved already.

    The draft is rendered first: a letter that cannot be produced cannot be approved.
    """
    with transaction(ws.engine) as session:
        request, message = _pending_draft(session, ref)
        render_message(ws, session, request, message, clock.local_date(now, ws.settings.tz))
        assert message.id is not None
        events = _events_by_message(session, [message.id])[message.id]
        if current_approval(events) is not None:
            return _as_draft(request, message, events), False
        event = record_event(session, request, "draft_approved", ws.actor, message=message,
                             at=now, template=message.template, language=message.language)
        return _as_draft(request, message, [*events, event]), True


def redraft(ws: Workspace, ref: str, variables: Mapping[str, str], now: datetime, *,
            template: str | None = None, language: str | None = None) -> Message:
    """Render the pending draft of *ref* again, with *variables* over its own values and
    optionally another template or language. An earlier approval no longer counts.

    The first letter of a request is the request: its template, language and variables
    change with it, and so does its deadline if it was the old template's default.
    """
    with transaction(ws.engine) as session:
        request, message = _pending_draft(session, ref)
        chosen = get_template(ws.templates, template or message.template,
                              language or message.language)
        if chosen.kind != message.kind:
            what = "a follow-up letter" if message.kind == "follow-up" else "a first letter"
            raise InputError(f"template {chosen.id} is not {what}, as the draft of "
                             f"{request.ref} is; choose a {message.kind} template")
        initial = message.kind == "initial"
        base: dict[str, Any] = {}
        if initial:
            case = session.get(Case, request.case_id)
            base.update({k: str(v) for k, v in (case.facts if case else {}).items()})
        base.update(request.variables)
        base.update(message.variables)
        declared = {v.name for v in chosen.variables}
        values = {k: v for k, v in base.items() if k in declared}
        values.update(variables)
        changed = sorted(k for k in set(values) | set(message.variables)
                         if values.get(k) != message.variables.get(k))
        previous = (message.template, message.language)
        if initial:
            _retarget_request(ws, request, previous[0], previous[1], chosen.id, chosen.deadline)
            request.template, request.language, request.variables = \
                chosen.id, chosen.language, dict(values)
        message.template, message.language, message.variables = \
            chosen.id, chosen.language, values
        session.add(message)
        # Render now: a redraft that cannot produce its letter is refused and changes nothing.
        render_message(ws, session, request, message, clock.local_date(now, ws.settings.tz))
        record_event(session, request, "draft_redrafted", ws.actor, message=message, at=now,
                     template=chosen.id, language=chosen.language,
                     previous_template=previous[0], previous_language=previous[1],
                     changed=changed)
        return message


def _retarget_request(ws: Workspace, request: Request, old_id: str, old_language: str,
                      new_id: str, new_deadline: str | None) -> None:
    """A request whose first letter changes template keeps a deadline given by hand, and
    otherwise takes the new template's."""
    if new_id == old_id:
        return
    org = ws.settings.organisation
    old = ws.templates.get((old_id, old_language))
    if old is None:
        return
    old_rule = parse_rule(old.deadline or org.default_deadline,
                          default=org.default_deadline).text
    if request.deadline_rule == old_rule:
        request.deadline_rule = parse_rule(new_deadline or org.default_deadline,
                                           default=org.default_deadline).text


def discard_draft(ws: Workspace, ref: str, reason: str, now: datetime) -> Message:
    """Set the pending follow-up of *ref* aside: status "discarded", nothing deleted."""
    with transaction(ws.engine) as session:
        request, message = _pending_draft(session, ref)
        if not sent_letters(request_messages(session, request)):
            raise StateError(
                f"{request.ref} has not been sent: its draft is the request itself; change it "
                f"with `tracker draft redraft {request.ref}`, or withdraw the request with "
                f"`tracker close {request.ref} --resolution withdrawn`")
        message.status = "discarded"
        session.add(message)
        record_event(session, request, "draft_discarded", ws.actor, message=message, at=now,
                     template=message.template, reason=reason)
        return message
