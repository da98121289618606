"""The record's invariants: what is stored always equals what the messages and events imply.

A request's state, due date, learned tickets and delivery failure are kept on its row so that
lists and reports are fast; they are facts derived from its messages and events, and must
never drift from them. `check_invariants` recomputes them and lists every disagreement.
`tracker db check` runs it for staff; the test suite runs it after every command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tracker.core import clock
from tracker.mail.admission import RULES
from tracker.services.facts import counts_for_clock, derive
from tracker.services.records import bounced_recipient, learned_tickets
from tracker.services.workspace import Workspace
from tracker.store.models import Event, Message, Request, State


def _latest_day(ws: Workspace, request: Request, messages: Sequence[Message],
                today: date) -> date:
    """A day after everything the request holds, so that the clock sees all of it."""
    tz = ws.settings.tz
    days = [today, *(clock.local_date(m.occurred_at, tz) for m in messages if m.occurred_at)]
    days += [date.fromisoformat(e["granted_at"][:10]) for e in request.extensions]
    return max(days)


def _request_problems(ws: Workspace, request: Request, messages: Sequence[Message],
                      events: Sequence[Event], today: date) -> list[str]:
    ref = request.ref
    problems: list[str] = []
    facts = derive(ws, request, messages, _latest_day(ws, request, messages, today))
    wait = facts.wait
    expected = State.CLOSED if request.state == State.CLOSED else facts.state
    if request.state != expected:
        problems.append(f"{ref}: stored state {request.state}, its messages say {expected}")
    if request.due_on != wait.due_on:
        problems.append(f"{ref}: stored due date {request.due_on}, its clock says "
                        f"{wait.due_on}")
    counted = [m for m in messages if m.direction == "in" and counts_for_clock(m)]
    entered = [m.ticket for m in messages if m.direction == "out" and m.status == "sent"]
    tickets = learned_tickets([*entered, *(m.ticket for m in counted)])
    if sorted(request.tickets) != sorted(tickets):
        problems.append(f"{ref}: stored tickets {request.tickets}, its counted mail says "
                        f"{tickets}")
    failed = any(m.kind == "bounce" and bounced_recipient(request.recipient, m.bounced)
                 for m in counted)
    if failed != request.delivery_failed:
        problems.append(f"{ref}: stored delivery failure {request.delivery_failed}, its "
                        f"counted bounces say {failed}")
    pending = [m for m in messages if m.direction == "out" and m.status in ("draft", "sending")]
    if len(pending) > 1:
        problems.append(f"{ref}: {len(pending)} letters wait to be sent; at most one may")
    problems += _event_problems(ref, request, events)
    return problems


def _event_problems(ref: str, request: Request, events: Sequence[Event]) -> list[str]:
    """The event log replays to the stored state, each change starting where the last ended."""
    changes = [e for e in events if e.to_state is not None]
    if not changes or changes[0].kind != "created":
        return [f"{ref}: its event log does not start with 'created'"]
    problems = []
    state = State.DRAFT.value
    for event in changes:
        if event.from_state != state:
            problems.append(f"{ref}: event {event.id} ({event.kind}) starts from "
                            f"{event.from_state}, but the state was {state}")
        state = event.to_state or state
    if state != request.state:
        problems.append(f"{ref}: its event log ends in {state}, the row says {request.state}")
    return problems


def _message_problems(message: Message) -> list[str]:
    problems = []
    where = f"message {message.id}"
    if message.raw is not None and hashlib.sha256(bytes(message.raw)).hexdigest() \
            != message.sha256:
        problems.append(f"{where}: its bytes do not match its stored SHA-256")
    if message.direction != "in":
        return problems
    if message.triage == "pending" and (message.admission or not message.hold):
        problems.append(f"{where}: waits for a person but has admission "
                        f"{message.admission!r} and hold {message.hold!r}")
    if message.triage in ("", "linked") and message.request_id is not None \
            and message.admission not in RULES:
        problems.append(f"{where}: counts for its request without a known admission rule "
                        f"({message.admission!r})")
    return problems


def check_invariants(ws: Workspace, session: Session, today: date) -> list[str]:
    """Every disagreement between stored facts and what the messages and events imply."""
    problems: list[str] = []
    messages: dict[int | None, list[Message]] = {}
    for message in session.exec(select(Message).order_by(col(Message.id))):
        messages.setdefault(message.request_id, []).append(message)
        problems += _message_problems(message)
    events: dict[int | None, list[Event]] = {}
    for event in session.exec(select(Event).order_by(col(Event.id))):
        events.setdefault(event.request_id, []).append(event)
    for request in session.exec(select(Request).order_by(col(Request.id))):
        problems += _request_problems(ws, request, messages.get(request.id, []),
                                      events.get(request.id, []), today)
    problems += _document_problems(session, messages)
    return problems


def _document_problems(session: Session,
                       messages: dict[int | None, list[Message]]) -> list[str]:
    """Each kept file belongs to a letter of its request that went out, and its stored size
    is its bytes' (read by the database: the bytes are not fetched)."""
    problems = []
    letters = {m.id: m for ms in messages.values() for m in ms
               if m.direction == "out" and m.status == "sent"}
    table = sa.table("document", *(sa.column(name) for name in (
        "id", "request_id", "message_id", "size", "data")))
    rows = session.execute(sa.select(table.c.id, table.c.request_id, table.c.message_id,
                                     table.c.size, sa.func.length(table.c.data))
                           .order_by(table.c.id)).all()
    for document_id, request_id, message_id, size, length in rows:
        letter = letters.get(message_id)
        if letter is None or letter.request_id != request_id:
            problems.append(f"kept file {document_id} belongs to no letter sent for its "
                            "request")
        if size != length:
            problems.append(f"kept file {document_id} has {length} bytes, {size} were kept")
    return problems
