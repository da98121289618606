"""The guided new-request form, its preview in each language, and saving or sending it.

The form's fields are `intake.new_request`'s arguments, a template's variables as ``var.NAME``.
Every step posts the whole form again (hidden fields on the preview), so nothing is kept on the
server between steps and each works with JavaScript off.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tracker.core.errors import TrackerError
from tracker.services import actions, intake, sending
from tracker.services.workspace import current_time
from tracker.store.models import Channel
from tracker.web.auth import Actor, editor
from tracker.web.i18n import LANGUAGES
from tracker.web.rendering import redirect, render

router = APIRouter(prefix="/requests/new")
VAR_PREFIX = "var."
FIELDS = ("platform", "template", "language", "case_id", "case_title", "to", "channel",
          "deadline")
CONFIRM = "confirm"


def _values(pairs: Mapping[str, str] | list[tuple[str, object]]) -> dict[str, str]:
    """The form's own fields, as typed (kept to show them again)."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return {name: value for name, value in items if isinstance(value, str)
            and (name in FIELDS or name.startswith(VAR_PREFIX))}


async def _posted(request: Request) -> tuple[dict[str, str], bool]:
    form = await request.form()
    return _values(list(form.multi_items())), form.get(CONFIRM) == "yes"


def _spec(values: Mapping[str, str]) -> intake.NewRequest:
    return intake.new_request(
        platform=values.get("platform", ""), template=values.get("template", ""),
        language=values.get("language"), case_title=values.get("case_title"),
        case_id=values.get("case_id"), to=values.get("to"), channel=values.get("channel"),
        deadline=values.get("deadline"),
        variables={name.removeprefix(VAR_PREFIX): value for name, value in values.items()
                   if name.startswith(VAR_PREFIX)})


async def _form(request: Request, actor: Actor, values: Mapping[str, str], error: str = "",
                status: int = 200) -> Response:
    choices = await run_in_threadpool(intake.form_choices, actor.ws, values.get("platform", ""),
                                      values.get("template", ""), values.get("language", ""))
    options = {  # (value, text) for each select
        "platforms": [(p.slug, p.name) for p in choices.platforms],
        "languages": [(code, LANGUAGES.get(code, code)) for code in choices.languages],
        "cases": [(str(case.id), f"{case.id}: {case.title}") for case in choices.cases],
        "channels": [(str(channel), str(channel)) for channel in Channel]}
    return render(request, "new_request.html", {
        "choices": choices, "options": options, "values": values, "error": error,
        "var_prefix": VAR_PREFIX}, status=status)


async def _preview(request: Request, actor: Actor, values: Mapping[str, str],
                   error: str = "") -> Response:
    try:
        preview = await run_in_threadpool(
            intake.preview_request, actor.ws, _spec(values), current_time(actor.ws))
    except TrackerError as exc:
        return await _form(request, actor, values, str(exc), status=400)
    return render(request, "new_request_preview.html", {
        "preview": preview, "values": values, "error": error, "email": Channel.EMAIL},
        status=400 if error else 200)


@router.get("")
async def new_request_form(request: Request,
                           actor: Annotated[Actor, Depends(editor)]) -> Response:
    """The form, filled from the query (``?platform=zoom&template=gdpr-access``)."""
    return await _form(request, actor, _values(dict(request.query_params)))


@router.post("")
async def new_request_refresh(request: Request,
                              actor: Annotated[Actor, Depends(editor)]) -> Response:
    """The form again with what was typed: the fields of another template, or a change."""
    values, _ = await _posted(request)
    return await _form(request, actor, values)


@router.post("/preview")
async def new_request_preview(request: Request,
                              actor: Annotated[Actor, Depends(editor)]) -> Response:
    values, _ = await _posted(request)
    return await _preview(request, actor, values)


@router.post("/save")
async def new_request_save(request: Request,
                           actor: Annotated[Actor, Depends(editor)]) -> Response:
    values, _ = await _posted(request)
    try:
        made = await run_in_threadpool(actions.create_request, actor.ws, _spec(values),
                                       current_time(actor.ws))
    except TrackerError as exc:
        return await _form(request, actor, values, str(exc), status=400)
    return redirect(request, f"/requests/{made.ref}", f"saved {made.ref} as a draft")


@router.post("/send")
async def new_request_send(request: Request,
                           actor: Annotated[Actor, Depends(editor)]) -> Response:
    values, confirmed = await _posted(request)
    if not confirmed:
        return await _preview(request, actor, values,
                              "tick the box to confirm that the letter should go now")
    try:
        sent = await run_in_threadpool(sending.create_and_send, actor.ws, _spec(values),
                                       current_time(actor.ws))
    except TrackerError as exc:
        return await _preview(request, actor, values, str(exc))
    if sent.result is None:
        return redirect(request, f"/requests/{sent.ref}",
                        f"saved {sent.ref} as a draft, but it was not sent: {sent.error}",
                        "error")
    return redirect(request, f"/requests/{sent.ref}",
                    f"sent {sent.ref} to {', '.join(sent.result.outgoing.recipients)}")

