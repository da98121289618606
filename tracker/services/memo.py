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
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa

from tracker.services.workspace import Workspace
from tracker.store import db

T = TypeVar("T")
_LOCK = threading.Lock()


def record_version(ws: Workspace) -> tuple[int, int]:
    """(the highest event id, the highest message id): changes whenever the record does."""
    with db.reading(ws.engine) as session:
        events, messages = session.execute(sa.text(
            "select (select max(id) from event), (select max(id) from message)")).one()
    return int(events or 0), int(messages or 0)


def remembered(ws: Workspace, name: str, key: Hashable, compute: Callable[[], T],
               slots: int = 1) -> T:
    """``compute()``, or the value kept for (*name*, *key*) at the current record version.

    Up to *slots* keys of one *name* are kept (the least recently used goes first): one for a
    view everyone shares (the dashboard), more for views with arguments (a list's filters, a
    request's reference). When many ask at once for what is not kept (after a change, fifty
    people reloading), one computes it and the others wait for its result: computing it fifty
    times at once would take fifty times as long for everyone.
    """
    version = record_version(ws)
    with _LOCK:
        kept: OrderedDict[Hashable, tuple[Any, Any]] = ws.memo.setdefault(name, OrderedDict())
        computing: dict[Hashable, threading.Lock] = ws.memo.setdefault(
            f"{name} (computing)", {})
        one = computing.setdefault(key, threading.Lock())
    with one:
        with _LOCK:
            found = kept.get(key)
            if found is not None and found[0] == version:
                kept.move_to_end(key)
                value: T = found[1]
                return value
        value = compute()
        with _LOCK:
            kept[key] = (version, value)
            kept.move_to_end(key)
            while len(kept) > slots:
                gone, _ = kept.popitem(last=False)
                computing.pop(gone, None)
    return value
