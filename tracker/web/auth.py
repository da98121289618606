"""Who is signed in, and may they do this: the dependencies every route declares.

A route names the least role it needs: ``Depends(need(Role.VIEWER))`` to read,
``need(Role.EDITOR)`` to change requests, ``need(Role.ADMIN)`` for users, platforms and
settings. The dependency finds the session behind the cookie (or sends the browser to sign in),
checks the role, and for an unsafe method checks the origin and the CSRF token, so no route can
change anything without all three. tests/test_web_access.py checks every route of the app.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from tracker.services import users
from tracker.services.workspace import Workspace
from tracker.store.models import Role, User
from tracker.web.security import SAFE_METHODS, TOKEN_FIELD, TOKEN_HEADER, check_token, same_origin

RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2}
# Pages a person who must still set up a second factor may open.
ENROL_PATHS = ("/account/totp", "/logout", "/static/")


class LoginRequired(Exception):
    """No live session: the handler sends the browser to the sign-in page."""


class Forbidden(Exception):
    """Signed in, but the role does not allow it, or the request failed the CSRF checks."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EnrolRequired(Exception):
    """The workspace requires a second factor and this person has none yet."""


@dataclass(frozen=True)
class Actor:
    """The signed-in person, with the workspace that records their name on every event."""

    user: User
    ws: Workspace
    csrf_token: str


def workspace_as(ws: Workspace, name: str) -> Workspace:
    """*ws* with *name* as the actor of its events; engine, directory and templates shared."""
    ws.refresh_settings()  # tracker.toml changed (Settings page, another worker, the CLI)
    acting = copy.copy(ws)  # a shallow copy keeps the cached engine, directory and templates
    acting.actor = name
    return acting


def now() -> datetime:
    return datetime.now(UTC)


def own_origin(request: Request) -> str:
    base = request.app.state.base_url
    return base or f"{request.url.scheme}://{request.url.netloc}".lower()


async def signed_in(request: Request) -> users.Current | None:
    """The session behind the request's cookie (looked up once per request)."""
    if hasattr(request.state, "current"):
        current: users.Current | None = request.state.current
        return current
    app = request.app.state
    token = request.cookies.get(app.cookies.session, "")
    current = await run_in_threadpool(users.current_session, app.workspace,
                                      app.workspace.settings.web, token, now()) if token else None
    request.state.current = current
    if current is not None:
        request.state.user = current.user
        request.state.csrf_token = current.csrf_token
    return current


def check_same_site(request: Request) -> None:
    """Refuse an unsafe request the browser says came from another site."""
    if not same_origin(request.method, {k.lower(): v for k, v in request.headers.items()},
                       own_origin(request)):
        raise Forbidden("this form was sent from another site, so it was refused")


async def check_csrf(request: Request, expected: str) -> None:
    """Refuse an unsafe request that is cross-site or lacks the token *expected*."""
    if request.method in SAFE_METHODS:
        return
    check_same_site(request)
    given = request.headers.get(TOKEN_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(TOKEN_FIELD)
        given = value if isinstance(value, str) else None
    if not check_token(expected, given):
        raise Forbidden("the form has expired or did not come from tracker; reload the page "
                        "and try again")


def need(role: Role) -> Callable[[Request], Awaitable[Actor]]:
    """The dependency for a route that needs at least *role*."""

    async def dependency(request: Request) -> Actor:
        current = await signed_in(request)
        if current is None:
            raise LoginRequired()
        user = current.user
        settings = request.app.state.workspace.settings.web
        if (settings.require_totp and not user.totp_secret
                and not request.url.path.startswith(ENROL_PATHS)):
            raise EnrolRequired()
        if RANK[Role(user.role)] < RANK[role]:
            raise Forbidden(f"your role ({user.role}) cannot do this; ask an admin")
        await check_csrf(request, current.csrf_token)
        return Actor(user=user, ws=workspace_as(request.app.state.workspace, user.name),
                     csrf_token=current.csrf_token)

    return dependency


viewer = need(Role.VIEWER)
editor = need(Role.EDITOR)
admin = need(Role.ADMIN)
