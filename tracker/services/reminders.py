"""Reminders: which overdue requests get a follow-up now, and what to do next.

The decision is pure (``plan_reminder``): it takes the request's letters as sent, today and the
settings. Reminders count from the day each letter actually went out, never from the creation of
a request, and a window has at most one reminder: once a follow-up is drafted or sent, the next
one is due only ``every`` after *that* letter. Running it every day from cron is safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from tracker.config.settings import ReminderSettings
from tracker.core import clock
from tracker.core.business_days import BusinessCalendar
from tracker.core.deadlines import apply_rule, parse_rule
from tracker.core.errors import TrackerError
from tracker.services.actions import draft_follow_up
from tracker.services.drafts import Draft, list_drafts
from tracker.services.facts import Facts, MessageFacts, derive
from tracker.services.records import request_messages, sent_letters
from tracker.services.sending import send_request
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.models import Channel, Message, Request, State


class DraftFacts(Protocol):
    """What `discarded_follow_ups` reads of a message: full rows and light tuples both fit."""

    @property
    def direction(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True)
class Plan:
    """What a request needs now."""

    action: str  # "none" | "follow-up" | "final-notice" | "complaint" | "fix-address" | "wait"
    template: str | None  # the letter to draft, if any
    text: str  # the suggested next action in words, for reports


def plan_reminder(*, state: str, overdue: bool, delivery_failed: bool, has_draft: bool,
                  letters_on: list[date], templates_sent: list[str], started_on: date | None,
                  due_on: date | None, as_of: date, settings: ReminderSettings,
                  authority: str = "", calendar: BusinessCalendar | None = None,
                  discarded_on: Sequence[date] = (),
                  information_requested_on: date | None = None,
                  extension_notice_on: date | None = None) -> Plan:
    """Decide the next step for one request (pure).

    *discarded_on*: the days follow-ups were drafted that staff then discarded. Such a draft
    was the window's reminder: the next one is due ``every`` after it, not the next morning.
    *information_requested_on*: the platform asked us for something (identity, details) on
    that day; until a letter of ours follows, chasing it for an answer would be wrong.
    *extension_notice_on*: it announced an extension nobody has applied yet.
    """
    if state in (State.DRAFT, State.CLOSED, State.ANSWERED) or not letters_on:
        return Plan("none", None, "")
    if delivery_failed:
        return Plan("fix-address", None,
                    "the letter bounced: find a working address and send it again")
    if information_requested_on is not None and information_requested_on >= max(letters_on):
        return Plan("give-information", None,
                    f"the platform asked for information on "
                    f"{clock.format_day(information_requested_on)}: read it (tracker inbox, "
                    "tracker message show) and answer it")
    if not overdue:
        left = (due_on - as_of).days if due_on else None
        return Plan("wait", None, f"wait: due in {left} days" if left is not None else "wait")
    if has_draft:
        return Plan("none", None, "a drafted letter is waiting to be reviewed and sent")
    if extension_notice_on is not None:
        return Plan("review-extension", None,
                    f"the platform announced an extension on "
                    f"{clock.format_day(extension_notice_on)}: apply it with `tracker extend` "
                    "if it is lawful, else send a follow-up")
    every = parse_rule(settings.every)
    calendar = calendar or BusinessCalendar()
    if apply_rule(max(letters_on), every, calendar) > as_of:
        return Plan("wait", None, f"wait: last letter sent {clock.format_day(max(letters_on))}")
    if discarded_on and apply_rule(max(discarded_on), every, calendar) > as_of:
        return Plan("wait", None, "wait: a follow-up drafted "
                    f"{clock.format_day(max(discarded_on))} was discarded")
    escalate = parse_rule(settings.escalate_after)
    escalated = started_on is not None and apply_rule(started_on, escalate,
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
    """What `remind` did for one request: a letter drafted, an approved one sent, or why not."""

    ref: str
    letter: str | None  # the template
    action: str  # what was due, in words
    outcome: str  # "drafted", "sent", or what went wrong and what to do
    exit_code: int = 0  # the exit code of the error, when something failed

    @property
    def failed(self) -> bool:
        return self.exit_code != 0


class DatedLetterFacts(MessageFacts, Protocol):
    """What a plan reads of a message: `derive`'s facts and when it was written."""

    @property
    def created_at(self) -> datetime: ...


D = TypeVar("D", bound=DatedLetterFacts)


def plan_for(ws: Workspace, request: Request, messages: list[Message], as_of: date) -> Plan:
    """The plan for a request read from the database."""
    return plan_from_facts(ws, derive(ws, request, messages, as_of),
                           lead_authority(ws, request.platform_slug))


def plan_from_facts(ws: Workspace, facts: Facts[D], authority: str) -> Plan:
    """The plan for a request from its facts (`derive`); *authority*: `lead_authority`."""
    request, wait, sent = facts.request, facts.wait, facts.letters_sent
    return plan_reminder(
        state=request.state, overdue=wait.overdue, delivery_failed=request.delivery_failed,
        has_draft=bool(facts.drafts), letters_on=[day for _, day, _ in sent],
        templates_sent=[template for _, _, template in sent], started_on=wait.started_on,
        due_on=wait.due_on, as_of=facts.as_of, settings=ws.settings.reminders,
        authority=authority, calendar=ws.calendar_for(request.platform_slug),
        discarded_on=discarded_follow_ups(facts.discarded, ws.settings.tz, facts.as_of),
        information_requested_on=facts.information_requested_on,
        extension_notice_on=facts.extension_notice_on,
    )


def lead_authority(ws: Workspace, platform_slug: str) -> str:
    """The name of the platform's lead supervisory authority, if the directory knows it."""
    platform = ws.platforms.get(platform_slug)
    if not (platform and platform.lead_authority):
        return ""
    from tracker.directory.authorities import load_authorities

    found = load_authorities().get(platform.lead_authority)
    return found.name if found else platform.lead_authority


def discarded_follow_ups(messages: Sequence[DraftFacts], tz: ZoneInfo,
                         as_of: date) -> list[date]:
    """The days (by *as_of*) the discarded follow-ups among *messages* were drafted."""
    days = [clock.local_date(m.created_at, tz) for m in messages
            if m.direction == "out" and m.status == "discarded" and m.kind == "follow-up"]
    return [day for day in days if day <= as_of]


def run_reminders(ws: Workspace, now: datetime, *, send: bool = False) -> list[Reminder]:
    """Draft the follow-ups that are due (each in the request's own language); with *send*,
    also send by email the follow-ups that staff approved (`tracker draft approve`).

    One request's failure never stops the others: it is reported in its own line. The approved
    drafts are chosen before anything is drafted, so a letter drafted in this run is never sent
    by it: every letter that goes out unattended was read by a person first.
    """
    as_of = clock.local_date(now, ws.settings.tz)
    approved = [d for d in list_drafts(ws) if d.approved and d.kind == "follow-up"
                and d.status == "draft" and d.state != State.CLOSED] if send else []
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
        try:
            draft_follow_up(ws, ref, plan.template, {}, now)
        except TrackerError as exc:
            done.append(Reminder(ref, plan.template, plan.text, f"not drafted: {exc}",
                                 exc.exit_code))
        else:
            done.append(Reminder(ref, plan.template, plan.text, "drafted"))
    done.extend(_send_approved(ws, draft, now) for draft in approved)
    return done


def _send_approved(ws: Workspace, draft: Draft, now: datetime) -> Reminder:
    action = "send the approved draft"
    if draft.channel != Channel.EMAIL:
        return Reminder(draft.ref, draft.template, action,
                        f"approved, and it goes by {draft.channel}: submit it there, then "
                        f"`tracker mark-sent {draft.ref} --on DATE --channel {draft.channel}`")
    try:
        send_request(ws, draft.ref, now, approved_only=True)
    except TrackerError as exc:
        return Reminder(draft.ref, draft.template, action, f"not sent: {exc}", exc.exit_code)
    return Reminder(draft.ref, draft.template, action, "sent")


def follow_ups_sent(messages: list[Message]) -> int:
    """Letters sent after the first one."""
    return max(0, len(sent_letters(messages)) - 1)
