"""tracker.net.imap against a real Dovecot (tests/dovecot.py): read-only, verified TLS, faults."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from dovecot import PASSWORD, DovecotServer, dovecot_fixture, dovecot_tls_fixture  # noqa: F401

from tracker.config.settings import ImapSettings, Settings
from tracker.core.errors import ConfigError
from tracker.mail.header_info import SCREEN_FIELDS
from tracker.net.imap import Mailbox, MailboxDisconnected, MailboxError
from tracker.net.imap_login import check_imap_settings
from tracker.net.imap_parse import FolderInfo, folder_info
from tracker.net.logins import imap_login

CREDENTIALS = ("password", PASSWORD)
TAIPEI = timezone(timedelta(hours=8))


def reply(n: int) -> bytes:
    """A platform's reply: CRLF, 8-bit UTF-8 body, distinct per *n*."""
    return (
        "From: Platform Legal <legal@platform.example>\r\n"
        "To: inquiries@org.example\r\n"
        f"Subject: Re: HC-2024-{n:03d}\r\n"
        f"Message-ID: <reply-{n}@platform.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"您好，关于请求 {n} 的答复。\r\n"
    ).encode()


def header_of(raw: bytes) -> bytes:
    """The header block the screen is sent: the fields it reads, in their order and bytes
    (continuation lines too), and the blank line (RFC 3501 BODY[HEADER.FIELDS (...)])."""
    wanted = {name.encode() for name in SCREEN_FIELDS}
    kept, keeping = [], False
    for line in raw[: raw.index(b"\r\n\r\n") + 2].split(b"\r\n")[:-1]:
        if not line[:1].isspace():
            keeping = line.partition(b":")[0].strip().lower() in wanted
        if keeping:
            kept.append(line + b"\r\n")
    return b"".join(kept) + b"\r\n"


def headers(box: Mailbox, uids: list[int], batch: int = 500) -> list[tuple[int, bytes]]:
    """Every ``(uid, header block)`` that `Mailbox.header_batches` hands over."""
    return [block for _, blocks in box.header_batches(uids, batch=batch) for block in blocks]


def status(dovecot: DovecotServer, folder: str) -> FolderInfo | None:
    """What STATUS says about *folder*, asked over the test's own connection."""
    with dovecot.client() as admin:
        reply = admin.folder_status(folder, ["UIDVALIDITY", "UIDNEXT", "MESSAGES",
                                             "HIGHESTMODSEQ"])
    return folder_info(folder, reply, b"MESSAGES")


@pytest.fixture
def box(dovecot: DovecotServer) -> Iterator[Mailbox]:
    with Mailbox(dovecot.settings(), CREDENTIALS) as mailbox:
        yield mailbox


def later(seconds: float, action: object) -> threading.Thread:
    """Run *action* in a thread after *seconds* (while the test blocks in idle_wait)."""
    assert callable(action)

    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- settings and credentials -----------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"host": ""}, "set [imap] host"),
    ({"username": ""}, "set [imap] username"),
    ({"tls": "none", "host": "imap.example.org"}, 'tls = "none" is only allowed to a loopback'),
    ({"tls": "tls"}, "tls must be ssl, starttls or none"),
    ({"ca_file": "/nonexistent/ca.pem"}, "ca_file /nonexistent/ca.pem does not exist"),
    ({"port": 70000}, "is not a TCP port"),
    ({"password_command": ""}, "no login secret"),
    ({"oauth2_token_command": "printf tok"}, "not both"),
])
def test_unusable_settings_are_refused_before_connecting(overrides: dict[str, object],
                                                         expected: str) -> None:
    values: dict[str, object] = {"host": "127.0.0.1", "username": "staff", "tls": "ssl",
                                 "password_command": "printf secret", **overrides}
    settings = ImapSettings(**values)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        check_imap_settings(settings)
    assert expected in str(info.value)
    if "password_command" in overrides or "oauth2_token_command" in overrides:
        # How to log in is settled before a Mailbox exists: tracker.net.logins.
        with pytest.raises(ConfigError, match=expected.replace("no login", "has no login")):
            imap_login(Settings(workspace=Path("/nonexistent"), imap=settings))
    else:
        with pytest.raises(ConfigError):  # Mailbox checks before it opens a socket
            Mailbox(settings, CREDENTIALS).connect()


def test_plaintext_to_a_remote_host_is_refused_without_any_connection() -> None:
    settings = ImapSettings(host="imap.example.org", username="staff", tls="none",
                            password_command="printf secret")
    with pytest.raises(ConfigError, match="loopback"), Mailbox(settings, CREDENTIALS):
        pass


def _login_of(imap: ImapSettings) -> tuple[str, str]:
    login = imap_login(Settings(workspace=Path("/nonexistent"), imap=imap))
    return login.kind, login.secret()


def test_credentials_come_from_env_command_or_token_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_TEST_IMAP_PASSWORD", "from-env")
    assert _login_of(ImapSettings(password_env="TRACKER_TEST_IMAP_PASSWORD")) == (
        "password", "from-env")
    assert _login_of(ImapSettings(password_command="printf 'from command'")) == (
        "password", "from command")
    assert _login_of(ImapSettings(oauth2_token_command="printf 'ya29.tok\\n'")) == (
        "oauth2", "ya29.tok")
    with pytest.raises(ConfigError, match="no login secret"):
        _login_of(ImapSettings())
    with pytest.raises(ConfigError, match="oauth2_token_command exited with 1"):
        _login_of(ImapSettings(oauth2_token_command="false"))


# -- connecting --------------------------------------------------------------------------------


def test_login_reports_capabilities_including_idle(box: Mailbox) -> None:
    assert {"IDLE", "UIDPLUS", "CONDSTORE"} <= box.capabilities
    assert "INBOX" in box.list_folders()


def test_wrong_password_is_one_line_without_the_password(dovecot: DovecotServer) -> None:
    wrong = "correct-horse-battery"
    settings = dovecot.settings(password_command="", password_env="TRACKER_TEST_IMAP_PASSWORD")
    with pytest.raises(MailboxError) as info, Mailbox(settings, ("password", wrong)):
        pass
    message = str(info.value)
    assert message.startswith(f"IMAP login refused for staff at 127.0.0.1:{dovecot.port}")
    assert "$TRACKER_TEST_IMAP_PASSWORD" in message
    assert wrong not in message and "\n" not in message
    assert not isinstance(info.value, MailboxDisconnected)


def test_oauth2_refusal_points_at_the_token_command(dovecot: DovecotServer) -> None:
    settings = dovecot.settings(password_command="", oauth2_token_command="printf ya29.token")
    with pytest.raises(MailboxError, match="token from oauth2_token_command") as info, \
            Mailbox(settings, ("oauth2", "ya29.token")):
        pass
    assert "ya29.token" not in str(info.value)


def test_closed_port_cannot_be_reached() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ImapSettings(host="127.0.0.1", port=port, username="staff", tls="none",
                            password_command="printf secret")
    with pytest.raises(MailboxError, match=rf"^could not reach IMAP server 127.0.0.1:{port}: "
                                           r".*check \[imap\] host and port$"):
        Mailbox(settings, CREDENTIALS).connect()


def test_imaps_with_a_self_signed_certificate_is_refused_without_ca_file(
        dovecot_tls: DovecotServer) -> None:
    with pytest.raises(MailboxError) as info, \
            Mailbox(dovecot_tls.settings(ca_file=""), CREDENTIALS):
        pass
    assert str(info.value).startswith("TLS certificate of 127.0.0.1 could not be verified")
    assert "set [imap] ca_file" in str(info.value)


def test_imaps_with_ca_file_logs_in(dovecot_tls: DovecotServer) -> None:
    with Mailbox(dovecot_tls.settings(), CREDENTIALS) as box:
        assert box.select("INBOX").exists == 0


def test_starttls_upgrades_before_login(dovecot_tls: DovecotServer) -> None:
    settings = dovecot_tls.settings(tls="starttls", port=dovecot_tls.port)
    with Mailbox(settings, CREDENTIALS) as box:
        assert "IDLE" in box.capabilities  # Dovecot requires TLS before it accepts a login


def test_implicit_tls_to_a_plaintext_port_fails_the_handshake(dovecot: DovecotServer) -> None:
    with pytest.raises(MailboxError, match=r"^TLS handshake with 127\.0\.0\.1:\d+ failed .*"
                                           r"check \[imap\] tls and port"):
        Mailbox(dovecot.settings(tls="ssl"), CREDENTIALS).connect()


def test_plaintext_to_an_implicit_tls_port_times_out_with_a_hint(
        dovecot_tls: DovecotServer) -> None:
    settings = dovecot_tls.settings(tls="none", ca_file="", timeout=0.3)
    with pytest.raises(MailboxError, match=r"no answer within 0\.3 s during connecting "
                                           r'\(if it expects TLS from the first byte, set '
                                           r'\[imap\] tls = "ssl"\)'):
        Mailbox(settings, CREDENTIALS).connect()


def test_secrets_and_mail_stay_out_of_debug_logs(dovecot: DovecotServer,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    dovecot.append(reply(1) + b"Confidential-4471\r\n")
    caplog.set_level(logging.DEBUG)
    with Mailbox(dovecot.settings(), CREDENTIALS) as box:
        box.select("INBOX")
        batches = list(box.header_batches(box.uids_above(0)))
        assert [uid for _, blocks in batches for uid, _ in blocks] == [1]
        assert next(box.fetch_messages([1])).raw.count(b"Confidential-4471") == 1
    with pytest.raises(MailboxError), Mailbox(dovecot.settings(), ("oauth2", "ya29.tok3n")):
        pass
    assert "Logged in as" in caplog.text  # imapclient does log at DEBUG...
    assert PASSWORD not in caplog.text and "ya29.tok3n" not in caplog.text  # ...no secrets,
    assert "Confidential-4471" not in caplog.text and "Subject" not in caplog.text  # no mail


def test_starttls_is_required_when_configured(dovecot: DovecotServer) -> None:
    with pytest.raises(MailboxError, match="does not offer STARTTLS; refusing to log in"), \
            Mailbox(dovecot.settings(tls="starttls"), CREDENTIALS):
        pass


# -- reading without changing ------------------------------------------------------------------


def test_reading_changes_no_flag_not_even_seen(dovecot: DovecotServer, box: Mailbox) -> None:
    dovecot.append(reply(1))
    dovecot.append(reply(2), flags=[b"\\Seen"])
    dovecot.append(reply(3), flags=[b"\\Flagged", b"\\Answered"])
    dovecot.append(reply(4), folder="Replies")
    before = dovecot.flags(), dovecot.flags("Replies")
    modseq = dovecot.highestmodseq()
    assert any(b"\\Seen" not in flags for flags in before[0].values())

    for folder in ("INBOX", "Replies"):
        box.select(folder)
        uids = box.uids_above(0)
        assert len(headers(box, uids)) == len(list(box.fetch_messages(uids))) > 0
        box.noop()
    box.idle_wait(0.2)

    assert (dovecot.flags(), dovecot.flags("Replies")) == before
    assert dovecot.highestmodseq() == modseq


def test_select_and_status_report_the_same_folder(dovecot: DovecotServer, box: Mailbox) -> None:
    for n in range(3):
        dovecot.append(reply(n))
    selected = box.select("INBOX")
    assert selected == status(dovecot, "INBOX")
    assert (selected.exists, selected.uidnext) == (3, 4)
    assert selected.highestmodseq is not None


def test_uidvalidity_change_ends_the_session_and_shows_after_reconnecting(
        dovecot: DovecotServer, box: Mailbox) -> None:
    dovecot.append(reply(1))
    old = box.select("INBOX").uidvalidity
    dovecot.set_uidvalidity("INBOX", old + 1)
    with pytest.raises(MailboxDisconnected):  # Dovecot: "session state is inconsistent"
        box.noop()
    with Mailbox(dovecot.settings(), CREDENTIALS) as again:
        assert again.select("INBOX").uidvalidity == old + 1


def test_unknown_folder_names_the_existing_ones(dovecot: DovecotServer, box: Mailbox) -> None:
    dovecot.create_folder("Replies")
    with pytest.raises(MailboxError) as info:
        box.select("Replys")
    message = str(info.value)
    assert message.startswith("IMAP folder 'Replys' does not exist at 127.0.0.1:")
    assert "did you mean: Replies" in message and "INBOX" in message
    box.select("Replies")  # the session is still usable


def test_uids_above_a_checkpoint(dovecot: DovecotServer, box: Mailbox) -> None:
    uids = [dovecot.append(reply(n)) for n in range(6)]
    box.select("INBOX")
    assert box.uids_above(0) == uids
    assert box.uids_above(uids[2]) == uids[3:]
    assert box.uids_above(uids[-1]) == []
    assert box.uids_above(uids[-1] + 100) == []  # "n:*" would answer the max UID


def test_uids_above_in_small_windows_across_gaps(dovecot: DovecotServer, box: Mailbox) -> None:
    uids = [dovecot.append(reply(n)) for n in range(12)]
    with dovecot.client() as admin:  # the test's own connection makes the gaps
        admin.select_folder("INBOX")
        admin.delete_messages(uids[3:8])
        admin.expunge()
    kept = uids[:3] + uids[8:]
    box.select("INBOX")
    assert box.uids_above(0, window=2) == kept
    assert box.uids_above(uids[1], window=3) == kept[2:]
    assert box.uids_above(uids[-1], window=2) == []


def test_fetch_returns_exact_bytes_across_batches(dovecot: DovecotServer, box: Mailbox) -> None:
    when = datetime(2024, 3, 1, 20, 30, tzinfo=TAIPEI)
    raws = {dovecot.append(reply(n), when=when): reply(n) for n in range(25)}
    box.select("INBOX")
    uids = box.uids_above(0)

    blocks = headers(box, uids[::-1], batch=10)
    assert [uid for uid, _ in blocks] == uids
    assert blocks[0] == (uids[0], header_of(raws[uids[0]]))
    assert all(block == header_of(raws[uid]) for uid, block in blocks)

    messages = list(box.fetch_messages(uids, batch=10))
    assert {m.uid: m.raw for m in messages} == raws
    assert messages[0].internaldate == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    assert {m.internaldate for m in messages} == {when.astimezone(UTC)}


def test_fetch_skips_uids_the_server_does_not_return(dovecot: DovecotServer,
                                                     box: Mailbox) -> None:
    first, second = dovecot.append(reply(1)), dovecot.append(reply(2))
    box.select("INBOX")
    assert [m.uid for m in box.fetch_messages([second, 999, first, first], batch=2)] == [
        first, second]
    assert headers(box, [998, 999]) == []


# -- waiting and faults --------------------------------------------------------------------------


def test_idle_wait_returns_when_mail_arrives(dovecot: DovecotServer, box: Mailbox) -> None:
    box.select("INBOX")
    later(0.3, lambda: dovecot.append(reply(1)))
    assert box.idle_wait(10) is True  # True: woken by the mail (a timeout gives False)
    assert len(box.uids_above(0)) == 1  # the session is usable after IDLE


def test_idle_wait_times_out_quietly(box: Mailbox) -> None:
    box.select("INBOX")
    started = time.monotonic()
    assert box.idle_wait(1.0) is False
    assert time.monotonic() - started >= 0.9  # it did wait (how long at most: not timed here)
    box.noop()


def test_kick_during_idle_is_a_disconnect(dovecot: DovecotServer, box: Mailbox) -> None:
    box.select("INBOX")
    later(0.3, dovecot.kick)
    with pytest.raises(MailboxDisconnected, match=r"during IDLE .*BYE"):
        box.idle_wait(10)
    with pytest.raises(MailboxDisconnected, match="lost earlier"):
        box.noop()


def test_crash_during_idle_is_a_disconnect(dovecot: DovecotServer, box: Mailbox) -> None:
    box.select("INBOX")
    later(0.3, dovecot.kill_imap_processes)
    with pytest.raises(MailboxDisconnected):
        box.idle_wait(10)


def test_kick_between_commands_is_a_disconnect(dovecot: DovecotServer, box: Mailbox) -> None:
    uid = dovecot.append(reply(1))
    box.select("INBOX")
    dovecot.kick()
    time.sleep(0.05)
    with pytest.raises(MailboxDisconnected, match="during UID FETCH"):
        list(box.fetch_messages([uid]))
    with Mailbox(dovecot.settings(), CREDENTIALS) as again:  # reconnecting works
        again.select("INBOX")
        assert [m.uid for m in again.fetch_messages([uid])] == [uid]


def test_header_batches_pipeline_under_other_commands(dovecot: DovecotServer,
                                                     box: Mailbox) -> None:
    raws = {dovecot.append(reply(n)): reply(n) for n in range(7)}
    box.select("INBOX")
    seen: list[list[int]] = []
    for asked, blocks in box.header_batches(sorted(raws), batch=3):
        seen.append(asked)  # the next batch's FETCH is in flight now: other commands must
        box.noop()          # read its answer first and still get their own
        assert [m.raw for m in box.fetch_messages(asked[:1])] == [raws[asked[0]]]
        assert blocks == [(uid, header_of(raws[uid])) for uid in asked]
    assert seen == [[1, 2, 3], [4, 5, 6], [7]]
    assert box.uids_above(6) == [7]  # nothing left over on the wire


def test_header_batches_ask_ahead_while_messages_are_fetched(dovecot: DovecotServer,
                                                             box: Mailbox) -> None:
    raws = {dovecot.append(reply(n)): reply(n) for n in range(9)}
    groups = [[1, 2], [3, 4], [5, 6], [7, 8], [9]]
    box.select("INBOX")
    for number, (asked, blocks) in enumerate(box.header_batches(sorted(raws), batch=2)):
        assert asked == groups[number]
        assert blocks == [(uid, header_of(raws[uid])) for uid in asked]
        assert [m.raw for m in box.fetch_messages(asked)] == [raws[uid] for uid in asked]
        # The next batch was read before the messages were asked for; the one after it went
        # out as soon as they were read, so the server works while the caller stores them.
        flight = box._fetches.in_flight if box._fetches else None
        in_flight = flight.uids if flight else None
        assert in_flight == (groups[number + 2] if number + 2 < len(groups) else None)
    assert box.uids_above(8) == [9]  # nothing left over on the wire


def test_header_batches_after_a_lost_connection(dovecot: DovecotServer, box: Mailbox) -> None:
    for n in range(5):
        dovecot.append(reply(n))
    box.select("INBOX")
    batches = box.header_batches(box.uids_above(0), batch=2)
    assert [uid for uid, _ in next(batches)[1]] == [1, 2]
    dovecot.kick()
    time.sleep(0.05)
    with pytest.raises(MailboxDisconnected):
        box.noop()  # reads the answer to the FETCH in flight, then finds BYE
    with pytest.raises(MailboxDisconnected, match="lost earlier"):
        next(batches)  # a sync stops here and goes on from its checkpoint next time


def test_repr_does_not_show_the_secret(dovecot: DovecotServer) -> None:
    assert "s3cret" not in repr(Mailbox(dovecot.settings(), ("password", "s3cret-value")))
