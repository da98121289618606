"""The one place where a request changes: every change is an Event row in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from tracker.core.errors import StateError
from tracker.store.models import Event, Message, Request, State, utcnow

# Which states a request may move to from each state. "awaiting" -> "awaiting" is a further
# letter sent while waiting; "answered" -> "awaiting" is a follow-up that starts a new wait;
# "answered" -> "acknowledged" is a person correcting what an answer was (or dismissing it).
TRANSITIONS: dict[State, frozenset[State]] = {
    State.DRAFT: frozenset({State.AWAITING, State.CLOSED}),
    State.AWAITING: frozenset({State.AWAITING, State.ACKNOWLEDGED, State.ANSWERED, State.CLOSED}),
    State.ACKNOWLEDGED: frozenset({State.AWAITING, State.ACKNOWLEDGED, State.ANSWERED,
                                   State.CLOSED}),
    State.ANSWERED: frozenset({State.AWAITING, State.ACKNOWLEDGED, State.ANSWERED,
                               State.CLOSED}),
    State.CLOSED: frozenset({State.DRAFT, State.AWAITING, State.ACKNOWLEDGED, State.ANSWERED}),
}


def record_event(
    session: Session,
    request: Request,
    kind: str,
    actor: str,
    *,
    to_state: State | None = None,
    message: Message | None = None,
    at: datetime | None = None,
    **data: Any,
) -> Event:
    """Record *kind* for *request*, moving it to *to_state* if given (checked against TRANSITIONS).

    The caller owns the transaction: the state change and its event commit or roll back together.
    """
    from_state = State(request.state)
    if to_state is not None and to_state != from_state:
        if to_state not in TRANSITIONS[from_state]:
            raise StateError(
                f"{request.ref} is {from_state.value}; it cannot become {to_state.value}"
            )
        request.state = to_state
    now = at or utcnow()
    request.updated_at = now
    session.add(request)
    if message is not None and message.id is None:
        session.add(message)
        session.flush()
    event = Event(
        request_id=request.id,
        message_id=message.id if message is not None else None,
        at=now,
        actor=actor,
        kind=kind,
        from_state=from_state.value,
        to_state=(to_state or from_state).value,
        data=data,
    )
    session.add(event)
    return event


def record_message_event(session: Session, message: Message, kind: str, actor: str, *,
                         at: datetime | None = None, **data: Any) -> Event:
    """Record what happened to a message that belongs to no request (yet): triage decisions."""
    if message.id is None:
        session.add(message)
        session.flush()
    event = Event(request_id=message.request_id, message_id=message.id, at=at or utcnow(),
                  actor=actor, kind=kind, data=data)
    session.add(event)
    return event


def record_admin_event(session: Session, kind: str, actor: str, at: datetime,
                       **data: Any) -> Event:
    """Record a change to how tracker is run (an account, a role): no request, no message."""
    event = Event(request_id=None, message_id=None, at=at, actor=actor, kind=kind, data=data)
    session.add(event)
    return event
