"""A workspace: a private folder with ``tracker.toml``, the database and local overrides."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from tracker.config.loading import parse_settings
from tracker.config.settings import CONFIG_NAME, SECTIONS, Settings
from tracker.core.business_days import BusinessCalendar
from tracker.core.errors import ConfigError, InputError
from tracker.directory.loading import load_directory
from tracker.directory.model import Platform
from tracker.services.files import write_synced
from tracker.store import db

if TYPE_CHECKING:
    from tracker.letters.loading import LetterTemplate

TAG_KEY_NAME = "tag.key"


def write_private(path: Path, data: bytes, *, overwrite: bool = False) -> None:
    """Write *data* to a new file readable by its owner only (0600)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    try:
        write_synced(fd, data)
        os.chmod(path, 0o600)
    except BaseException:
        if not overwrite:  # the file is new: leave no half-written one behind
            path.unlink(missing_ok=True)
        raise


def init_workspace(path: Path, values: Mapping[str, Mapping[str, Any]],
                   env: Mapping[str, str] | None = None) -> Settings:
    """Create a workspace at *path*: private folder, ``tracker.toml``, tag key, migrated database.

    *values* are ``{section: {key: value}}`` for the config file; empty values are left out.
    All or nothing: every value is checked before anything is written, and if a later step
    fails (a folder that cannot be written, a database that cannot be reached or migrated)
    every file and folder made so far is removed again.
    """
    config = path / CONFIG_NAME
    if os.path.lexists(config):  # False, not an error, where it cannot look: mkdir says why
        raise ConfigError(f"{config} already exists; this folder is a workspace already")
    for section, keys in values.items():
        if section not in SECTIONS:
            raise ConfigError(f"unknown section [{section}]")
        for key in keys:
            if key in {"password", "secret", "token"}:
                raise ConfigError(f"[{section}] {key}: secrets never go in {CONFIG_NAME}")
    url = values.get("database", {}).get("url") or ""
    if isinstance(url, str) and db.has_password(url):
        raise ConfigError(
            f"the database URL {db.safe_url(url)!r} contains a password, which would be written "
            f"to {CONFIG_NAME}; give the URL without it and set the whole URL in "
            "TRACKER_DATABASE_URL, or keep the password in ~/.pgpass"
        )
    import tomli_w

    body = {s: {k: v for k, v in keys.items() if v not in (None, "")}
            for s, keys in values.items()}
    text = ("# tracker workspace settings. Secrets never go here: use password_env or\n"
            "# password_command. Every key can be overridden by TRACKER_<SECTION>_<KEY>.\n\n"
            + tomli_w.dumps({s: k for s, k in body.items() if k}))
    settings = parse_settings(text, path, env, config)  # checked before anything is written
    made = _Made()
    try:
        made.folders(path, ("templates", "platforms"))
        write_private(config, text.encode("utf-8"))
        made.created(config)
        key_file = path / TAG_KEY_NAME
        if not key_file.exists():
            write_private(key_file, secrets.token_hex(32).encode("ascii") + b"\n")
            made.created(key_file)
        database = db.sqlite_path(db.normalise_url(settings.database_url))
        if database is not None:  # SQLite makes these; the ones that are new are ours
            made.expect(*(database.with_name(database.name + suffix)
                          for suffix in ("", "-wal", "-shm", "-journal")))
        engine = db.make_engine(settings.database_url)
        try:
            db.upgrade(engine)  # a new database: no mail to read words from yet
        finally:
            engine.dispose()
    except BaseException as exc:
        made.undo()
        if isinstance(exc, OSError):
            raise ConfigError(
                f"cannot create a workspace in {path}: {exc.strerror or exc}; "
                "choose a folder you can write to"
            ) from None
        raise
    return settings


class _Made:
    """What `init_workspace` made, so that a failure can take all of it back."""

    def __init__(self) -> None:
        self.paths: list[Path] = []  # in the order made
        self.modes: list[tuple[Path, int]] = []  # folders that existed, with their old mode

    def created(self, path: Path) -> None:
        self.paths.append(path)

    def expect(self, *paths: Path) -> None:
        """Files something else is about to create: those that do not exist yet are ours."""
        self.paths.extend(p for p in paths if not p.exists())

    def folders(self, root: Path, subfolders: tuple[str, ...]) -> None:
        """Make *root* (and missing parents) and its *subfolders*, all 0700."""
        missing = [p for p in (root, *root.parents) if not p.exists()]
        for folder in reversed(missing):
            folder.mkdir(mode=0o700)
            self.created(folder)
        if root not in missing:
            self.modes.append((root, stat.S_IMODE(root.stat().st_mode)))
            os.chmod(root, 0o700)
        for sub in subfolders:
            if not (root / sub).is_dir():
                (root / sub).mkdir(mode=0o700)
                self.created(root / sub)

    def undo(self) -> None:
        for path in reversed(self.paths):
            with suppress(OSError):  # a folder someone put files in meanwhile stays
                if path.is_dir() and not path.is_symlink():
                    path.rmdir()
                else:
                    path.unlink(missing_ok=True)
        for path, mode in self.modes:
            with suppress(OSError):
                os.chmod(path, mode)


@dataclass
class Workspace:
    """Everything a command needs: settings, database, directory, templates, tag key."""

    settings: Settings
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    actor: str = "staff"
    # Results a long-running face (the web) keeps while the record is unchanged
    # (tracker.services.memo); shared by the copies that act for each person.
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # What copies of this workspace share and may see change: a shallow copy (the web face's
    # one per signed-in person) keeps the same dict, so a reloaded directory reaches them all.
    _shared: dict[str, Any] = field(default_factory=dict, init=False, repr=False,
                                    compare=False)

    @cached_property
    def engine(self) -> Engine:
        engine = db.make_engine(self.settings.database_url)
        db.check_schema(engine)
        return engine

    @cached_property
    def read_only(self) -> bool:
        """True when the SQLite database cannot be written: it is then opened read-only."""
        return db.opens_read_only(self.settings.database_url)

    @property
    def platforms(self) -> dict[str, Platform]:
        """The platform directory: shipped records with the workspace's own over them."""
        directory: dict[str, Platform] | None = self._shared.get("platforms")
        if directory is None:
            directory = self.reload_platforms()
        return directory

    def reload_platforms(self) -> dict[str, Platform]:
        """Read the directory again (after a platform file was written), for every copy."""
        directory = load_directory([self.settings.platforms_dir])
        self._shared["platforms"] = directory
        return directory

    @property
    def templates(self) -> dict[tuple[str, str], LetterTemplate]:
        """The letter templates: the shipped ones with the workspace's own over them.

        Kept for every copy (the web face makes one per request) until a file in the
        workspace's templates folder changes: staff may edit one while `tracker serve` runs.
        """
        # Imported here: most commands never read a template (`tracker status` stays fast).
        from tracker.letters.loading import load_templates

        folder = self.settings.templates_dir
        key = _files_key(folder, "*.j2")
        kept: tuple[Any, dict[tuple[str, str], LetterTemplate]] | None = \
            self._shared.get("templates")
        if kept is None or key is None or kept[0] != key:
            kept = (key, load_templates([folder]))
            self._shared["templates"] = kept
        return kept[1]

    def refresh_settings(self) -> bool:
        """Load tracker.toml again if it changed since it was loaded; True if it did.

        For a long-running face (the web): an admin may change the mailbox settings there, in
        another worker process, or with `tracker config set`. The database stays the one
        opened; a file that no longer loads keeps the settings as they were (the command that
        broke it said why).
        """
        path = self.settings.workspace / CONFIG_NAME
        try:
            info = path.stat()
        except OSError:
            return False
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        # Shared by the copies (one per signed-in person): whichever sees the change first
        # loads the file, the others take what it loaded.
        known: tuple[Any, Settings] = self._shared.setdefault("settings", (stamp, self.settings))
        if known[0] != stamp:
            from tracker.config.loading import load_settings

            try:
                known = (stamp, load_settings(self.settings.workspace, self.env))
            except ConfigError:
                known = (stamp, known[1])
            self._shared["settings"] = known
        if known[1] is self.settings:
            return False
        self.settings = known[1]
        return True

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


def as_of_day(ws: Workspace, text: str | None, what: str = "as of") -> date:
    """The day *text* names (YYYY-MM-DD), or today (`current_time`) when it is empty."""
    from tracker.core.clock import check_day

    if not text or not text.strip():
        return current_time(ws).date()
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} {text.strip()!r} is not a date; use YYYY-MM-DD") from None
    return check_day(day, what)


def current_time(ws: Workspace) -> datetime:
    """The current moment in the workspace's zone; ``TRACKER_TODAY`` fixes the date (the time
    of day stays real), so that every face can run as of another day."""
    from tracker.core.clock import check_day

    tz = ws.settings.tz
    real = datetime.now(tz)
    fixed = ws.env.get("TRACKER_TODAY")
    if not fixed:
        return real
    try:
        day = date.fromisoformat(fixed)
    except ValueError:
        raise InputError(f"TRACKER_TODAY={fixed!r} is not a date; use YYYY-MM-DD") from None
    return datetime.combine(check_day(day, "TRACKER_TODAY"), real.timetz())


def _files_key(folder: Path, pattern: str) -> tuple[tuple[str, int, int], ...] | None:
    """What changes when a file of *folder* matching *pattern* is added, removed or written
    (None if the folder cannot be read: then nothing kept is trusted)."""
    try:
        return tuple(sorted((p.name, s.st_mtime_ns, s.st_size) for p in folder.glob(pattern)
                            if (s := p.stat()))) if folder.is_dir() else ()
    except OSError:
        return None


_CALENDARS: dict[tuple[str, str], BusinessCalendar] = {}


def _calendar(country: str, subdivision: str) -> BusinessCalendar:
    key = (country, subdivision)
    if key not in _CALENDARS:
        _CALENDARS[key] = BusinessCalendar(country, subdivision)
    return _CALENDARS[key]
