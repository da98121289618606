"""How tracker logs in to the IMAP and SMTP servers: a password, or an OAuth2 access token.

One :class:`Login` per connection attempt says which (``kind``), gives the secret when asked,
and, when it can, a new one after the server refused the first: the sign-in is refreshed
(``[auth] provider``) or ``oauth2_token_command`` run again. The order, for each of [imap] and
[smtp]: its ``oauth2_token_command``; its password (``password_env`` / ``password_command``);
the provider sign-in of ``[auth]``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tracker.config.settings import ImapSettings, Settings, SmtpSettings
from tracker.core.errors import ConfigError
from tracker.net.secrets import read_secret, token_from_command

Kind = Literal["password", "oauth2"]


@dataclass(frozen=True)
class Login:
    """What a connection logs in with; see the module docstring."""

    kind: Kind
    source: str  # in words, for errors: "$IMAP_PASSWORD", "the Microsoft sign-in", ...
    _get: Callable[[bool], str]
    renewable: bool = False

    def secret(self, fresh: bool = False) -> str:
        """The password or token; with *fresh*, a new token (only when ``renewable``)."""
        return self._get(fresh)

    @classmethod
    def fixed(cls, kind: Kind, secret: str, source: str = "") -> Login:
        """A secret given as it is (*source*: "" lets the error name the settings' one)."""
        return cls(kind, source, lambda _fresh: secret)


def xoauth2(user: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64 (Google's and Microsoft's format)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def xoauth2_base64(user: str, token: str) -> str:
    return base64.b64encode(xoauth2(user, token).encode()).decode("ascii")


def check_one_way(section: str, values: ImapSettings | SmtpSettings) -> None:
    """A token command or a password, not both (which one would count is not obvious)."""
    if values.oauth2_token_command and (values.password_env or values.password_command):
        raise ConfigError(f"[{section}] set either oauth2_token_command or a password "
                          "(password_env / password_command), not both")


def imap_login(settings: Settings) -> Login:
    """How to log in to [imap]; ConfigError when nothing is configured."""
    imap = settings.imap
    check_one_way("imap", imap)
    return _login("imap", settings, imap.password_env, imap.password_command,
                  imap.oauth2_token_command)


def smtp_login(settings: Settings) -> Login | None:
    """How to log in to [smtp]; None when ``username`` is empty (a relay that needs none)."""
    smtp = settings.smtp
    if not smtp.username:
        return None
    check_one_way("smtp", smtp)
    return _login("smtp", settings, smtp.password_env, smtp.password_command,
                  smtp.oauth2_token_command)


def has_login(settings: Settings, section: Literal["imap", "smtp"]) -> bool:
    """True when [section] names some way to log in (checked before anything is saved)."""
    values = getattr(settings, section)
    return bool(values.oauth2_token_command or values.password_env or values.password_command
                or settings.auth.provider)


def no_login_hint(section: str) -> str:
    return (f"[{section}] has no login secret; set password_env (name of an environment "
            "variable) or password_command, or sign in with the mail provider ([auth] "
            "provider, then `tracker auth login`), or set oauth2_token_command")


def _login(section: str, settings: Settings, password_env: str, password_command: str,
           token_command: str) -> Login:
    if token_command:
        return Login("oauth2", "oauth2_token_command",
                     lambda _fresh: token_from_command(section, token_command), renewable=True)
    if password_env or password_command:
        secret = read_secret(section, password_env, password_command) or ""
        source = f"${password_env}" if password_env else "password_command"
        if not secret:
            raise ConfigError(f"[{section}] the password from {source} is empty")
        return Login.fixed("password", secret, source)
    if settings.auth.provider:
        from tracker.net.oauth import MailSignIn, provider_name

        sign_in = MailSignIn(settings)
        # Had here, so that a missing sign-in fails before any connection; the first login
        # uses it, a retry after a refusal asks for a new one.
        first = [sign_in.access_token()]

        def token(fresh: bool) -> str:
            return first.pop() if first and not fresh else sign_in.access_token(fresh)

        return Login("oauth2", f"the {provider_name(settings.auth.provider)} sign-in", token,
                     renewable=True)
    raise ConfigError(no_login_hint(section))
