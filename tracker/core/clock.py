"""A request's clock: the local days it counts in and how long a platform has been silent.

Everything here is pure: "today" (``as_of``), the time zone and the calendar are arguments, so a
report can be recomputed for any past day and gives the same answer on every machine. Dates are
local dates in the organisation's time zone, so a DST change never adds or removes a day. The
deadline rules are `tracker.core.deadlines`, the business days `tracker.core.business_days`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from tracker.core.business_days import BusinessCalendar
from tracker.core.deadlines import DeadlineRule, apply_rule, period_end
from tracker.core.errors import InputError

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip
_MEMO_LIMIT = 50_000  # remembered deadlines per calendar before they are dropped
# The days tracker counts with. Deadlines reach at most about ten years past a day (the rules'
# limits in tracker.core.deadlines)
# and reports look a week or a year back, so these stay far inside what Python's dates hold
# (years 1 to 9999); a day outside is a typo, not a letter.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date of an aware *moment* in *tz*; naive datetimes raise ValueError."""
    if moment.tzinfo is not UTC and (moment.tzinfo is None or moment.utcoffset() is None):
        raise ValueError(f"naive datetime {moment.isoformat()}: a time zone is required")
    return moment.astimezone(tz).date()


def check_day(day: date, what: str) -> date:
    """Return *day* if tracker can count with it, else raise InputError naming *what*."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(f"{what} {day.isoformat()} is outside the days tracker can count "
                         f"with; give a day from {FIRST_DAY} to {LAST_DAY}")
    return day


def format_day(day: date) -> str:
    """Format like "Mon 8 Jun 2020", in English whatever the process locale."""
    return f"{_DAY_NAMES[day.weekday()]} {day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


@dataclass(frozen=True, slots=True)
class Letter:
    """An outbound letter that actually went out."""

    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Reply:
    """An inbound message matched to the request; only a substantive one stops the clock."""

    received_at: datetime
    substantive: bool


@dataclass(frozen=True, slots=True)
class Extension:
    """A deadline extension the platform claimed, e.g. GDPR's two further months."""

    rule: DeadlineRule
    granted_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Wait:
    """Where a request's clock stands on a given day; see ``compute_wait``."""

    sent_on: date | None
    started_on: date | None
    due_on: date | None
    very_overdue_on: date | None
    days_without_response: int | None
    business_days_without_response: int | None
    overdue: bool
    very_overdue: bool
    overdue_by_days: int
    last_reply_on: date | None  # the last substantive reply of all, in any wait
    answered: bool
    # The moment of the reply that closed the current wait (None while waiting): not always
    # the last reply, which may be a second answer to the same letter.
    answered_at: datetime | None
    response_days: int | None
    explanation: str


def compute_wait(
    letters: Sequence[Letter], replies: Sequence[Reply], rule: DeadlineRule,
    extensions: Sequence[Extension], as_of: date, tz: ZoneInfo, calendar: BusinessCalendar,
) -> Wait:
    """Compute the state of the current (or last) wait for a reply as it stood on *as_of*.

    A wait starts at the first letter after the last substantive reply; follow-ups sent while
    waiting and acknowledgements do not restart or stop it. Anything dated after *as_of*
    (local date in *tz*) is ignored, so past reports can be reproduced.
    """

    def seen(moment: datetime) -> bool:
        return local_date(moment, tz) <= as_of

    # Each moment is paired with its local date once: a report runs this for every request.
    sent: list[tuple[datetime, date]] = []
    for letter in letters:
        day = local_date(letter.sent_at, tz)
        if day <= as_of:
            sent.append((letter.sent_at, day))
    answers: list[tuple[datetime, date]] = []
    for reply in replies:
        if reply.substantive:
            day = local_date(reply.received_at, tz)
            if day <= as_of:
                answers.append((reply.received_at, day))
    sent.sort()
    answers.sort()
    last_reply_on = answers[-1][1] if answers else None
    if not sent:
        return Wait(
            sent_on=None, started_on=None, due_on=None, very_overdue_on=None,
            days_without_response=None, business_days_without_response=None, overdue=False,
            very_overdue=False, overdue_by_days=0, last_reply_on=last_reply_on, answered=False,
            answered_at=None, response_days=None, explanation="not sent yet",
        )
    # A wait opens at a letter when none is open and closes at the next substantive reply.
    # At the same instant the reply sorts first: it cannot answer a letter not yet sent.
    start, started = sent[0]
    answer: tuple[datetime, date] | None = None
    previous: tuple[datetime, date] | None = None  # the reply that closed the wait before this
    if answers:
        events = sorted([(t, True, day) for t, day in sent] +
                        [(t, False, day) for t, day in answers])
        for moment, is_letter, day in events:
            if is_letter and answer is not None:
                previous, (start, started), answer = answer, (moment, day), None
            elif not is_letter and answer is None and moment > start:
                answer = (moment, day)

    since = f", after the reply of {format_day(previous[1])}" if previous else ""
    clauses = [f"sent {format_day(started)}{since}"]
    # Extensions granted during an earlier wait belong to that wait.
    granted = [e for e in extensions if e.granted_at >= start and seen(e.granted_at)]
    memo = _memo(calendar)
    due, very_overdue_on, words = _deadline(started, rule, granted, tz, calendar, memo)
    clauses.append(words)

    response_days = None
    if answer is not None:
        answered_on = answer[1]
        response_days = (answered_on - started).days
        clauses.append(
            f"answered {format_day(answered_on)} after {response_days} "
            f"day{'' if response_days == 1 else 's'}"
        )
    waiting = answer is None
    overdue = waiting and as_of > due
    elapsed = _business_days(calendar, started, as_of, memo) if waiting else None
    return Wait(
        sent_on=sent[0][1],
        started_on=started if waiting else None,
        due_on=due,
        very_overdue_on=very_overdue_on,
        days_without_response=(as_of - started).days if waiting else None,
        business_days_without_response=elapsed,
        overdue=overdue,
        very_overdue=waiting and as_of > very_overdue_on,
        overdue_by_days=(as_of - due).days if overdue else 0,
        last_reply_on=last_reply_on,
        answered=not waiting,
        answered_at=None if answer is None else answer[0],
        response_days=response_days,
        explanation="; ".join(clauses),
    )


@dataclass
class _Memo:
    """Deadlines and counts already worked out with one calendar.

    Thousands of requests share a few hundred start days. Pure values of immutable inputs,
    dropped when they pile up. Deadlines are keyed by the rule's id (hashing a rule hashes all
    its fields); each entry keeps its rule alive, so the id cannot be reused while it exists.
    """

    deadlines: dict[tuple[date, int], tuple[DeadlineRule, date, date, str]] = field(
        default_factory=dict)
    elapsed: dict[tuple[date, date], int] = field(default_factory=dict)


# One memo per calendar, gone with it: the calendar itself knows nothing of deadlines.
_MEMOS: WeakKeyDictionary[BusinessCalendar, _Memo] = WeakKeyDictionary()


def _memo(calendar: BusinessCalendar) -> _Memo:
    memo = _MEMOS.get(calendar)
    if memo is None:
        memo = _MEMOS[calendar] = _Memo()
    return memo


def _deadline(started: date, rule: DeadlineRule, granted: Sequence[Extension], tz: ZoneInfo,
              calendar: BusinessCalendar, memo: _Memo) -> tuple[date, date, str]:
    """The due date, the very-overdue date and how the due date was reached, in words."""
    if not granted:
        known = memo.deadlines.get((started, id(rule)))
        if known is not None and known[0] is rule:
            return known[1:]
    nominal = period_end(started, rule, calendar)
    clauses = [f"rule {rule.describe()}", f"due {format_day(nominal)}"]
    # Extensions lengthen the period itself, so each counts from the unrolled end and the roll
    # applies once to the final end (1182/71 Art. 3(4) moves only where a period ends).
    roll = rule.roll
    for ext in sorted(granted, key=lambda e: e.granted_at):
        nominal = period_end(nominal, ext.rule, calendar)
        roll = roll or ext.rule.roll
        reason = f" ({ext.reason})" if ext.reason else ""
        clauses.append(
            f"extended by {ext.rule.describe()} on {format_day(local_date(ext.granted_at, tz))}"
            f"{reason}: due {format_day(nominal)}"
        )
    due = calendar.next_business_day(nominal) if roll else nominal
    if due != nominal:
        name = calendar.holiday_name(nominal)
        where = f"{calendar.label}: {name}" if name else calendar.label
        clauses.append(
            f"due date {format_day(nominal)} is not a business day ({where}), "
            f"moved to {format_day(due)}"
        )
    result = (due, apply_rule(due, rule, calendar), "; ".join(clauses))
    if not granted:
        if len(memo.deadlines) > _MEMO_LIMIT:
            memo.deadlines.clear()
        memo.deadlines[started, id(rule)] = (rule, *result)
    return result


def _business_days(calendar: BusinessCalendar, start: date, end: date, memo: _Memo) -> int:
    """``calendar.business_days_between``, remembered (a report asks it once per request)."""
    elapsed = memo.elapsed
    count = elapsed.get((start, end))
    if count is None:
        if len(elapsed) > _MEMO_LIMIT:
            elapsed.clear()
        count = elapsed[start, end] = calendar.business_days_between(start, end)
    return count
