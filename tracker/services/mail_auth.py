"""Signing the mailbox in with its provider: what ``tracker auth`` and the web's Settings page
("Connect mailbox") both call.

A sign-in runs as a :class:`SignInAttempt` in a thread of its own, because a person has to act
elsewhere first (type a code at microsoft.com/devicelogin, or sign in in a browser that comes
back to a loopback address). The CLI waits for it; the web page shows its prompt and asks for
its state every few seconds. Either way the result is kept by `tracker.net.oauth` and recorded
as an event with its actor (never the token).
"""

from __future__ import annotations

import secrets
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from tracker.core.errors import ConfigError, InputError, SignInError, TrackerError
from tracker.net.loopback_redirect import RedirectReceiver
from tracker.net.oauth import MailSignIn, provider_name
from tracker.net.oauth_parts import Grant, Prompt
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.events import record_admin_event

Flow = Literal["device", "browser"]
BROWSER_TIMEOUT = 600.0  # seconds a person has to finish signing in in the browser
_ATTEMPTS: dict[str, SignInAttempt] = {}  # the web's running sign-ins, by id
_ATTEMPTS_LOCK = threading.Lock()
_KEPT = 20  # finished attempts kept for their pages


@dataclass
class SignInAttempt:
    """One sign-in in progress: its prompt once there is one, then its grant or error."""

    id: str
    provider: str
    flow: Flow
    status: Literal["starting", "waiting", "done", "failed", "cancelled"] = "starting"
    prompt: Prompt | None = None
    grant: Grant | None = None
    error: str = ""
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    def wait_prompt(self, timeout: float) -> Prompt | None:
        """The prompt, once the provider gave it (None: the attempt failed first)."""
        with self._changed:
            self._changed.wait_for(lambda: self.prompt is not None or self.finished, timeout)
        return self.prompt

    def wait(self, timeout: float | None = None) -> Grant:
        """The grant once the person signed in; the attempt's error otherwise."""
        with self._changed:
            self._changed.wait_for(lambda: self.finished, timeout)
        if self.status == "done" and self.grant is not None:
            return self.grant
        if self.status == "cancelled":
            raise SignInError("the sign-in was cancelled")
        raise SignInError(self.error or "the sign-in did not finish in time")

    def _set(self, **values: object) -> None:
        with self._changed:
            for name, value in values.items():
                setattr(self, name, value)
            self._changed.notify_all()


def start_sign_in(ws: Workspace, flow: Flow | None = None, port: int = 0,
                  open_browser: bool = False) -> SignInAttempt:
    """Start signing in with ``[auth] provider``; the attempt's prompt says what to do.

    *flow* defaults to the device code for Microsoft and the browser for Google (which allows
    nothing else for mail). The browser flow listens on 127.0.0.1:*port* for the redirect, so
    the browser must run on this machine (over SSH: forward that port, docs/mail-providers.md).
    """
    sign_in = MailSignIn(ws.settings)
    chosen: Flow = flow or ("device" if sign_in.provider == "microsoft" else "browser")
    if chosen == "device" and sign_in.provider != "microsoft":
        raise InputError("Google does not allow the device flow for mail; use --flow browser")
    if not 0 <= port <= 65535:
        raise InputError(f"--port {port} is not a TCP port (0 to 65535; 0: any free one)")
    attempt = SignInAttempt(secrets.token_urlsafe(16), sign_in.provider, chosen)
    receiver = None
    if chosen == "browser":  # listen first: the redirect address names the port
        receiver = RedirectReceiver(
            port=port, host_name="localhost" if sign_in.provider == "microsoft" else "127.0.0.1")
    thread = threading.Thread(target=_run, args=(ws, sign_in, attempt, receiver, open_browser),
                              daemon=True, name=f"sign-in {attempt.id[:6]}")
    with _ATTEMPTS_LOCK:
        _ATTEMPTS[attempt.id] = attempt
        for old in [a for a in _ATTEMPTS.values() if a.finished][:-_KEPT]:
            _ATTEMPTS.pop(old.id, None)
    thread.start()
    return attempt


def find_attempt(attempt_id: str) -> SignInAttempt | None:
    with _ATTEMPTS_LOCK:
        return _ATTEMPTS.get(attempt_id)


def _run(ws: Workspace, sign_in: MailSignIn, attempt: SignInAttempt,
         receiver: RedirectReceiver | None, open_browser: bool) -> None:
    cancelled = attempt._cancel.is_set
    try:
        if receiver is None:
            prompt = sign_in.start_device()
            attempt._set(prompt=prompt, status="waiting")
            grant = sign_in.finish_device(prompt, cancelled)
        else:
            prompt = sign_in.start_browser(receiver.redirect_uri)
            receiver.expected_state = prompt.expected_state
            attempt._set(prompt=prompt, status="waiting")
            if open_browser:
                webbrowser.open(prompt.url)
            answer = receiver.wait(BROWSER_TIMEOUT, cancelled)
            grant = sign_in.finish_browser(prompt, answer)
        with transaction(ws.engine) as session:
            record_admin_event(session, "mailbox_signed_in", ws.actor, datetime.now(UTC),
                               provider=grant.provider, account=grant.account,
                               scopes=list(grant.scopes), flow=attempt.flow)
        attempt._set(grant=grant, status="done")
    except TrackerError as exc:
        attempt._set(error=str(exc), status="cancelled" if cancelled() else "failed")
    except Exception as exc:  # a bug must not leave a page waiting forever
        attempt._set(error=f"the sign-in failed unexpectedly ({type(exc).__name__}); please "
                           "report it", status="failed")
    finally:
        if receiver is not None:
            receiver.close()


@dataclass(frozen=True)
class SignInStatus:
    """What ``tracker auth status`` and the Settings page say about the sign-in."""

    provider: str  # "" when [auth] provider is not set
    grant: Grant | None
    problem: str = ""  # why no token could be had now (expired, revoked, unreachable)
    checked: bool = False  # the provider refreshed the token just now (with check=True)


def sign_in_status(ws: Workspace, check: bool = False) -> SignInStatus:
    """Who is signed in; with *check*, also refresh the token now, which proves the provider
    still accepts the sign-in."""
    provider = ws.settings.auth.provider
    if not provider:
        return SignInStatus("", None)
    sign_in = MailSignIn(ws.settings)
    grant = sign_in.status()
    if grant is None or not check:
        return SignInStatus(provider, grant)
    try:
        sign_in.access_token(fresh=True)
    except TrackerError as exc:
        return SignInStatus(provider, sign_in.status(), str(exc))
    return SignInStatus(provider, sign_in.status(), checked=True)


def sign_out(ws: Workspace) -> str:
    """Forget the sign-in kept here; say what was done."""
    if not ws.settings.auth.provider:
        raise ConfigError("[auth] provider is not set: there is no sign-in to forget")
    sign_in = MailSignIn(ws.settings)
    grant = sign_in.status()
    if not sign_in.logout():
        return "nobody was signed in"
    with transaction(ws.engine) as session:
        record_admin_event(session, "mailbox_signed_out", ws.actor, datetime.now(UTC),
                           provider=sign_in.provider, account=grant.account if grant else "")
    name = provider_name(sign_in.provider)
    return (f"signed out: the {name} sign-in is no longer kept here (to withdraw the app's "
            f"access at {name} too, remove it from the account's app permissions)")


def wait_for_grant(attempt: SignInAttempt, show: Callable[[Prompt], None],
                   timeout: float = BROWSER_TIMEOUT + 60) -> Grant:
    """Show the attempt's prompt when it comes, then wait for its result (the CLI's way)."""
    deadline = time.monotonic() + timeout
    prompt = attempt.wait_prompt(timeout)
    if prompt is not None:
        show(prompt)
    return attempt.wait(max(1.0, deadline - time.monotonic()))
