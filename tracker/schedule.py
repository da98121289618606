"""Scheduled jobs: the weekly report and the daily reminders, each exactly once per period.

A job claims its period (``2026-W48``, ``2026-11-25``) by inserting a ScheduleRun row; the
unique key means a second watcher, a restart or a cron run in the same period finds it claimed.
A job that failed may be claimed again; one interrupted mid-run is reported, not repeated blind.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from tracker.db import transaction
from tracker.errors import InputError, TrackerError
from tracker.models import ScheduleRun, utcnow
from tracker.workspace import Workspace

log = logging.getLogger("tracker.schedule")
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


def claim(ws: Workspace, job: str, period: str) -> bool:
    """Take *job* for *period* if nobody has; a failed earlier run may be taken again."""
    try:
        with transaction(ws.engine) as session:
            existing = session.exec(select(ScheduleRun).where(
                ScheduleRun.job == job, ScheduleRun.period == period)).first()
            if existing is not None:
                if existing.status != "failed":
                    if existing.status == "running":
                        log.warning("%s for %s was started at %s and never finished; check "
                                    "and run it by hand if needed", job, period,
                                    existing.started_at.isoformat(timespec="minutes"))
                    return False
                existing.status, existing.started_at, existing.detail = "running", utcnow(), ""
                session.add(existing)
                return True
            session.add(ScheduleRun(job=job, period=period, status="running"))
    except IntegrityError:
        return False  # another process claimed it at the same moment
    return True


def finish(ws: Workspace, job: str, period: str, ok: bool, detail: str) -> None:
    with transaction(ws.engine) as session:
        run = session.exec(select(ScheduleRun).where(
            ScheduleRun.job == job, ScheduleRun.period == period)).one()
        run.status, run.finished_at, run.detail = ("done" if ok else "failed"), utcnow(), detail
        session.add(run)


def run_job(ws: Workspace, job: str, period: str, work: Callable[[], str]) -> bool:
    """Run *work* once for *period*; record how it went. True if it ran now."""
    if not claim(ws, job, period):
        return False
    try:
        detail = work()
    except TrackerError as exc:
        finish(ws, job, period, False, str(exc))
        log.error("%s for %s failed: %s", job, period, exc)
        return True
    finish(ws, job, period, True, detail)
    log.info("%s for %s: %s", job, period, detail)
    return True


def run_due_jobs(ws: Workspace, now: datetime) -> list[str]:
    """Run every job whose time has come and that has not run in its period."""
    ran: list[str] = []
    local = now.astimezone(ws.settings.tz)
    report = ws.settings.report
    if report.schedule and report.recipients:
        period = weekly_period(parse_schedule(report.schedule), local)
        if period is not None:
            from tracker.report import email_weekly_report

            def send_report() -> str:
                return email_weekly_report(ws, local.date(), now)

            if run_job(ws, "weekly-report", period, send_report):
                ran.append(f"weekly-report {period}")
    if ws.settings.reminders.auto_draft:
        from tracker.reminders import run_reminders

        def remind() -> str:
            drafted = run_reminders(ws, now)
            return f"{len(drafted)} follow-ups drafted: " + ", ".join(r.ref for r in drafted)

        day = local.date().isoformat()
        if run_job(ws, "reminders", day, remind):
            ran.append(f"reminders {day}")
    return ran
