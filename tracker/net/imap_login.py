"""Getting into the mailbox: the [imap] settings checks, the login secret, and what a failed
connection or login means, in one line that says what to check (and never holds the secret).
"""

from __future__ import annotations

import imaplib
import socket
import ssl

from imapclient.exceptions import LoginError

from tracker.config.settings import ImapSettings
from tracker.core.errors import ConfigError
from tracker.net.logins import check_one_way, no_login_hint
from tracker.net.secrets import one_line
from tracker.net.tls import check_server_settings

_MAX_TEXT = 200  # characters of server text kept in an error message
_NO_LOGIN_HINT = no_login_hint("imap")


def check_imap_settings(settings: ImapSettings, login_given: bool = False) -> None:
    """Raise ConfigError if *settings* cannot be used to read the mailbox safely (with
    *login_given*, how to log in was settled already: `tracker.net.logins`)."""
    check_server_settings("imap", settings)
    if not settings.username.strip():
        raise ConfigError("set [imap] username in tracker.toml or TRACKER_IMAP_USERNAME")
    if login_given:
        return
    check_one_way("imap", settings)
    if not (settings.oauth2_token_command or settings.password_env or settings.password_command):
        raise ConfigError(_NO_LOGIN_HINT)


def _secret_source(settings: ImapSettings) -> str:
    if settings.oauth2_token_command:
        return "oauth2_token_command"
    return f"${settings.password_env}" if settings.password_env else "password_command"


def server_text(value: BaseException | bytes | str, secret: str) -> str:
    """Server text as one short printable line, with *secret* hidden should it echo."""
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value)
    if text.startswith(("b'", 'b"')) and text[-1:] == text[1]:  # imaplib's str(bytes)
        text = text[2:-1]
    return one_line(text, _MAX_TEXT, secret)


def explain_failure(exc: BaseException, step: str, settings: ImapSettings, where: str,
                    kind: str, secret: str, source: str = "") -> str:
    """What *exc*, raised while connecting or logging in (*step*) to *where*, means."""
    if isinstance(exc, LoginError):
        source = source or _secret_source(settings)
        if kind == "oauth2" and source.endswith("sign-in"):
            return (f"IMAP login refused for {settings.username} at {where} "
                    f"({server_text(exc, secret)}) although {source} gave a fresh token: "
                    "check that [imap] username is the account signed in (`tracker auth "
                    "status`) and that IMAP is allowed for it, or run `tracker auth login`")
        what = "token" if kind == "oauth2" else "password"
        return (f"IMAP login refused for {settings.username} at {where} "
                f"({server_text(exc, secret)}): check [imap] username and the {what} from "
                f"{source}")
    if isinstance(exc, UnicodeEncodeError):
        return ("the IMAP username or password contains non-ASCII characters, which "
                "Python's imaplib cannot send; use an ASCII password")
    if isinstance(exc, ssl.SSLCertVerificationError):
        hint = (f"check that [imap] ca_file {settings.ca_file} is the CA that signed it"
                if settings.ca_file else "if the server uses a private CA set [imap] ca_file")
        reason = exc.verify_message or exc.reason or "unknown reason"
        return (f"TLS certificate of {settings.host.strip('[]')} could not be verified "
                f"({reason}); {hint}")
    if isinstance(exc, ssl.SSLError):
        return (f"TLS handshake with {where} failed ({exc.reason or exc}); check [imap] tls "
                "and port (ssl is usually on port 993, starttls on 143)")
    tls_hint = ""
    if step == "connecting" and settings.tls != "ssl":
        tls_hint = ' (if it expects TLS from the first byte, set [imap] tls = "ssl")'
    if isinstance(exc, imaplib.IMAP4.abort):
        return (f"IMAP server {where} closed the connection during {step} "
                f"({server_text(exc, secret)}){tls_hint}")
    if isinstance(exc, imaplib.IMAP4.error):
        return f"IMAP server {where} refused {step}: {server_text(exc, secret)}"
    if isinstance(exc, TimeoutError):
        return (f"could not reach IMAP server {where}: no answer within "
                f"{settings.timeout:g} s during {step}{tls_hint}; check [imap] host and port")
    if isinstance(exc, socket.gaierror):
        return (f"could not reach IMAP server {where}: host name not found "
                f"({exc.strerror}); check [imap] host and port")
    why = getattr(exc, "strerror", None) or exc
    return f"could not reach IMAP server {where}: {why}; check [imap] host and port"
