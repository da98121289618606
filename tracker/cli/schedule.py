"""Commands for reminders and scheduled jobs."""

from __future__ import annotations

import logging
import sys
from datetime import datetime

import click

from tracker.cli.base import emit_json, main, now_for, parse_day, with_workspace
from tracker.jobs.schedule import run_due_jobs
from tracker.services.reminders import run_reminders
from tracker.services.workspace import Workspace


@main.command()
@click.option("--as-of", default=None, help="Plan as of this day (default: today).")
@click.option("--send", "send_now", is_flag=True,
              help="Also send the follow-ups approved with `tracker draft approve` that go by "
                   "email (never one drafted in the same run).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def remind(ws: Workspace, as_of: str | None, send_now: bool, as_json: bool) -> None:
    """Draft follow-ups for overdue requests (safe to run daily: never twice per window).

    Review each draft with `tracker letter REF` and approve it with `tracker draft approve
    REF`; `tracker remind --send` then sends the approved ones. A request whose letter cannot
    be drafted is reported on its own line and the others go ahead; the exit code is then
    non-zero.
    """
    now = now_for(ws)
    day = parse_day(as_of, "--as-of")
    if day is not None:
        now = datetime.combine(day, now.timetz())
    done = run_reminders(ws, now, send=send_now)
    if as_json:
        emit_json([{"ref": r.ref, "letter": r.letter, "action": r.action, "outcome": r.outcome,
                    "failed": r.failed} for r in done])
    elif not done:
        click.echo("no follow-ups due" + (", none approved to send" if send_now else ""))
    else:
        for r in done:
            line = f"{r.ref}: {r.letter} {r.outcome}"
            if r.failed:
                click.echo(f"tracker: error: {line}", err=True)
            else:
                click.echo(line)
        if any(r.outcome == "drafted" for r in done):
            click.echo("review each with `tracker letter REF`, then approve it with "
                       "`tracker draft approve REF`; `tracker remind --send` sends the "
                       "approved ones")
    failed = [r for r in done if r.failed]
    if failed:
        sys.exit(failed[0].exit_code)


@main.command(name="run-scheduled")
@with_workspace
def run_scheduled(ws: Workspace) -> None:
    """Run the jobs whose time has come (weekly report, daily reminders); for cron.

    Exits non-zero if a job failed; it is tried again at the next run.
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runs = run_due_jobs(ws, now_for(ws))
    done = [f"{r.job} {r.period}" for r in runs if r.ok]
    failed = [r for r in runs if not r.ok]
    if done:
        click.echo("ran: " + ", ".join(done))
    for run in failed:
        click.echo(f"failed: {run.job} {run.period}: {run.detail}", err=True)
    if not runs:
        click.echo("nothing due")
    if failed:
        sys.exit(1)
