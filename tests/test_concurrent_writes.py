"""Two units of work that change one request at once, on SQLite and on PostgreSQL: the second
waits for the first and decides on what the first left, so neither change is lost.

The case that showed it: the mailbox watcher stores a reply (and settles the request's state
from what it read) while a member of staff closes the request on the web; the close must stand.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from conftest import Cli
from test_sync import sent_request

from tracker.config.loading import load_settings
from tracker.services import actions
from tracker.services.records import get_request
from tracker.services.workspace import Workspace
from tracker.store import db


def test_a_close_made_while_the_watcher_writes_the_request_stands(cli: Cli) -> None:
    ref, _ = sent_request(cli)
    env = {k: v for k, v in cli.env.items() if v is not None}
    watcher, web = (Workspace(load_settings(cli.workspace, env), env=env, actor=who)
                    for who in ("tracker", "editor"))
    closing = threading.Thread(target=actions.close_request,
                               args=(web, ref, "withdrawn", "", datetime(2020, 6, 20, tzinfo=UTC)))
    try:
        with db.transaction(watcher.engine) as session:
            request = get_request(session, ref)
            seen = request.state
            closing.start()
            closing.join(timeout=1)  # it waits for this unit of work (it used to go ahead)
            assert closing.is_alive()
            request.state = seen  # what this unit decided from what it read
            session.add(request)
        closing.join()
        with db.reading(watcher.engine) as session:
            assert get_request(session, ref).state == "closed"
    finally:
        watcher.close()
        web.close()
