"""`tracker watch`: keep every request's state true, all day, without anyone touching it.

IDLE on the first folder (renewed every ``idle_renew_seconds``), a full sync of every folder on
connecting and every ``OTHER_FOLDERS_EVERY`` seconds, and on any network or server failure a
reconnect after an exponential backoff with jitter (1 s doubling up to 5 minutes). A failure
before the first successful connection is fatal: a wrong password or host should be seen at
once, not retried quietly forever.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tracker.core.errors import DatabaseError, SignInError, TrackerError
from tracker.jobs.schedule import run_due_jobs
from tracker.net.imap import Mailbox, MailboxError
from tracker.net.imap_parse import FolderInfo
from tracker.net.logins import imap_login
from tracker.services.inbound import Counts
from tracker.services.sync import sync_all, sync_folder
from tracker.services.workspace import Workspace

log = logging.getLogger("tracker.watch")


@dataclass
class WatchState:
    """What the watcher is doing, for a page to show: written by the watcher's thread only."""

    running: bool = False
    connected: bool = False
    idle: bool = False
    last_sync_at: datetime | None = None
    last_error: str = ""
    last_error_at: datetime | None = None

    def synced(self) -> None:
        self.last_sync_at = datetime.now(UTC)

    def failed(self, error: str) -> None:
        self.connected = self.idle = False
        self.last_error, self.last_error_at = error, datetime.now(UTC)
OTHER_FOLDERS_EVERY = 300.0
SIGN_IN_RETRY = 60.0  # seconds between tries while the provider sign-in needs a person
MAX_BACKOFF = 300.0


def backoff_delay(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before reconnect number *attempt* (1, 2, ...): 1 s doubling, capped at
    5 minutes, with +-50% jitter so that many watchers do not reconnect in step."""
    base = min(MAX_BACKOFF, 2.0 ** (attempt - 1))
    return min(MAX_BACKOFF, base * (0.5 + rand()))


def _log_counts(prefix: str, counts: Counts) -> None:
    if counts.stored or counts.repaired or counts.skipped:
        log.info("%s: %s", prefix, ", ".join(
            f"{k} {v if not isinstance(v, list) else len(v)}"
            for k, v in counts.as_dict().items() if v))


def _run_jobs(ws: Workspace) -> None:
    """The weekly report and daily reminders, when due; a failure is logged, not fatal."""
    try:
        run_due_jobs(ws, datetime.now(UTC))
    except TrackerError as exc:
        log.error("scheduled jobs: %s", exc)


def _mark(info: FolderInfo) -> int:
    """What changes when mail arrives in a folder: its UIDNEXT (its size on a server that
    does not say)."""
    return info.uidnext if info.uidnext is not None else info.exists


def watch(ws: Workspace, stop: threading.Event, *,
          other_every: float = OTHER_FOLDERS_EVERY, state: WatchState | None = None,
          sign_in_retry: float = SIGN_IN_RETRY) -> None:
    """Run until *stop* is set (the CLI sets it on SIGINT/SIGTERM); report into *state*.

    A provider sign-in that is missing, expired or revoked does not end the watcher: it says
    so (one line: run `tracker auth login`) and tries again every *sign_in_retry* seconds,
    so that signing in again, from a terminal or the web, is all it takes.
    """
    state = state or WatchState()
    state.running = True
    attempt = 0
    connected_once = False
    while not stop.is_set():
        imap = ws.settings.imap  # read at each connection: the web may have changed them
        inbox = imap.folders[0]
        try:
            with Mailbox(imap, imap_login(ws.settings)) as mailbox:
                log.info("connected to %s as %s", imap.host, imap.username)
                connected_once, attempt = True, 0
                state.connected = True
                _log_counts("sync", sync_all(ws, mailbox=mailbox))
                state.synced()
                last_full = time.monotonic()
                read_at: int | None = None  # the inbox's mark when it was last read
                while not stop.is_set():
                    _run_jobs(ws)
                    # Mail that arrived after the last read but before this EXAMINE shows in
                    # its UIDNEXT, and IDLE will not announce it again: read it first.
                    changed = _mark(mailbox.select(inbox)) != read_at
                    if not changed:
                        left = max(1.0, other_every - (time.monotonic() - last_full))
                        state.idle = True
                        changed = mailbox.idle_wait(min(float(imap.idle_renew_seconds), left))
                        state.idle = False
                    if changed:
                        counts = Counts()
                        read_at = _mark(sync_folder(ws, mailbox, inbox, counts))
                        _log_counts(inbox, counts)
                        state.synced()
                    if time.monotonic() - last_full >= other_every:
                        _log_counts("sync", sync_all(ws, mailbox=mailbox))
                        state.synced()
                        last_full = time.monotonic()
        except SignInError as exc:
            state.failed(str(exc))
            log.error("%s; trying again in %g s", exc, sign_in_retry)
            stop.wait(sign_in_retry)
        except (MailboxError, DatabaseError) as exc:
            state.failed(str(exc))
            if not connected_once:
                state.running = False
                raise
            attempt += 1
            delay = backoff_delay(attempt)
            log.warning("connection lost (%s); reconnecting in %.1f s", exc, delay)
            stop.wait(delay)
    state.running = state.connected = False
    log.info("stopped")
