"""Scheduled jobs: the weekly report and the daily reminders, each exactly once per period.

A job claims its period (``2026-W48``, ``2026-11-25``) by inserting a ScheduleRun row; the
unique key means a second watcher, a restart or a cron run in the same period finds it claimed.
A job that failed may be claimed again; one interrupted mid-run is reported, not repeated blind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from tracker.core.errors import TrackerError
from tracker.core.weekly import parse_schedule, weekly_period
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.models import ScheduleRun, utcnow

log = logging.getLogger("tracker.schedule")
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


@dataclass(frozen=True)
class JobRun:
    """One job run now, and how it went (*detail*: its summary, or why it failed)."""

    job: str
    period: str
    ok: bool
    detail: str


def run_job(ws: Workspace, job: str, period: str, work: Callable[[], str]) -> JobRun | None:
    """Run *work* once for *period* and record how it went; None if it was not due."""
    if not claim(ws, job, period):
        return None
    try:
        detail = work()
    except TrackerError as exc:
        finish(ws, job, period, False, str(exc))
        log.error("%s for %s failed: %s", job, period, exc)
        return JobRun(job, period, False, str(exc))
    finish(ws, job, period, True, detail)
    log.info("%s for %s: %s", job, period, detail)
    return JobRun(job, period, True, detail)


def run_due_jobs(ws: Workspace, now: datetime) -> list[JobRun]:
    """Run every job whose time has come and that has not run in its period."""
    runs: list[JobRun | None] = []
    local = now.astimezone(ws.settings.tz)
    report = ws.settings.report
    if report.schedule and report.recipients:
        period = weekly_period(parse_schedule(report.schedule), local)
        if period is not None:
            from tracker.report import email_weekly_report

            def send_report() -> str:
                return email_weekly_report(ws, local.date(), now)

            runs.append(run_job(ws, "weekly-report", period, send_report))
    if ws.settings.reminders.auto_draft:
        from tracker.services.reminders import run_reminders

        def remind() -> str:
            done = run_reminders(ws, now)
            drafted = [r.ref for r in done if not r.failed]
            detail = f"{len(drafted)} follow-ups drafted: " + ", ".join(drafted)
            failed = [f"{r.ref} {r.letter} {r.outcome}" for r in done if r.failed]
            if failed:
                # The job fails, so the next run tries again; what was drafted stays drafted
                # and is not drafted twice.
                raise TrackerError(f"{detail}; {len(failed)} failed: " + "; ".join(failed))
            return detail

        day = local.date().isoformat()
        runs.append(run_job(ws, "reminders", day, remind))
    return [run for run in runs if run is not None]
