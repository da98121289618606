"""Reading a request back: lookups, its letters, and its clock."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple, Protocol, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tracker.core import clock
from tracker.core.deadlines import DeadlineRule, parse_rule
from tracker.core.errors import (
    InputError,
    NotFoundError,
    suggest,
)
from tracker.core.tags import parse_ref
from tracker.services.workspace import Workspace
from tracker.store.models import Message, Request, State

# What the clock reads of a message (`MessageFacts`), never its raw bytes.
_FACT_COLUMNS = (col(Message.direction), col(Message.status), col(Message.kind),
                 col(Message.sent_at), col(Message.subject), col(Message.triage),
                 col(Message.authenticity))


def get_request(session: Session, ref: str) -> Request:
    """The request with reference *ref*, or NotFoundError with the closest references."""
    ref = parse_ref(ref)
    request = session.exec(select(Request).where(Request.ref == ref)).first()
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
    """What the clock needs of a request's messages, as light rows (never their raw bytes)."""
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
    """A message's facts for the clock, as a light row (fits `MessageFacts`)."""

    direction: str
    status: str
    kind: str
    sent_at: datetime | None
    subject: str
    triage: str
    authenticity: str


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
    @property
    def triage(self) -> str: ...
    @property
    def authenticity(self) -> str: ...


M = TypeVar("M", bound=MessageFacts)


class RequestFacts(Protocol):
    """What the clock and a status row need of a request: full rows and column tuples both fit."""

    @property
    def ref(self) -> str: ...
    @property
    def platform_slug(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def recipient(self) -> str: ...
    @property
    def deadline_rule(self) -> str: ...
    @property
    def extensions(self) -> list[dict[str, Any]]: ...
    @property
    def resolution(self) -> str | None: ...
    @property
    def delivery_failed(self) -> bool: ...


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


def parse_extension(record: dict[str, Any], base: DeadlineRule) -> clock.Extension:
    rule = base.extension if record["rule"] == "statutory" and base.extension else \
        parse_rule(record["rule"])
    return clock.Extension(rule=rule, granted_at=datetime.fromisoformat(record["granted_at"]),
                           reason=record.get("reason", ""))


def wait_for(ws: Workspace, request: RequestFacts, messages: Sequence[MessageFacts],
             as_of: date) -> clock.Wait:
    """The clock of *request* as of *as_of* (pure computation over its messages)."""
    letters = [clock.Letter(sent_at=m.sent_at) for m in sent_letters(messages)
               if m.sent_at is not None]
    # Acknowledgements never move the clock (compute_wait skips them): only answers are passed.
    replies = [clock.Reply(received_at=m.sent_at, substantive=True)
               for m in messages if m.sent_at is not None and is_answer(m)]
    return wait_from(ws, request, letters, replies, as_of)


def is_answer(message: MessageFacts) -> bool:
    """A substantive reply that stops the clock (genuine, or confirmed by a person)."""
    return (message.kind == "reply" and message.direction == "in"
            and message.sent_at is not None and message.status == "received"
            and counts_for_clock(message))


def wait_from(ws: Workspace, request: RequestFacts, letters: Sequence[clock.Letter],
              replies: Sequence[clock.Reply], as_of: date) -> clock.Wait:
    """The clock of *request* from its letters as sent and its answers (see `wait_for`)."""
    rule = parse_rule(request.deadline_rule,
                      default=ws.settings.organisation.default_deadline)
    extensions = [parse_extension(e, rule) for e in request.extensions]
    return clock.compute_wait(letters, replies, rule, extensions, as_of, ws.settings.tz,
                              ws.calendar_for(request.platform_slug))


def counts_for_clock(message: MessageFacts) -> bool:
    """Inbound mail moves the clock only once nobody needs to look at it first.

    A probable match or a suspicious-looking reply waits in triage ("pending") until a person
    links it; a dismissed one never counts.
    """
    return message.triage in ("", "linked")


# Inbound kinds that show the platform responded without answering: the clock keeps running.
RESPONSE_KINDS = ("auto_reply", "extension", "information_request")


def derived_state(ws: Workspace, messages: Sequence[MessageFacts], wait: clock.Wait) -> State:
    """The state a request's letters and replies call for, closing aside."""
    if not sent_letters(messages):
        return State.DRAFT
    if wait.answered:
        return State.ANSWERED
    acknowledged = any(
        m.direction == "in" and m.kind in RESPONSE_KINDS and m.sent_at is not None
        and counts_for_clock(m) and wait.started_on is not None
        and clock.local_date(m.sent_at, ws.settings.tz) >= wait.started_on
        for m in messages
    )
    return State.ACKNOWLEDGED if acknowledged else State.AWAITING


def settle_state(ws: Workspace, session: Session, request: Request, today: date,
                 messages: Sequence[MessageFacts] | None = None) -> State:
    """Refresh the due date and return the state the messages call for (closed stays closed).

    *messages*: the request's messages, if the caller has them already (see `messages_facts`).
    """
    if messages is None:
        messages = _message_facts(session, request)
    wait = wait_for(ws, request, messages, today)
    request.due_on = wait.due_on
    if request.state == State.CLOSED:
        return State.CLOSED
    return derived_state(ws, messages, wait)


def bounced_recipient(recipient: str, bounced: Sequence[str]) -> bool:
    """Does a bounce listing *bounced* (none: unreadable) mean *recipient* cannot be reached?"""
    return not bounced or recipient.lower() in {r.lower() for r in bounced}


def refresh_learned(session: Session, request: Request) -> None:
    """What a request learned from its mail (the platform's tickets, a failed delivery) is
    what its mail that counts says: a person may have dismissed the message that taught it."""
    rows = session.exec(select(Message.kind, Message.ticket, Message.bounced).where(
        Message.request_id == request.id, Message.direction == "in",
        col(Message.triage).in_(("", "linked"))).order_by(col(Message.id))).all()
    tickets = list(dict.fromkeys(ticket for _, ticket, _ in rows if ticket))
    failed = any(kind == "bounce" and bounced_recipient(request.recipient, bounced)
                 for kind, _, bounced in rows)
    if tickets != request.tickets:
        request.tickets = tickets
    request.delivery_failed = failed


def refresh_due(ws: Workspace, session: Session, request: Request, today: date) -> clock.Wait:
    wait = wait_for(ws, request, _message_facts(session, request), today)
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
