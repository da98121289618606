"""The web face and the mailbox watcher write one SQLite file at once, and neither fails.

`tracker serve` runs the watcher in a thread beside the web requests (tracker.web.serving).
Here the real watcher reads a real Dovecot while mail keeps arriving, and at the same time
staff keep working on the same request through its page (record a reply that came by post,
close, reopen); every write must land, none may meet "database is locked".
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from conftest import INIT_ARGS, Cli
from dovecot import DovecotServer, dovecot_fixture  # noqa: F401
from test_sync import imap_env, mail, put, sent_request
from web_client import make_site

from tracker.cli import main
from tracker.jobs.watch import WatchState
from tracker.store import db
from tracker.web.serving import start_watcher

MAILS = 30
# What staff do on the request page while its replies arrive, in turn.
ACTIONS = (("reply", {"on": "2020-07-01", "kind": "acknowledgement", "note": "by post"},
            "reply_recorded"),
           ("close", {"resolution": "partial", "note": "half an answer"}, "closed"),
           ("reopen", {}, "reopened"))
ROUNDS = 20


def test_web_and_watcher_write_the_same_sqlite_file_at_once(dovecot: DovecotServer,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "ws"
    env = {k: v for k, v in imap_env(dovecot).items() if v is not None}
    env.pop("TRACKER_TODAY", None)
    result = CliRunner().invoke(main, ["init", str(path), *INIT_ARGS], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    cli = Cli(workspace=path, env=dict(env), check=False)
    ref, letter_id = sent_request(cli)
    site = make_site(path, env)
    state = WatchState()
    stop = threading.Event()
    watcher = start_watcher(site.ws, stop, state)
    failures: list[str] = []

    def people() -> None:
        browser = site.signed_in("editor")
        token = browser.session_token()
        for number in range(ROUNDS * len(ACTIONS)):
            action, form, _ = ACTIONS[number % len(ACTIONS)]
            response = browser.post(f"/requests/{ref}/{action}", form, token=token)
            if response.status_code != 303:
                failures.append(f"web write {number} ({action}): {response.status_code} "
                                f"{response.text[-300:]}")

    def mail_arrives() -> None:
        for number in range(MAILS):
            put(dovecot, mail(f"Re: [{ref}] part {number}", in_reply_to=letter_id,
                              day=10 + number % 15))
            time.sleep(0.02)

    try:
        deadline = time.monotonic() + 30
        while not state.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state.connected, state.last_error
        threads = [threading.Thread(target=people), threading.Thread(target=mail_arrives)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        deadline = time.monotonic() + 60
        stored = 0
        while time.monotonic() < deadline:
            with db.transaction(site.ws.engine) as session:
                stored = session.execute(sa.text(  # the watcher's, not the page's replies
                    "select count(*) from message where direction = 'in'"
                    " and channel != 'manual'")).scalar_one()
            if stored == MAILS:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        site.ws.close()
    assert failures == []
    assert stored == MAILS, state.last_error
    assert state.last_error == "", state.last_error
    with db.transaction(site.ws.engine) as session:
        done = dict(session.execute(sa.text(
            "select kind, count(*) from event where actor = 'editor' group by kind")).all())
    assert done == {kind: ROUNDS for _, _, kind in ACTIONS}
    assert watcher.is_alive() or stop.is_set()
