"""The platform directory: every platform's record, and the workspace's own records (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from tracker.core.errors import ConfigError, InputError
from tracker.directory.model import LAWS, REGIONS
from tracker.services import platforms
from tracker.services.workspace import current_time
from tracker.web.auth import Actor, admin, viewer
from tracker.web.rendering import redirect, render

router = APIRouter(prefix="/platforms")


def _form_context(form: platforms.PlatformForm | None, error: str = "",
                  replace: bool = False) -> dict[str, object]:
    return {"form": form, "error": error, "replace": replace,
            "purposes": [(p, p) for p in platforms.PURPOSES],
            "regions": [(r, r) for r in REGIONS], "laws": LAWS}


@router.get("")
def platform_list(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    items = sorted(actor.ws.platforms.values(), key=lambda p: p.slug)
    return render(request, "platforms.html", {"platforms": items, **_form_context(None)})


@router.get("/{slug}")
def platform_page(request: Request, actor: Annotated[Actor, Depends(viewer)],
                  slug: str) -> Response:
    view = platforms.describe_platform(actor.ws, slug)
    form = platforms.PlatformForm.of(view.platform)
    return render(request, "platform.html", {
        "view": view, "p": view.platform,
        **_form_context(form, replace=view.platform.origin == "workspace")})


@router.post("")
def platform_save(request: Request, actor: Annotated[Actor, Depends(admin)],
                  slug: Annotated[str, Form()], name: Annotated[str, Form()],
                  source: Annotated[str, Form()], email: Annotated[str, Form()] = "",
                  webform: Annotated[str, Form()] = "",
                  purpose: Annotated[str, Form()] = "privacy",
                  entity: Annotated[str, Form()] = "",
                  postal_address: Annotated[str, Form()] = "",
                  region: Annotated[str, Form()] = "global",
                  reply_domains: Annotated[str, Form()] = "",
                  laws: Annotated[list[str] | None, Form()] = None,
                  language: Annotated[str, Form()] = "en",
                  replace: Annotated[bool, Form()] = False) -> Response:
    form = platforms.PlatformForm(
        slug=slug, name=name, source=source, email=email, webform=webform, purpose=purpose,
        entity=entity, postal_address=postal_address, region=region,
        reply_domains=platforms.split_list(reply_domains), laws=tuple(laws or ()),
        language=language)
    try:
        saved = platforms.save_platform(actor.ws, form, current_time(actor.ws),
                                        overwrite=replace)
    except (ConfigError, InputError) as exc:
        # Shown with the form as it was sent, so nothing typed is lost.
        return render(request, "platform_form.html", _form_context(form, str(exc), replace),
                      status=400)
    return redirect(request, f"/platforms/{saved.slug}",
                    f"saved the workspace's record of {saved.name} ({saved.slug})")
