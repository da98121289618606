"""Statutory clocks: business calendars, deadline rules and how long a platform has been silent.

Everything here is pure: "today" (``as_of``), the time zone and the calendar are arguments, so a
report can be recomputed for any past day and gives the same answer on every machine.

Counting follows Regulation (EEC, Euratom) No 1182/71, the EU rules on periods used for GDPR
deadlines: the day a letter is sent is day 0 (Art. 3(1)), a period in months ends on the same
date of the last month or, lacking one, on that month's last day (Art. 3(2)(c),
``add_months``), and only where a rule says so does an end on a Saturday, Sunday or public
holiday move to the next working day (Art. 3(4)). Dates are local dates in the organisation's
time zone, so a DST change never adds or removes a day.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from calendar import monthrange
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays

from tracker.core.errors import InputError, suggest

Unit = Literal["d", "bd", "m"]

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip
_UNITS: dict[str, Unit] = {"d": "d", "bd": "bd", "m": "m"}
_UNIT_WORDS: dict[str, str] = {"d": "day", "bd": "business day", "m": "month"}
# About ten years each: anything longer is a typo, not a legal deadline.
_LIMITS: dict[str, int] = {"d": 3650, "bd": 2600, "m": 120}
_RULE = re.compile(r"([0-9]+)\s*(bd|d|m)\s*(\+\s*roll)?")
_PRESETS = ("gdpr", "ccpa", "dsa")
_FORMS = "use Nd, Nbd, Nm (optionally +roll) or gdpr, ccpa, dsa"
_MEMO_LIMIT = 50_000  # remembered deadlines per calendar before they are dropped
# The days tracker counts with. Deadlines reach at most about ten years past a day (_LIMITS)
# and reports look a week or a year back, so these stay far inside what Python's dates hold
# (years 1 to 9999); a day outside is a typo, not a letter.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


class BusinessCalendar:
    """Weekends plus a country's public holidays (holidays package); country "" = weekends only.

    The weekend is the country's own (Fri-Sat in some countries), Sat-Sun without a country.
    Holidays are looked up once per year and kept, so counting over years costs a few bisects.
    """

    def __init__(self, country: str = "", subdivision: str = "") -> None:
        self.country = country.strip().upper()
        self.subdivision = ""
        self._weekend: frozenset[int] = frozenset({5, 6})
        self._language: str | None = None
        wanted = subdivision.strip()
        if not self.country and wanted:
            raise InputError(f"holiday subdivision {subdivision!r} needs a country, e.g. DE and BY")
        if self.country:
            try:
                probe = holidays.country_holidays(self.country, years=[])
            except NotImplementedError:
                raise InputError(
                    f"no public-holiday calendar for country {country!r}; "
                    "use an ISO 3166 code such as DE, GB, US or TW"
                ) from None
            self.subdivision = _match_subdivision(probe, self.country, wanted)
            self._weekend = frozenset(probe.weekend)
            # Holiday names appear in explanations and evidence: keep them English everywhere,
            # whatever translations the installed package carries.
            default = probe.default_language or ""
            if not default.startswith("en") and "en_US" in probe.supported_languages:
                self._language = "en_US"
        self._workdays = tuple(d for d in range(7) if d not in self._weekend)
        # _before[r]: workdays among the first r days of a week (ordinal 1, 1 Jan 1 AD, is a Monday)
        self._before = tuple(sum(1 for d in self._workdays if d < r) for r in range(8))
        self._years: dict[int, tuple[dict[date, str], list[int]]] = {}
        # Deadlines and counts already worked out (compute_wait): thousands of requests share a
        # few hundred start days. Pure values of immutable inputs, dropped when they pile up.
        # Keyed by the rule's id (hashing a rule hashes all its fields); each entry keeps its
        # rule alive, so the id cannot be reused while the entry exists.
        self._deadlines: dict[tuple[date, int], tuple[DeadlineRule, date, date, str]] = {}
        self._elapsed: dict[tuple[date, date], int] = {}

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.country!r}, {self.subdivision!r})"

    @property
    def label(self) -> str:
        """Short name for explanations: "DE-BY", "DE" or "weekends only"."""
        if not self.country:
            return "weekends only"
        return f"{self.country}-{self.subdivision}" if self.subdivision else self.country

    def is_business_day(self, day: date) -> bool:
        """True unless *day* is a weekend day or a public holiday."""
        return day.weekday() not in self._weekend and day not in self._year(day.year)[0]

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's name on *day* (several joined by "; "), or None."""
        return self._year(day.year)[0].get(day)

    def business_days_between(self, start: date, end: date) -> int:
        """Count business days d with start < d <= end; 0 if end <= start."""
        if end <= start:
            return 0
        first, last = start.toordinal(), end.toordinal()
        count = self._workdays_through(last) - self._workdays_through(first)
        for year in range(start.year, end.year + 1):
            off = self._year(year)[1]
            count -= bisect_right(off, last) - bisect_right(off, first)
        return count

    def add_business_days(self, start: date, n: int) -> date:
        """Return the n-th business day after *start* (*start* itself for n == 0)."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        day = start
        while n > 0:
            # Jump to the n-th workday ignoring holidays, then make up for the holidays passed.
            # The target is a workday, so once no holiday was passed it is the answer.
            reach = self._workdays_through(day.toordinal()) + n
            target = date.fromordinal(self._nth_workday(reach))
            n -= self.business_days_between(day, target)
            day = target
        return day

    def next_business_day(self, day: date) -> date:
        """Return *day* itself if it is a business day, else the first business day after it."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def _workdays_through(self, ordinal: int) -> int:
        """Weekend-free days with ordinals 1..ordinal."""
        weeks, rest = divmod(ordinal, 7)
        return weeks * len(self._workdays) + self._before[rest]

    def _nth_workday(self, count: int) -> int:
        """Ordinal of the day where ``_workdays_through`` first reaches *count* (count >= 1)."""
        weeks, index = divmod(count - 1, len(self._workdays))
        return weeks * 7 + self._workdays[index] + 1

    def _year(self, year: int) -> tuple[dict[date, str], list[int]]:
        """Holiday names of *year*, and the sorted ordinals of those on workdays."""
        cached = self._years.get(year)
        if cached is None:
            names: dict[date, str] = {}
            if self.country:
                found = holidays.country_holidays(
                    self.country, subdiv=self.subdivision or None, years=year,
                    language=self._language,
                )
                names = {day: str(name) for day, name in found.items() if day.year == year}
            off = sorted(d.toordinal() for d in names if d.weekday() not in self._weekend)
            cached = self._years[year] = (names, off)
        return cached


def _match_subdivision(probe: holidays.HolidayBase, country: str, wanted: str) -> str:
    """Return the holidays package's code for *wanted* ("by", "DE-BY", "Bayern"), or raise."""
    if not wanted:
        return ""
    codes = {code.upper(): code for code in probe.subdivisions}
    aliases = getattr(probe, "subdivisions_aliases", {})
    codes.update({name.upper(): code for name, code in aliases.items()})
    key = wanted.upper().removeprefix(f"{country}-")
    if key in codes:
        return str(codes[key])
    raise InputError(
        f"country {country} has no holiday subdivision {wanted!r}"
        f"{suggest(key, codes)}; use one of {', '.join(probe.subdivisions)}"
    )


@dataclass(frozen=True)
class DeadlineRule:
    """A parsed deadline rule: a count of days, business days or months, maybe from a law."""

    text: str
    unit: Unit
    amount: int
    roll: bool
    preset: str | None
    citation: str
    extension: DeadlineRule | None
    note: str

    def describe(self) -> str:
        """The rule in words, e.g. "1 month, GDPR Art. 12(3)" or "20 business days"."""
        words = [f"{self.amount} {_UNIT_WORDS[self.unit]}{'' if self.amount == 1 else 's'}"]
        if self.roll and self.preset != "gdpr":  # for gdpr the roll is the law's, see note
            words.append("rolled forward to a business day")
        if self.preset == "dsa":
            words.append(f"organisation default ({self.citation} sets no period)")
        elif self.citation:
            # Citations read "Act, section"; in prose the section goes in brackets.
            act, _, section = self.citation.partition(", ")
            words.append(f"{act} ({section})" if section else act)
        return ", ".join(words)


@lru_cache(maxsize=256)
def parse_rule(text: str, default: str = "30d") -> DeadlineRule:
    """Parse "30d", "20bd", "1m", "1m+roll" or a preset (gdpr, ccpa, dsa); raise InputError.

    *default* is the organisation's rule, used for dsa, whose law sets no period. Rules are
    immutable, so each text is parsed once per process (a report reads thousands of them).
    """
    key = text.strip().lower()
    if key == "gdpr":
        return DeadlineRule(
            text="gdpr", unit="m", amount=1, roll=True, preset="gdpr",
            citation="GDPR Art. 12(3)", extension=parse_rule("2m"),
            note="within one month of receipt, extendable by two further months where "
            "necessary; a period ending on a Saturday, Sunday or public holiday ends on the "
            "next working day (Regulation (EEC, Euratom) No 1182/71 Art. 3(4))",
        )
    if key == "ccpa":
        return DeadlineRule(
            text="ccpa", unit="d", amount=45, roll=False, preset="ccpa",
            citation="CCPA, Cal. Civ. Code § 1798.130(a)(2)", extension=parse_rule("45d"),
            note="45 calendar days, extendable once by another 45 with notice "
            "within the first 45",
        )
    if key == "dsa":
        base = parse_rule(default)
        return DeadlineRule(
            text="dsa", unit=base.unit, amount=base.amount, roll=base.roll, preset="dsa",
            citation="DSA Art. 20(4)", extension=None,
            note="no statutory period ('timely'); the organisation's default of "
            f"{base.describe()} is used",
        )
    match = _RULE.fullmatch(key)
    if match is None:
        raise InputError(f"deadline rule {text!r} is not valid; {_FORMS}{suggest(key, _PRESETS)}")
    digits, unit, roll = match[1], match[2], match[3] is not None
    limit = _LIMITS[unit]
    # Length check first: int() of a huge digit string is slow and may even refuse.
    if len(digits) > 6 or not 1 <= int(digits) <= limit:
        raise InputError(
            f"deadline rule {text!r} is out of range; the number must be 1 to {limit} for {unit}"
        )
    amount = int(digits)
    return DeadlineRule(
        text=f"{amount}{unit}{'+roll' if roll else ''}", unit=_UNITS[unit], amount=amount,
        roll=roll, preset=None, citation="", extension=None, note="",
    )


def _shift(start: date, rule: DeadlineRule, calendar: BusinessCalendar) -> date:
    """*start* plus the rule's period, without rolling."""
    if rule.unit == "d":
        return start + timedelta(days=rule.amount)
    if rule.unit == "bd":
        return calendar.add_business_days(start, rule.amount)
    return add_months(start, rule.amount)


def add_months(start: date, months: int) -> date:
    """*start* plus *months* months; a missing day (31 Jan + 1 month) is the month's last day.

    The same as ``start + dateutil.relativedelta(months=months)`` (1182/71 Art. 3(2)(c)),
    without building a relativedelta for every deadline of a report.
    """
    years, month0 = divmod(start.month - 1 + months, 12)
    year, month = start.year + years, month0 + 1
    return date(year, month, min(start.day, monthrange(year, month)[1]))


def apply_rule(start: date, rule: DeadlineRule, calendar: BusinessCalendar) -> date:
    """Return the due date of *rule* counted from *start* (day 0), rolled if the rule says so."""
    due = _shift(start, rule, calendar)
    return calendar.next_business_day(due) if rule.roll else due


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
    due, very_overdue_on, words = _deadline(started, rule, granted, tz, calendar)
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
    elapsed = _business_days(calendar, started, as_of) if waiting else None
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


def _deadline(started: date, rule: DeadlineRule, granted: Sequence[Extension], tz: ZoneInfo,
              calendar: BusinessCalendar) -> tuple[date, date, str]:
    """The due date, the very-overdue date and how the due date was reached, in words."""
    memo = calendar._deadlines
    if not granted:
        known = memo.get((started, id(rule)))
        if known is not None and known[0] is rule:
            return known[1:]
    nominal = _shift(started, rule, calendar)
    clauses = [f"rule {rule.describe()}", f"due {format_day(nominal)}"]
    # Extensions lengthen the period itself, so each counts from the unrolled end and the roll
    # applies once to the final end (1182/71 Art. 3(4) moves only where a period ends).
    roll = rule.roll
    for ext in sorted(granted, key=lambda e: e.granted_at):
        nominal = _shift(nominal, ext.rule, calendar)
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
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        memo[started, id(rule)] = (rule, *result)
    return result


def _business_days(calendar: BusinessCalendar, start: date, end: date) -> int:
    """``calendar.business_days_between``, remembered (a report asks it once per request)."""
    memo = calendar._elapsed
    count = memo.get((start, end))
    if count is None:
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        count = memo[start, end] = calendar.business_days_between(start, end)
    return count
