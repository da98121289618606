"""The workspace's configuration as loaded, for people to read: never a secret.

Every section of `Settings` is listed key by key, so that a setting added later shows up
without anyone remembering this page. What could be a secret is shown by what it is, not its
value: ``password_env`` as the variable's name and whether it is set, a command as "set", the
database URL with its password masked. The mailbox's stored progress (the last sync of each
folder) and the scheduled jobs' last runs come from the database.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from tracker.config.settings import SECTIONS
from tracker.services.workspace import TAG_KEY_NAME, Workspace
from tracker.store import db
from tracker.store.models import FolderState, ScheduleRun

RUNS_SHOWN = 20
# Keys whose value is a command that prints a secret, or may hold one: only "set" is shown.
_COMMANDS = ("password_command", "oauth2_token_command")
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


def _shown(ws: Workspace, section: str, key: str, value: object) -> str:
    if section == "database" and key == "url":
        return db.safe_url(ws.settings.database_url) + ("" if value else " (the default)")
    if key == "password_env":
        if not value:
            return "(none)"
        return f"{value} ({'set' if ws.env.get(str(value)) else 'not set'} in the environment)"
    if key in _COMMANDS or any(word in key for word in _SECRET_WORDS):
        return "set" if value else "(none)"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value not in ("", None) else "(none)"


def _section(ws: Workspace, name: str) -> Section:
    values = getattr(ws.settings, name)
    items = [(f.name, _shown(ws, name, f.name, getattr(values, f.name)))
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
