"""The web application: routes from `views`, security headers, error pages, static files."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from tracker.core.errors import AccessError, NotFoundError, TrackerError
from tracker.jobs.watch import WatchState
from tracker.services.workspace import Workspace
from tracker.web.auth import EnrolRequired, Forbidden, LoginRequired
from tracker.web.rendering import N_, STATIC, redirect, render
from tracker.web.security import HEADERS, CookieNames, SecurityHeaders, origin_of
from tracker.web.views import ROUTERS

log = logging.getLogger("tracker.web")


def create_app(ws: Workspace, *, https: bool | None = None, behind_proxy: bool = False) -> FastAPI:
    """The app serving workspace *ws*. *https*: whether browsers reach it over https (default:
    what ``[web] base_url`` says); *behind_proxy*: a reverse proxy forwards to it (first-visit
    setup is then off, since every request seems to come from loopback)."""
    base_url = ws.settings.web.base_url
    if https is None:
        https = base_url.startswith("https://")
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, title="tracker",
                  lifespan=_lifespan)
    app.state.workspace = ws
    ws.refresh_settings()  # notes the settings file as loaded, to see when it changes
    app.state.cookies = CookieNames(https=https)
    app.state.base_url = origin_of(base_url) if base_url else ""
    app.state.behind_proxy = behind_proxy
    app.state.first_visit_open = not behind_proxy
    app.state.watch = WatchState()  # `serving` replaces it with the running watcher's
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _handlers(app)
    app.add_middleware(SecurityHeaders, https=https)
    return app


# Threads of one process that run page code (anyio's default is 40). Pages are CPU work in
# Python, so more threads only take turns at the interpreter lock, and slow everyone: with 8,
# 50 busy clients get a third more pages a second (benchmarks/web_bench.py). A few stay free
# while others wait on a mail server (send) or build a bundle.
PAGE_THREADS = 8


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = PAGE_THREADS
    yield


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(request, "/login?next=" + quote(target, safe=""))

    @app.exception_handler(EnrolRequired)
    async def _enrol(request: Request, exc: EnrolRequired) -> Response:
        return redirect(request, "/account/totp",
                        "this workspace requires a second factor: set it up to go on", "error")

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "error.html", {"title": N_("Not allowed"), "message": exc.reason},
                      status=403)

    @app.exception_handler(TrackerError)
    async def _tracker_error(request: Request, exc: TrackerError) -> Response:
        status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(
            exc, AccessError) else 400
        return render(request, "error.html", {"title": N_("That did not work"),
                                              "message": str(exc)}, status=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()})
        return render(request, "error.html", {
            "title": N_("That did not work"),
            "message": f"the form is missing or has a wrong value in: {', '.join(fields)}"},
            status=400)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return render(request, "error.html", {
                "title": N_("Not found"), "message": "there is no such page here"}, status=404)
        if exc.status_code == 405:
            return render(request, "error.html", {
                "title": N_("Not allowed"), "message": "this page cannot be used that way"},
                status=405)
        return render(request, "error.html", {"title": N_("Error"), "message": str(exc.detail)},
                      status=exc.status_code)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        # This answer leaves through Starlette's outermost layer, around SecurityHeaders.
        response = render(request, "error.html", {
            "title": N_("Something went wrong"),
            "message": "tracker met an error it did not expect; nothing was half-done (every "
                       "change is one transaction). The details are in the server's log."},
            status=500)
        for name, value in HEADERS:
            response.headers[name.decode()] = value.decode()
        return response
