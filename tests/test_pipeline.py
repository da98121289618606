"""tracker.net.pipeline: the seam onto imaplib's internals reads as imaplib does, and fails
loudly when imaplib changes."""

from __future__ import annotations

import imaplib
import platform
from typing import Any, ClassVar

import imapclient
import pytest
from dovecot import PASSWORD, DovecotServer, dovecot_fixture  # noqa: F401

from tracker.net.imap import Mailbox
from tracker.net.pipeline import NEEDED, ImaplibChanged, Pipeline, check_imaplib

CREDENTIALS = ("password", PASSWORD)


class _Scripted(imaplib.IMAP4):
    """An imaplib connection that answers with *lines* (no socket)."""

    def __init__(self, lines: list[bytes]) -> None:  # no super(): nothing to connect to
        self.tagged_commands: dict[bytes, Any] = {}
        self.untagged_responses: dict[str, Any] = {}
        self.debug = 0
        self._script = b"".join(lines)
        self._at = 0

    def readline(self) -> bytes:
        end = self._script.find(b"\n", self._at) + 1 or len(self._script)
        line, self._at = self._script[self._at:end], end
        return line

    def read(self, size: int) -> bytes:
        data, self._at = self._script[self._at:self._at + size], self._at + size
        return data


def pipeline(*lines: bytes) -> Pipeline:
    client = imapclient.IMAPClient.__new__(imapclient.IMAPClient)  # never connected
    client._imap = _Scripted(list(lines))
    return Pipeline(client)


HEADER = b"Subject: hi\r\n\r\n"


def test_fetch_data_comes_in_imaplibs_shape() -> None:
    answer = pipeline(
        b"* 3 EXISTS\r\n",
        b"* 7 FETCH (UID 12 BODY[HEADER] {15}\r\n" + HEADER + b")\r\n",
        b"* OK [ALERT] {4}\r\n", b"note\r\n",  # an untagged answer with a literal: read past
        b"* 8 FETCH (FLAGS (\\Seen) UID 13)\r\n",
        b"+ go on\r\n",
        b"A1 OK Fetch completed.\r\n",
    )
    assert answer.receive("UID", b"A1") == ("OK", [
        (b"7 (UID 12 BODY[HEADER] {15}", HEADER), b")", b"8 (FLAGS (\\Seen) UID 13)"])


def test_no_fetch_data_no_and_bad_as_imaplib_has_them() -> None:
    assert pipeline(b"A1 OK done\r\n").receive("UID", b"A1") == ("OK", [None])
    assert pipeline(b"A1 NO no such message\r\n").receive("UID", b"A1") == (
        "NO", [b"no such message"])
    with pytest.raises(imaplib.IMAP4.error, match=r"^UID command error: BAD \[b'syntax'\]$"):
        pipeline(b"A1 BAD syntax\r\n").receive("UID", b"A1")


@pytest.mark.parametrize(("lines", "reason"), [
    ([b"* BYE shutting down\r\n", b"A1 OK done\r\n"], "shutting down"),
    ([b"* 7 FETCH (UID 12 BODY[HEADER] {15}\r\n"], "socket error: EOF"),
    ([b"* 7 FETCH (UID 12)"], "socket error: unterminated line"),
    ([b"B9 OK other\r\n"], "unexpected response"),
])
def test_a_lost_connection_is_an_abort(lines: list[bytes], reason: str) -> None:
    answer = pipeline(*lines)
    answer._imap.tagged_commands[b"A1"] = None
    with pytest.raises(imaplib.IMAP4.abort, match=rf"^command: UID => {reason}"):
        answer.receive("UID", b"A1")
    assert answer._imap.tagged_commands == {}  # the tag _command registered is gone


def test_this_pythons_imaplib_has_what_tracker_needs() -> None:
    instance = imaplib.IMAP4.__new__(imaplib.IMAP4)  # never connected
    instance.tagged_commands = {}
    check_imaplib(instance)
    assert set(NEEDED) == {"_command", "readline", "read"}


class _NoCommand:
    """An imaplib that lost its private ``_command``."""

    tagged_commands: ClassVar[dict[bytes, Any]] = {}


class _Renamed(_NoCommand):
    """An imaplib whose ``_command`` changed its parameters."""

    def _command(self, name: str, *args: str, timeout: float = 0) -> bytes:
        return b"A1"

    def readline(self) -> bytes:
        return b""

    def read(self, size: int) -> bytes:
        return b""


class _NoTags(_Renamed):
    """An imaplib that keeps its tags elsewhere."""

    tagged_commands = None  # type: ignore[assignment]

    def _command(self, name: str, *args: str) -> bytes:
        return b"A1"


@pytest.mark.parametrize(("imap", "missing"), [
    (_NoCommand(), "_command(name, *args)"),
    (_Renamed(), "_command(name, *args)"),
    (_NoTags(), "tagged_commands (a dict)"),
])
def test_a_changed_imaplib_is_one_line_naming_the_python(imap: object, missing: str) -> None:
    with pytest.raises(ImaplibChanged) as info:
        check_imaplib(imap)
    message = str(info.value)
    assert message.startswith(f"the imaplib of Python {platform.python_version()} has no "
                              f"{missing}, which tracker's IMAP reading is built on")
    assert "\n" not in message and info.value.exit_code == 8


def test_an_imapclient_without_its_imaplib_object_is_refused() -> None:
    with pytest.raises(ImaplibChanged, match=r"IMAPClient\._imap"):
        Pipeline(_NoCommand())  # type: ignore[arg-type]


def test_connect_stops_before_login_when_imaplib_changed(
        dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    command = imaplib.IMAP4._command

    def changed(self: imaplib.IMAP4, name: str, *args: Any, timeout: float = 0) -> Any:
        return command(self, name, *args)  # imaplib itself still works: only the shape moved

    monkeypatch.setattr(imaplib.IMAP4, "_command", changed)
    with pytest.raises(ImaplibChanged, match=r"has no _command\(name, \*args\)"), \
            Mailbox(dovecot.settings(), CREDENTIALS):
        pass
