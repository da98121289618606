"""Which request a message belongs to: every rule, strongest first, as a table."""

from __future__ import annotations

import pytest

from tracker.core.tags import reply_address
from tracker.mail.classify import ticket_key
from tracker.mail.header_info import HeaderInfo
from tracker.mail.matching import MatchIndex, is_own_letter, match_message

SECRET = b"demo-secret"
BASE = "inquiries@hrgroup.example"
OUR_ID = "<hc-2026-0001.abc@hrgroup.example>"
INDEX = MatchIndex(
    letters={OUR_ID: "HC-2026-0001", "<hc-2026-0005.xyz@hrgroup.example>": "HC-2026-0005"},
    refs=frozenset({"HC-2026-0001", "HC-2026-0002", "HC-2026-0003", "HC-2026-0004",
                    "HC-2026-0005"}),
    # By ticket_key: the number, however a message or a person writes the rest.
    tickets={ticket_key("Request #123456"): ("HC-2026-0004",)},
    open_by_domain={"zoom.us": ("HC-2026-0001",),
                    "facebookmail.com": ("HC-2026-0002", "HC-2026-0003")},
    platform_domains=frozenset({"zoom.us", "facebookmail.com", "tiktok.com"}),
    tag_secret=SECRET, reply_base=BASE, own_addresses=frozenset({BASE}),
)
TAG_2 = reply_address(BASE, "HC-2026-0002", SECRET)


def h(**fields: object) -> HeaderInfo:
    return HeaderInfo(**fields)  # type: ignore[arg-type]


CASES = [
    ("in-reply-to", h(in_reply_to=(OUR_ID,), from_addr="x@zoom.us", subject="Re: hi"),
     {}, "HC-2026-0001", "in-reply-to", False),
    ("references-case-insensitive", h(references=("<x@y>", OUR_ID.upper())),
     {}, "HC-2026-0001", "in-reply-to", False),
    ("bounce-original", h(from_addr="mailer-daemon@hrgroup.example"),
     {"original_ids": ("<hc-2026-0005.xyz@hrgroup.example>",)}, "HC-2026-0005",
     "bounced-letter", False),
    ("address-tag", h(recipients=(TAG_2,), subject="Your case"), {}, "HC-2026-0002",
     "address-tag", False),
    ("address-tag-retyped", h(recipients=(TAG_2.replace("0", "o"),)), {}, "HC-2026-0002",
     "address-tag", False),
    ("subject-tag", h(subject="RE: [HC-2026-0003] Statement of reasons"), {},
     "HC-2026-0003", "subject-tag", False),
    ("ticket", h(subject="Update on Request #123456", from_addr="help@tiktok.com"),
     {"ticket": "Request #123456"}, "HC-2026-0004", "ticket", False),
    ("ticket-written-otherwise", h(subject="[#123456] Update", from_addr="help@tiktok.com"),
     {"ticket": "#123456"}, "HC-2026-0004", "ticket", False),
    ("sender-domain-probable", h(from_addr="legal@support.zoom.us", subject="Your account"),
     {}, "HC-2026-0001", "sender-domain", True),
    ("in-reply-to-beats-subject", h(in_reply_to=(OUR_ID,), subject="[HC-2026-0003] x"),
     {}, "HC-2026-0001", "in-reply-to", False),
    ("tag-beats-subject", h(recipients=(TAG_2,), subject="[HC-2026-0003] x"), {},
     "HC-2026-0002", "address-tag", False),
]


@pytest.mark.parametrize(("headers", "extra", "ref", "rule", "probable"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_match_rules_in_order_of_strength(headers: HeaderInfo, extra: dict[str, object],
                                          ref: str, rule: str, probable: bool) -> None:
    match = match_message(headers, INDEX, **extra)  # type: ignore[arg-type]
    assert (match.ref, match.rule, match.probable, match.relevant) == (ref, rule, probable, True)
    assert match.reasons


UNMATCHED = [
    ("unrelated", h(from_addr="friend@gmail.example", subject="lunch?"), False),
    ("forged-tag-signature", h(recipients=("inquiries+hc-2026-0002-0000000000@hrgroup.example",)),
     True),
    ("unknown-ref-in-subject", h(subject="[HC-2026-0999] hello"), True),
    ("ambiguous-domain", h(from_addr="noreply@facebookmail.com"), True),
    ("platform-without-open-request", h(from_addr="help@tiktok.com"), True),
    ("lookalike-domain", h(from_addr="support@zoom.us.evil.example"), False),
]


@pytest.mark.parametrize(("headers", "relevant"), [c[1:] for c in UNMATCHED],
                         ids=[c[0] for c in UNMATCHED])
def test_unmatched_mail_is_triaged_only_when_relevant(headers: HeaderInfo,
                                                      relevant: bool) -> None:
    match = match_message(headers, INDEX)
    assert match.ref is None and match.rule == ""
    assert match.relevant is relevant
    assert bool(match.reasons) is relevant


def test_own_letters_are_recognised_in_the_sent_folder() -> None:
    mine = h(from_addr=BASE, subject="[HC-2026-0002] Follow-up")
    assert is_own_letter(mine, INDEX) == "HC-2026-0002"
    assert is_own_letter(h(from_addr="x@zoom.us", subject="[HC-2026-0002] x"), INDEX) is None
    assert is_own_letter(h(from_addr=BASE, subject="no tag"), INDEX) is None
