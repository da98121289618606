"""Status rows: one per request, with the clock computed as of a given day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tracker.models import Event, Message, Request, State
from tracker.records import MessageFacts, sent_letters, wait_for
from tracker.workspace import Workspace


class _Facts(NamedTuple):
    direction: str
    status: str
    kind: str
    sent_at: datetime | None
    subject: str
    triage: str
    authenticity: str


@dataclass(frozen=True)
class StatusRow:
    """What `tracker status` shows for one request (the JSON keys are these field names)."""

    ref: str
    platform: str
    template: str
    subject: str
    state: str
    channel: str
    recipient: str
    rule: str
    sent_on: str | None
    due_on: str | None
    days_without_response: int | None
    business_days_without_response: int | None
    overdue: bool
    very_overdue: bool
    overdue_by_days: int
    last_reply_on: str | None
    resolution: str | None
    delivery_failed: bool
    suspicious_replies: int
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def build_row(ws: Workspace, request: Request, messages: Sequence[MessageFacts],
              as_of: date) -> StatusRow:
    """The status of one request as of *as_of*."""
    wait = wait_for(ws, request, messages, as_of)
    sent = sent_letters(messages)
    subject = sent[0].subject if sent else ""
    if not subject:
        template = ws.templates.get((request.template, request.language))
        subject = template.title if template else request.template
    closed = request.state == State.CLOSED
    return StatusRow(
        ref=request.ref,
        platform=request.platform_slug,
        template=request.template,
        subject=subject,
        state=request.state,
        channel=request.channel,
        recipient=request.recipient,
        rule=request.deadline_rule,
        sent_on=_iso(wait.sent_on),
        due_on=_iso(wait.due_on),
        days_without_response=None if closed else wait.days_without_response,
        business_days_without_response=None if closed else wait.business_days_without_response,
        overdue=wait.overdue and not closed,
        very_overdue=wait.very_overdue and not closed,
        overdue_by_days=0 if closed else wait.overdue_by_days,
        last_reply_on=_iso(wait.last_reply_on),
        resolution=request.resolution,
        delivery_failed=request.delivery_failed,
        suspicious_replies=sum(1 for m in messages if m.direction == "in"
                               and m.authenticity == "suspicious" and m.triage != "linked"),
        explanation=wait.explanation,
    )


def status_rows(ws: Workspace, session: Session, as_of: date, *, platform: str | None = None,
                overdue_only: bool = False, include_closed: bool = False) -> list[StatusRow]:
    """Rows for every open request (or all), longest silence first."""
    query = select(Request)
    if not include_closed:
        query = query.where(Request.state != State.CLOSED)
    if platform:
        query = query.where(Request.platform_slug == platform)
    requests = list(session.exec(query.order_by(col(Request.ref))).all())
    by_request: dict[int, list[MessageFacts]] = defaultdict(list)
    if requests:
        # Only the columns the clock needs: never the raw bytes of thousands of messages.
        query_messages = (
            sa.select(col(Message.request_id), col(Message.direction), col(Message.status),
                      col(Message.kind), col(Message.sent_at), col(Message.subject),
                      col(Message.triage), col(Message.authenticity))
            .where(col(Message.request_id).is_not(None)).order_by(col(Message.id))
        )
        if platform or not include_closed:
            query_messages = query_messages.where(
                col(Message.request_id).in_(query.with_only_columns(col(Request.id)))
            )
        for request_id, *facts in session.execute(query_messages).all():
            by_request[request_id].append(_Facts(*facts))
    rows = [build_row(ws, r, by_request[r.id or 0], as_of) for r in requests]
    if overdue_only:
        rows = [r for r in rows if r.overdue]
    rows.sort(key=lambda r: (-(r.days_without_response or -1), r.ref))
    return rows


def timeline(ws: Workspace, session: Session, request: Request) -> list[dict[str, Any]]:
    """Messages and events of a request in time order, for `tracker request show`."""
    tz = ws.settings.tz
    items: list[dict[str, Any]] = []
    for m in session.exec(select(Message).where(Message.request_id == request.id)).all():
        when = m.sent_at or m.created_at
        items.append({
            "at": when.astimezone(tz).isoformat(timespec="minutes"),
            "type": "message", "id": m.id, "direction": m.direction, "status": m.status,
            "kind": m.kind, "channel": m.channel, "template": m.template, "subject": m.subject,
            "from": m.from_addr, "to": m.to_addrs, "message_id": m.message_id,
            "sha256": m.sha256, "note": m.note,
        })
    for e in session.exec(select(Event).where(Event.request_id == request.id)).all():
        items.append({
            "at": e.at.astimezone(tz).isoformat(timespec="minutes"), "type": "event",
            "id": e.id, "kind": e.kind, "actor": e.actor, "from_state": e.from_state,
            "to_state": e.to_state, "data": e.data,
        })
    items.sort(key=lambda i: (i["at"], i["type"] != "event", i["id"]))
    return items
