"""The dashboard: the weekly report's summary, live, with what needs a person first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tracker.report.live import live_weekly_report
from tracker.services.workspace import current_time
from tracker.web.auth import Actor, viewer
from tracker.web.rendering import render

router = APIRouter()
LIST_LIMIT = 10  # rows per list on the dashboard; the full lists are a click away


@router.get("/")
def dashboard(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    today = current_time(actor.ws).date()
    report = live_weekly_report(actor.ws, today)
    return render(request, "dashboard.html", {"report": report, "today": today,
                                              "limit": LIST_LIMIT})
