"""The letter templates, to read: what each is for, its languages, variables and text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tracker.letters.loading import template_versions, templates_by_id
from tracker.web.auth import Actor, viewer
from tracker.web.rendering import render

router = APIRouter(prefix="/templates")


@router.get("")
def template_list(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    return render(request, "templates.html", {"groups": templates_by_id(actor.ws.templates)})


@router.get("/{template_id}")
def template_page(request: Request, actor: Annotated[Actor, Depends(viewer)],
                  template_id: str) -> Response:
    versions = template_versions(actor.ws.templates, template_id)
    return render(request, "template.html", {"versions": versions, "first": versions[0]})
