"""One stored message, as `tracker message show` prints it: headers, verdict, text, files.

The text is the text part, or the visible text of an HTML-only part (never its markup: no
remote image loads, no link works). Attachments and the exact .eml are downloads only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tracker.mail.admission import RULES
from tracker.mail.attachments import file_extension
from tracker.services.messages import attachment_file, raw_message, show_message
from tracker.store import db
from tracker.web.auth import Actor, viewer
from tracker.web.downloads import download
from tracker.web.rendering import render

router = APIRouter(prefix="/messages")


@router.get("/{message_id}")
def message_page(request: Request, actor: Annotated[Actor, Depends(viewer)],
                 message_id: int) -> Response:
    with db.transaction(actor.ws.engine) as session:
        view = show_message(session, message_id, actor.ws.settings.tz)
    return render(request, "message.html", {"m": view, "rules": RULES})


@router.get("/{message_id}/raw")
def message_raw(actor: Annotated[Actor, Depends(viewer)], message_id: int) -> Response:
    """The exact stored bytes (evidence), as `tracker message show ID --raw` writes them."""
    with db.transaction(actor.ws.engine) as session:
        data = raw_message(session, message_id)
    return download(data, f"message-{message_id}{file_extension(data)}")


@router.get("/{message_id}/attachments/{attachment}")
def message_attachment(actor: Annotated[Actor, Depends(viewer)], message_id: int,
                       attachment: int) -> Response:
    with db.transaction(actor.ws.engine) as session:
        found, data = attachment_file(session, message_id, attachment)
    return download(data, found.safe_name)
