"""The weekly report's data: what staff read every Monday, built in one pass (see evaluate)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from tracker.core.errors import InputError
from tracker.report.evaluate import Mail, evaluate_all
from tracker.report.i18n import LANGUAGES
from tracker.report.rows import DraftLetter, InboundMail, RequestLine, shallow
from tracker.report.stats import PlatformStats, summarise_platforms
from tracker.services.facts import DUE_SOON_DAYS, counts_for_clock
from tracker.services.records import as_utc, utc_column
from tracker.services.status import paused_gc, silence_order
from tracker.services.triage import InboxItem
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.models import Message, Request


@dataclass(frozen=True)
class Attention:
    """What needs a person: the triage inbox, undelivered letters, drafts, due reminders."""

    triage: list[InboxItem]
    undelivered: list[RequestLine]
    drafts: list[DraftLetter]
    reminders: list[RequestLine]


@dataclass(frozen=True, slots=True)
class Summary:
    open: int
    overdue: int
    very_overdue: int
    answered_this_week: int
    undelivered: int
    waiting_for_triage: int
    suspicious_replies: int
    due_soon: int
    drafts: int
    reminders_due: int

    def to_dict(self) -> dict[str, Any]:
        return shallow(self)


@dataclass(frozen=True)
class WeeklyReport:
    """Everything the weekly report shows; the renderers only lay it out."""

    organisation: str
    language: str
    as_of: date
    week_start: date
    summary: Summary
    overdue: list[RequestLine]
    due_soon: list[RequestLine]
    inbound: list[InboundMail]
    needs_attention: Attention
    platforms: list[PlatformStats]
    open_lines: list[RequestLine] = field(repr=False)  # every open request, longest silence first

    def to_dict(self) -> dict[str, Any]:
        # A request in several sections is the same row: build its dict once.
        rows: dict[int, dict[str, Any]] = {}

        def row(line: RequestLine) -> dict[str, Any]:
            found = rows.get(id(line))
            if found is None:
                found = rows[id(line)] = line.to_dict()
            return found

        attention = self.needs_attention
        return {
            "organisation": self.organisation, "language": self.language,
            "as_of": self.as_of.isoformat(), "week_start": self.week_start.isoformat(),
            "summary": self.summary.to_dict(),
            "overdue": [row(r) for r in self.overdue],
            "due_soon": [row(r) for r in self.due_soon],
            "inbound": [m.to_dict() for m in self.inbound],
            "needs_attention": {
                "triage": [dict(i.__dict__) for i in attention.triage],
                "undelivered": [row(r) for r in attention.undelivered],
                "drafts": [d.to_dict() for d in attention.drafts],
                "reminders": [row(r) for r in attention.reminders],
            },
            "platforms": [p.to_dict() for p in self.platforms],
        }


def _week_bounds(as_of: date) -> tuple[date, datetime]:
    week_start = as_of - timedelta(days=6)
    # A day earlier in UTC than the local start, whatever the zone: exact dates come later.
    since = datetime.combine(week_start - timedelta(days=1), time(0), tzinfo=UTC)
    return week_start, since


def _triage_items(ws: Workspace, session: Session) -> list[InboxItem]:
    """The triage inbox (as `tracker inbox`, times local), read without the raw bytes."""
    query = (
        sa.select(col(Message.id), utc_column(Message.occurred_at), col(Message.from_addr),
                  col(Message.subject), col(Message.kind), col(Message.authenticity),
                  col(Message.match_rule), col(Request.ref), col(Message.hold),
                  col(Message.reasons))
        .select_from(Message)
        .outerjoin(Request, col(Message.request_id) == col(Request.id))
        .where(col(Message.triage) == "pending")
        .order_by(col(Message.occurred_at), col(Message.id))
    )
    tz = ws.settings.tz
    return [InboxItem(id=id_, sender=sender,
                      received_at=at.astimezone(tz).isoformat(timespec="minutes")
                      if (at := as_utc(when)) else None,
                      subject=subject, kind=kind, authenticity=authenticity,
                      match_rule=match_rule, ref=ref, hold=hold, why=list(reasons or []))
            for id_, when, sender, subject, kind, authenticity, match_rule, ref, hold, reasons
            in session.connection().execute(query).all()]


def _category(mail: Mail) -> str:
    if mail.authenticity == "suspicious":
        return "suspicious"
    return {"reply": "reply", "auto_reply": "acknowledgement", "bounce": "bounce",
            "delivery_delay": "delay"}.get(mail.kind, "other")


def build_weekly_report(ws: Workspace, session: Session, as_of: date) -> WeeklyReport:
    """The weekly report for the seven days ending on *as_of* (the organisation's dates)."""
    with paused_gc():
        return _build(ws, session, as_of)


def read_weekly_report(ws: Workspace, as_of: date, language: str | None = None) -> WeeklyReport:
    """`build_weekly_report` in a transaction of its own, in *language* (default: [report])."""
    with transaction(ws.engine) as session:
        built = build_weekly_report(ws, session, as_of)
    if language and language != built.language:
        if language not in LANGUAGES:
            raise InputError(f"language {language!r}: the report speaks {', '.join(LANGUAGES)}")
        built = dataclasses.replace(built, language=language)
    return built


def _build(ws: Workspace, session: Session, as_of: date) -> WeeklyReport:
    week_start, since = _week_bounds(as_of)
    tz = ws.settings.tz
    evaluated, inbound_mail = evaluate_all(ws, session, as_of, since)
    triage = _triage_items(ws, session)
    lines = [e.line for e in evaluated if e.line is not None]
    lines.sort(key=lambda line: silence_order(line.row))
    overdue = [line for line in lines if line.row.overdue]
    due_soon = sorted(
        (line for line in lines if not line.row.overdue and line.due_in_days is not None
         and 0 <= line.due_in_days <= DUE_SOON_DAYS),
        key=lambda line: (line.row.due_on or "", line.ref))
    undelivered = [line for line in lines if line.row.delivery_failed]
    reminders = [line for line in lines if line.next_letter is not None]
    drafts = sorted((d for e in evaluated for d in e.drafts), key=lambda d: d.ref)

    refs = {e.request.id: (e.request.ref, e.request.platform_slug) for e in evaluated}
    inbound: list[InboundMail] = []
    answered: set[int] = set()
    week = [m for m in inbound_mail if m.occurred_at is not None and m.triage != "dismissed"]
    week.sort(key=lambda m: (m.occurred_at, m.id))
    for mail in week:
        assert mail.occurred_at is not None
        local = mail.occurred_at.astimezone(tz)
        if not week_start <= local.date() <= as_of:
            continue
        ref, platform = refs.get(mail.request_id or 0, (None, None))
        inbound.append(InboundMail(
            id=mail.id, received_at=local.isoformat(timespec="minutes"),
            category=_category(mail), kind=mail.kind, ref=ref, platform=platform,
            sender=mail.from_addr, subject=mail.subject, authenticity=mail.authenticity,
            triage=mail.triage))
        if (mail.kind == "reply" and mail.status == "received" and counts_for_clock(mail)
                and mail.request_id is not None):
            answered.add(mail.request_id)

    summary = Summary(
        open=len(lines), overdue=len(overdue),
        very_overdue=sum(line.row.very_overdue for line in overdue),
        answered_this_week=len(answered), undelivered=len(undelivered),
        waiting_for_triage=len(triage),
        suspicious_replies=sum(line.row.suspicious_replies for line in lines),
        due_soon=len(due_soon), drafts=len(drafts), reminders_due=len(reminders),
    )
    return WeeklyReport(
        organisation=ws.settings.organisation.name, language=ws.settings.report.language,
        as_of=as_of, week_start=week_start, summary=summary, overdue=overdue,
        due_soon=due_soon, inbound=inbound,
        needs_attention=Attention(triage=triage, undelivered=undelivered, drafts=drafts,
                                  reminders=reminders),
        platforms=summarise_platforms(ws, (e.outcome for e in evaluated)),
        open_lines=lines,
    )
