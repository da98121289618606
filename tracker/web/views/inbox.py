"""The inbox: mail waiting for a person, with tracker's guess; link or dismiss, one or many."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from tracker.core.errors import InputError
from tracker.services import triage
from tracker.services.workspace import current_time
from tracker.store.models import Message, Role
from tracker.web.auth import Actor, editor, viewer
from tracker.web.rendering import redirect, render

router = APIRouter(prefix="/inbox")


@router.get("")
def inbox(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    found = triage.inbox(actor.ws)
    received = {item.id: datetime.fromisoformat(item.received_at)
                for item in found.items if item.received_at}
    return render(request, "inbox.html", {
        "inbox": found, "received": received, "kinds": list(triage.LINK_KINDS),
        "can_change": actor.user.role in (Role.EDITOR, Role.ADMIN)})


def _kind(value: str) -> str | None:
    return value or None  # "": as tracker read it


@router.post("/bulk")
def inbox_bulk(request: Request, actor: Annotated[Actor, Depends(editor)],
               action: Annotated[str, Form()], ids: Annotated[list[int] | None, Form()] = None,
               ref: Annotated[str, Form()] = "", kind: Annotated[str, Form()] = "",
               approve_domain: Annotated[bool, Form()] = False,
               reason: Annotated[str, Form()] = "") -> Response:
    chosen = ids or []
    if action == "link":
        linked = triage.link_messages(actor.ws, chosen, ref, current_time(actor.ws),
                                      kind=_kind(kind), approve_domain=approve_domain)
        return redirect(request, "/inbox", f"linked {_count(linked)} to {ref.strip().upper()}")
    if action != "dismiss":
        raise InputError(f"action {action!r}: choose link or dismiss")
    dismissed = triage.dismiss_messages(actor.ws, chosen, current_time(actor.ws), reason)
    return redirect(request, "/inbox", f"dismissed {_count(dismissed)}")


def _count(messages: list[Message]) -> str:
    return f"{len(messages)} message" + ("" if len(messages) == 1 else "s")


@router.post("/{message_id}/link")
def inbox_link(request: Request, actor: Annotated[Actor, Depends(editor)], message_id: int,
               ref: Annotated[str, Form()], kind: Annotated[str, Form()] = "",
               approve_domain: Annotated[bool, Form()] = False) -> Response:
    linked = triage.link_message(actor.ws, message_id, ref, current_time(actor.ws),
                                 kind=_kind(kind), approve_domain=approve_domain)
    approved = f"; mail from {linked.from_addr.rpartition('@')[2]} now counts for its " \
        "platform" if approve_domain else ""
    return redirect(request, "/inbox", f"linked message {linked.id} to {ref.strip().upper()} "
                    f"as {linked.kind}{approved}")


@router.post("/{message_id}/dismiss")
def inbox_dismiss(request: Request, actor: Annotated[Actor, Depends(editor)], message_id: int,
                  reason: Annotated[str, Form()] = "") -> Response:
    triage.dismiss_message(actor.ws, message_id, current_time(actor.ws), reason)
    return redirect(request, "/inbox", f"dismissed message {message_id}")
