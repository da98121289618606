"""The weekly report for a page that many people open: rebuilt only when the record changed."""

from __future__ import annotations

from datetime import date

from tracker.report.model import WeeklyReport, build_weekly_report
from tracker.services.memo import remembered
from tracker.services.workspace import Workspace
from tracker.store import db


def live_weekly_report(ws: Workspace, as_of: date) -> WeeklyReport:
    """`build_weekly_report` as of *as_of*, kept while no event or message is added."""

    def build() -> WeeklyReport:
        with db.reading(ws.engine) as session:
            return build_weekly_report(ws, session, as_of)

    return remembered(ws, "weekly-report", (as_of, len(ws.platforms)), build)
