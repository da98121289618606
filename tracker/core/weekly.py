"""Weekly schedules (``MON 09:00``) and the ISO week whose scheduled moment has passed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from tracker.core.errors import InputError

_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_SCHEDULE_RE = re.compile(r"([A-Za-z]{3})[A-Za-z]*\s+(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class WeeklySchedule:
    weekday: int  # Monday = 0
    at: time


def parse_schedule(text: str) -> WeeklySchedule:
    """``MON 09:00`` (any weekday name, 24-hour local time)."""
    match = _SCHEDULE_RE.fullmatch(text.strip())
    day = match.group(1).upper() if match else ""
    if not match or day not in _DAYS or int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise InputError(f"{text!r} is not a weekly time; write it like MON 09:00")
    return WeeklySchedule(_DAYS.index(day), time(int(match.group(2)), int(match.group(3))))


def weekly_period(schedule: WeeklySchedule, now: datetime) -> str | None:
    """The ISO week whose scheduled moment has passed at *now* (local time), else None."""
    monday = now.date() - timedelta(days=now.weekday())
    moment = datetime.combine(monday + timedelta(days=schedule.weekday), schedule.at,
                              tzinfo=now.tzinfo)
    if now < moment:
        return None
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"
