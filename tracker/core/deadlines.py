"""Deadline rules: "30d", "20bd", "1m+roll" or a law's preset, and the due date they give.

Counting follows Regulation (EEC, Euratom) No 1182/71, the EU rules on periods used for GDPR
deadlines: the day a letter is sent is day 0 (Art. 3(1)), a period in months ends on the same
date of the last month or, lacking one, on that month's last day (Art. 3(2)(c),
``add_months``), and only where a rule says so does an end on a Saturday, Sunday or public
holiday move to the next working day (Art. 3(4)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from dateutil.relativedelta import relativedelta

from tracker.core.business_days import BusinessCalendar
from tracker.core.errors import InputError, suggest

__all__ = ["DeadlineRule", "Unit", "add_months", "apply_rule", "parse_rule", "period_end"]

Unit = Literal["d", "bd", "m"]

_UNITS: dict[str, Unit] = {"d": "d", "bd": "bd", "m": "m"}
_UNIT_WORDS: dict[str, str] = {"d": "day", "bd": "business day", "m": "month"}
# About ten years each: anything longer is a typo, not a legal deadline.
_LIMITS: dict[str, int] = {"d": 3650, "bd": 2600, "m": 120}
_RULE = re.compile(r"([0-9]+)\s*(bd|d|m)\s*(\+\s*roll)?")
_PRESETS = ("gdpr", "ccpa", "dsa")
_FORMS = "use Nd, Nbd, Nm (optionally +roll) or gdpr, ccpa, dsa"


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



def period_end(start: date, rule: DeadlineRule, calendar: BusinessCalendar) -> date:
    """*start* plus the rule's period, without rolling."""
    if rule.unit == "d":
        return start + timedelta(days=rule.amount)
    if rule.unit == "bd":
        return calendar.add_business_days(start, rule.amount)
    return add_months(start, rule.amount)


def add_months(start: date, months: int) -> date:
    """*start* plus *months* months; a missing day (31 Jan + 1 month) is the month's last day
    (1182/71 Art. 3(2)(c)), as ``relativedelta`` counts."""
    return start + relativedelta(months=months)


def apply_rule(start: date, rule: DeadlineRule, calendar: BusinessCalendar) -> date:
    """Return the due date of *rule* counted from *start* (day 0), rolled if the rule says so."""
    due = period_end(start, rule, calendar)
    return calendar.next_business_day(due) if rule.roll else due
