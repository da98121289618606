"""The triage inbox: unmatched, probable and suspicious mail, sorted by a person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from tracker.core import clock
from tracker.core.errors import InputError, NotFoundError, StateError
from tracker.services.inbound import apply_message
from tracker.services.messages import first_lines
from tracker.services.records import get_request, refresh_learned, settle_state
from tracker.services.workspace import Workspace
from tracker.store.db import MAX_ROW_ID, transaction
from tracker.store.events import record_event, record_message_event
from tracker.store.models import ApprovedDomain, Case, Message, Request

# What a person may say a message is when linking it (`tracker link --as`).
LINK_KINDS = {"answer": "reply", "acknowledgement": "auto_reply", "extension": "extension",
              "information-request": "information_request", "bounce": "bounce"}


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
    hold: str
    why: list[str]
    # The start of what the sender wrote, inert (tracker.messages); the report leaves it out.
    first_lines: list[str] = field(default_factory=list)


def inbox_items(session: Session) -> list[InboxItem]:
    """Every message in triage, oldest first."""
    rows = session.exec(
        select(Message, Request.ref).outerjoin(Request, col(Message.request_id) == col(Request.id))
        .where(Message.triage == "pending").order_by(col(Message.occurred_at), col(Message.id))
    ).all()
    return [InboxItem(
        id=m.id or 0, received_at=m.occurred_at.isoformat() if m.occurred_at else None,
        sender=m.from_addr, subject=m.subject, kind=m.kind, authenticity=m.authenticity,
        match_rule=m.match_rule, ref=ref, hold=m.hold, why=list(m.reasons),
        first_lines=first_lines(m.raw),
    ) for m, ref in rows]


def _inbound(session: Session, message_id: int) -> Message:
    message = session.get(Message, message_id) if 0 < message_id <= MAX_ROW_ID else None
    if message is None or message.direction != "in":
        raise NotFoundError(f"no inbound message {message_id}; see `tracker inbox`")
    return message


def link_message(ws: Workspace, message_id: int, ref: str, now: datetime, *,
                 kind: str | None = None, approve_domain: bool = False) -> Message:
    """A person confirms which request a message belongs to; it then counts like any match.

    *kind* (a key of LINK_KINDS) corrects what kind of message it is. *approve_domain*: the
    sender's domain may answer for the request's platform from now on (recorded as an event).
    """
    return link_messages(ws, [message_id], ref, now, kind=kind,
                         approve_domain=approve_domain)[0]


def link_messages(ws: Workspace, message_ids: Sequence[int], ref: str, now: datetime, *,
                  kind: str | None = None, approve_domain: bool = False) -> list[Message]:
    """`link_message` for several messages at once, all or none (one transaction)."""
    if kind is not None and kind not in LINK_KINDS:
        raise InputError(f"--as {kind!r}: use one of {', '.join(LINK_KINDS)}")
    ids = _chosen(message_ids)
    if not ref.strip():
        raise InputError("choose the request to link the messages to")
    with transaction(ws.engine) as session:
        messages = [_inbound(session, message_id) for message_id in ids]  # named first
        request = get_request(session, ref)
        return [_link(ws, session, message, request, now, kind, approve_domain)
                for message in messages]


def _chosen(message_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(message_ids))  # each once, in the order given
    if not ids:
        raise InputError("choose at least one message")
    return ids


def _link(ws: Workspace, session: Session, message: Message, request: Request, now: datetime,
          kind: str | None, approve_domain: bool) -> Message:
    if message.triage == "linked" and message.request_id == request.id:
        raise StateError(f"message {message.id} is already linked to {request.ref}")
    previous, before = message.request_id, message.kind
    message.request_id, message.triage, message.match_rule = request.id, "linked", "manual"
    message.admission, message.hold = "staff-confirmed", ""
    if kind is not None:
        message.kind = LINK_KINDS[kind]
    record_message_event(session, message, "linked", ws.actor, at=now, ref=request.ref,
                         previous_request_id=previous, message_kind=message.kind,
                         kind_before=before)
    if approve_domain:
        _approve(ws, session, request, message, now)
    apply_message(ws, session, request, message, None, now, actor=ws.actor)
    return message


def _approve(ws: Workspace, session: Session, request: Request, message: Message,
             now: datetime) -> None:
    """Let the sender's domain answer for the request's platform (exactly that domain)."""
    domain = message.from_addr.rpartition("@")[2].strip().lower().rstrip(".")
    if not domain or "." not in domain:
        raise InputError(f"message {message.id} has no sender domain to approve")
    slug = request.platform_slug
    exists = session.exec(select(ApprovedDomain).where(
        ApprovedDomain.platform_slug == slug, ApprovedDomain.domain == domain)).first()
    if exists is not None:
        return
    session.add(ApprovedDomain(platform_slug=slug, domain=domain, approved_by=ws.actor,
                               approved_at=now, note=f"approved when linking message "
                               f"{message.id} to {request.ref}"))
    record_event(session, request, "domain_approved", ws.actor, message=message, at=now,
                 platform=slug, domain=domain)


def dismiss_message(ws: Workspace, message_id: int, now: datetime, reason: str = "") -> Message:
    """A person decides a message does not count (spam, forged, unrelated). It stays stored."""
    return dismiss_messages(ws, [message_id], now, reason)[0]


def dismiss_messages(ws: Workspace, message_ids: Sequence[int], now: datetime,
                     reason: str = "") -> list[Message]:
    """`dismiss_message` for several messages at once, all or none (one transaction)."""
    ids = _chosen(message_ids)
    with transaction(ws.engine) as session:
        return [_dismiss(ws, session, _inbound(session, message_id), now, reason)
                for message_id in ids]


def _dismiss(ws: Workspace, session: Session, message: Message, now: datetime,
             reason: str) -> Message:
    if message.triage == "dismissed":
        raise StateError(f"message {message.id} is already dismissed")
    message.triage = "dismissed"
    session.add(message)
    request = session.get(Request, message.request_id) if message.request_id else None
    if request is None:
        record_message_event(session, message, "dismissed", ws.actor, at=now, reason=reason)
        return message
    # It may have counted before (a linked reply): the request's state is recomputed.
    state = settle_state(ws, session, request, clock.local_date(now, ws.settings.tz))
    refresh_learned(session, request)
    record_event(session, request, "dismissed", ws.actor, to_state=state, message=message,
                 at=now, reason=reason)
    return message


@dataclass(frozen=True)
class LinkTarget:
    """A request a message may be linked to, as the inbox offers it."""

    ref: str
    platform: str
    state: str
    case_title: str


@dataclass(frozen=True)
class Inbox:
    """The inbox page: the messages waiting, and the requests they may be linked to."""

    items: list[InboxItem]
    requests: list[LinkTarget]


def inbox(ws: Workspace) -> Inbox:
    """Every message in triage, and every request (newest first) to link one to."""
    with transaction(ws.engine) as session:
        items = inbox_items(session)
        rows = session.exec(select(Request.ref, Request.platform_slug, Request.state, Case.title)
                            .join(Case, col(Case.id) == col(Request.case_id))
                            .order_by(col(Request.id).desc())).all()
    return Inbox(items, [LinkTarget(ref, platform, state, title)
                         for ref, platform, state, title in rows])
