"""tracker.net.imap_parse: FETCH answers as imaplib hands them over, read into typed values."""

from __future__ import annotations

import imaplib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tracker.net.imap_parse import (
    FetchedMessage,
    FolderInfo,
    fetched_messages,
    folder_info,
    header_blocks,
    utc,
)

HEADER = b"From: a@example.org\r\nSubject: hi\r\n\r\n"


FIELDS = "BODY[HEADER.FIELDS (FROM SUBJECT)]"  # as Dovecot names the item it was asked for


def usual(seq: int, uid: int, block: bytes = HEADER, item: str = "BODY[HEADER]") -> list[object]:
    return [(f"{seq} (UID {uid} {item} {{{len(block)}}}".encode(), block), b")"]


@pytest.mark.parametrize("item", ["BODY[HEADER]", FIELDS])
def test_the_usual_shape_is_read_by_uid_keeping_only_what_was_asked(item: str) -> None:
    data = [*usual(1, 10, item=item), *usual(2, 11, b"X: y\r\n\r\n", item),
            *usual(3, 99, item=item)]
    assert header_blocks("OK", data, [10, 11, 12]) == {10: HEADER, 11: b"X: y\r\n\r\n"}
    assert header_blocks("OK", [None], [10]) == {}  # no FETCH responses at all


def test_any_other_shape_goes_to_imapclients_parser_with_the_same_result() -> None:
    flags_first = [(b"1 (FLAGS (\\Seen) UID 10 BODY[HEADER] {%d}" % len(HEADER), HEADER), b")"]
    unsolicited = b"2 (FLAGS (\\Seen) UID 11)"
    nil = b"3 (UID 12 BODY[HEADER] NIL)"
    assert header_blocks("OK", [*usual(4, 13), *flags_first, unsolicited, nil],
                         [10, 11, 12, 13]) == {13: HEADER, 10: HEADER}
    fields_first = [(b"1 (FLAGS (\\Seen) UID 10 %s {%d}" % (FIELDS.encode(), len(HEADER)),
                     HEADER), b")"]
    assert header_blocks("OK", [*fields_first, nil], [10, 12]) == {10: HEADER}


def test_a_refused_fetch_is_an_imap_error() -> None:
    with pytest.raises(imaplib.IMAP4.error, match="FETCH failed: no such message"):
        header_blocks("NO", [b"no such message"], [1])


def test_messages_and_dates() -> None:
    taipei = datetime(2024, 3, 1, 20, 30, tzinfo=timezone(timedelta(hours=8)))
    replies = {5: {b"BODY[]": b"raw", b"INTERNALDATE": taipei}, 6: {b"BODY[]": None},
               7: {b"INTERNALDATE": taipei}}
    assert fetched_messages(replies) == {
        5: FetchedMessage(5, b"raw", datetime(2024, 3, 1, 12, 30, tzinfo=UTC))}
    assert utc(datetime(2024, 3, 1, 12, 30)) == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    assert utc(b"1-Mar-2024") is None


def test_folder_reports() -> None:
    reply = {b"UIDVALIDITY": 7, b"UIDNEXT": 4, b"EXISTS": 3, b"HIGHESTMODSEQ": 9}
    assert folder_info("INBOX", reply, b"EXISTS") == FolderInfo("INBOX", 7, 4, 3, 9)
    assert folder_info("INBOX", {b"MESSAGES": 0, b"UIDVALIDITY": 1}, b"MESSAGES") == \
        FolderInfo("INBOX", 1, None, 0, None)
    assert folder_info("INBOX", {b"EXISTS": 3}, b"EXISTS") is None
