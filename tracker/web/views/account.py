"""Signing in and out, the first admin on a new workspace, and a person's own settings."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tracker.core.errors import AccessError, InputError
from tracker.services import users
from tracker.web.auth import Actor, Forbidden, check_same_site, now, signed_in, viewer
from tracker.web.rendering import redirect, render
from tracker.web.security import check_token, new_token

router = APIRouter()


def _safe_next(target: str) -> str:
    """Only a path of this site: never an open redirect to another host."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return "/"
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _from_loopback(request: Request) -> bool:
    try:
        return ipaddress.ip_address(_client(request)).is_loopback
    except ValueError:
        return False


def _login_page(request: Request, token: str, *, next_url: str, error: str = "",
                name: str = "", status: int = 200) -> Response:
    response = render(request, "login.html", {"login_token": token, "next": next_url,
                                              "error": error, "name": name}, status=status)
    cookies = request.app.state.cookies
    response.set_cookie(cookies.login, token, path="/", httponly=True, samesite="strict",
                        secure=cookies.https, max_age=3600)
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    if await signed_in(request) is not None:
        return redirect(request, _safe_next(next))
    if await run_in_threadpool(_setup_open, request):
        return redirect(request, "/setup")
    return _login_page(request, new_token(), next_url=_safe_next(next))


def _check_login_token(request: Request, given: str) -> None:
    """Sign-in forms have no session yet: their token is a cookie set with the form."""
    check_same_site(request)
    if not check_token(request.cookies.get(request.app.state.cookies.login, ""), given):
        raise Forbidden("the sign-in form has expired; reload the page and try again")


@router.post("/login")
def login(request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()],
          csrf_token: Annotated[str, Form()], code: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    _check_login_token(request, csrf_token)
    ws = request.app.state.workspace
    try:
        session = users.sign_in(ws, name, password, code, _client(request), now())
    except AccessError as exc:
        return _login_page(request, new_token(), next_url=_safe_next(next), error=str(exc),
                           name=name, status=401)
    response = redirect(request, _safe_next(next))
    cookies = request.app.state.cookies
    # A new random id at every sign-in: a cookie planted before it (fixation) is worth nothing.
    response.set_cookie(cookies.session, session.token, path="/", httponly=True, samesite="lax",
                        secure=cookies.https)
    response.delete_cookie(cookies.login, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    token = request.cookies.get(request.app.state.cookies.session, "")
    await run_in_threadpool(users.sign_out, request.app.state.workspace, token)
    response = redirect(request, "/login", "you are signed out")
    response.delete_cookie(request.app.state.cookies.session, path="/")
    return response


def _setup_open(request: Request) -> bool:
    return (request.app.state.first_visit_open and _from_loopback(request)
            and not users.has_users(request.app.state.workspace))


@router.get("/setup")
def setup_form(request: Request) -> Response:
    if not _setup_open(request):
        return redirect(request, "/login")
    return render_setup(request, new_token())


def render_setup(request: Request, token: str, error: str = "", status: int = 200) -> Response:
    response = render(request, "setup.html", {"login_token": token, "error": error},
                      status=status)
    cookies = request.app.state.cookies
    response.set_cookie(cookies.login, token, path="/", httponly=True, samesite="strict",
                        secure=cookies.https, max_age=3600)
    return response


@router.post("/setup")
def setup(request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()],
          password2: Annotated[str, Form()], csrf_token: Annotated[str, Form()]) -> Response:
    _check_login_token(request, csrf_token)
    if not _setup_open(request):
        raise Forbidden("the first admin can be created only from this computer, and only "
                        "while there are no users; use `tracker user add`")
    if password != password2:
        return render_setup(request, new_token(), "the two passwords differ", status=400)
    ws = request.app.state.workspace
    try:
        users.add_user(ws, name, "admin", password, now())
    except InputError as exc:
        return render_setup(request, new_token(), str(exc), status=400)
    return redirect(request, "/login", f"{name} is the first admin; sign in")


@router.get("/account")
def account(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    return render(request, "account.html", {})


@router.post("/account/language")
def account_language(request: Request, actor: Annotated[Actor, Depends(viewer)],
                     language: Annotated[str, Form()]) -> Response:
    users.set_language(actor.ws, actor.user.id or 0, language)
    return redirect(request, "/account", "language saved")


@router.get("/account/totp")
def totp_form(request: Request, actor: Annotated[Actor, Depends(viewer)]) -> Response:
    secret = users.new_totp_secret()
    ws = request.app.state.workspace
    return render(request, "totp.html", {
        "secret": secret,
        "uri": users.totp_uri(secret, actor.user.name, ws.settings.organisation.name),
        "error": ""})


@router.post("/account/totp")
def totp_enable(request: Request, actor: Annotated[Actor, Depends(viewer)],
                secret: Annotated[str, Form()], code: Annotated[str, Form()]) -> Response:
    try:
        users.enable_totp(actor.ws, actor.user.id or 0, secret, code, now())
    except InputError as exc:
        ws = request.app.state.workspace
        return render(request, "totp.html", {
            "secret": secret, "error": str(exc),
            "uri": users.totp_uri(secret, actor.user.name, ws.settings.organisation.name)},
            status=400)
    return redirect(request, "/account", "the second factor is on: sign-ins now ask for a code")

