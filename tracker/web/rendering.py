"""The web pages' Jinja2 environments and the helpers every view uses to answer.

One environment per interface language (Jinja2's i18n extension installs its translations on
the environment). Every value printed with ``{{ }}`` is first made inert (hidden controls and
bidi overrides from mail become U+FFFD, as on the terminal) and then escaped: nothing from a
message can become markup, and nothing can reorder what staff read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from tracker.core.inert import inert_text
from tracker.pages.rendering import create_environment, escape_value
from tracker.web.i18n import LANGUAGES, gettext_for

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
HTMX = "htmx-2.0.11.min.js"
FLASH_KINDS = ("ok", "error")


def N_(text: str) -> str:  # gettext's name for "translate later"
    """Mark *text* for the catalog; the template translates it when it shows it."""
    return text


def _inert_escaped(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return escape_value(inert_text(value))


@cache
def environment(language: str) -> jinja2.Environment:
    env = create_environment(TEMPLATES)
    env.finalize = _inert_escaped
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(gettext_for(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["local"] = _local
    env.filters["day"] = _day
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    env.filters["outside_link"] = _outside_link
    env.globals["LANGUAGES"] = LANGUAGES
    env.globals["HTMX"] = HTMX
    return env


def _local(moment: datetime | None, tz: ZoneInfo) -> str:
    if moment is None:
        return ""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _outside_link(value: object) -> str:
    """A link from outside (a provider's sign-in page) only if it is https, or loopback http:
    never javascript: or data:."""
    text = str(value)
    parts = urlsplit(text)
    if parts.scheme == "https" and parts.hostname:
        return text
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return text
    return "about:blank"


def _day(value: date | str | None) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)


def render(request: Request, name: str, context: Mapping[str, Any] | None = None, *,
           status: int = 200) -> HTMLResponse:
    """Render page *name* for the person behind *request* (their language, token, flash)."""
    state = request.state
    user = getattr(state, "user", None)
    language = getattr(user, "language", None) or "en"
    flash = read_flash(request)
    ws = request.app.state.workspace
    page = {
        "request": request,
        "user": user,
        "csrf_token": getattr(state, "csrf_token", ""),
        "lang": language,
        "flash": flash,
        "tz": ws.settings.tz,
        "organisation": ws.settings.organisation.name,
        "path": request.url.path,
        "htmx": request.headers.get("hx-request") == "true",
    }
    html = environment(language).get_template(name).render({**page, **(context or {})})
    response = HTMLResponse(html, status_code=status)
    if flash:
        response.delete_cookie(request.app.state.cookies.flash, path="/")
    return response


def redirect(request: Request, to: str, message: str = "", kind: str = "ok") -> Response:
    """See-other to *to* (a path of this site), with a flash *message* for the next page."""
    if not to.startswith("/") or to.startswith("//"):
        to = "/"
    if request.headers.get("hx-request") == "true":
        response: Response = Response(status_code=204, headers={"HX-Redirect": to})
    else:
        response = RedirectResponse(to, status_code=303)
    if message:
        cookies = request.app.state.cookies
        response.set_cookie(cookies.flash, quote(json.dumps([kind, message[:500]])), max_age=60,
                            path="/", httponly=True, samesite="lax", secure=cookies.https)
    return response


def read_flash(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(request.app.state.cookies.flash)
    if not raw:
        return None
    try:
        kind, text = json.loads(unquote(raw))
    except (ValueError, TypeError):
        return None
    if kind not in FLASH_KINDS or not isinstance(text, str):
        return None
    return kind, text
