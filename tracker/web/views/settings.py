"""The settings as loaded, read-only and without secrets, and the mailbox connection's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tracker.services.configuration import settings_overview
from tracker.web.auth import Actor, viewer
from tracker.web.rendering import render

router = APIRouter()


@router.get("/settings")
def settings_page(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    # The watcher's state lives in memory beside the app (tracker.jobs.watch.WatchState).
    return render(request, "settings.html", {"overview": settings_overview(actor.ws),
                                             "watch": request.app.state.watch})
