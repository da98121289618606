"""The settings' types: one frozen dataclass per section of ``tracker.toml``, and `Settings`.

Reading and checking them (the file, the environment's overrides) is `tracker.config.loading`.
Secrets never live here: passwords come from ``password_env`` (the *name* of an environment
variable) or ``password_command`` (a command that prints the secret), read by
:mod:`tracker.net.secrets`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

CONFIG_NAME = "tracker.toml"
TlsMode = Literal["ssl", "starttls", "none"]


@dataclass(frozen=True)
class OrganisationSettings:
    """Who writes the letters, and how their dates are counted."""

    name: str = "Example Human Rights Group"
    signatory: str = ""
    email: str = "inquiries@org.example"
    reply_to: str = ""
    domain: str = ""
    address: str = ""
    reference_prefix: str = "HC"
    timezone: str = "UTC"
    country: str = ""
    subdivision: str = ""
    default_deadline: str = "30d"
    language: str = "en"

    @property
    def message_domain(self) -> str:
        """The domain for Message-IDs: ``domain``, else the domain of ``email``."""
        return self.domain or self.email.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the data lives. Empty ``url`` means the SQLite file in the workspace."""

    url: str = ""


@dataclass(frozen=True)
class SmtpSettings:
    """The outgoing mail server."""

    host: str = ""
    port: int = 0
    username: str = ""
    password_env: str = ""
    password_command: str = ""
    oauth2_token_command: str = ""
    tls: TlsMode = "starttls"
    ca_file: str = ""
    timeout: float = 30.0

    @property
    def effective_port(self) -> int:
        """``port``, or the standard port for the TLS mode."""
        return self.port or {"ssl": 465, "starttls": 587, "none": 25}[self.tls]


@dataclass(frozen=True)
class ImapSettings:
    """The mailbox tracker watches (used by ``tracker sync`` / ``watch``)."""

    host: str = ""
    port: int = 0
    username: str = ""
    password_env: str = ""
    password_command: str = ""
    oauth2_token_command: str = ""
    tls: TlsMode = "ssl"
    ca_file: str = ""
    folders: tuple[str, ...] = ("INBOX",)
    sent_folder: str = ""
    # Whose Authentication-Results count (tracker.trust): a mail provider's preset, or
    # "generic" (your own server: trusted_authserv_ids and border_hosts).
    provider: Literal["generic", "gmail", "microsoft365", "fastmail"] = "generic"
    trusted_authserv_ids: tuple[str, ...] = ()
    border_hosts: tuple[str, ...] = ()  # Received "by" hosts of our border (default: the ids)
    accept_unverified: bool = False  # count mail from a platform's domain that nothing proves
    dkim_verify: bool = False  # also verify DKIM signatures ourselves (needs DNS)
    idle_renew_seconds: int = 540
    timeout: float = 60.0

    @property
    def effective_port(self) -> int:
        """``port``, or the standard port for the TLS mode."""
        return self.port or (993 if self.tls == "ssl" else 143)


AuthProvider = Literal["", "microsoft", "google"]


@dataclass(frozen=True)
class AuthSettings:
    """Signing in with the mail provider (OAuth2) for IMAP and SMTP: ``tracker auth login``.

    ``client_id`` is the organisation's own app registration (docs/mail-providers.md). Its
    secret, where Google's desktop apps have one, comes from ``client_secret_env`` or
    ``client_secret_command`` like every secret. ``authority`` (Microsoft: the authority URL)
    and ``token_endpoint`` / ``authorization_endpoint`` (Google) replace the providers' own
    addresses, for a sovereign cloud or the tests; ``ca_file`` pins the CA of that server.
    """

    provider: AuthProvider = ""
    client_id: str = ""
    client_secret_env: str = ""
    client_secret_command: str = ""
    tenant: str = "organizations"
    authority: str = ""
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    ca_file: str = ""
    # Where the refresh token is kept: the OS keyring when this machine has one ("auto"),
    # else a private file in the workspace.
    token_store: Literal["auto", "keyring", "file"] = "auto"  # noqa: S105 - a place


@dataclass(frozen=True)
class ReportSettings:
    """The weekly report: who gets it, when, in which language."""

    recipients: tuple[str, ...] = ()
    schedule: str = "MON 09:00"  # weekday and local time; "" = never sent automatically
    language: str = "en"  # "en" or "zh-Hans"


@dataclass(frozen=True)
class ReminderSettings:
    """When to draft follow-ups, and when to escalate."""

    every: str = "14d"  # no follow-up more often than this after the last letter
    escalate_after: str = "60d"  # after this long without an answer: final notice, regulator
    auto_draft: bool = False  # draft due follow-ups daily from `tracker watch` / `run-scheduled`
    final_notice_days: int = 14  # the final notice's last date: this many days after its date


@dataclass(frozen=True)
class WebSettings:
    """The web face (``tracker serve``): where it is reached, how long a sign-in lasts."""

    base_url: str = ""  # the address staff open, e.g. https://tracker.org.example (behind a proxy)
    idle_minutes: int = 60  # a session not used for this long ends
    session_hours: int = 12  # a session ends this long after sign-in, used or not
    require_totp: bool = False  # everyone must use a second factor (an authenticator app)
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")  # whose X-Forwarded-* count


@dataclass(frozen=True)
class LetterSettings:
    """Letters that go on paper (``tracker letter --format pdf``) and what is kept of them."""

    paper: Literal["A4", "letter"] = "A4"  # A4 (210 x 297 mm) or US Letter (8.5 x 11 in)
    # Put the recipient's address where a window envelope shows it: DIN 5008 (C5/C6/DL
    # window, 45 mm from the top, 20 mm from the left) on A4, a US #10 window on Letter.
    address_window: bool = False
    place: str = ""  # the town written before the date: "Berlin, 8 June 2020"
    receipt_max_mb: int = 20  # the largest receipt (scan, screenshot, saved page) kept


@dataclass(frozen=True)
class Settings:
    """All settings of one workspace."""

    workspace: Path
    organisation: OrganisationSettings = field(default_factory=OrganisationSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    web: WebSettings = field(default_factory=WebSettings)
    letters: LetterSettings = field(default_factory=LetterSettings)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.organisation.timezone)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.workspace / 'tracker.db'}"

    @property
    def templates_dir(self) -> Path:
        return self.workspace / "templates"

    @property
    def platforms_dir(self) -> Path:
        return self.workspace / "platforms"


SECTIONS: dict[str, type[Any]] = {
    "organisation": OrganisationSettings,
    "database": DatabaseSettings,
    "smtp": SmtpSettings,
    "imap": ImapSettings,
    "auth": AuthSettings,
    "report": ReportSettings,
    "reminders": ReminderSettings,
    "web": WebSettings,
    "letters": LetterSettings,
}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses, where plaintext is acceptable."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


