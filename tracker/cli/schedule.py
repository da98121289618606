"""Commands for reminders and scheduled jobs."""

from __future__ import annotations

import logging
import sys
from datetime import datetime

import click

from tracker import sending
from tracker.cli.base import emit_json, main, now_for, parse_day, with_workspace
from tracker.errors import TrackerError
from tracker.reminders import run_reminders
from tracker.schedule import run_due_jobs
from tracker.workspace import Workspace


@main.command()
@click.option("--as-of", default=None, help="Plan as of this day (default: today).")
@click.option("--send", "send_now", is_flag=True,
              help="Send the drafted follow-ups that go by email.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def remind(ws: Workspace, as_of: str | None, send_now: bool, as_json: bool) -> None:
    """Draft follow-ups for overdue requests (safe to run daily: never twice per window)."""
    now = now_for(ws)
    day = parse_day(as_of, "--as-of")
    if day is not None:
        now = datetime.combine(day, now.timetz())
    drafted = run_reminders(ws, now)
    results = []
    for reminder in drafted:
        outcome = "drafted"
        if send_now:
            try:
                sending.send_request(ws, reminder.ref, now)
                outcome = "sent"
            except TrackerError as exc:
                outcome = f"not sent: {exc}"
        results.append({"ref": reminder.ref, "letter": reminder.plan.template,
                        "action": reminder.plan.text, "outcome": outcome})
    if as_json:
        emit_json(results)
        return
    if not results:
        click.echo("no follow-ups due")
        return
    for r in results:
        click.echo(f"{r['ref']}: {r['letter']} {r['outcome']}")
    if not send_now:
        click.echo("review each with `tracker letter REF`, then `tracker send REF` "
                   "(or `tracker remind --send`)")


@main.command(name="run-scheduled")
@with_workspace
def run_scheduled(ws: Workspace) -> None:
    """Run the jobs whose time has come (weekly report, daily reminders); for cron."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ran = run_due_jobs(ws, now_for(ws))
    click.echo("ran: " + ", ".join(ran) if ran else "nothing due")
