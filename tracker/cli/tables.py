"""Rich tables for the terminal. Untrusted text always goes in through `cell` (inert, no markup)."""

from __future__ import annotations

from datetime import date

from rich.table import Table

from tracker.core import clock
from tracker.report.console import cell
from tracker.services.facts import StatusRow
from tracker.services.search import SearchResult


def status_table(rows: list[StatusRow], day: date) -> Table:
    """One row per request; overdue rows in red, very overdue in bold red."""
    table = Table(title=f"requests as of {clock.format_day(day)}", title_justify="left")
    for name in ("ref", "platform"):
        table.add_column(name, no_wrap=True)
    table.add_column("subject", no_wrap=True, overflow="ellipsis", max_width=26)
    for name in ("sent", "due"):
        table.add_column(name, no_wrap=True)
    for name in ("days", "bdays"):
        table.add_column(name, no_wrap=True, justify="right")
    table.add_column("state", min_width=16, overflow="fold")  # wraps: warnings are never cut
    for r in rows:
        style = "bold red" if r.very_overdue else "red" if r.overdue else ""
        # A follow-up sent after an acknowledgement does not make it unsaid: keep it in view.
        acknowledged = r.acknowledged_on and r.state in ("awaiting", "acknowledged")
        alerts = [f"acknowledged {r.acknowledged_on}" if acknowledged else r.state]
        if r.pending_draft and r.state != "draft":
            alerts.append(f"draft: {r.pending_draft}")
        if r.overdue:
            alerts.append(f"{'VERY ' if r.very_overdue else ''}OVERDUE +{r.overdue_by_days}d")
        if r.delivery_failed:
            alerts.append("UNDELIVERED")
            style = "bold red"
        if r.suspicious_replies:
            alerts.append(f"{r.suspicious_replies} SUSPICIOUS")
        state = ", ".join(alerts)
        subject = r.subject.replace(f"[{r.ref}]", "").strip()
        table.add_row(
            cell(r.ref), cell(r.platform), cell(subject), cell(r.sent_on or "-"),
            cell(r.due_on or "-"),
            cell("-" if r.days_without_response is None else r.days_without_response),
            cell("-" if r.business_days_without_response is None
                 else r.business_days_without_response),
            cell(state), style=style,
        )
    return table


def search_table(result: SearchResult) -> Table:
    """One row per request found: where it matched and the words around the match."""
    table = Table(title=f"{result.total} request{'' if result.total == 1 else 's'} found",
                  title_justify="left")
    for name in ("ref", "platform", "state", "where"):
        table.add_column(name, no_wrap=True)
    table.add_column("found", overflow="fold")
    for hit in result.hits:
        table.add_row(cell(hit.ref), cell(hit.platform), cell(hit.state),
                      cell(hit.where if hit.message_id is None
                           else f"{hit.where} {hit.message_id}"),
                      cell(str(hit.snippet)))
    return table
