"""The workspace's configuration: as loaded, for people to read (never a secret), and changed
one key at a time in ``tracker.toml``.

Every section of `Settings` is listed key by key, so that a setting added later shows up
without anyone remembering this page. What could be a secret is shown by what it is, not its
value: ``password_env`` as the variable's name and whether it is set, a command as "set", the
database URL with its password masked. The mailbox's stored progress (the last sync of each
folder) and the scheduled jobs' last runs come from the database.

`change_setting` and `remove_setting` (``tracker config set`` / ``unset``) edit the file
through `tracker.config.editing`, which keeps its comments and checks the result, and replace
it atomically: a crash leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import codecs
import dataclasses
import os
import secrets
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import col, select

from tracker.config.editing import (
    override_variable,
    set_value,
    set_values,
    split_key,
    unset_value,
)
from tracker.config.loading import parse_settings, read_config_text
from tracker.config.settings import CONFIG_NAME, SECTIONS, Settings
from tracker.core.errors import ConfigError, TrackerError
from tracker.services.workspace import TAG_KEY_NAME, Workspace
from tracker.store import db
from tracker.store.models import FolderState, ScheduleRun

RUNS_SHOWN = 20
# Keys whose value may be or hold a secret: only "set" or "(none)" is shown. A *_command key
# is a command that prints a secret; its text may carry one too (`sh -c 'echo hunter2'`).
_SECRET_WORDS = ("password", "secret", "token")


@dataclass(frozen=True)
class Section:
    """One section of ``tracker.toml`` as shown: (key, value in words) pairs."""

    name: str
    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FolderSync:
    account: str
    folder: str
    uidvalidity: int
    last_uid: int
    updated_at: datetime


@dataclass(frozen=True)
class JobRun:
    job: str
    period: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    detail: str


@dataclass(frozen=True)
class Overview:
    """The settings page: the configuration, the mailbox's stored syncs, the jobs' last runs."""

    workspace: str
    sections: tuple[Section, ...]
    folders: tuple[FolderSync, ...]
    runs: tuple[JobRun, ...]


def _shown(settings: Settings, env: Mapping[str, str], section: str, key: str,
           value: object) -> str:
    if section == "database" and key == "url":
        return db.safe_url(settings.database_url) + ("" if value else " (the default)")
    if key.endswith("_env"):
        if not value:
            return "(none)"
        return f"{value} ({'set' if env.get(str(value)) else 'not set'} in the environment)"
    if key.endswith("_command") or any(word in key for word in _SECRET_WORDS):
        return "set" if value else "(none)"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value not in ("", None) else "(none)"


def _section(ws: Workspace, name: str) -> Section:
    values = getattr(ws.settings, name)
    items = [(f.name, _shown(ws.settings, ws.env, name, f.name, getattr(values, f.name)))
             for f in dataclasses.fields(values)]
    if hasattr(values, "effective_port"):
        items.append(("port in use", str(values.effective_port)))
    return Section(name, tuple(items))


def settings_overview(ws: Workspace) -> Overview:
    """The configuration as loaded (no secret), each folder's last sync, the last job runs."""
    tag_key = ("TRACKER_TAG_SECRET (set in the environment)" if ws.env.get("TRACKER_TAG_SECRET")
               else f"the file {TAG_KEY_NAME} in the workspace")
    files = Section("files", (("workspace", str(ws.settings.workspace)),
                              ("platforms folder", str(ws.settings.platforms_dir)),
                              ("templates folder", str(ws.settings.templates_dir)),
                              ("reference tag key", tag_key)))
    with db.transaction(ws.engine) as session:
        folders = session.exec(select(FolderState).order_by(
            col(FolderState.account), col(FolderState.folder))).all()
        runs = session.exec(select(ScheduleRun).order_by(
            col(ScheduleRun.started_at).desc(), col(ScheduleRun.id).desc())
            .limit(RUNS_SHOWN)).all()
        synced = tuple(FolderSync(f.account, f.folder, f.uidvalidity, f.last_uid, f.updated_at)
                       for f in folders)
        ran = tuple(JobRun(r.job, r.period, r.status, r.started_at, r.finished_at, r.detail)
                    for r in runs)
    return Overview(workspace=str(ws.settings.workspace),
                    sections=(files, *(_section(ws, name) for name in SECTIONS)),
                    folders=synced, runs=ran)


def effective_settings(workspace: Path, env: Mapping[str, str] | None = None,
                       ) -> list[tuple[str, str, str]]:
    """Every key of every section as loaded: ``(section.key, value shown, where it came from)``.

    Where it came from is ``tracker.toml``, the environment variable that overrides it
    (``$TRACKER_IMAP_HOST``) or ``default``. Nothing secret is shown (see `_shown`).
    """
    env = os.environ if env is None else env
    path = workspace / CONFIG_NAME
    text = read_config_text(path)
    settings = parse_settings(text, workspace, env, path)
    written = tomllib.loads(text)  # parse_settings has read it: it is valid TOML
    rows: list[tuple[str, str, str]] = []
    for section in SECTIONS:
        values = getattr(settings, section)
        in_file = written.get(section, {})
        for f in dataclasses.fields(values):
            key = f"{section}.{f.name}"
            variable = override_variable(key)
            if variable in env:
                origin = f"${variable}"
            elif f.name in in_file:
                origin = CONFIG_NAME
            else:
                origin = "default"
            if key == "database.url" and origin != f"${variable}" and not in_file.get(
                    "url") and settings.database.url:
                origin = "$DATABASE_URL"  # what parse_settings falls back to
            rows.append((key, _shown(settings, env, section, f.name, getattr(values, f.name)),
                         origin))
    return rows


def change_setting(workspace: Path, key: str, value: str) -> None:
    """Set *key* (``section.key``) to *value* in the workspace's ``tracker.toml``.

    The value is converted to the key's type, secrets are refused, and the new file must load
    (`tracker.config.editing.set_value`); otherwise nothing is written.
    """
    path = workspace / CONFIG_NAME
    _replace(path, set_value(read_config_text(path), key, value, workspace))


def change_settings(workspace: Path, values: Mapping[str, str]) -> dict[str, str]:
    """Set every ``section.key`` of *values* in ``tracker.toml`` in one write, checked as a
    whole (`tracker.config.editing.set_values`: an empty value of a key whose default is empty
    removes it); return the ones whose written value changed."""
    path = workspace / CONFIG_NAME
    text = read_config_text(path)
    new = set_values(text, values, workspace)
    before, after = tomllib.loads(text), tomllib.loads(new)

    def written(data: dict[str, object], key: str) -> object:
        section, name = split_key(key)
        table = data.get(section, {})
        return table.get(name) if isinstance(table, dict) else None

    changed = {key: value for key, value in values.items()
               if written(before, key) != written(after, key)}
    if new != text:
        _replace(path, new)
    return changed


def remove_setting(workspace: Path, key: str) -> None:
    """Remove *key* from the workspace's ``tracker.toml``: its default (or its environment
    variable) counts again."""
    path = workspace / CONFIG_NAME
    _replace(path, unset_value(read_config_text(path), key, workspace))


def _replace(path: Path, text: str) -> None:
    """Write *text* to *path* atomically: a private file beside it, synced, then renamed over.

    The new file is 0600, or the old file's mode where that is stricter (0400 stays 0400); a
    UTF-8 byte-order mark the old file began with is kept. A symbolic link is followed, so
    the file it points at is the one replaced.
    """
    target = path.resolve()
    try:
        old = target.stat()
        with target.open("rb") as fh:
            bom = codecs.BOM_UTF8 if fh.read(3) == codecs.BOM_UTF8 else b""
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    mode = stat.S_IMODE(old.st_mode) & 0o600
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(bom + text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _sync_folder(target.parent)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; nothing was changed"
                          ) from None


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the system lets a folder be synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def record_change(ws: Workspace, values: Mapping[str, str | None]) -> None:
    """Record a change of tracker.toml as an event of ``ws.actor`` (``None``: key removed).

    A command's text is recorded as "set" only: it may name where a secret is kept.
    """
    if not values:
        return
    from tracker.store.db import transaction
    from tracker.store.events import record_admin_event
    from tracker.store.models import utcnow

    shown = {key: (None if value is None else "set" if key.endswith("_command") and value
                   else value) for key, value in values.items()}
    with transaction(ws.engine) as session:
        record_admin_event(session, "settings_changed", ws.actor, utcnow(), settings=shown)


def record_change_at(workspace: Path, values: Mapping[str, str | None], actor: str) -> bool:
    """`record_change` for a command that has no workspace open; False when the database
    cannot be opened (a change of the settings may be what mends it)."""
    from tracker.config.loading import load_settings

    try:
        ws = Workspace(load_settings(workspace), actor=actor)
        try:
            record_change(ws, values)
        finally:
            ws.close()
    except TrackerError:
        return False
    return True
