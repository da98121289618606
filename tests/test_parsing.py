"""Parsing raw mail: headers, charsets, bodies, attachments, defects; never an exception."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tracker.mail.decoding import decode_bytes, header_text
from tracker.mail.header_info import parse_headers
from tracker.mail.parsing import parse_message

MAIL = Path(__file__).parent / "data" / "mail"
OUR_LETTER_1 = "<hc-2026-0001.5f3a9c0d1e2b3a4c5d6e@hrgroup.example>"


def sample(name: str) -> bytes:
    return (MAIL / name).read_bytes()


# name: (subject snippet, from address, from name, a recipient, defects that must be present)
HEADERS = {
    "reply_in_reply_to.eml": ("suspension of activist accounts", "maria.lopez@support.zoom.us",
                              "Maria Lopez", "inquiries@hrgroup.example", ()),
    "reply_to_tag_address.eml": ("Your letter dated 3 March 2026", "privacy@facebookmail.com",
                                 "Meta Privacy Operations",
                                 "inquiries+hc-2026-0002-3fa9c2d1e0@hrgroup.example", ()),
    "reply_subject_tag.eml": ("RE: [HC-2026-0003] Request", "legal-support@google.com",
                              "Google Legal Support", "inquiries@hrgroup.example", ()),
    "zendesk_ticket_ack.eml": ("[Request #123456] Re: [HC-2026-0004]", "support@zoom.us",
                               "Zoom Support", "inquiries+hc-2026-0004-8d1e6b0c4a@hrgroup.example",
                               ()),
    "zendesk_ticket_reply.eml": ("[Request #123456] Your inquiry", "support@zoom.us",
                                 "Jamie (Zoom Support)", "inquiries@hrgroup.example", ()),
    "auto_reply_rfc3834.eml": ("Re: [HC-2026-0001]", "dpo@zoom.us", "Data Protection Officer",
                               "inquiries+hc-2026-0001-5b7e2a9c0d@hrgroup.example", ()),
    "out_of_office_exchange.eml": ("Automatic reply: [HC-2026-0002]", "sam.chen@zoom.us",
                                   "Sam Chen", "inquiries@hrgroup.example", ()),
    "auto_reply_chinese.eml": ("自动回复: 关于账户信息的请求 [HC-2026-0005]", "wang.li@zoom.us",
                               "王丽", "inquiries@hrgroup.example", ()),
    "bounce_postfix_dsn.eml": ("Undelivered Mail Returned to Sender",
                               "mailer-daemon@mail.hrgroup.example", "Mail Delivery System",
                               "inquiries+hc-2026-0006-c4d2e8f1a0@hrgroup.example", ()),
    "bounce_exim.eml": ("Mail delivery failed", "mailer-daemon@mail.hrgroup.example",
                        "Mail Delivery System", "inquiries@hrgroup.example", ()),
    "bounce_qmail.eml": ("failure notice", "mailer-daemon@mx1.hrgroup.example", "",
                         "inquiries@hrgroup.example", ("missing Message-ID",)),
    "bounce_exchange_ndr.eml": ("Undeliverable: [HC-2026-0009]",
                                "postmaster@corp.platform.example", "System Administrator",
                                "inquiries@hrgroup.example", ()),
    "bounce_gmail.eml": ("Delivery Status Notification (Failure)",
                         "mailer-daemon@googlemail.com", "Mail Delivery Subsystem",
                         "inquiries@hrgroup.example", ()),
    "delay_dsn.eml": ("Delayed Mail (still being retried)", "mailer-daemon@mail.hrgroup.example",
                      "Mail Delivery System", "inquiries@hrgroup.example", ()),
    "forged_dmarc_fail.eml": ("RE: [HC-2026-0001]", "legal@zoom.us", "Zoom Legal",
                              "inquiries@hrgroup.example", ()),
    "forged_untrusted_ar.eml": ("Your request has been resolved", "support@zoom.us",
                                "Zoom Support", "inquiries@hrgroup.example", ()),
    "verified_dmarc_pass.eml": ("RE: [HC-2026-0001]", "legal@zoom.us", "Zoom Legal",
                                "inquiries@hrgroup.example", ()),
    "gbk_in_gb2312.eml": ("关于朱镕基基金会账户的答复 [HC-2026-0012]", "compliance@weibo.example",
                          "平台法务部", "inquiries+hc-2026-0012-e1f2a3b4c5@hrgroup.example",
                          ("charset gb2312 decoded as gb18030",)),
    "big5_hkscs.eml": ("回覆：你嘅查詢 [HC-2026-0013]", "support@support.zoom.us", "客戶服務部",
                       "inquiries@hrgroup.example", ("charset big5 decoded as big5hkscs",)),
    "rfc2047_mixed.eml": ("Solicitud de información – respuesta de España", "jose.garcia@zoom.us",
                          "José García, Legal", "inquiries@hrgroup.example", ()),
    "malformed_mime.eml": ("Re: [HC-2026-0015]", "notices@support.zoom.us", "Zoom Notices",
                           "inquiries@hrgroup.example",
                           ("StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect")),
    "no_headers.eml": ("", "", "", None, ("missing Message-ID", "missing Date", "missing From")),
    "hostile_terminal.eml": ("Re: [HC-2020-0001] your letter\x1b[2J", "legal@zoom.us",
                             "Zoom Legal\x1b[32m (verified sender)\x1b[0m",
                             "inquiries@hrgroup.example", ()),
}


def test_every_sample_has_expectations_and_a_readme_entry() -> None:
    names = {p.name for p in MAIL.glob("*.eml")}
    readme = (MAIL / "README.md").read_text(encoding="utf-8")
    assert names == set(HEADERS)
    assert [n for n in sorted(names) if f"`{n}`" not in readme] == []


@pytest.mark.parametrize(("name", "expected"), HEADERS.items(), ids=list(HEADERS))
def test_sample_headers_decode(name: str, expected: tuple[str, str, str, str | None,
                                                           tuple[str, ...]]) -> None:
    subject, from_addr, from_name, recipient, defects = expected
    parsed = parse_message(sample(name))
    head = parsed.headers
    assert subject in head.subject
    if name != "hostile_terminal.eml":  # its encoded-words decode to CR LF on purpose
        assert "\n" not in head.subject and "\ufffd" not in head.subject
    assert (head.from_addr, head.from_name) == (from_addr, from_name)
    if recipient:
        assert recipient in head.recipients
    assert set(defects) <= set(parsed.defects)


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_screening_headers_match_the_full_parse(name: str) -> None:
    raw = sample(name)
    header_bytes = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0] + b"\n\n"
    assert parse_headers(header_bytes) == parse_message(raw).headers
    assert parse_headers(raw) == parse_message(raw).headers


def test_reply_threading_headers_give_our_message_id() -> None:
    head = parse_message(sample("reply_in_reply_to.eml")).headers
    assert head.in_reply_to == (OUR_LETTER_1,)
    assert head.references == (OUR_LETTER_1,)
    assert head.message_id == "<CAJ7h2kT0p1qX9v3r@mail.support.zoom.us>"
    assert head.date == datetime(2026, 3, 10, 14, 2, 5, tzinfo=UTC)


@pytest.mark.parametrize(("name", "content_type", "report_type", "auto_submitted"), [
    ("bounce_postfix_dsn.eml", "multipart/report", "delivery-status", "auto-replied"),
    ("delay_dsn.eml", "multipart/report", "delivery-status", "auto-replied"),
    ("zendesk_ticket_ack.eml", "text/plain", "", "auto-generated"),
    ("reply_subject_tag.eml", "text/html", "", ""),
])
def test_content_type_report_type_and_auto_submitted(name: str, content_type: str,
                                                     report_type: str, auto_submitted: str) -> None:
    head = parse_headers(sample(name))
    assert (head.content_type, head.report_type, head.auto_submitted) == (
        content_type, report_type, auto_submitted)


def test_gbk_only_characters_in_gb2312_part_survive() -> None:
    parsed = parse_message(sample("gbk_in_gb2312.eml"))
    assert "朱镕基" in parsed.headers.subject
    assert "张喆先生" in parsed.text and "朱镕基基金会" in parsed.text
    assert "\ufffd" not in parsed.text + parsed.headers.subject
    assert "charset gb2312 decoded as gb18030" in parsed.defects


def test_hkscs_characters_in_big5_part_survive() -> None:
    parsed = parse_message(sample("big5_hkscs.eml"))
    assert "我哋已經處理咗你嘅查詢" in parsed.text and "喺香港" in parsed.text
    assert "你嘅查詢" in parsed.headers.subject
    assert "\ufffd" not in parsed.text


def test_encoded_words_split_inside_a_character_are_joined() -> None:
    head = parse_message(sample("rfc2047_mixed.eml")).headers
    # The "–" (3 UTF-8 bytes) is cut across two encoded-words; iso-8859-1 word follows.
    assert head.subject == "Re: [HC-2026-0014] Solicitud de información – respuesta de España"
    assert head.from_name == "José García, Legal"  # the encoded comma did not split the address


@pytest.mark.parametrize(("name", "present", "absent"), [
    ("reply_subject_tag.eml", ["Transparency Report", "Google Legal Support", "[HC-2026-0003]"],
     ["<p", "MsoNormal", "&nbsp;", "font-family"]),
    ("reply_to_tag_address.eml", ["Please find our answer"], ["<html", "track()"]),
    ("bounce_gmail.eml", ["** Address not found **"], ["<h1>", "Dear Zoom"]),
])
def test_body_text_prefers_plain_and_strips_html(name: str, present: list[str],
                                                 absent: list[str]) -> None:
    text = parse_message(sample(name)).text
    assert all(p in text for p in present), text
    assert not any(a in text for a in absent), text


def test_hostile_text_is_decoded_exactly_never_cleaned() -> None:
    # Evidence keeps what the sender wrote; only display makes it inert (tracker.inert).
    parsed = parse_message(sample("hostile_terminal.eml"))
    subject = parsed.headers.subject
    assert "\x1b]52;c;Y3VybCAtcyBodHRwczovL2V2aWwuZXhhbXBsZS94IHwgc2gK\x07" in subject
    assert subject.endswith("\r\nVERIFIED REPLY from Zoom Legal ✔ \u202etxt.exe \x9b2J "
                            "\u2066end\u2069\x7f")
    assert "\x1b[1;32mVERIFIED: this reply is authentic.\x1b[0m\n" in parsed.text
    assert parsed.attachments == (("invoice\u202efdp.exe", "application/octet-stream", 32),)
    assert not parsed.text_from_html


@pytest.mark.parametrize(("name", "from_html"), [
    ("reply_subject_tag.eml", True), ("reply_to_tag_address.eml", False),
    ("reply_in_reply_to.eml", False), ("bounce_gmail.eml", False),
])
def test_text_from_html_says_which_part_was_read(name: str, from_html: bool) -> None:
    assert parse_message(sample(name)).text_from_html is from_html


@pytest.mark.parametrize(("value", "expected"), [
    ("=?utf-8?q?Re=3A_Ihre_Anfrage_=E2=80=93_Entscheidung?=", "Re: Ihre Anfrage – Entscheidung"),
    ("=?gb2312?b?19S2r7vYuLQ=?= <a@b.example>", "自动回复 <a@b.example>"),
    ("Zoom\r\n Legal <legal@zoom.us>", "Zoom Legal <legal@zoom.us>"),  # unfolded
    ("caf\udcc3\udca9", "café"),  # raw 8-bit UTF-8, as compat32 keeps it
    ("=?utf-8?b?G1sySg==?=", "\x1b[2J"),  # decoded exactly: display makes it inert
])
def test_header_text_decodes_for_display(value: str, expected: str) -> None:
    assert header_text(value) == expected


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_body_text_has_unix_line_ends(name: str) -> None:
    text = parse_message(sample(name)).text
    assert text.strip() and "\r" not in text


@pytest.mark.parametrize(("name", "attachments"), [
    ("reply_to_tag_address.eml", (("Meta_response.pdf", "application/pdf", 77),)),
    ("malformed_mime.eml", (("answer.pdf", "application/pdf", 46),)),
    ("bounce_gmail.eml", (("", "message/rfc822", 337),)),
    ("reply_in_reply_to.eml", ()),
    ("bounce_postfix_dsn.eml", ()),  # delivery-status and rfc822-headers parts are not files
])
def test_attachments_are_listed_with_type_and_size(
        name: str, attachments: tuple[tuple[str, str, int], ...]) -> None:
    assert parse_message(sample(name)).attachments == attachments


def test_malformed_mime_keeps_text_and_flags_every_defect() -> None:
    parsed = parse_message(sample("malformed_mime.eml"))
    assert "The answer to your request is in the attached file." in parsed.text
    assert "declares a boundary that never appears" in parsed.text  # not lost either
    assert any(d.startswith("InvalidBase64") for d in parsed.defects)


@pytest.mark.parametrize(("data", "charset", "expected"), [
    ("朱镕基".encode("gbk"), "gb2312", "朱镕基"),
    ("喆".encode("gbk"), "GBK", "喆"),
    ("喆".encode("gbk"), "x-gbk", "喆"),
    ("镕".encode("gbk"), '"CP936"', "镕"),
    ("咗".encode("big5hkscs"), "big5", "咗"),
    ("héllo".encode(), "us-ascii", "héllo"),  # mislabelled UTF-8
    ("héllo".encode(), None, "héllo"),
    (b"plain", "x-unknown-charset", "plain"),
    (b"plain", "base64", "plain"),  # a codec that is not a text encoding
    ("Grüße aus Genf".encode("latin-1"), None, "Grüße aus Genf"),
    ("您好，我们已收到您的请求，工作人员将在三个工作日内回复。".encode("gbk"), None,
     "您好，我们已收到您的请求，工作人员将在三个工作日内回复。"),
    (b"", "utf-8", ""),
])
def test_decode_bytes(data: bytes, charset: str | None, expected: str) -> None:
    assert decode_bytes(data, charset) == expected


def test_decode_bytes_replaces_rather_than_raises() -> None:
    text = decode_bytes("朱镕基总理".encode("gbk") + b"\x80", "gb2312")
    assert text == "朱镕基总理\ufffd"  # the label was right: one bad byte, the rest kept
    assert isinstance(decode_bytes(b"\xff\xfe\x00\xd8", "utf-8"), str)
    parsed = parse_message(b"Subject: x\nContent-Type: text/plain; charset=gb2312\n\n"
                           + "朱镕基".encode("gbk") + b"\x80")
    assert "undecodable bytes replaced" in parsed.defects


@pytest.mark.parametrize(("header", "expected"), [
    (b"Date: Tue, 10 Mar 2026 14:02:05 +0100", datetime(2026, 3, 10, 14, 2, 5,
                                                          tzinfo=timezone(timedelta(hours=1)))),
    (b"Date: Tue, 10 Mar 2026 14:02:05 -0000", datetime(2026, 3, 10, 14, 2, 5, tzinfo=UTC)),
    (b"Date: 10 Mar 2026 14:02 GMT", datetime(2026, 3, 10, 14, 2, tzinfo=UTC)),
    (b"Date: yesterday at noon", None),
    (b"X-No-Date: 1", None),
])
def test_date_is_aware_or_none(header: bytes, expected: datetime | None) -> None:
    when = parse_headers(header + b"\n\n").date
    assert when == expected
    assert when is None or when.tzinfo is not None


def test_unparseable_date_is_flagged() -> None:
    assert "unparseable Date" in parse_message(b"Date: soon\n\nx").defects


def test_recipients_follow_header_order_lower_cased_and_deduplicated() -> None:
    head = parse_headers(
        b"To: B <B@Org.Example>, c@org.example\n"
        b"Delivered-To: a@org.example\n"
        b"Cc: undisclosed-recipients:;\n"
        b"Resent-Cc: f@org.example\n"
        b"Envelope-To: a@org.example\n"
        b"Resent-To: e@org.example\n"
        b"X-Original-To: d@org.example\n\n")
    assert head.recipients == ("a@org.example", "d@org.example", "b@org.example",
                               "c@org.example", "e@org.example", "f@org.example")


def test_message_ids_tolerate_missing_brackets_and_folding() -> None:
    head = parse_headers(b"Message-ID:   abc@host.example  \n"
                         b"In-Reply-To: hc-2026-0001.5f3a9c0d1e2b3a4c5d6e@hrgroup.example\n"
                         b"References: <a@x>\n <b@x>\n\t<a@x>\n\n")
    assert head.message_id == "<abc@host.example>"
    assert head.in_reply_to == (OUR_LETTER_1,)
    assert head.references == ("<a@x>", "<b@x>")


def test_raw_utf8_header_rfc6532_is_decoded() -> None:
    head = parse_headers("Subject: Antwort: Anfrage über Konten\nFrom: Jürgen <j@x.example>\n\n"
                         .encode())
    assert head.subject == "Antwort: Anfrage über Konten"
    assert head.from_name == "Jürgen"


def test_raw_legacy_header_uses_the_body_charset() -> None:
    raw = ("Subject: 关于朱镕基的请求\nFrom: 张喆 <z@weibo.example>\nMIME-Version: 1.0\n"
           "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
           "Content-Type: text/plain; charset=gb2312\n\n正文\n--b--\n").encode("gbk")
    head = parse_message(raw).headers
    assert (head.subject, head.from_name) == ("关于朱镕基的请求", "张喆")
    latin = parse_headers("Subject: Anfrage über Konten\nContent-Type: text/plain; "
                          "charset=iso-8859-1\n\n".encode("latin-1"))
    assert latin.subject == "Anfrage über Konten"


def test_encoded_attachment_names_are_decoded() -> None:
    name = "=?gb2312?B?" + base64.b64encode("朱镕基.pdf".encode("gbk")).decode() + "?="
    raw = (f"Subject: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
           f"Content-Type: text/plain\n\nbody\n--b\nContent-Type: application/pdf\n"
           f'Content-Disposition: attachment; filename="{name}"\n'
           f"Content-Transfer-Encoding: base64\n\nJVBERi0=\n--b--\n").encode()
    assert parse_message(raw).attachments == (("朱镕基.pdf", "application/pdf", 5),)


def _garbage() -> list[bytes]:
    rng = random.Random(20260307)  # fixed seed: reproducible failures
    cases = [b"", b"\n", b"\r\n\r\n", b":", b"Content-Type: multipart/mixed\n\n--",
             b"Content-Type: multipart/mixed; boundary=\n\n--\n--\n",
             b"Subject: =?utf-8?B?####?= =?x?q?=ZZ?=\n\n",
             b"Content-Type: message/rfc822\n\n" * 50]
    cases += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600))) for _ in range(40)]
    for path in sorted(MAIL.glob("*.eml")):
        raw = path.read_bytes()
        cases += [raw[:cut] for cut in range(0, len(raw), max(1, len(raw) // 25))]
        flipped = bytearray(raw)
        for _ in range(20):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        cases.append(bytes(flipped))
    return cases


def test_parsers_never_raise_on_garbage_truncations_or_flipped_bytes() -> None:
    cases = _garbage()
    for raw in cases:
        parsed = parse_message(raw)
        assert isinstance(parsed.text, str) and isinstance(parsed.defects, tuple)
        assert isinstance(parse_headers(raw).subject, str)
    assert len(cases) > 500
