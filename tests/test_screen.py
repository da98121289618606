"""The sync's byte-level pre-screen never drops a message that the full screen keeps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import screen_check
from screen_check import INDEX, OURS, TAG

from tracker.services.sync import Screen

EVERYDAY = (b"From: A Colleague <colleague@partner.example>\r\nTo: inquiries@hrgroup.example\r\n"
            b"Subject: Lunch on Friday\r\nMessage-ID: <1@partner.example>\r\n"
            b"References: <0@hrgroup.example>\r\n\r\n")


def header(*lines: str) -> bytes:
    return ("\r\n".join(["From: someone@example.org", "To: inquiries@hrgroup.example", *lines])
            + "\r\n\r\n").encode("latin-1")


@pytest.mark.parametrize("lines", [
    ("In-Reply-To: " + OURS,),
    ("References: <x@y>\r\n\t" + OURS.upper(),),
    ("References: <hc-2026-0001.4b06cd1f0194709e7c51@\r\n hrgroup.example>",),  # folded id
    ("In-Reply-To: " + OURS[1:-1],),  # no angle brackets
    ("Cc: " + TAG.upper(),),
    ("Subject: =?utf-8?q?=5BHC-2026-0002=5D_hello?=",),  # "[" only once decoded
    ("Subject: =?utf-7?q?+AFs-HC-2026-0001]?=",),  # "[" is not the byte "[" in UTF-7...
    ("Subject: =?cp037?b?usjDYPLw8vZg8PDw8bs=?=",),  # ...nor in EBCDIC
    ("Subject: Re: thread::AbCdEfGhIjKl:: your case",),  # a ticket without digits
    ("Subject: =?utf-8?q?Ticket_#448812?=",),
    ("Subject: Your Ticket #448812 update",),
], ids=lambda lines: lines[0][:40])
def test_relevant_headers_pass_the_pre_screen(lines: tuple[str, ...]) -> None:
    raw = header(*lines)
    assert Screen(INDEX).concerns(raw)
    assert Screen(INDEX).may_concern(raw)


def test_everyday_mail_is_screened_out_without_a_parse() -> None:
    assert not Screen(INDEX).concerns(EVERYDAY)
    assert not Screen(INDEX).may_concern(EVERYDAY)
    assert not Screen(INDEX).may_concern(EVERYDAY, sent_folder=True)


def test_the_pre_screen_drops_nothing_the_full_screen_keeps() -> None:
    # The same check as `python benchmarks/screen_check.py` (200,000 headers), smaller:
    # synthetic mail and the .eml samples, mutated with awkward spellings.
    checked, kept, handed = screen_check.check(cases=5_000, seed=7)
    assert checked == 10_000
    assert 0 < kept <= handed < checked  # it keeps some, and still screens most out


@pytest.mark.parametrize("lines", [
    ("Reply-To: Zoom <legal@zoom.us>",),
    ("Sender: legal@zoom.us",),
    ("Return-Path: <bounce@mail.zoom.us>",),
], ids=lambda lines: lines[0][:40])
def test_a_sender_without_from_passes_the_pre_screen(lines: tuple[str, ...]) -> None:
    # No From: at all: the sender is read from these (and the platform's domain is known).
    raw = ("\r\n".join(["To: inquiries@hrgroup.example", "Subject: your case", *lines])
           + "\r\n\r\n").encode()
    assert Screen(INDEX).concerns(raw)
    assert Screen(INDEX).may_concern(raw)
