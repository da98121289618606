"""The SMTP edge: hand one finished letter to the outgoing mail server.

Thin on purpose: no database and no message building. The caller passes the exact bytes of a
complete RFC 5322 message; they go out unchanged (apart from SMTP dot-stuffing, which the
server undoes).

Security rules, because the people reading the other end of the wire may be a state:

- TLS is always verified (certificate chain and host name). ``tls = "ssl"`` speaks TLS from the
  first byte; ``"starttls"`` refuses to go on if the server does not offer STARTTLS; ``"none"``
  is allowed only to a loopback host (a local relay). ``ca_file``, when set, is the only CA
  trusted, which pins a private CA.
- EHLO names the sender's domain (or ``localhost``), never this machine's host name.
- No logging here, and no error message carries the password, even if a server echoes it.

Every failure becomes one :class:`SendError` line that says what happened and what to check;
unusable settings raise :class:`ConfigError` before any connection is made.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence

from tracker.config.settings import SmtpSettings
from tracker.core.errors import ConfigError, DeliveryUncertain, SendError
from tracker.mail.addresses import address_problem
from tracker.net.logins import Login, xoauth2
from tracker.net.secrets import one_line, read_secret, redact
from tracker.net.tls import check_server_settings, tls_context

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
_MAX_REPLY = 300  # characters of server text kept in an error message


def smtp_password(settings: SmtpSettings) -> str | None:
    """Return the SMTP password from ``password_env`` or ``password_command``, if any."""
    return read_secret("smtp", settings.password_env, settings.password_command)


def check_smtp_settings(settings: SmtpSettings, signs_in: bool = False) -> None:
    """Raise ConfigError if *settings* cannot be used to send mail safely (*signs_in*: a
    provider sign-in, ``[auth]``, logs in when no password is set)."""
    check_server_settings("smtp", settings)
    if settings.username and not (settings.password_env or settings.password_command
                                  or settings.oauth2_token_command or signs_in):
        raise ConfigError(
            "[smtp] username is set but neither password_env nor password_command is; "
            "set one of them (the password itself never goes in tracker.toml), or sign in "
            "with the mail provider ([auth] provider, then `tracker auth login`)"
        )


def send_raw(settings: SmtpSettings, sender: str, recipients: Sequence[str], raw: bytes,
             password: str | Login | None = None) -> None:
    """Deliver the exact bytes *raw* to *recipients* with envelope sender *sender*.

    *raw* must be a complete RFC 5322 message with CRLF line endings. Return only when the
    server accepted it for every recipient. If the server refuses any recipient the
    transaction is reset before DATA, so nothing is sent to anyone. Raise SendError on every
    failure (if the connection drops after the message went out, its text says the letter
    may have arrived) and ConfigError, before connecting, for unusable settings.
    """
    check_server_settings("smtp", settings)
    if settings.username and password is None:
        raise ConfigError(
            "[smtp] username is set but no password was found; "
            "set [smtp] password_env or password_command"
        )
    rcpts = [recipients] if isinstance(recipients, str) else list(recipients)
    _check_envelope(sender, rcpts, raw)
    login = Login.fixed("password", password) if isinstance(password, str) else password
    _Delivery(settings, sender, rcpts, raw, login).run()


def check_login(settings: SmtpSettings, sender: str, login: Login | None) -> str:
    """Connect, secure, log in and say goodbye, sending nothing; what the server offered.

    For `tracker setup mail`: SendError (one line, as for a letter) when any step fails.
    """
    check_server_settings("smtp", settings)
    delivery = _Delivery(settings, sender, [], b"", login)
    client: smtplib.SMTP | None = None
    try:
        client = delivery._connect()
        delivery._greet(client)
        delivery._login(client)
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(delivery._explain(exc).replace("; nothing was sent", "")
                        .replace("; the letter was not sent", "")) from None
    finally:
        if client is not None:
            _hang_up(client, politely=True)
    how = "signed in" if login is not None else "no login needed"
    tls = {"ssl": "TLS", "starttls": "STARTTLS", "none": "plaintext (loopback)"}[settings.tls]
    return f"{delivery.where}: {tls}, {how}"


def _check_envelope(sender: str, recipients: list[str], raw: bytes) -> None:
    """Refuse envelopes and messages that smtplib would mangle or a server could misread."""
    if not recipients:
        raise SendError("no recipients given; nothing was sent")
    for role, address in [("sender", sender), *(("recipient", r) for r in recipients)]:
        if problem := address_problem(address):
            raise SendError(f"{role} {address!r} is not a plain email address: {problem}; "
                            "nothing was sent")
    if not raw.strip():
        raise SendError("the message is empty; nothing was sent")
    if b"\r" in raw.replace(b"\r\n", b"") or b"\n" in raw.replace(b"\r\n", b""):
        # A bare CR or LF is read differently by different servers (SMTP smuggling).
        raise SendError("the message has bare CR or LF line endings (CRLF only); nothing was sent")


def _ehlo_name(sender: str) -> str:
    """A neutral EHLO name: the sender's domain if it is a valid host name, else localhost."""
    domain = sender.rpartition("@")[2].rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "localhost"
    labels = domain.split(".")
    if len(labels) >= 2 and all(_LABEL.match(label) for label in labels):
        return domain
    return "localhost"


def _server_text(text: bytes | str) -> str:
    """Server reply text as one short printable line (it may come from anyone)."""
    return one_line(text, _MAX_REPLY)


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {_server_text(text)}".strip()


def _hang_up(client: smtplib.SMTP, politely: bool) -> None:
    # After an accepted letter a failing QUIT must not turn success into an error; after a
    # failure the connection may be dead or stalled, so just close it.
    if politely:
        try:
            client.quit()
            return
        except (smtplib.SMTPException, OSError):
            pass
    client.close()


class _Delivery:
    """One SMTP session that sends one message; knows how to explain its own failure."""

    def __init__(self, settings: SmtpSettings, sender: str, recipients: list[str], raw: bytes,
                 login: Login | None) -> None:
        self.settings = settings
        self.sender = sender
        self.recipients = recipients
        self.raw = raw
        self.login = login
        self.password: str | None = None  # the secret in use, hidden in every error
        self.host = settings.host.strip("[]")
        self.where = f"{settings.host}:{settings.effective_port}"
        self.context = tls_context("smtp", settings.ca_file) if settings.tls != "none" else None
        self.step = "connecting"

    def run(self) -> None:
        client: smtplib.SMTP | None = None
        sent = False
        try:
            client = self._connect()
            self._greet(client)
            self._login(client)
            self._transfer(client)
            sent = True
        except (smtplib.SMTPException, OSError) as exc:  # OSError covers ssl and timeouts
            lost = isinstance(exc, TimeoutError | smtplib.SMTPServerDisconnected)
            error = DeliveryUncertain if lost and self.step == "DATA" else SendError
            raise error(self._explain(exc)) from None
        finally:
            if client is not None:
                _hang_up(client, politely=sent)

    def _connect(self) -> smtplib.SMTP:
        port = self.settings.effective_port
        name = _ehlo_name(self.sender)
        timeout = self.settings.timeout
        if self.settings.tls == "ssl":
            return smtplib.SMTP_SSL(self.host, port, local_hostname=name, timeout=timeout,
                                    context=self.context)
        return smtplib.SMTP(self.host, port, local_hostname=name, timeout=timeout)

    def _greet(self, client: smtplib.SMTP) -> None:
        self.step = "EHLO"
        client.ehlo_or_helo_if_needed()
        if self.settings.tls != "starttls":
            return
        if not client.has_extn("starttls"):
            raise SendError(
                f"SMTP server {self.where} does not offer STARTTLS; refusing to send in "
                'plaintext (if it expects TLS from the first byte, usually on port 465, '
                'set [smtp] tls = "ssl")'
            )
        self.step = "STARTTLS"
        client.starttls(context=self.context)
        self.step = "EHLO"
        client.ehlo_or_helo_if_needed()

    def _login(self, client: smtplib.SMTP) -> None:
        if not self.settings.username:
            return
        assert self.login is not None  # send_raw checked it
        self.step = "login"
        if not client.has_extn("auth"):
            raise SendError(
                f"SMTP server {self.where} does not offer AUTH; check [smtp] host, port and "
                "tls, or leave [smtp] username empty if the server needs no login"
            )
        self.password = self.login.secret()
        if self.login.kind == "oauth2":
            try:
                self._xoauth2(client)
            except smtplib.SMTPAuthenticationError:
                if not self.login.renewable:
                    raise
                self.password = self.login.secret(fresh=True)  # expired early, or revoked
                self._xoauth2(client)
            return
        try:
            client.login(self.settings.username, self.password)
        except UnicodeEncodeError:
            raise SendError(
                "the SMTP username or password contains non-ASCII characters, "
                "which Python's smtplib cannot send; use an ASCII password"
            ) from None

    def _xoauth2(self, client: smtplib.SMTP) -> None:
        """AUTH XOAUTH2: the token in the first line; to an error challenge (Gmail sends a
        JSON one) the answer is an empty line, after which the server says 535."""
        assert self.password is not None
        if "XOAUTH2" not in client.esmtp_features.get("auth", "").upper().split():
            raise SendError(
                f"SMTP server {self.where} does not offer XOAUTH2 sign-in (it offers: "
                f"{_server_text(client.esmtp_features.get('auth', ''))}); check [smtp] host "
                "and port, or log in with a password instead"
            )
        initial = xoauth2(self.settings.username, self.password)
        client.auth("XOAUTH2", lambda challenge=None: "" if challenge else initial,
                    initial_response_ok=True)

    def _transfer(self, client: smtplib.SMTP) -> None:
        options: list[str] = []
        if client.has_extn("size"):
            options.append(f"SIZE={len(self.raw)}")
        if not self.raw.isascii() and client.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        for address in (self.sender, *self.recipients):
            if address.isascii():
                continue
            if not client.has_extn("smtputf8"):
                raise SendError(
                    f"the address {address} needs SMTPUTF8, which the SMTP server "
                    f"{self.where} does not offer; nothing was sent"
                )
            options.append("SMTPUTF8")
            break
        self.step = "MAIL FROM"
        code, text = client.mail(self.sender, options)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, text, self.sender)
        self.step = "RCPT TO"
        refused: dict[str, str] = {}
        for recipient in self.recipients:
            code, text = client.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = self._reply(code, text)
            if code == 421:  # the server is closing the connection
                break
        if refused:
            self._refuse(client, refused)
        self.step = "DATA"
        code, text = client.data(self.raw)
        if code != 250:
            raise smtplib.SMTPDataError(code, text)

    def _refuse(self, client: smtplib.SMTP, refused: dict[str, str]) -> None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.rset()  # abandon the transaction before DATA: nobody gets the letter
        listed = "; ".join(f"{address} ({reply})" for address, reply in refused.items())
        if len(refused) == len(self.recipients):
            raise SendError(f"SMTP server {self.where} refused {listed}; nothing was sent")
        raise SendError(
            f"SMTP server {self.where} refused {len(refused)} of {len(self.recipients)} "
            f"recipients: {listed}; the letter was NOT sent to anyone, "
            "fix or remove the address and send again"
        )

    def _explain(self, exc: smtplib.SMTPException | OSError) -> str:
        where, step = self.where, self.step
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            source = (self.login.source if self.login and self.login.source
                      else f"${self.settings.password_env}" if self.settings.password_env
                      else "password_command")
            reply = self._reply(exc.smtp_code, exc.smtp_error)
            if self.login and self.login.kind == "oauth2":
                return (
                    f"SMTP sign-in refused for {self.settings.username} at {where} ({reply}) "
                    f"with a fresh token from {source}: check that [smtp] username is the "
                    "account signed in (`tracker auth status`) and that SMTP AUTH is allowed "
                    "for it (Microsoft 365: the mailbox's 'Authenticated SMTP' setting); the "
                    "letter was not sent"
                )
            if "5.7.30" in reply or "5.7.139" in reply:
                return (
                    f"SMTP login refused for {self.settings.username} at {where} ({reply}): "
                    "Microsoft 365 no longer accepts passwords for sending; sign in instead "
                    "(`tracker setup mail --provider microsoft365`, or [auth] provider = "
                    "\"microsoft\" and `tracker auth login`); the letter was not sent"
                )
            return (
                f"SMTP login refused for {self.settings.username} at {where} "
                f"({self._reply(exc.smtp_code, exc.smtp_error)}): "
                f"check [smtp] username and the password from {source}"
            )
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return (
                f"SMTP server {where} refused the sender {exc.sender} "
                f"({self._reply(exc.smtp_code, exc.smtp_error)}); nothing was sent; "
                "check that the [smtp] account may send as this address"
            )
        if isinstance(exc, smtplib.SMTPDataError):
            return (
                f"SMTP server {where} refused the letter "
                f"({self._reply(exc.smtp_code, exc.smtp_error)}); nothing was sent"
            )
        if isinstance(exc, smtplib.SMTPResponseException):  # connect, EHLO, STARTTLS, ...
            return (
                f"SMTP server {where} answered {step} with "
                f"{self._reply(exc.smtp_code, exc.smtp_error)}; nothing was sent"
            )
        lost = isinstance(exc, TimeoutError | smtplib.SMTPServerDisconnected)
        if lost and step == "DATA":
            # The letter may be on the server already; saying "nothing was sent" could make
            # the user send it twice.
            return (
                f"the connection to SMTP server {where} was lost during DATA "
                f"({_server_text(str(exc))}); the server may have accepted the letter, so it "
                "could arrive twice if sent again: check with the recipient first"
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if isinstance(exc.__context__, TimeoutError):
                return self._timed_out()
            hint = ""
            if step in ("connecting", "EHLO") and self.settings.tls != "ssl":
                hint = ' (if it expects TLS from the first byte, set [smtp] tls = "ssl")'
            return (
                f"SMTP server {where} closed the connection during {step}{hint}; "
                "nothing was sent"
            )
        if isinstance(exc, smtplib.SMTPException):
            text = redact(_server_text(str(exc)), self.password)
            return f"SMTP error with {where} during {step}: {text}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            hint = (
                f"check that [smtp] ca_file {self.settings.ca_file} is the CA that signed it"
                if self.settings.ca_file
                else "if the server uses a private CA set [smtp] ca_file"
            )
            reason = exc.verify_message or exc.reason or "unknown reason"
            return f"TLS certificate of {self.host} could not be verified ({reason}); {hint}"
        if isinstance(exc, ssl.SSLError):
            return (
                f"TLS handshake with {where} failed ({exc.reason or exc}); check [smtp] tls "
                "and port (ssl is usually on port 465, starttls on 587)"
            )
        if isinstance(exc, TimeoutError):
            return self._timed_out()
        if isinstance(exc, socket.gaierror):
            return (
                f"could not reach SMTP server {where}: host name not found ({exc.strerror}); "
                "check [smtp] host and port"
            )
        return (
            f"could not reach SMTP server {where}: {exc.strerror or exc}; "
            "check [smtp] host and port"
        )

    def _timed_out(self) -> str:
        return (
            f"SMTP server {self.where} did not answer within {self.settings.timeout:g} s "
            f"during {self.step}; check [smtp] host, port and tls, or raise [smtp] timeout"
        )

    def _reply(self, code: int, text: bytes | str) -> str:
        return redact(_reply(code, text), self.password)
