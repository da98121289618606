"""`tracker report weekly`, `tracker stats`, `tracker export`: what staff read and keep."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.text import Text

from tracker.cli.base import (
    TrackerGroup,
    emit_json,
    main,
    now_for,
    out,
    parse_day,
    with_workspace,
)
from tracker.core.inert import inert_json
from tracker.report import (
    EXPORT_FIELDS,
    FORMATS,
    export_requests,
    read_platform_stats,
    read_weekly_report,
    render,
)
from tracker.report.formats import write_csv
from tracker.report.i18n import LANGUAGES, Labels
from tracker.report.layout import platform_block
from tracker.report.mail import send_report
from tracker.report.terminal import ROW_LIMIT, render_terminal, table_of
from tracker.services.files import write_atomic
from tracker.services.status import paused_gc
from tracker.services.workspace import Workspace
from tracker.store import db


def _emit(text: str, output: str | None, what: str) -> None:
    if output:
        write_atomic(Path(output), text.encode("utf-8"))
        click.echo(f"wrote {what} to {output}")
    else:
        click.echo(text, nl=False)


@main.group(cls=TrackerGroup)
def report() -> None:
    """Reports for staff: the weekly overdue report."""


@report.command(name="weekly")
@click.option("--as-of", default=None, help="Last day of the week (default: today).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="terminal",
              help="terminal (default), markdown, text, html, csv or json.")
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False),
              help="Write to FILE (mode 0600, replaced atomically) instead of printing.")
@click.option("--email", "send", is_flag=True,
              help="Email it (text and HTML) to [report] recipients.")
@click.option("--language", default=None, type=click.Choice(LANGUAGES),
              help="Language of the report (default: [report] language).")
@click.option("--rows", type=click.IntRange(min=0), default=ROW_LIMIT, show_default=True,
              help="terminal only: rows per table (0: all).")
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@with_workspace
def report_weekly(ws: Workspace, as_of: str | None, fmt: str, output: str | None, send: bool,
                  language: str | None, rows: int, as_json: bool) -> None:
    """The weekly report: summary, overdue, due soon, this week's mail, what needs a person,
    per platform. The week is the seven days ending on --as-of."""
    fmt = "json" if as_json else fmt
    now = now_for(ws)
    day = parse_day(as_of, "--as-of") or now.date()
    with paused_gc():  # building and rendering make plain data only (see paused_gc)
        built = read_weekly_report(ws, day, language)
        if send:
            detail = send_report(ws, built, now)
            if output:
                _emit(render(built, fmt, limit=rows), output, f"the {fmt} report")
            click.echo(detail)
            return
        if fmt == "terminal" and not output:
            render_terminal(built, out, limit=rows)
            return
        _emit(render(built, fmt, width=out.width, limit=rows), output, f"the {fmt} report")


@main.command()
@click.option("--as-of", default=None, help="Count up to this day (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_workspace
def stats(ws: Workspace, as_of: str | None, as_json: bool) -> None:
    """Per platform: requests, answered share, median days to the first reply, longest silence;
    over all time and per year of the first letter."""
    day = parse_day(as_of, "--as-of") or now_for(ws).date()
    result = read_platform_stats(ws, day)
    if as_json:
        emit_json(result.to_dict())
        return
    t = Labels(ws.settings.report.language)
    if not result.all_time:
        click.echo(f"no letters sent as of {day}")
        return
    title = f"{t('all_time')} ({t.day(day)})"
    out.print(table_of(platform_block(t, result.all_time, title)))
    for year, items in sorted(result.by_year.items(), reverse=True):
        out.print(Text(""))
        out.print(table_of(platform_block(t, items, f"{t('year')} {year}")))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              help="csv (default) or json.")
@click.option("--output", "-o", default=None, type=click.Path(dir_okay=False),
              help="Write to FILE (mode 0600, replaced atomically) instead of printing.")
@click.option("--as-of", default=None, help="Compute the clocks as of this day (default: "
              "today).")
@with_workspace
def export(ws: Workspace, fmt: str, output: str | None, as_of: str | None) -> None:
    """Every request, closed ones too, with states and dates (CSV or JSON)."""
    day = parse_day(as_of, "--as-of") or now_for(ws).date()
    with db.transaction(ws.engine) as session:
        rows = export_requests(ws, session, day)
    if fmt == "json":
        text = inert_json(json.dumps(rows, indent=2, ensure_ascii=False)) + "\n"
    else:
        text = write_csv(rows, list(EXPORT_FIELDS))
    _emit(text, output, f"{len(rows)} requests")
