"""`tracker watch` against a real Dovecot: mail seen during IDLE, reconnect after a kick, clean
stop. How fast it sees mail is benchmarks/sync_bench.py's (d): the waits here are generous
bounds for a busy machine, not targets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Cli
from dovecot import DovecotServer, dovecot_fixture  # noqa: F401
from test_sync import imap_env, mail, put, row, sent_request, stored_count

from tracker.jobs.watch import MAX_BACKOFF, backoff_delay


@pytest.mark.parametrize(("attempt", "rand", "expected"), [
    (1, 0.5, 1.0), (2, 0.5, 2.0), (3, 0.5, 4.0), (9, 0.5, 256.0), (10, 0.5, 300.0),
    (30, 0.5, 300.0), (1, 0.0, 0.5), (1, 0.999, 1.499), (12, 0.999, 300.0),
])
def test_backoff_doubles_with_jitter_up_to_five_minutes(attempt: int, rand: float,
                                                        expected: float) -> None:
    assert backoff_delay(attempt, lambda: rand) == pytest.approx(expected, abs=1e-3)
    assert backoff_delay(attempt, lambda: rand) <= MAX_BACKOFF


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_watch_picks_up_mail_reconnects_and_stops_cleanly(cli: Cli, dovecot: DovecotServer,
                                                          tmp_path: Path) -> None:
    ref, letter_id = sent_request(cli)
    env = {**os.environ, **{k: v for k, v in cli.env.items() if v is not None},
           **{k: v for k, v in imap_env(dovecot).items() if v is not None},
           "TRACKER_WORKSPACE": str(cli.workspace)}
    log = tmp_path / "watch.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tracker", "watch"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_for(lambda: b"connected" in log.read_bytes(), 60, "the first connection")
            time.sleep(0.3)  # let it enter IDLE
            put(dovecot, mail(f"[{ref}] We received your request", sender="support@zoom.us",
                                headers={"Auto-Submitted": "auto-replied"}, day=9))
            wait_for(lambda: row(cli, ref)["state"] == "acknowledged", 60,
                     "the acknowledgement seen during IDLE")
            dovecot.kick()
            time.sleep(0.2)
            put(dovecot, mail("Re: answer", in_reply_to=letter_id, day=16))
            wait_for(lambda: row(cli, ref)["state"] == "answered", 60,
                     "the reply appended while disconnected")
            assert log.read_bytes().count(b"connected to") >= 2
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=15)
    assert code == 0
    text = log.read_text()
    assert "stopped" in text and "Traceback" not in text
    assert stored_count(cli) == 2


def test_watch_with_wrong_password_fails_at_once(cli: Cli, dovecot: DovecotServer) -> None:
    result = cli.run("watch", ok=False,
                     env=imap_env(dovecot, TRACKER_IMAP_PASSWORD_COMMAND="printf wrong"))
    assert result.exit_code == 8 and "login refused" in result.stderr


def test_mail_that_arrives_between_a_read_and_idle_is_read_at_once(
        cli: Cli, dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """IDLE announces only what arrives after the last EXAMINE: a reply that lands just after
    a sync, before IDLE begins, must not wait for the next mail or IDLE's renewal (9 min)."""
    import threading

    import tracker.jobs.watch as watching
    from tracker.config.loading import load_settings
    from tracker.services.workspace import Workspace

    ref, letter_id = sent_request(cli)
    env = {**{k: v for k, v in cli.env.items() if v is not None},
           **{k: v for k, v in imap_env(dovecot).items() if v is not None}}
    ws = Workspace(load_settings(cli.workspace, env), env=env)
    reads = []
    real = watching.sync_folder

    def sync_then_mail_arrives(*args: object, **kwargs: object) -> object:
        info = real(*args, **kwargs)  # type: ignore[arg-type]
        reads.append(info)
        if len(reads) == 1:  # right after the watcher's first read of the inbox
            put(dovecot, mail("Re: answer", in_reply_to=letter_id, day=16))
        return info

    monkeypatch.setattr(watching, "sync_folder", sync_then_mail_arrives)
    stop = threading.Event()
    state = watching.WatchState()
    thread = threading.Thread(target=watching.watch, args=(ws, stop), kwargs={"state": state})
    thread.start()
    try:
        wait_for(lambda: row(cli, ref)["state"] == "answered", 60,
                 "the reply that arrived before IDLE")
        assert state.last_error == ""
    finally:
        stop.set()
        dovecot.kick()  # out of IDLE at once
        thread.join(timeout=30)
        ws.close()
