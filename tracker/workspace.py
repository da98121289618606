"""A workspace: a private folder with ``tracker.toml``, the database and local overrides."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy.engine import Engine

from tracker import db
from tracker.clock import BusinessCalendar
from tracker.config import CONFIG_NAME, SECTIONS, Settings, load_settings
from tracker.errors import ConfigError
from tracker.letters import LetterTemplate, load_templates
from tracker.platforms import Platform, load_directory

TAG_KEY_NAME = "tag.key"


def write_private(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write *data* to a new file readable by its owner only (0600)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o600)


def init_workspace(path: Path, values: Mapping[str, Mapping[str, Any]],
                   env: Mapping[str, str] | None = None) -> Settings:
    """Create a workspace at *path*: private folder, ``tracker.toml``, tag key, migrated database.

    *values* are ``{section: {key: value}}`` for the config file; empty values are left out.
    """
    config = path / CONFIG_NAME
    if config.exists():
        raise ConfigError(f"{config} already exists; this folder is a workspace already")
    for section, keys in values.items():
        if section not in SECTIONS:
            raise ConfigError(f"unknown section [{section}]")
        for key in keys:
            if key in {"password", "secret", "token"}:
                raise ConfigError(f"[{section}] {key}: secrets never go in {CONFIG_NAME}")
    body = {s: {k: v for k, v in keys.items() if v not in (None, "")}
            for s, keys in values.items()}
    text = ("# tracker workspace settings. Secrets never go here: use password_env or\n"
            "# password_command. Every key can be overridden by TRACKER_<SECTION>_<KEY>.\n\n"
            + tomli_w.dumps({s: k for s, k in body.items() if k}))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    for sub in ("templates", "platforms"):
        (path / sub).mkdir(mode=0o700, exist_ok=True)
    # Validate before anything is written, so a bad value leaves no half-made workspace.
    probe = path / (CONFIG_NAME + ".new")
    write_private(probe, text.encode("utf-8"), overwrite=True)
    try:
        os.replace(probe, config)
        settings = load_settings(path, env)
    except ConfigError:
        config.unlink(missing_ok=True)
        raise
    key_file = path / TAG_KEY_NAME
    if not key_file.exists():
        write_private(key_file, secrets.token_hex(32).encode("ascii") + b"\n")
    engine = db.make_engine(settings.database_url)
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()
    return settings


@dataclass
class Workspace:
    """Everything a command needs: settings, database, directory, templates, tag key."""

    settings: Settings
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    actor: str = "staff"

    @cached_property
    def engine(self) -> Engine:
        engine = db.make_engine(self.settings.database_url)
        db.check_schema(engine)
        return engine

    @cached_property
    def platforms(self) -> dict[str, Platform]:
        return load_directory([self.settings.platforms_dir])

    @cached_property
    def templates(self) -> dict[tuple[str, str], LetterTemplate]:
        return load_templates([self.settings.templates_dir])

    @cached_property
    def calendar(self) -> BusinessCalendar:
        org = self.settings.organisation
        return BusinessCalendar(org.country, org.subdivision)

    def calendar_for(self, platform_slug: str) -> BusinessCalendar:
        """The business-day calendar for a platform: its own country if it sets one."""
        platform = self.platforms.get(platform_slug)
        if platform is not None and platform.country:
            return _calendar(platform.country, "")
        return self.calendar

    @cached_property
    def tag_secret(self) -> bytes:
        if self.env.get("TRACKER_TAG_SECRET"):
            return self.env["TRACKER_TAG_SECRET"].encode("utf-8")
        path = self.settings.workspace / TAG_KEY_NAME
        try:
            return path.read_bytes().strip()
        except FileNotFoundError:
            raise ConfigError(
                f"{path} is missing; copy it from the workspace where the letters were sent, "
                "or set TRACKER_TAG_SECRET"
            ) from None

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


_CALENDARS: dict[tuple[str, str], BusinessCalendar] = {}


def _calendar(country: str, subdivision: str) -> BusinessCalendar:
    key = (country, subdivision)
    if key not in _CALENDARS:
        _CALENDARS[key] = BusinessCalendar(country, subdivision)
    return _CALENDARS[key]
