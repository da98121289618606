"""Reading a request back from the database: lookups, its messages, its settled state."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tracker.core import clock
from tracker.core.errors import (
    InputError,
    NotFoundError,
    suggest,
)
from tracker.core.tags import parse_ref
from tracker.mail.classify import ticket_key
from tracker.services.facts import M, MessageFacts, derive
from tracker.services.workspace import Workspace
from tracker.store import db
from tracker.store.models import Message, Request, State

# What the derivation reads of a message (`MessageFacts`), never its raw bytes.
_FACT_COLUMNS = (col(Message.direction), col(Message.status), col(Message.kind),
                 col(Message.occurred_at), col(Message.subject), col(Message.triage),
                 col(Message.authenticity), col(Message.template))


def for_change(session: Session, query: Any) -> Any:
    """*query* locking the rows it reads until the unit of work ends, unless the unit only
    reads. On PostgreSQL this is what keeps two writers from deciding on the same old state
    (a reply stored while staff close the request); SQLite's write lock already does."""
    return query if db.is_reading(session) else query.with_for_update()


def get_request(session: Session, ref: str) -> Request:
    """The request with reference *ref*, or NotFoundError with the closest references."""
    ref = parse_ref(ref)
    request: Request | None = session.exec(for_change(
        session, select(Request).where(Request.ref == ref))).first()
    if request is None:
        prefix = ref.rsplit("-", 1)[0]
        near = session.exec(select(Request.ref).where(col(Request.ref).startswith(prefix))).all()
        raise NotFoundError(f"no request {ref}{suggest(ref, near)}; see `tracker status`")
    return request


def request_messages(session: Session, request: Request) -> list[Message]:
    return list(session.exec(
        select(Message).where(Message.request_id == request.id).order_by(col(Message.id))
    ).all())


def _message_facts(session: Session, request: Request) -> list[MessageFacts]:
    """What `derive` needs of a request's messages, as light rows (never their raw bytes)."""
    assert request.id is not None
    return [facts for _, facts in messages_facts(session, [request.id])[request.id]]


def messages_facts(session: Session,
                   request_ids: Collection[int]) -> dict[int, list[tuple[int, MessageFacts]]]:
    """`_message_facts` of several requests in one query: ``{request id: [(message id, facts)]}``
    in the order of the messages' ids."""
    session.flush()
    found: dict[int, list[tuple[int, MessageFacts]]] = {i: [] for i in request_ids}
    if found:
        query = sa.select(col(Message.request_id), col(Message.id), *_FACT_COLUMNS) \
            .where(col(Message.request_id).in_(found)).order_by(col(Message.id))
        for request_id, message_id, *facts in session.execute(query):
            found[request_id].append((message_id, FactsRow(*facts)))
    return found


class FactsRow(NamedTuple):
    """A message's facts for `derive`, as a light row (fits `MessageFacts`)."""

    direction: str
    status: str
    kind: str
    occurred_at: datetime | None
    subject: str
    triage: str
    authenticity: str
    template: str


def pending_letter(messages: list[Message]) -> Message | None:
    """The outbound letter not yet sent (draft, or interrupted while sending), if any."""
    for message in messages:
        if message.direction == "out" and message.status in ("draft", "sending"):
            return message
    return None


def utc_column(column: Any) -> Any:
    """A ``UTCDateTime`` column for a bulk select, read as stored; convert with `as_utc`.

    SQLAlchemy's SQLite DATETIME parses every value with a regular expression, which costs
    more than the clock itself when a report reads 100,000 messages; ``fromisoformat`` is
    several times faster. PostgreSQL's driver returns datetimes already.
    """
    return sa.type_coerce(column, sa.String).label(column.key)


def as_utc(value: str | datetime | None) -> datetime | None:
    """A value read through `utc_column` as the aware UTC datetime ``UTCDateTime`` returns."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            # Stored naive in UTC: parsing it with its offset is several times faster than
            # datetime.replace(tzinfo=...), and gives the same value.
            return datetime.fromisoformat(value + "+00:00")
        except ValueError:
            value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sent_letters(messages: Sequence[M]) -> list[M]:
    return [m for m in messages if m.direction == "out" and m.status == "sent"]


def settle_state(ws: Workspace, session: Session, request: Request, today: date,
                 messages: Sequence[MessageFacts] | None = None) -> State:
    """Refresh the due date and return the state the messages call for (closed stays closed).

    *messages*: the request's messages, if the caller has them already (see `messages_facts`).
    """
    if messages is None:
        messages = _message_facts(session, request)
    facts = derive(ws, request, messages, today)
    request.due_on = facts.wait.due_on
    if request.state == State.CLOSED:
        return State.CLOSED
    return facts.state


def bounced_recipient(recipient: str, bounced: Sequence[str]) -> bool:
    """Does a bounce listing *bounced* (none: unreadable) mean *recipient* cannot be reached?"""
    return not bounced or recipient.lower() in {r.lower() for r in bounced}


def learned_tickets(tickets: Sequence[str]) -> list[str]:
    """*tickets* in order, each once however it is written (`ticket_key`), empty ones left
    out: the first way of writing one is kept."""
    seen: dict[str, str] = {}
    for ticket in tickets:
        if ticket:
            seen.setdefault(ticket_key(ticket), ticket)
    return list(seen.values())


def refresh_learned(session: Session, request: Request) -> None:
    """What a request learned from its mail (the platform's tickets, a failed delivery) is
    what its mail that counts says: a person may have dismissed the message that taught it."""
    rows = session.exec(select(Message.kind, Message.ticket, Message.bounced).where(
        Message.request_id == request.id, Message.direction == "in",
        col(Message.triage).in_(("", "linked"))).order_by(col(Message.id))).all()
    # A ticket staff entered from a web form's confirmation is on the letter it confirms.
    entered = session.exec(select(Message.ticket).where(
        Message.request_id == request.id, Message.direction == "out",
        Message.status == "sent", Message.ticket != "").order_by(col(Message.id))).all()
    tickets = learned_tickets([*entered, *(ticket for _, ticket, _ in rows)])
    failed = any(kind == "bounce" and bounced_recipient(request.recipient, bounced)
                 for kind, _, bounced in rows)
    if tickets != request.tickets:
        request.tickets = tickets
    request.delivery_failed = failed


def refresh_due(ws: Workspace, session: Session, request: Request, today: date) -> clock.Wait:
    wait = derive(ws, request, _message_facts(session, request), today).wait
    request.due_on = wait.due_on
    return wait


def parse_when(text: str, tz: Any, *, end_of_day: bool = False) -> datetime:
    """A date (``2020-06-08``) or date-time (``2020-06-08T14:30``) in the organisation's zone.

    A bare date means the start of that day for letters and its end for replies, so that a
    reply recorded on the day a letter went out still counts as coming after it.
    """
    try:
        if "T" in text or " " in text.strip():
            moment = datetime.fromisoformat(text.strip())
            clock.check_day(moment.date(), "the day")
            return moment if moment.tzinfo else moment.replace(tzinfo=tz)
        day = clock.check_day(date.fromisoformat(text.strip()), "the day")
    except ValueError:
        raise InputError(f"{text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    at = time(23, 59, 59) if end_of_day else time(0, 0)
    return datetime.combine(day, at, tzinfo=tz)
