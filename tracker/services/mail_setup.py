"""Connecting the organisation's mailbox: the answers a person can give, turned into settings,
and a test of both connections that says plainly what works. `tracker setup mail` and the
web's Settings page both call this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.config.presets import PRESETS, Preset, preset_values
from tracker.config.settings import Settings
from tracker.core.errors import ConfigError, InputError, TrackerError, suggest
from tracker.mail.addresses import address_problem
from tracker.services.workspace import Workspace


@dataclass(frozen=True)
class MailAnswers:
    """What `tracker setup mail` asks (flags or prompts): empty means "the preset's"."""

    provider: str
    address: str
    folders: tuple[str, ...] = ()
    sent_folder: str = ""
    imap_host: str = ""
    imap_port: int = 0
    imap_tls: str = ""
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_tls: str = ""
    password_env: str = ""  # name of the variable holding the password (password providers)
    password_command: str = ""
    client_id: str = ""  # the organisation's app registration (oauth2 providers)
    tenant: str = ""
    client_secret_env: str = ""
    client_secret_command: str = ""
    trusted_authserv_ids: tuple[str, ...] = ()  # "other": the ids your own server stamps


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown mail provider {name!r}{suggest(name, PRESETS)} (known: "
                         f"{', '.join(PRESETS)})") from None


def planned_settings(answers: MailAnswers) -> dict[str, str]:
    """The keys to write (``section.key`` -> value as text) for *answers*; InputError if one
    answer is missing or wrong."""
    chosen = preset(answers.provider)
    if problem := address_problem(answers.address):
        raise InputError(f"the mailbox address {answers.address!r} is not usable: {problem}")
    values: dict[tuple[str, str], Any] = preset_values(chosen, answers.address)
    given = {("imap", "host"): answers.imap_host, ("imap", "port"): answers.imap_port,
             ("imap", "tls"): answers.imap_tls, ("smtp", "host"): answers.smtp_host,
             ("smtp", "port"): answers.smtp_port, ("smtp", "tls"): answers.smtp_tls,
             ("imap", "folders"): ",".join(answers.folders),
             ("imap", "sent_folder"): answers.sent_folder,
             ("imap", "trusted_authserv_ids"): ",".join(answers.trusted_authserv_ids)}
    values.update({key: value for key, value in given.items() if value})
    for section in ("imap", "smtp"):
        if not values.get((section, "host")):
            raise InputError(f"give the {section.upper()} server's host name "
                             f"(--{section}-host) for {chosen.title}")
    if chosen.login == "oauth2":
        if not answers.client_id:
            raise InputError(f"{chosen.title} needs the organisation's app registration: give "
                             "--client-id (docs/mail-providers.md shows how to register one)")
        values[("auth", "client_id")] = answers.client_id
        if answers.tenant:
            values[("auth", "tenant")] = answers.tenant
        for key in ("client_secret_env", "client_secret_command"):
            if getattr(answers, key):
                values[("auth", key)] = getattr(answers, key)
        for section in ("imap", "smtp"):  # the sign-in logs in to both
            for key in ("password_env", "password_command", "oauth2_token_command"):
                values[(section, key)] = ""
    else:
        if bool(answers.password_env) == bool(answers.password_command):
            raise InputError(f"say where {chosen.password_hint or 'the password'} comes from: "
                             "--password-env VAR (an environment variable) or "
                             "--password-command CMD (a command that prints it), one of them")
        for section in ("imap", "smtp"):
            values[(section, "password_env")] = answers.password_env
            values[(section, "password_command")] = answers.password_command
            values[(section, "oauth2_token_command")] = ""
        values[("auth", "provider")] = ""
    return {f"{section}.{key}": str(value) for (section, key), value in values.items()}


def configure_mail(ws: Workspace, answers: MailAnswers) -> dict[str, str]:
    """Write the settings for *answers* into *ws*'s tracker.toml at once (validated, or
    nothing written), recorded as an event; *ws* then has them. Return what changed."""
    from tracker.services.configuration import change_settings, record_change

    ws.refresh_settings()  # notes the file as it is now, to see it change below
    changed = change_settings(ws.settings.workspace, planned_settings(answers))
    record_change(ws, dict(changed))
    ws.refresh_settings()
    return changed


@dataclass(frozen=True)
class ConnectionCheck:
    """One connection tried: what works, or why not, in plain words."""

    name: str  # "IMAP" or "SMTP"
    ok: bool
    detail: str


def check_connections(ws: Workspace) -> list[ConnectionCheck]:
    """Log in to IMAP (and see the folders to read) and to SMTP (sending nothing)."""
    return [_check_imap(ws), _check_smtp(ws)]


def _check_imap(ws: Workspace) -> ConnectionCheck:
    from tracker.net.imap import Mailbox
    from tracker.net.logins import imap_login

    imap = ws.settings.imap
    try:
        with Mailbox(imap, imap_login(ws.settings)) as mailbox:
            folders = mailbox.list_folders()
    except TrackerError as exc:
        return ConnectionCheck("IMAP", False, str(exc))
    missing = [f for f in (*imap.folders, imap.sent_folder) if f and f not in folders]
    where = f"{imap.host}:{imap.effective_port} as {imap.username}"
    if missing:
        shown = ", ".join(folders[:12]) + (", ..." if len(folders) > 12 else "")
        return ConnectionCheck("IMAP", False, f"{where}: logged in, but no folder "
                               f"{', '.join(missing)}; the mailbox has: {shown}")
    read = ", ".join(imap.folders) + (f" and {imap.sent_folder}" if imap.sent_folder else "")
    return ConnectionCheck("IMAP", True, f"{where}: logged in; will read {read} (read-only)")


def _check_smtp(ws: Workspace) -> ConnectionCheck:
    from tracker.net.logins import smtp_login
    from tracker.net.smtp import check_login

    try:
        detail = check_login(ws.settings.smtp, ws.settings.organisation.email,
                             smtp_login(ws.settings))
    except TrackerError as exc:
        return ConnectionCheck("SMTP", False, str(exc))
    return ConnectionCheck("SMTP", True, f"{detail}; nothing was sent")


def current_preset(settings: Settings) -> str:
    """The preset the settings look like now (the form's first choice)."""
    if settings.auth.provider == "microsoft":
        return "microsoft365"
    if settings.auth.provider == "google":
        return "google"
    for name, chosen in PRESETS.items():
        host = chosen.values.get(("imap", "host"))
        if host and host == settings.imap.host:
            return name
    return "other"


def describe(values: Mapping[str, str]) -> list[str]:
    """The changed settings as lines for people (no value here is a secret)."""
    return [f"{key} = {value!r}" for key, value in values.items()]


def needs_sign_in(ws: Workspace) -> bool:
    """True when [auth] names a provider and nobody is signed in with it here."""
    if not ws.settings.auth.provider:
        return False
    from tracker.net.oauth import MailSignIn

    try:
        return MailSignIn(ws.settings).status() is None
    except ConfigError:
        return True
