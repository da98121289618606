"""Classifying inbound mail: replies, automatic replies, bounces, delays; platform tickets."""

from __future__ import annotations

from pathlib import Path

import pytest
from flufl.bounce import all_failures

from tracker.mail.classify import Classification, classify, extract_ticket
from tracker.mail.parsing import parse_message

MAIL = Path(__file__).parent / "data" / "mail"


def classify_bytes(raw: bytes) -> Classification:
    return classify(parse_message(raw))


def classify_sample(name: str) -> Classification:
    return classify_bytes((MAIL / name).read_bytes())


# name: (kind, ticket, bounced recipients, original Message-IDs, a reason fragment)
EXPECTED = {
    "reply_in_reply_to.eml": ("reply", None, (), (), "no automatic-reply"),
    "reply_to_tag_address.eml": ("reply", None, (), (), "no automatic-reply"),
    "reply_subject_tag.eml": ("reply", None, (), (), "no automatic-reply"),
    "zendesk_ticket_ack.eml": ("auto_reply", "Request #123456", (), (),
                               "Auto-Submitted: auto-generated (RFC 3834)"),
    "zendesk_ticket_reply.eml": ("reply", "Request #123456", (), (), "no automatic-reply"),
    "auto_reply_rfc3834.eml": ("auto_reply", None, (), (),
                               "Auto-Submitted: auto-replied (RFC 3834)"),
    "out_of_office_exchange.eml": ("auto_reply", None, (), (), "Automatic reply:"),
    "auto_reply_chinese.eml": ("auto_reply", None, (), (), "自动回复"),
    "bounce_postfix_dsn.eml": ("bounce", None, ("legal-requests@zoom.us",),
                               ("<hc-2026-0006.1a2b3c4d5e6f7a8b9c0d@hrgroup.example>",),
                               "Status 5.1.1"),
    "bounce_exim.eml": ("bounce", None, ("records@facebookmail.com",),
                        ("<hc-2026-0007.3c4d5e6f7a8b9c0d1e2f@hrgroup.example>",), "flufl.bounce"),
    "bounce_qmail.eml": ("bounce", None, ("privacy@facebookmail.com",),
                         ("<hc-2026-0008.4d5e6f7a8b9c0d1e2f3a@hrgroup.example>",), "flufl.bounce"),
    "bounce_exchange_ndr.eml": ("bounce", None, ("legal@corp.platform.example",),
                                ("<hc-2026-0009.5e6f7a8b9c0d1e2f3a4b@hrgroup.example>",),
                                "flufl.bounce"),
    "bounce_gmail.eml": ("bounce", None, ("legal@support.zoom.us",),
                         ("<hc-2026-0010.6f7a8b9c0d1e2f3a4b5c@hrgroup.example>",), "RFC 3464"),
    "delay_dsn.eml": ("delivery_delay", None, ("dpo@zoom.us",),
                      ("<hc-2026-0011.7a8b9c0d1e2f3a4b5c6d@hrgroup.example>",), "Status 4.4.7"),
    # The forgery asks for the account holders' names: that is what makes it phishing.
    "forged_dmarc_fail.eml": ("information_request", None, (), (), "asks for information"),
    "forged_untrusted_ar.eml": ("reply", None, (), (), "no automatic-reply"),
    "verified_dmarc_pass.eml": ("reply", None, (), (), "no automatic-reply"),
    "gbk_in_gb2312.eml": ("reply", None, (), (), "no automatic-reply"),
    "big5_hkscs.eml": ("reply", None, (), (), "no automatic-reply"),
    "rfc2047_mixed.eml": ("reply", None, (), (), "no automatic-reply"),
    "malformed_mime.eml": ("reply", None, (), (), "no automatic-reply"),
    "no_headers.eml": ("reply", None, (), (), "no automatic-reply"),
    "hostile_terminal.eml": ("reply", None, (), (), "no automatic-reply"),
}


def test_every_sample_is_classified_in_the_table() -> None:
    assert {p.name for p in MAIL.glob("*.eml")} == set(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items(), ids=list(EXPECTED))
def test_sample_classification(name: str, expected: tuple[str, str | None, tuple[str, ...],
                                                          tuple[str, ...], str]) -> None:
    kind, ticket, bounced, original_ids, reason = expected
    result = classify_sample(name)
    assert result.kind == kind
    assert result.ticket == ticket
    assert result.bounced_recipients == bounced
    assert result.original_message_ids == original_ids
    assert any(reason in r for r in result.reasons), result.reasons


REPLY = (MAIL / "reply_in_reply_to.eml").read_bytes()


def with_headers(raw: bytes, *lines: str, subject: str | None = None) -> bytes:
    """The sample with extra header lines on top and, optionally, another subject."""
    if subject is not None:
        raw = b"\n".join(
            b"Subject: " + subject.encode() if line.startswith(b"Subject:") else line
            for line in raw.split(b"\n"))
    return "".join(f"{line}\n" for line in lines).encode() + raw


@pytest.mark.parametrize(("headers", "kind"), [
    (["X-Auto-Response-Suppress: All"], "reply"),  # weak alone
    (["Auto-Submitted: no"], "reply"),
    (["Auto-Submitted: auto-notified"], "auto_reply"),
    (["Auto-Submitted: Auto-Generated; owner-email=x@zoom.us"], "auto_reply"),
    (["X-Autoreply: yes"], "auto_reply"),
    (["X-Autorespond: 1"], "auto_reply"),
    # Ticket systems set Precedence: bulk on their agents' answers too: weak, like list.
    (["Precedence: bulk"], "reply"),
    (["Precedence: junk"], "reply"),
    (["Precedence: auto_reply"], "auto_reply"),
    (["Precedence: list"], "reply"),
])
def test_rfc3834_and_vendor_auto_reply_headers(headers: list[str], kind: str) -> None:
    result = classify_bytes(with_headers(REPLY, *headers))
    assert result.kind == kind
    if headers[0].startswith(("X-Auto-Response-Suppress", "Precedence: bulk")):
        assert any("weak" in r for r in result.reasons)


@pytest.mark.parametrize(("subject", "kind"), [
    ("Automatic reply: [HC-2026-0001] Request", "auto_reply"),
    ("AUTO: Maria Lopez is out of the office (returning 16/03/2026)", "auto_reply"),
    ("Out of Office: Request for information", "auto_reply"),
    ("We received your request", "auto_reply"),
    ("Your request (#123) has been received", "auto_reply"),
    ("Your case 01234567 has been created", "auto_reply"),
    ("Thank you for contacting Zoom Support", "auto_reply"),
    ("Abwesenheitsnotiz: Anfrage", "auto_reply"),
    ("自动回复：关于信息的请求", "auto_reply"),
    ("我们已收到您的请求 [HC-2026-0001]", "auto_reply"),
    ("自動回覆: 你嘅查詢", "auto_reply"),
    # A person answering our reply to their auto-reply is a human answer.
    ("Re: Automatic reply: [HC-2026-0001] Request", "reply"),
    ("RE: Out of Office: Request for information", "reply"),
    ("回复: 自动回复: 关于信息的请求", "reply"),
    ("Re: [HC-2026-0001] Request for information", "reply"),
    ("Answer to your request about office accounts", "reply"),
])
def test_subject_patterns_english_and_chinese(subject: str, kind: str) -> None:
    assert classify_bytes(with_headers(REPLY, subject=subject)).kind == kind


def test_subject_ack_also_yields_its_ticket() -> None:
    result = classify_bytes(with_headers(REPLY, subject="Your request (#123456) has been received"))
    assert (result.kind, result.ticket) == ("auto_reply", "Request #123456")


PERSON_WRITING_LIKE_QMAIL = b"""From: Maria Lopez <maria.lopez@support.zoom.us>
To: inquiries@hrgroup.example
Subject: Re: [HC-2026-0001] Request for information
Message-ID: <person@support.zoom.us>
Date: Tue, 10 Mar 2026 14:02:05 +0000

Hi. This is the Zoom legal team writing about your letter.

<legal@zoom.us>: please write to this address from now on.
"""


def test_bounce_heuristics_are_not_applied_to_mail_from_people() -> None:
    # flufl.bounce's qmail detector alone would call this a bounce of legal@zoom.us.
    parsed = parse_message(PERSON_WRITING_LIKE_QMAIL)
    assert all_failures(parsed.message)[1] == {b"legal@zoom.us"}
    assert classify(parsed).kind == "reply"


def test_a_person_writing_about_a_bounce_is_a_reply() -> None:
    raw = with_headers(REPLY, subject="Re: Undeliverable: [HC-2026-0001] Request for information")
    assert classify_bytes(raw).kind == "reply"


def test_unreadable_bounce_from_mail_system_is_still_a_bounce() -> None:
    raw = (b"From: postmaster@mx.zoom.us\nTo: inquiries@hrgroup.example\n"
           b"Subject: Undeliverable: [HC-2026-0001] Request for information\n"
           b"Message-ID: <ndr@mx.zoom.us>\nDate: Tue, 10 Mar 2026 14:02:05 +0000\n\n"
           b"Something went wrong and we cannot tell you what.\n")
    result = classify_bytes(raw)
    assert (result.kind, result.bounced_recipients) == ("bounce", ())
    assert any("no recipient readable" in r for r in result.reasons)
    delayed = classify_bytes(raw.replace(b"Undeliverable:", b"Delivery delayed:"))
    assert delayed.kind == "delivery_delay"


def dsn(blocks: str, report_type: str = "delivery-status") -> bytes:
    return f"""From: MAILER-DAEMON@mail.hrgroup.example
To: inquiries@hrgroup.example
Subject: Delivery report
Message-ID: <dsn@mail.hrgroup.example>
Date: Tue, 10 Mar 2026 14:02:05 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type={report_type}; boundary="b"

--b
Content-Type: text/plain

Report.

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.hrgroup.example

{blocks}
--b--
""".encode()


def test_mixed_report_lists_only_permanent_failures_as_bounced() -> None:
    result = classify_bytes(dsn(
        "Final-Recipient: rfc822; gone@zoom.us\nAction: failed\nStatus: 5.1.1\n\n"
        "Final-Recipient: rfc822; slow@zoom.us\nAction: delayed\nStatus: 4.4.1\n"))
    assert (result.kind, result.bounced_recipients) == ("bounce", ("gone@zoom.us",))
    assert any("slow@zoom.us" in r and "delayed" in r for r in result.reasons)


def test_status_decides_when_action_is_missing() -> None:
    result = classify_bytes(dsn("Final-Recipient: rfc822;<Gone@Zoom.us>\nStatus: 5.2.2\n"))
    assert (result.kind, result.bounced_recipients) == ("bounce", ("gone@zoom.us",))


def test_successful_delivery_report_is_automatic_not_a_bounce() -> None:
    result = classify_bytes(dsn("Final-Recipient: rfc822; dpo@zoom.us\nAction: delivered\n"
                                "Status: 2.0.0\n"))
    assert (result.kind, result.bounced_recipients) == ("auto_reply", ())


def test_success_report_with_a_dsn_subject_is_not_an_unreadable_bounce() -> None:
    raw = dsn("Final-Recipient: rfc822; dpo@zoom.us\nAction: relayed\nStatus: 2.0.0\n")
    raw = raw.replace(b"Subject: Delivery report", b"Subject: Delivery Status Notification (Relay)")
    assert classify_bytes(raw).kind == "auto_reply"


def test_read_receipt_is_automatic() -> None:
    result = classify_bytes(dsn("Final-Recipient: rfc822; dpo@zoom.us\nDisposition: "
                                "manual-action/MDN-sent-manually; displayed\n",
                                report_type="disposition-notification"))
    assert result.kind == "auto_reply"
    assert any("read receipt" in r for r in result.reasons)


@pytest.mark.parametrize(("subject", "text", "ticket"), [
    ("Ticket #123456: your inquiry", "", "Ticket #123456"),
    ("[Case: 0123456] Re: data request", "", "Case: 0123456"),
    ("Case #00987654 updated", "", "Case: 00987654"),
    ("Case Number: 00987654", "", "Case: 00987654"),
    ("Request #12345", "", "Request #12345"),
    ("[#ABC-12345] Re: your question", "", "#ABC-12345"),
    ("Re: [#98765] Your ticket", "", "#98765"),
    ("Ticket ID: 4455", "", "Ticket #4455"),
    ("ticket no. 4455", "", "Ticket #4455"),
    ("工单号：778899 已更新", "", "Ticket #778899"),
    ("Re: question [ ref:_00D5g0000ABcD._5005g00000XyZ12:ref ]", "",
     "ref:_00D5g0000ABcD._5005g00000XyZ12:ref"),
    ("Re: question", "Thread ref:_00D5g0000ABcD._5005g00000XyZ12:ref end",
     "ref:_00D5g0000ABcD._5005g00000XyZ12:ref"),
    ("Your inquiry", "Your request (#123456) has been received.", "Request #123456"),
    ("[Request #111] subject wins", "Ticket #222", "Request #111"),
    # Never our own tag, however it is dressed up.
    ("RE: [HC-2026-0007] Request for information", "", None),
    ("Request #HC-2026-0007", "", None),
    ("[#HC-2026-0007]", "", None),
    ("Case: 2026-0007", "", None),
    ("Re: our request", "In case 500 accounts are affected, request 2026 reports.", None),
    ("Re: our letter", "> Ticket #999 (quoted from our own letter)", None),
    ("", "", None),
])
def test_extract_ticket(subject: str, text: str, ticket: str | None) -> None:
    assert extract_ticket(subject, text) == ticket


# --- weighing strong markers, weak markers and the platform's own words ---------------------

def mail(subject: str, body: str, *headers: str, sender: str = "support@zoom.us") -> bytes:
    """A plain message from *sender* with *headers* on top of the usual ones."""
    top = "".join(f"{line}\n" for line in headers)
    return (f"{top}From: Zoom <{sender}>\nTo: inquiries@hrgroup.example\nSubject: {subject}\n"
            f"Message-ID: <t@zoom.us>\nDate: Tue, 10 Mar 2026 14:02:05 +0000\n"
            f"Content-Type: text/plain; charset=utf-8\n\n{body}\n").encode()


ACK = "We have received your request and a member of our team will review it."
ANSWER = "After review, your account has been reinstated."


# (subject, body, extra headers, sender) -> (kind, doubted)
@pytest.mark.parametrize(("subject", "body", "headers", "sender", "kind", "doubted"), [
    # The brief's case: opens like an acknowledgement, then answers.
    ("Your request", f"{ACK} {ANSWER}", [], "support@zoom.us", "auto_reply", True),
    ("We have received your request", ANSWER, [], "support@zoom.us", "auto_reply", True),
    # Precedence: bulk, a no-reply sender and X-Auto-Response-Suppress are weak: an answer
    # stays an answer, with no doubt.
    ("Your request", ANSWER, ["Precedence: bulk"], "support@zoom.us", "reply", False),
    ("Your request", ANSWER, ["X-Auto-Response-Suppress: All"], "noreply@zoom.us", "reply",
     False),
    # Weak markers and wording together decide an acknowledgement.
    ("Your request", ACK, [], "support@zoom.us", "auto_reply", False),
    ("Thank you for contacting Zoom", "Hello.", ["Precedence: bulk"], "support@zoom.us",
     "auto_reply", False),
    ("Thank you for contacting Zoom", "Hello.", [], "no-reply@zoom.us", "auto_reply", False),
    # Only the subject speaks: a person looks.
    ("Thank you for contacting Zoom", "Hello.", [], "support@zoom.us", "auto_reply", True),
    # A weak header alone decides nothing.
    ("Your request", "Hello.", ["Precedence: bulk"], "noreply@zoom.us", "reply", False),
    # Strong markers decide; answer wording under one raises a doubt.
    ("Your request", "Hello.", ["Auto-Submitted: auto-generated"], "support@zoom.us",
     "auto_reply", False),
    ("Your request", ANSWER, ["Auto-Submitted: auto-generated"], "support@zoom.us",
     "auto_reply", True),
    ("Your request", "Hello.", ["X-Autogenerated: Reply"], "support@zoom.us", "auto_reply", False),
    ("Your request", "Hello.", ["X-Autoresponder: yes"], "support@zoom.us", "auto_reply", False),
    ("Your request", "Hello.", ["X-Autogenerated: Forward"], "support@zoom.us", "reply", False),
    # Extension notices and requests for information are next steps, even when automatic.
    ("Your request", "We will need two further months to respond.",
     ["Auto-Submitted: auto-generated"], "support@zoom.us", "extension", False),
    ("Your request", f"{ACK} Please verify your identity by uploading a photo ID.",
     ["Auto-Submitted: auto-generated"], "support@zoom.us", "information_request", False),
    ("Your request", "Please provide your account email. We need two further months.", [],
     "support@zoom.us", "extension", True),
    ("Your request", f"{ANSWER} Please confirm the account email address.", [],
     "support@zoom.us", "information_request", True),
    # Boilerplate about what might happen stays an acknowledgement.
    ("Your request", f"{ACK} If we need more information, we will contact you. Response times "
     "may be extended during holidays. Please quote your ticket number in any correspondence.",
     [], "support@zoom.us", "auto_reply", False),
])
def test_weak_markers_combine_with_the_text(subject: str, body: str, headers: list[str],
                                            sender: str, kind: str, doubted: bool) -> None:
    result = classify_bytes(mail(subject, body, *headers, sender=sender))
    assert (result.kind, bool(result.doubt)) == (kind, doubted), result
    assert "\n" not in result.doubt


def test_doubt_names_both_readings_in_one_line() -> None:
    result = classify_bytes(mail("Your request", f"{ACK}\n{ANSWER}"))
    assert result.doubt == ('reads like an acknowledgement ("We have received your request") '
                            'but also like an answer ("has been reinstated")')


def test_doubt_quotes_hostile_text_inert() -> None:
    body = "Your request\x1b[2J\u202e\x9b has been received. Your account has been\r\nreinstated."
    result = classify_bytes(mail("Your request", body))
    assert result.doubt.startswith('reads like an acknowledgement ("Your request')
    assert all(c.isprintable() for c in result.doubt), result.doubt


def test_doubt_stays_one_line_whatever_the_header_holds() -> None:
    for header in ("Auto-Submitted: auto-generated\x1b]52;c;QUFB\x07\u202e VERIFIED",
                   "X-Autoreply: yes\x1b[2J\x9b\u2028VERIFIED"):
        result = classify_bytes(mail("Your request", ANSWER, header))
        assert result.doubt.startswith(f"marked automatic ({header[:14]}"), result.doubt
        assert result.doubt.isprintable(), result.doubt


@pytest.mark.parametrize(("body", "kind"), [
    ("Thank you for your request. We are processing your request and will respond within one "
     "month.", "auto_reply"),
    ("We aim to respond within 45 days. If we need more time, we will let you know.",
     "auto_reply"),
    ("Your message has been forwarded to the appropriate team.", "auto_reply"),
    ("This is an automatic confirmation of your submission.", "auto_reply"),
    ("我们正在处理您的请求，将尽快答复。", "auto_reply"),
    ("此邮件由系统自动发送。", "auto_reply"),
    # The law's periods stated in an acknowledgement are no extension notice.
    ("We will respond within one month, extendable by two further months.", "auto_reply"),
    ("Under Article 12(3) this period can be extended by a further two months.", "reply"),
    # Answers say what was done, not what will be.
    ("Thank you for your letter of 2 March. Your data has been deleted.", "reply"),
    ("Thank you for your patience. Please find attached the records.", "reply"),
])
def test_acknowledgement_wording_in_the_text(body: str, kind: str) -> None:
    result = classify_bytes(mail("Your request", body))
    assert (result.kind, result.doubt) == (kind, "")


@pytest.mark.parametrize(("body", "period"), [
    ("We will need two further months to respond to your request.", "2m"),
    ("Given the complexity of your request, we need two further months to respond, as Article "
     "12(3) GDPR allows.", "2m"),
    ("We will extend the period by a further two months.", "2m"),
    ("Under Article 12(3) GDPR we are extending the deadline by 2 months.", "2m"),
    ("We need an additional 45 days to complete your request.", "45d"),
    ("This is a 45-day extension of our response time.", "45d"),
    ("We need a further month to respond.", "1m"),
    ("We are extending the time to respond by 10 business days.", "10bd"),
    ("We need two more weeks to answer your request.", "14d"),
    ("We need more time to respond to your request.", None),
    ("The deadline for your request has been extended.", None),
    ("根据GDPR第12(3)条，我们需要将答复期限延长两个月。", "2m"),
    ("我們需要額外兩個月處理您的請求。", "2m"),
    ("我们将在另外45天内答复您的请求。", "45d"),
    ("我们需要延长处理期限至2026年6月15日。", None),
    ("我们需要更多时间处理您的请求。", None),
])
def test_extension_notices_and_their_period(body: str, period: str | None) -> None:
    result = classify_bytes(mail("Your request", body))
    assert (result.kind, result.extension, result.doubt) == ("extension", period, "")


@pytest.mark.parametrize(("body", "kind"), [
    ("To proceed, please provide a copy of your government-issued ID.", "information_request"),
    ("We need to verify your identity before we can continue.", "information_request"),
    ("If you would like us to proceed, please confirm the account email address.",
     "information_request"),
    ("Could you please tell us which accounts you mean?", "information_request"),
    ("我们无法验证您的身份，请提供账户注册邮箱。", "information_request"),
    ("請提供您的帳戶電子郵件地址。", "information_request"),
    # Boilerplate that mentions information is no request for it.
    ("If you have further information, please reply to this email.", "reply"),
    ("Please do not provide sensitive data by email.", "reply"),
    ("Please rate your experience in our survey.", "reply"),
    ("If you disagree with this decision, please submit an appeal in the Help Center.", "reply"),
    ("We may need to verify your identity.", "reply"),
    ("如需更多信息，我们会与您联系。", "reply"),
    ("请勿回复此邮件。", "reply"),
])
def test_information_requests_and_boilerplate(body: str, kind: str) -> None:
    assert classify_bytes(mail("Your request", body)).kind == kind


def test_our_quoted_letter_does_not_speak_for_the_platform() -> None:
    quoted = ("Thank you.\n\nOn Tue, 3 Mar 2026 at 10:00, Human Rights Group\n"
              "<inquiries@hrgroup.example> wrote:\n\nPlease provide the data within two "
              "further months.\n")
    assert classify_bytes(mail("Re: our letter", quoted)).kind == "reply"
    chinese = "谢谢。\n\n发件人: Human Rights Group\n发送时间: 2026年3月3日\n\n请提供数据。\n"
    assert classify_bytes(mail("回复: 我们的信", chinese)).kind == "reply"
    angled = "Noted.\n> Please provide the data.\n> We need two further months.\n"
    assert classify_bytes(mail("Re: our letter", angled)).kind == "reply"
