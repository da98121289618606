"""Reminders: which overdue requests get a follow-up now, and what to do next.

The decision is pure (``plan_reminder``): it takes the request's letters as sent, today and the
settings. Reminders count from the day each letter actually went out, never from the creation of
a request, and a window has at most one reminder: once a follow-up is drafted or sent, the next
one is due only ``every`` after *that* letter. Running it every day from cron is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select

from tracker import clock
from tracker.actions import draft_follow_up
from tracker.config import ReminderSettings
from tracker.db import transaction
from tracker.models import Message, Request, State
from tracker.records import pending_letter, request_messages, sent_letters, wait_for
from tracker.workspace import Workspace


@dataclass(frozen=True)
class Plan:
    """What a request needs now."""

    action: str  # "none" | "follow-up" | "final-notice" | "complaint" | "fix-address" | "wait"
    template: str | None  # the letter to draft, if any
    text: str  # the suggested next action in words, for reports


def plan_reminder(*, state: str, overdue: bool, delivery_failed: bool, has_draft: bool,
                  letters_on: list[date], templates_sent: list[str], started_on: date | None,
                  due_on: date | None, as_of: date, settings: ReminderSettings,
                  authority: str = "", calendar: clock.BusinessCalendar | None = None) -> Plan:
    """Decide the next step for one request (pure)."""
    if state in (State.DRAFT, State.CLOSED, State.ANSWERED) or not letters_on:
        return Plan("none", None, "")
    if delivery_failed:
        return Plan("fix-address", None,
                    "the letter bounced: find a working address and send it again")
    if not overdue:
        left = (due_on - as_of).days if due_on else None
        return Plan("wait", None, f"wait: due in {left} days" if left is not None else "wait")
    if has_draft:
        return Plan("none", None, "a drafted letter is waiting to be reviewed and sent")
    every = clock.parse_rule(settings.every)
    calendar = calendar or clock.BusinessCalendar()
    if clock.apply_rule(max(letters_on), every, calendar) > as_of:
        return Plan("wait", None, f"wait: last letter sent {clock.format_day(max(letters_on))}")
    escalate = clock.parse_rule(settings.escalate_after)
    escalated = started_on is not None and clock.apply_rule(started_on, escalate,
                                                            calendar) <= as_of
    if escalated and "final-notice" in templates_sent:
        where = authority or "the lead supervisory authority"
        return Plan("complaint", None,
                    f"complain to {where} (GDPR Art. 77) or go public: the final notice "
                    "went unanswered")
    if escalated:
        return Plan("final-notice", "final-notice",
                    "send the final notice before a complaint to the regulator")
    return Plan("follow-up", "follow-up", "send a follow-up")


@dataclass(frozen=True)
class Reminder:
    ref: str
    plan: Plan
    drafted: bool


def plan_for(ws: Workspace, request: Request, messages: list[Message], as_of: date) -> Plan:
    """The plan for a request read from the database."""
    wait = wait_for(ws, request, messages, as_of)
    tz = ws.settings.tz
    sent = [m for m in sent_letters(messages) if m.sent_at is not None
            and clock.local_date(m.sent_at, tz) <= as_of]
    platform = ws.platforms.get(request.platform_slug)
    authority = ""
    if platform and platform.lead_authority:
        from tracker.platforms import load_authorities

        found = load_authorities().get(platform.lead_authority)
        authority = found.name if found else platform.lead_authority
    return plan_reminder(
        state=request.state, overdue=wait.overdue, delivery_failed=request.delivery_failed,
        has_draft=pending_letter(messages) is not None,
        letters_on=[clock.local_date(m.sent_at, tz) for m in sent if m.sent_at],
        templates_sent=[m.template for m in sent], started_on=wait.started_on,
        due_on=wait.due_on, as_of=as_of, settings=ws.settings.reminders, authority=authority,
        calendar=ws.calendar_for(request.platform_slug),
    )


def run_reminders(ws: Workspace, now: datetime, *, draft: bool = True) -> list[Reminder]:
    """Draft the follow-ups that are due (each in the request's own language)."""
    as_of = clock.local_date(now, ws.settings.tz)
    with transaction(ws.engine) as session:
        requests = list(session.exec(select(Request).where(
            col(Request.state).in_([State.AWAITING, State.ACKNOWLEDGED]))
            .order_by(col(Request.ref))).all())
        plans = [(r.ref, plan_for(ws, r, request_messages(session, r), as_of))
                 for r in requests]
    done: list[Reminder] = []
    for ref, plan in plans:
        if plan.template is None:
            continue
        if draft:
            draft_follow_up(ws, ref, plan.template, {}, now)
        done.append(Reminder(ref, plan, drafted=draft))
    return done


def follow_ups_sent(messages: list[Message]) -> int:
    """Letters sent after the first one."""
    return max(0, len(sent_letters(messages)) - 1)
