"""What every response carries, and what every state-changing request must prove.

Headers: a Content-Security-Policy with no inline script and no remote origin (the pages use
only tracker's own static files), no framing, no referrer, no MIME sniffing.

Cross-site requests: an unsafe method (POST, ...) is refused unless the browser says it came
from this origin (``Sec-Fetch-Site: same-origin``; browsers send it over https and to
localhost), or, from a browser that does not send it, unless ``Origin`` is this site. Behind
that, every form and htmx request carries the session's CSRF token (`check_token`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_FIELD = "csrf_token"  # noqa: S105 (a field's name, not a secret)
TOKEN_HEADER = "x-csrf-token"  # noqa: S105


@dataclass(frozen=True)
class CookieNames:
    """Cookie names and flags: over https the ``__Host-`` prefix and ``Secure``."""

    https: bool

    @property
    def session(self) -> str:
        return "__Host-tracker_session" if self.https else "tracker_session"

    @property
    def login(self) -> str:  # the sign-in form's token, before there is a session
        return "__Host-tracker_login" if self.https else "tracker_login"

    @property
    def flash(self) -> str:
        return "__Host-tracker_flash" if self.https else "tracker_flash"


class SecurityHeaders:
    """ASGI middleware adding `HEADERS` to every HTTP response (error pages and files too)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = list(HEADERS)
        if https:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      *(h for h in self.headers if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin(method: str, headers: dict[str, str], own_origin: str) -> bool:
    """May this request change something, as far as the browser's own headers tell?

    *headers* are lower-cased names. A client that is not a browser sends neither header and
    passes here: it still needs the session cookie and the CSRF token.
    """
    if method.upper() in SAFE_METHODS:
        return True
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = headers.get("origin")
    if origin is not None:
        return origin.lower() == own_origin
    return True


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_token(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and secrets.compare_digest(
        expected.encode(), given.encode("utf-8", "replace"))
