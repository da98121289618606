"""tracker.net.pipeline: the seam onto imaplib's private command halves fails loudly."""

from __future__ import annotations

import imaplib
import platform
from typing import Any

import pytest
from dovecot import PASSWORD, DovecotServer, dovecot_fixture  # noqa: F401

from tracker.net.imap import Mailbox
from tracker.net.pipeline import HALVES, ImaplibChanged, Pipeline, check_halves

CREDENTIALS = ("password", PASSWORD)


class _NoHalves:
    """An imaplib that lost its command halves."""


class _Renamed:
    """An imaplib whose halves changed their parameters."""

    def _command(self, name: str, *args: str) -> bytes:
        return b"A1"

    def _command_complete(self, name: str, tag: bytes, timeout: float) -> tuple[str, list[Any]]:
        return "OK", []

    def _untagged_response(self, typ: str, dat: list[Any], name: str) -> tuple[str, list[Any]]:
        return typ, dat


def test_this_pythons_imaplib_has_the_halves() -> None:
    check_halves(imaplib.IMAP4.__new__(imaplib.IMAP4))  # an instance, never connected
    check_halves(imaplib.IMAP4_SSL.__new__(imaplib.IMAP4_SSL))


@pytest.mark.parametrize(("imap", "missing"), [
    (_NoHalves(), "_command(name, *args)"),
    (_Renamed(), "_command_complete(name, tag)"),
])
def test_a_changed_imaplib_is_one_line_naming_the_python(imap: object, missing: str) -> None:
    with pytest.raises(ImaplibChanged) as info:
        check_halves(imap)
    message = str(info.value)
    assert f"the imaplib of Python {platform.python_version()} has no {missing}" in message
    assert "\n" not in message and info.value.exit_code == 8
    assert set(HALVES) == {"_command", "_command_complete", "_untagged_response"}


def test_an_imapclient_without_its_imaplib_object_is_refused() -> None:
    with pytest.raises(ImaplibChanged, match=r"IMAPClient\._imap"):
        Pipeline(_NoHalves())  # type: ignore[arg-type]


def test_connect_stops_before_login_when_imaplib_changed(
        dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    complete = imaplib.IMAP4._command_complete

    def changed(self: imaplib.IMAP4, name: str, tag: bytes, *, timeout: float = 0) -> Any:
        return complete(self, name, tag)  # imaplib itself still works: only the shape moved

    monkeypatch.setattr(imaplib.IMAP4, "_command_complete", changed)
    with pytest.raises(ImaplibChanged, match=r"has no _command_complete\(name, tag\)"), \
            Mailbox(dovecot.settings(), CREDENTIALS):
        pass
