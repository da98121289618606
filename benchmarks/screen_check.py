"""Check that the sync's byte-level pre-screen never drops a message the full screen keeps.

    python benchmarks/screen_check.py [--cases 200000] [--seed 1]

``tracker.services.sync.Screen.may_concern`` may only say "no" when the full screen
(``Screen.concerns``: parse the header, then the matching rules) says "no" too. This feeds both
the same headers and fails on the first message the pre-screen would have dropped: synthetic
everyday mail and replies (benchmarks/mailgen.py), the sample messages in tests/data, and many
mutations of them with the tricky spellings the pre-screen must see through or hand over
(comments inside addresses, folded and unbracketed Message-IDs, encoded-word subjects, tag
addresses, platform subdomains, bounces, 8-bit bytes, lone CRs, duplicate and misplaced fields).
It also checks that the screen decides the same on the header fields the sync fetches
(``SCREEN_FIELDS``) as on the whole header.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import mailgen  # noqa: E402

from tracker.core.tags import reply_address  # noqa: E402
from tracker.mail.header_info import SCREEN_FIELDS  # noqa: E402
from tracker.mail.matching import MatchIndex  # noqa: E402
from tracker.services.sync import Screen  # noqa: E402

SECRET = b"screen-check"
OURS = "<hc-2026-0001.4b06cd1f0194709e7c51@hrgroup.example>"
INDEX = MatchIndex(
    letters={OURS: "HC-2026-0001", "<abc.def@mail.gmail.com>": "HC-2026-0002"},
    refs=frozenset({"HC-2026-0001", "HC-2026-0002", "HC-2026-0003"}),
    tickets={"Ticket #448812": ("HC-2026-0001",), "#ZD-12345": ("HC-2026-0002",),
             "Case: 0099123": ("HC-2026-0003",), "thread::AbCdEfGhIjKl::": ("HC-2026-0001",),
             "ref:_00D1a2b._5003c4d:ref": ("HC-2026-0002",)},
    threads={"<ack-4411@zendesk.zoom.us>": "HC-2026-0001"},
    open_by_domain={"zoom.us": ("HC-2026-0001",), "google.com": ("HC-2026-0002", "HC-2026-0003")},
    platform_domains=frozenset({"zoom.us", "google.com", "facebookmail.com", "x.com"}),
    tag_secret=SECRET, reply_base="inquiries@hrgroup.example",
    own_addresses=frozenset({"inquiries@hrgroup.example"}),
)
TAG = reply_address("inquiries@hrgroup.example", "HC-2026-0001", SECRET)

# Field lines that should (or might) make a message relevant, in awkward spellings.
TRICKY = [
    f"In-Reply-To: {OURS}", f"In-Reply-To: {OURS.upper()}", f"References: <x@y> {OURS}",
    f"References: <x@y>\r\n\t{OURS}", "References: <hc-2026-0001.4b06cd1f0194709e7c51@\r\n "
    "hrgroup.example>", f"In-Reply-To: {OURS[1:-1]}", "in-reply-to:<abc.def@mail.gmail.com>",
    f"References: {OURS}, <x@y>", f"IN-REPLY-TO: (comment) {OURS}",
    "In-Reply-To: <ack-4411@zendesk.zoom.us>", "References: <x@y>\r\n <ACK-4411@zendesk.zoom.us>",
    f"To: {TAG}", f"Cc: a@b.example, \"Us\" <{TAG.upper()}>", f"Delivered-To: {TAG}",
    "X-Original-To: inquiries+hc-2026-0009-0000000000@hrgroup.example",
    "To: inquiries(x)+hc-2026-0001-zz@hrgroup.example", "Resent-Cc: <inquiries+x@hrgroup.example>",
    "Envelope-To: inquiries +x@hrgroup.example", "To: \"inquiries+x\"@hrgroup.example",
    "Subject: Re: [HC-2026-0001] answer", "Subject: [hc-2026-0003]", "Subject: [HC-2026-0999] x",
    "Subject: =?UTF-8?B?" + base64.b64encode("Re: [HC-2026-0001] 回复".encode()).decode() + "?=",
    "Subject: =?utf-8?q?=5BHC-2026-0002=5D_hello?=", "Subject: Your Ticket #448812 update",
    "Subject: [#ZD-12345] Re: request", "Subject: Case: 0099123", "Subject: ticket no. 448812",
    "Subject: Re: thread::AbCdEfGhIjKl:: your case", "Subject: ref:_00D1a2b._5003c4d:ref",
    "Subject: =?utf-8?q?thread::AbCdEfGhIjKl::?=", "Subject: =?utf-7?q?+AFs-HC-2026-0001]?=",
    "Subject: =?cp037?b?" + base64.b64encode("[HC-2026-0001]".encode("cp037")).decode() + "?=",
    "Subject: Re:\r\n [HC-2026-0001] folded", "Subject:\r\n\t=?UTF-8?Q?Ticket_#448812?=",
    "From: Zoom <legal@zoom.us>", "From: legal@support.zoom.us", "From: x@ZOOM.US",
    "From: a@zoom. us", "From: a@zo(c)om.us", "From: Google <no-reply@accounts.google.com>",
    "From: MAILER-DAEMON@mx.example", "From: mailer(x)-daemon@mx.example",
    "From: Mail Delivery <postmaster@example.org>", "From: post(x)master@example.org",
    "From: \"zoom.us\" <a@b.example>", "From: a@b.example (zoom.us)",
    "From: <@zoom.us:a@b.example>",
    "From: inquiries@hrgroup.example", "From: Us <INQUIRIES@hrgroup.example>",
    "Content-Type: multipart/report; report-type=delivery-status; boundary=x",
    "Content-Type: MULTIPART/REPORT", "Content-Type: multipart/\r\n report",
    "Subject: caf\xe9 [HC-2026-0001]", "From: J\xfcrgen <j@zoom.us>",
    # Where From: is missing or broken, the sender comes from these (header_info).
    "Sender: legal@zoom.us", "Reply-To: Zoom <legal@zoom.us>", "Return-Path: <b@mail.zoom.us>",
    "From: Zoom legal@zoom.us", "From: Zoom <legal @zoom.us>", "From: undisclosed-recipients:;",
]
NOISE = ["X-Note: (comment) x", "Comments: [HC-2026-0001]", "X-Ref: " + OURS,
         "Received: from zoom.us by mx; 1 Jan 2026", "X-To: " + TAG, "Subject: plain one",
         "From: someone@example.org", "To: someone@example.org", "Reply-To: legal@zoom.us"]
BREAKS = ["\r\n", "\n", "\r", "\r\n\t", "\r\n "]


def headers_of(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
        return raw if end < 0 else raw[:end + 2]
    return raw[:end + 4]


def samples(seed: int) -> list[bytes]:
    letters = [mailgen.Letter("HC-2026-0001", OURS, "zoom.us"),
               mailgen.Letter("HC-2026-0002", "<abc.def@mail.gmail.com>", "google.com")]
    out = [headers_of(raw) for raw, _when, _reply in mailgen.mailbox(3000, letters, seed=seed,
                                                                     attachments=0.0)]
    data = HERE.parent / "tests" / "data"
    out += [headers_of(p.read_bytes()) for p in sorted(data.rglob("*.eml"))]
    return out


def mutate(rng: random.Random, header: bytes) -> bytes:
    text = header.decode("latin-1")
    lines = text.split("\r\n")
    for _ in range(rng.randint(1, 3)):
        extra = rng.choice(TRICKY if rng.random() < 0.7 else NOISE)
        if rng.random() < 0.2:
            extra = extra.replace(" ", rng.choice(BREAKS) + " ", 1)
        where = rng.randint(0, max(0, len(lines) - 2))
        lines.insert(where, extra)
    if rng.random() < 0.1:  # delete a line: maybe the only From or Subject
        del lines[rng.randrange(max(1, len(lines) - 2))]
    if rng.random() < 0.1:  # no From: at all, as some mailers send
        lines = [line for line in lines if not line.lower().startswith("from:")]
    return "\r\n".join(lines).encode("latin-1")


def fields_only(header: bytes) -> bytes:
    """*header* as the sync is sent it (``BODY[HEADER.FIELDS (...)]``, RFC 3501): the lines of
    the fields the screen reads, continuation lines included, in their order, and the blank
    line."""
    wanted = {name.encode() for name in SCREEN_FIELDS}
    kept, keeping = [], False
    for line in header.split(b"\n"):
        if line in (b"", b"\r"):
            break
        if line[:1] not in (b" ", b"\t"):
            keeping = line.partition(b":")[0].lower() in wanted
        if keeping:
            kept.append(line + b"\n")
    return b"".join(kept) + b"\r\n"


def check(cases: int, seed: int) -> tuple[int, int, int]:
    """Screen *cases* headers both ways; (screenings, kept, handed over). AssertionError names
    the first header the pre-screen would have dropped."""
    rng = random.Random(seed)
    base = samples(seed)
    screen = Screen(INDEX)
    checked = kept = handed = 0
    headers = list(base)
    while len(headers) < cases:
        headers.append(mutate(rng, rng.choice(base)))
    for header in headers:
        for sent in (False, True):
            full = screen.concerns(header, sent_folder=sent)
            maybe = screen.may_concern(header, sent_folder=sent)
            checked += 1
            kept += full
            handed += maybe
            assert maybe or not full, \
                f"DROPPED (sent_folder={sent}):\n{header.decode('latin-1')}"
            assert screen(header, sent_folder=sent) == full
            # The sync fetches only the fields the screen reads: it must decide the same.
            assert screen(fields_only(header), sent_folder=sent) == full, \
                f"DIFFERS ON THE FIELDS (sent_folder={sent}):\n{header.decode('latin-1')}"
    return checked, kept, handed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    began = time.perf_counter()
    checked, kept, handed = check(args.cases, args.seed)
    seconds = time.perf_counter() - began
    print(f"{checked:,} screenings of {args.cases:,} headers in {seconds:.0f} s: the full "
          f"screen kept {kept:,}; the pre-screen handed it {handed:,} and dropped none of them")


if __name__ == "__main__":
    main()
