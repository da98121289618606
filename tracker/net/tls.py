"""What the SMTP and IMAP edges share: settings checks and the one TLS policy.

TLS is always verified (certificate chain and host name), TLS 1.2 at least; ``ca_file``, when
set, is the only CA trusted (a private CA); plaintext only to a loopback host.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Protocol

from tracker.config.settings import is_loopback
from tracker.core.errors import ConfigError


class ServerSettings(Protocol):
    """The fields [smtp] and [imap] have in common."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def tls(self) -> str: ...
    @property
    def timeout(self) -> float: ...
    @property
    def ca_file(self) -> str: ...


def check_server_settings(section: str, settings: ServerSettings) -> None:
    """Raise ConfigError if *settings* cannot be used to reach the server safely."""
    env = f"TRACKER_{section.upper()}_HOST"
    if not settings.host.strip():
        raise ConfigError(f"set [{section}] host in tracker.toml or {env}")
    if settings.tls not in ("ssl", "starttls", "none"):
        raise ConfigError(f"[{section}] tls must be ssl, starttls or none, not {settings.tls!r}")
    if settings.tls == "none" and not is_loopback(settings.host):
        raise ConfigError(
            f'[{section}] tls = "none" is only allowed to a loopback host; use ssl or starttls'
        )
    if not 0 <= settings.port <= 65535:
        raise ConfigError(f"[{section}] port {settings.port} is not a TCP port (1-65535)")
    if not settings.timeout > 0:
        raise ConfigError(f"[{section}] timeout must be a positive number of seconds")
    if settings.ca_file and not Path(settings.ca_file).is_file():
        raise ConfigError(
            f"[{section}] ca_file {settings.ca_file} does not exist; "
            "give the path of the PEM file of the CA that signed the server's certificate"
        )


def tls_context(section: str, ca_file: str) -> ssl.SSLContext:
    """A verifying client context: the system CAs, or only *ca_file* when it is set."""
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise ConfigError(
            f"[{section}] ca_file {ca_file} cannot be loaded ({reason}); "
            "it must be a PEM file with the CA certificate"
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
