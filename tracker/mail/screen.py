"""The byte-level header screen: the few fields a sync's pre-screen needs, read from the bytes.

``screen_fields`` costs a few us instead of ~200 us for ``parse_headers``
(`tracker.mail.header_info`), and never drops what that full screen would keep: where only a
full parse can tell, it says so (None) rather than guess.
"""

from __future__ import annotations

import binascii
import codecs
import re
from typing import NamedTuple

from tracker.mail.decoding import (
    ENCODED_WORD,
    canonical_codec,
    decode_words,
    q_decode,
    raw_header_str,
)
from tracker.mail.header_info import RECIPIENT_HEADERS, SENDER_FALLBACKS, message_ids

__all__ = ["ScreenFields", "screen_fields"]

# The fields the pre-screen reads, found in the lower-cased header block with b"\n" in front:
# a field starts a line, continuation lines start with a space or a tab (as in the feedparser).
_SCREEN_FIELD = re.compile(
    rb"\n(?=[cdefirstx])(from|subject|in-reply-to|references|"
    + "|".join((*RECIPIENT_HEADERS, *(name for name, _ in SENDER_FALLBACKS))).encode()
    + rb"):([^\n]*(?:\n[ \t][^\n]*)*)")
_LONE_CR = re.compile(rb"\r(?!\n)")  # the feedparser ends a line there too: leave it to the parser


# Where From: is missing or unreadable, the sender is read from Sender:, Reply-To: or
# Return-Path: (tracker.mail.header_info): their values count as sender values here too.
_SCREEN_ROLE = {b"from": 0, b"subject": 1, b"in-reply-to": 2, b"references": 2,
                **{name.encode(): 3 for name in RECIPIENT_HEADERS},
                **{name.encode(): 0 for name, _ in SENDER_FALLBACKS}}


class ScreenFields(NamedTuple):
    """Header fields for the sync's pre-screen, read from the bytes without the email package.

    ``sender`` and ``recipients`` are every value of From (and of Sender, Reply-To and
    Return-Path, where a sender is read without a usable From) and of the recipient fields,
    lower-cased,
    joined, with all whitespace removed: a superset of the addresses ``parse_headers`` extracts
    (it drops comments, so the caller must take a ``(`` in them as "cannot tell"). ``ids`` are
    the raw In-Reply-To and References values, lower-cased: any Message-ID ``parse_headers``
    finds there is, whitespace removed, inside ``b"".join(b"".join(ids).split())``; `message_ids`
    gives them exactly. ``subject`` is the first Subject value as raw bytes (`subject_text` gives
    ``parse_headers``' subject exactly). ``report`` is False when its ``content_type`` cannot be
    multipart/report. ``lowered`` is the whole header block lower-cased, for a caller that
    searches it again later. Reading them costs a few microseconds; decoding is left to whoever
    needs it.
    """

    sender: bytes
    recipients: bytes
    ids: list[bytes]
    subject: bytes
    report: bool
    lowered: bytes = b""

    def message_ids(self) -> tuple[str, ...]:
        """``in_reply_to + references`` as ``parse_headers`` gives them, but lower-cased."""
        return message_ids([v.decode("ascii").replace("\r", "").replace("\n", "")
                            for v in self.ids])

    def subject_text(self) -> str:
        """The subject exactly as ``parse_headers`` gives it."""
        text = raw_header_str(self.subject.decode("ascii"), [], None).strip()
        return decode_words(text, []).strip() if "=?" in text else text

    def subject_may_contain(self, char: bytes) -> bool:
        """False only if `subject_text` certainly lacks the ASCII *char*: decoding each
        encoded-word's bytes is left out where their charset writes *char* as that byte."""
        if b"=?" not in self.subject:  # unfolding and stripping add no character
            return char in self.subject
        text = self.subject.decode("ascii")
        if char.decode() in ENCODED_WORD.sub("", text):
            return True
        for charset, encoding, payload in ENCODED_WORD.findall(text):
            if canonical_codec(charset) not in _ASCII_BYTES:
                return char.decode() in self.subject_text()
            if encoding in "bB":
                try:
                    data = binascii.a2b_base64(payload.encode("ascii", "replace") + b"===")
                except binascii.Error:  # decode_words keeps the payload as it is
                    data = payload.encode("ascii", "replace")
            else:
                data = q_decode(payload)
            if char in data:
                return True
        return False


# Charsets in which an ASCII character is always that byte (a trail byte may be too: a false
# alarm only), and so are the guesses decode_noting falls back to. Not UTF-7 or EBCDIC.
_ASCII_BYTES = frozenset(codecs.lookup(name).name for name in (
    "utf-8", "ascii", "latin-1", *(f"iso8859-{n}" for n in (*range(2, 12), *range(13, 17))),
    *(f"cp125{n}" for n in range(9)), "gb2312", "gbk", "gb18030", "big5", "big5hkscs",
    "shift_jis", "cp932", "euc_jp", "euc_kr", "cp949", "iso2022_jp", "koi8_r", "koi8_u",
    "tis_620", "cp874", "mac-roman", "cp850", "utf-16",
    "utf-32"))


def screen_fields(header_bytes: bytes) -> ScreenFields | None:
    """The fields a pre-screen needs; None when only a full parse can tell (8-bit bytes, or a
    lone CR, which also ends a line for the feedparser). Never raises."""
    if not header_bytes.isascii() or _LONE_CR.search(header_bytes):
        return None
    lowered = header_bytes.lower()
    low = b"\n" + lowered
    found: tuple[list[bytes], list[bytes], list[bytes], list[bytes]] = ([], [], [], [])
    for name, value in _SCREEN_FIELD.findall(low):
        found[_SCREEN_ROLE[name]].append(value)
    senders, subjects, ids, recipients = found
    subject = b""
    if subjects:  # the first one, as parse_headers takes, in the original case
        start = low.find(b"\nsubject:") + 8  # in header_bytes: one b"\n" less
        subject = header_bytes[start:start + len(subjects[0])]
    return ScreenFields(
        sender=b"".join(b",".join(senders).split()),
        recipients=b"".join(b",".join(recipients).split()),
        ids=ids, subject=subject, report=b"multipart/report" in low, lowered=lowered,
    )
