"""Mail providers' settings, so that `tracker setup mail` asks people only what they can answer.

Each preset fills the [imap], [smtp] and [auth] keys a provider needs: hosts, ports and TLS as
the provider documents them, the Sent folder's usual name, the `[imap] provider` whose
Authentication-Results tracker trusts (tracker.mail.trust), and how to log in. Sources:
Microsoft, "POP, IMAP, and SMTP settings for Outlook.com / Microsoft 365"; Google, "Read Gmail
messages on other email clients using IMAP"; Fastmail, "Server names and ports"; Proton,
"Proton Mail Bridge" (IMAP and SMTP on loopback).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Login = Literal["oauth2", "password"]


@dataclass(frozen=True)
class Preset:
    """One provider's settings; ``values`` are (section, key) -> value."""

    name: str
    title: str
    login: Login
    values: dict[tuple[str, str], Any] = field(default_factory=dict)
    password_hint: str = ""  # what password to make, for "password" logins


PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("microsoft365", "Microsoft 365 / Exchange Online", "oauth2", {
        ("imap", "host"): "outlook.office365.com", ("imap", "port"): 993,
        ("imap", "tls"): "ssl", ("imap", "provider"): "microsoft365",
        ("imap", "sent_folder"): "Sent Items",
        ("smtp", "host"): "smtp.office365.com", ("smtp", "port"): 587,
        ("smtp", "tls"): "starttls",
        ("auth", "provider"): "microsoft",
    }),
    Preset("google", "Google Workspace / Gmail", "oauth2", {
        ("imap", "host"): "imap.gmail.com", ("imap", "port"): 993, ("imap", "tls"): "ssl",
        ("imap", "provider"): "gmail", ("imap", "sent_folder"): "[Gmail]/Sent Mail",
        ("smtp", "host"): "smtp.gmail.com", ("smtp", "port"): 465, ("smtp", "tls"): "ssl",
        ("auth", "provider"): "google",
    }),
    Preset("fastmail", "Fastmail", "password", {
        ("imap", "host"): "imap.fastmail.com", ("imap", "port"): 993, ("imap", "tls"): "ssl",
        ("imap", "provider"): "fastmail", ("imap", "sent_folder"): "Sent",
        ("smtp", "host"): "smtp.fastmail.com", ("smtp", "port"): 465, ("smtp", "tls"): "ssl",
    }, password_hint="an app password (Settings, Privacy & Security, App passwords)"),  # noqa: S106
    Preset("proton-bridge", "Proton Mail Bridge (on this machine)", "password", {
        ("imap", "host"): "127.0.0.1", ("imap", "port"): 1143, ("imap", "tls"): "none",
        ("imap", "provider"): "generic", ("imap", "sent_folder"): "Sent",
        ("smtp", "host"): "127.0.0.1", ("smtp", "port"): 1025, ("smtp", "tls"): "none",
    }, password_hint="the Bridge password the Bridge app shows (not your Proton password)"),  # noqa: S106
    Preset("other", "another IMAP/SMTP server", "password", {
        ("imap", "tls"): "ssl", ("imap", "provider"): "generic", ("smtp", "tls"): "starttls",
    }, password_hint="the mailbox's password or an app password"),  # noqa: S106
)}


def preset_values(preset: Preset, address: str) -> dict[tuple[str, str], Any]:
    """The preset's settings for the mailbox *address* (it is the login name of all four)."""
    values = dict(preset.values)
    values[("imap", "username")] = address
    values[("smtp", "username")] = address
    return values
