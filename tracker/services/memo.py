"""Keep a result while the record it was computed from is unchanged.

The web face shows the same derived views (the dashboard's weekly report, the status rows of
every request) to everyone, many times a minute, and on ten thousand requests one derivation
takes most of a second. Every change to the record adds a row: a request's change is an Event
(tracker.store.events), a message arriving is a Message; so the highest ids of those two tables
(two index lookups) say whether anything changed. A result is kept with that version and
recomputed when the version moves, or when the day (or another part of its key) does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa

from tracker.services.workspace import Workspace
from tracker.store import db

T = TypeVar("T")
_LOCK = threading.Lock()


def record_version(ws: Workspace) -> tuple[int, int]:
    """(the highest event id, the highest message id): changes whenever the record does."""
    with db.transaction(ws.engine) as session:
        events, messages = session.execute(sa.text(
            "select (select max(id) from event), (select max(id) from message)")).one()
    return int(events or 0), int(messages or 0)


def remembered(ws: Workspace, name: str, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or the value kept for (*name*, *key*) at the current record version.

    Two people asking at once while it is being computed each compute it (no lock is held
    while computing): a slower page, never a wrong one.
    """
    version = (record_version(ws), key)
    with _LOCK:
        kept: tuple[Any, Any] | None = ws.memo.get(name)
    if kept is not None and kept[0] == version:
        value: T = kept[1]
        return value
    value = compute()
    with _LOCK:
        ws.memo[name] = (version, value)
    return value
