"""Load the settings: ``tracker.toml`` in the workspace, overridden key by key from the environment.

Every key ``[section] key`` can be overridden by ``TRACKER_<SECTION>_<KEY>`` (upper case).
Secrets never live here: passwords come from ``password_env`` (the *name* of an environment
variable) or ``password_command`` (a command that prints the secret). Values are checked by
their type, then by their meaning (`validate_settings`); the types are
`tracker.config.settings`.
"""

from __future__ import annotations

import codecs
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, get_args, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tracker.config.settings import CONFIG_NAME, SECTIONS, DatabaseSettings, Settings
from tracker.core.errors import ConfigError, suggest

__all__ = [
    "find_workspace",
    "load_settings",
    "parse_settings",
    "read_config_text",
    "validate_settings",
]

_SECRET_KEYS = {"password", "secret", "token", "oauth2_token", "api_key", "client_secret",
                "refresh_token", "access_token"}


def _coerce(section: str, key: str, hint: Any, value: Any, origin: str) -> Any:
    """Turn a TOML or environment value into the field's type, or say what is wrong."""
    where = f"[{section}] {key} (from {origin})"
    args = get_args(hint)
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if hint is int:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if hint is float:
            number = float(value)
            if not math.isfinite(number):  # TOML has inf and nan; no setting means them
                raise ValueError
            return number
        if hint == tuple[str, ...]:
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return tuple(value)
            raise ValueError
        if args and all(isinstance(a, str) for a in args):  # Literal
            if value not in args:
                raise ConfigError(f"{where} must be one of {', '.join(args)}, not {value!r}")
            return value
        if not isinstance(value, str):
            raise ValueError
        return value
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise ConfigError(f"{where} has the wrong type: {value!r}") from None


def _section(name: str, raw: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    cls = SECTIONS[name]
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SECRET_KEYS:
            raise ConfigError(
                f"[{name}] {key}: secrets must not be written in {CONFIG_NAME}; "
                f"use password_env (name of an environment variable) or password_command"
            )
        if key not in names:
            raise ConfigError(f"unknown key [{name}] {key} in {CONFIG_NAME}{suggest(key, names)}")
        values[key] = _coerce(name, key, hints[key], value, CONFIG_NAME)
    for key in names:
        var = f"TRACKER_{name.upper()}_{key.upper()}"
        if var in env:
            values[key] = _coerce(name, key, hints[key], env[var], var)
    return cls(**values)


def load_settings(workspace: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read ``tracker.toml`` of *workspace* and apply environment overrides."""
    path = workspace / CONFIG_NAME
    return parse_settings(read_config_text(path), workspace, env, path)


def read_config_text(path: Path) -> str:
    """The text of *path*, saved as UTF-8 (a UTF-8 BOM, as Windows editors write, is fine)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path} not found; create a workspace with `tracker init`") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError(
            f"{path} is saved as UTF-16; save it as UTF-8 "
            "(in Notepad: File, Save as, Encoding: UTF-8)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start + 1} is not); save it as UTF-8"
        ) from None


def parse_settings(text: str, workspace: Path, env: Mapping[str, str] | None = None,
                   path: Path | None = None) -> Settings:
    """Settings from the TOML *text* of *workspace*'s config file (*path*, for messages)."""
    env = os.environ if env is None else env
    path = path or workspace / CONFIG_NAME
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    for section, value in data.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"unknown section [{section}] in {path}{suggest(section, SECTIONS)}"
            )
        if not isinstance(value, dict):
            raise ConfigError(
                f"{section} in {path} must be a section: a line [{section}], then its "
                "key = value lines"
            )
    parts = {name: _section(name, data.get(name, {}), env) for name in SECTIONS}
    db: DatabaseSettings = parts["database"]
    origin = "TRACKER_DATABASE_URL" if "TRACKER_DATABASE_URL" in env else str(path)
    if not db.url and env.get("DATABASE_URL") and "TRACKER_DATABASE_URL" not in env:
        db, origin = replace(db, url=env["DATABASE_URL"]), "DATABASE_URL"
    _check_database_url(data.get("database", {}).get("url", ""), db.url, origin, path)
    settings = Settings(
        workspace=workspace,
        organisation=parts["organisation"],
        database=db,
        smtp=parts["smtp"],
        imap=parts["imap"],
        auth=parts["auth"],
        report=parts["report"],
        reminders=parts["reminders"],
        web=parts["web"],
        letters=parts["letters"],
    )
    validate_settings(settings)
    return settings


def _check_database_url(written: str, url: str, origin: str, path: Path) -> None:
    """Refuse a password written in the config file, and a URL tracker cannot use."""
    from tracker.store.db import has_password, safe_url, url_problem

    if written and has_password(written):
        raise ConfigError(
            f"[database] url in {path} contains a password; remove it from there and set "
            "the whole URL in TRACKER_DATABASE_URL instead, or keep the password in ~/.pgpass"
        )
    problem = url_problem(url) if url else None
    if problem:
        raise ConfigError(f"[database] url {safe_url(url)!r} (from {origin}): {problem}")


def validate_settings(settings: Settings) -> None:
    """Check values whose meaning goes beyond their type."""
    org = settings.organisation
    try:
        ZoneInfo(org.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"[organisation] timezone {org.timezone!r} is not a known time zone "
            "(use an IANA name such as Europe/Berlin or Asia/Taipei)"
        ) from None
    if org.country:
        from tracker.core.countries import has_holiday_calendar

        if not has_holiday_calendar(org.country.upper()):
            raise ConfigError(
                f"[organisation] country {org.country!r} has no public-holiday calendar; "
                "use an ISO 3166 code such as DE, GB, US or TW"
            )
    prefix = org.reference_prefix
    if not (prefix.isascii() and prefix.isalnum() and 1 <= len(prefix) <= 10):
        raise ConfigError(
            f"[organisation] reference_prefix {prefix!r} must be 1-10 letters or digits, e.g. HC"
        )
    from tracker.mail.addresses import check_address

    for name in ("email", "reply_to"):
        if getattr(org, name):
            check_address(f"[organisation] {name}", getattr(org, name), ConfigError)
    from tracker.core.deadlines import parse_rule
    from tracker.core.errors import InputError

    for where, rule in (("[organisation] default_deadline", org.default_deadline),
                        ("[reminders] every", settings.reminders.every),
                        ("[reminders] escalate_after", settings.reminders.escalate_after)):
        try:
            parse_rule(rule)
        except InputError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if not 1 <= settings.reminders.final_notice_days <= 365:
        raise ConfigError(f"[reminders] final_notice_days {settings.reminders.final_notice_days}"
                          ": give the days the final notice allows, from 1 to 365 (e.g. 14)")
    if settings.report.language not in ("en", "zh-Hans"):
        raise ConfigError(f"[report] language {settings.report.language!r}: use en or zh-Hans")
    if settings.report.schedule:
        from tracker.core.weekly import parse_schedule

        try:
            parse_schedule(settings.report.schedule)
        except InputError as exc:
            raise ConfigError(f"[report] schedule: {exc}") from None
    for address in settings.report.recipients:
        check_address("[report] recipients:", address, ConfigError)
    _validate_web(settings)
    _validate_auth(settings)
    _validate_letters(settings)


def _validate_web(settings: Settings) -> None:
    from urllib.parse import urlsplit

    web = settings.web
    if web.base_url:
        parts = urlsplit(web.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in (
                "", "/") or parts.query or parts.fragment:
            raise ConfigError(f"[web] base_url {web.base_url!r}: give the address staff open, "
                              "scheme and host only, e.g. https://tracker.org.example")
    if not 1 <= web.idle_minutes <= 24 * 60:
        raise ConfigError(f"[web] idle_minutes {web.idle_minutes}: give 1 to 1440 minutes")
    if not 1 <= web.session_hours <= 24 * 31:
        raise ConfigError(f"[web] session_hours {web.session_hours}: give 1 to 744 hours")


def _validate_letters(settings: Settings) -> None:
    letters = settings.letters
    if not 1 <= letters.receipt_max_mb <= 100:
        raise ConfigError(f"[letters] receipt_max_mb {letters.receipt_max_mb}: give 1 to 100 "
                          "(MB); a larger file can stay outside tracker, with a note")
    if len(letters.place) > 80 or any(not c.isprintable() for c in letters.place):
        raise ConfigError("[letters] place: give the town's name on one line (at most 80 "
                          "characters)")


def _validate_auth(settings: Settings) -> None:
    import re
    from urllib.parse import urlsplit

    auth = settings.auth
    for key in ("authority", "authorization_endpoint", "token_endpoint"):
        url = getattr(auth, key)
        if url and (urlsplit(url).scheme != "https" or not urlsplit(url).hostname):
            raise ConfigError(f"[auth] {key} {url!r}: give an https:// address (tokens never "
                              "travel in plaintext), or leave it empty for the provider's own")
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,100}", auth.tenant):
        raise ConfigError(f"[auth] tenant {auth.tenant!r}: give organizations, common, the "
                          "tenant's domain (org.example) or its id")
    if auth.client_secret_env and auth.client_secret_command:
        raise ConfigError("[auth] set client_secret_env or client_secret_command, not both")


def find_workspace(explicit: str | os.PathLike[str] | None, cwd: Path | None = None,
                   env: Mapping[str, str] | None = None) -> Path:
    """Find the workspace: ``--workspace``, then ``$TRACKER_WORKSPACE``, then cwd and parents."""
    env = os.environ if env is None else env
    for candidate, origin in ((explicit, "--workspace"),
                              (env.get("TRACKER_WORKSPACE"), "TRACKER_WORKSPACE")):
        if candidate:
            path = Path(candidate).expanduser().resolve()
            if not (path / CONFIG_NAME).is_file():
                raise ConfigError(
                    f"{origin} points at {path}, which has no {CONFIG_NAME}; "
                    f"run `tracker init {path}` first"
                )
            return path
    here = (cwd or Path.cwd()).resolve()
    for path in (here, *here.parents):
        if (path / CONFIG_NAME).is_file():
            return path
    raise ConfigError(
        f"no {CONFIG_NAME} in {here} or its parents; run `tracker init DIR`, "
        "or pass --workspace DIR or set TRACKER_WORKSPACE"
    )
