"""A real SMTP server for tests: aiosmtpd in a thread on a free loopback port.

    with SmtpTestServer(tls="starttls", auth=("user", "pass"), reject={"bad@x.org"}) as server:
        send_raw(server.settings(), "a@org.example", ["b@x.org"], raw, password="pass")
        assert server.messages[0].raw == raw

``tls`` is ``None`` (plaintext), ``"ssl"`` (TLS from the first byte) or ``"starttls"`` (STARTTLS
required before anything else). The certificate is issued for ``cert_hosts`` (``localhost``
and ``127.0.0.1``) by a throwaway trustme CA whose PEM is at ``server.ca_file``;
``server.settings()`` builds matching SmtpSettings. With ``auth`` the server requires a login
with that user and password before MAIL. Addresses in ``reject`` get ``550 5.1.1`` at RCPT,
senders in ``reject_senders`` get ``553 5.7.1`` at MAIL, and ``data_reply`` replaces the
``250`` after DATA (e.g. ``"554 5.6.0 no"``); ``data_delay`` stalls that reply (the message is
already recorded). ``server.messages`` holds every message not refused, with its exact bytes,
envelope, EHLO name and login.

``xoauth2=check`` makes the server offer ``AUTH XOAUTH2`` (and require a login before MAIL);
``check(user, token)`` gets the name and bearer token from the client's
``user=...\x01auth=Bearer ...\x01\x01`` and returns whether they are good, e.g.
``SmtpTestServer(xoauth2=oauth.is_valid)`` with a FakeOAuthServer (tests/oauth_server.py).
A bad token gets Gmail's answer: ``334 <base64 JSON error>``, then after the client's empty
line ``535 5.7.8 Username and Password not accepted``. Without ``auth`` only XOAUTH2 is offered.
Such a server accepts command and text lines up to 16 KiB (``XOAUTH2_LINE_LIMIT``; aiosmtpd's
512 / 1001 would refuse a 3,000-character token), so also longer DATA lines than the default
server. ``server.xoauth2_attempts`` lists every (user, token) tried, good or bad.

Import it as ``from smtp_server import SmtpTestServer`` (``tests/`` has no ``__init__.py``).
Also here: :func:`silent_port` (accepts connections, never speaks) and :func:`closed_port`.
"""

from __future__ import annotations

import asyncio
import binascii
import collections
import json
import socket
import ssl
import tempfile
import threading
from base64 import b64decode
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

from tracker.config.settings import SmtpSettings

HOST = "127.0.0.1"
XOAUTH2_LINE_LIMIT = 16384  # Dovecot refuses a SASL response above ~8 KiB; this is above that
# What Gmail answers (base64-encoded in a 334) to an XOAUTH2 login with a bad token.
XOAUTH2_ERROR = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
XOAUTH2_REFUSED = "535 5.7.8 Username and Password not accepted"


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted, as it arrived."""

    envelope_from: str
    rcpt_tos: list[str]
    raw: bytes
    mail_options: list[str] = field(default_factory=list)
    ehlo_name: str = ""
    login: str | None = None


class _Handler:
    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_MAIL(self, smtp: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        if (self.server.auth or self.server.xoauth2) and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if address.lower() in self.server.reject_senders:
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, smtp: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.lower() in self.server.reject:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        if self.server.data_reply:
            return self.server.data_reply
        auth_data: Any = session.auth_data
        login = auth_data.login.decode() if session.authenticated else None
        assert envelope.original_content is not None
        with self.server.lock:
            self.server.messages.append(ReceivedMessage(
                envelope_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                raw=bytes(envelope.original_content),
                mail_options=list(envelope.mail_options),
                ehlo_name=session.host_name or "",
                login=login,
            ))
        if self.server.data_delay:
            await asyncio.sleep(self.server.data_delay)
        return "250 2.0.0 OK: queued"


class _XOAuth2SMTP(SMTP):
    """aiosmtpd's SMTP plus ``AUTH XOAUTH2``, with room for long tokens."""

    command_size_limit = XOAUTH2_LINE_LIMIT
    line_length_limit = XOAUTH2_LINE_LIMIT  # also the StreamReader's limit

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The base class's per-command limits default to SMTP.command_size_limit (512), not to
        # the subclass's: give each connection its own table with the raised default.
        self.command_size_limits = collections.defaultdict(lambda: XOAUTH2_LINE_LIMIT)
        super().__init__(*args, **kwargs)

    async def auth_XOAUTH2(self, _: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 1:  # no initial response: ask for it
            reply = await self.challenge_auth("")
            if reply is MISSING:  # "*", or not base64 (challenge_auth answered 501)
                return AuthResult(success=False, handled=True)
            assert isinstance(reply, bytes)
            blob = reply
        else:
            try:
                blob = b64decode(args[1], validate=True)
            except binascii.Error:
                await self.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        credentials = _parse_xoauth2(blob)
        if credentials is None:
            await self.push("501 5.5.2 Cannot parse the XOAUTH2 response")
            return AuthResult(success=False, handled=True)
        user, token = credentials
        server: SmtpTestServer = self.event_handler.server
        with server.lock:
            server.xoauth2_attempts.append((user, token))
        assert server.xoauth2 is not None
        if server.xoauth2(user, token):
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), token.encode()))
        # Gmail: a JSON error in a 334 challenge; the client answers with an empty line.
        reply = await self.challenge_auth(json.dumps(XOAUTH2_ERROR, separators=(",", ":")))
        if reply is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message=XOAUTH2_REFUSED)


def _parse_xoauth2(blob: bytes) -> tuple[str, str] | None:
    """(user, token) from ``user=<user>\x01auth=Bearer <token>\x01\x01``, or None."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text.endswith("\x01\x01"):
        return None
    fields = dict(part.partition("=")[::2] for part in text[:-2].split("\x01"))
    scheme, _, token = fields.get("auth", "").partition(" ")
    user = fields.get("user", "")
    if not user or scheme.lower() != "bearer" or not token.strip():
        return None
    return user, token.strip()


class _Controller(Controller):
    """A Controller that binds port 0 and learns the port the OS chose (no race)."""

    smtp_class: type[SMTP] = SMTP

    def factory(self) -> SMTP:
        return self.smtp_class(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpTestServer:
    """An in-process SMTP server; use as a context manager (see the module docstring)."""

    def __init__(self, tls: Literal["ssl", "starttls"] | None = None,
                 auth: tuple[str, str] | None = None, reject: Iterable[str] = (),
                 reject_senders: Iterable[str] = (), data_reply: str = "",
                 cert_hosts: Iterable[str] = ("localhost", HOST),
                 data_delay: float = 0.0,
                 xoauth2: Callable[[str, str], bool] | None = None) -> None:
        self.tls = tls
        self.xoauth2 = xoauth2
        self.xoauth2_attempts: list[tuple[str, str]] = []
        self.cert_hosts = tuple(cert_hosts)
        self.data_delay = data_delay
        self.auth = auth
        self.reject = {a.lower() for a in reject}
        self.reject_senders = {a.lower() for a in reject_senders}
        self.data_reply = data_reply
        self.host = HOST
        self.port = 0
        self.messages: list[ReceivedMessage] = []
        self.lock = threading.Lock()
        self.ca = trustme.CA()
        self._dir = tempfile.TemporaryDirectory(prefix="tracker-smtp-")
        self.ca_file = str(Path(self._dir.name) / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        self._controller: _Controller | None = None

    def settings(self, **overrides: Any) -> SmtpSettings:
        """SmtpSettings that reach this server (ca_file and username filled in)."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "tls": self.tls or "none",
            "ca_file": self.ca_file if self.tls else "",
            "username": self.auth[0] if self.auth else "",
            "timeout": 5.0,
        }
        values.update(overrides)
        return SmtpSettings(**values)

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.tls:
            server_context = self._server_context()
            if self.tls == "ssl":
                kwargs["ssl_context"] = server_context
            else:
                kwargs["tls_context"] = server_context
                kwargs["require_starttls"] = True
        if self.auth:
            kwargs["authenticator"] = self._authenticate
            # aiosmtpd only counts STARTTLS as TLS; implicit TLS and loopback plaintext are fine.
            # Login is enforced in handle_MAIL (auth_required without TLS only adds a warning).
            kwargs["auth_require_tls"] = self.tls == "starttls"
        if self.xoauth2:
            kwargs["auth_require_tls"] = self.tls == "starttls"
            if not self.auth:
                kwargs["auth_exclude_mechanism"] = ["PLAIN", "LOGIN"]
        self._controller = _Controller(
            _Handler(self), hostname=HOST, port=0, server_hostname="mx.test.example",
            ready_timeout=5.0, **kwargs,
        )
        if self.xoauth2:
            self._controller.smtp_class = _XOAuth2SMTP
        self._controller.start()
        self.port = self._controller.port

    def _server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*self.cert_hosts).configure_cert(context)
        return context

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._dir.cleanup()

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        assert self.auth is not None
        ok = isinstance(auth_data, LoginPassword) and (
            (auth_data.login.decode(), auth_data.password.decode()) == self.auth
        )
        if not ok:  # handled=False makes aiosmtpd answer 535 itself
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data)

    def __enter__(self) -> SmtpTestServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (kernel backlog) and never says a word."""
    with socket.create_server((HOST, 0), backlog=8) as listener:
        yield listener.getsockname()[1]


def closed_port() -> int:
    """A loopback port nobody listens on (it was free a moment ago)."""
    with socket.create_server((HOST, 0)) as probe:
        return int(probe.getsockname()[1])
