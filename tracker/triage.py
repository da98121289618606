"""The triage inbox: unmatched, probable and suspicious mail, sorted by a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from tracker import clock
from tracker.db import transaction
from tracker.errors import NotFoundError, StateError
from tracker.events import record_event, record_message_event
from tracker.inbound import apply_message
from tracker.messages import MAX_ID, first_lines
from tracker.models import Message, Request
from tracker.records import get_request, settle_state
from tracker.workspace import Workspace


@dataclass(frozen=True)
class InboxItem:
    """One message waiting for a person (`tracker inbox`)."""

    id: int
    received_at: str | None
    sender: str
    subject: str
    kind: str
    authenticity: str
    match_rule: str
    ref: str | None
    why: list[str]
    # The start of what the sender wrote, inert (tracker.messages); the report leaves it out.
    first_lines: list[str] = field(default_factory=list)


def inbox_items(session: Session) -> list[InboxItem]:
    """Every message in triage, oldest first."""
    rows = session.exec(
        select(Message, Request.ref).outerjoin(Request, col(Message.request_id) == col(Request.id))
        .where(Message.triage == "pending").order_by(col(Message.sent_at), col(Message.id))
    ).all()
    return [InboxItem(
        id=m.id or 0, received_at=m.sent_at.isoformat() if m.sent_at else None,
        sender=m.from_addr, subject=m.subject, kind=m.kind, authenticity=m.authenticity,
        match_rule=m.match_rule, ref=ref, why=list(m.reasons), first_lines=first_lines(m.raw),
    ) for m, ref in rows]


def _inbound(session: Session, message_id: int) -> Message:
    message = session.get(Message, message_id) if 1 <= message_id <= MAX_ID else None
    if message is None or message.direction != "in":
        raise NotFoundError(f"no inbound message {message_id}; see `tracker inbox`")
    return message


def link_message(ws: Workspace, message_id: int, ref: str, now: datetime) -> Message:
    """A person confirms which request a message belongs to; it then counts like any match."""
    with transaction(ws.engine) as session:
        message = _inbound(session, message_id)
        request = get_request(session, ref)
        if message.triage == "linked" and message.request_id == request.id:
            raise StateError(f"message {message_id} is already linked to {request.ref}")
        previous = message.request_id
        message.request_id, message.triage, message.match_rule = request.id, "linked", "manual"
        record_message_event(session, message, "linked", ws.actor, at=now, ref=request.ref,
                             previous_request_id=previous)
        apply_message(ws, session, request, message, None, now, actor=ws.actor)
        return message


def dismiss_message(ws: Workspace, message_id: int, now: datetime, reason: str = "") -> Message:
    """A person decides a message does not count (spam, forged, unrelated). It stays stored."""
    with transaction(ws.engine) as session:
        message = _inbound(session, message_id)
        if message.triage == "dismissed":
            raise StateError(f"message {message_id} is already dismissed")
        message.triage = "dismissed"
        session.add(message)
        request = session.get(Request, message.request_id) if message.request_id else None
        if request is None:
            record_message_event(session, message, "dismissed", ws.actor, at=now, reason=reason)
            return message
        # It may have counted before (a linked reply): the request's state is recomputed.
        state = settle_state(ws, session, request, clock.local_date(now, ws.settings.tz))
        record_event(session, request, "dismissed", ws.actor, to_state=state, message=message,
                     at=now, reason=reason)
        return message
