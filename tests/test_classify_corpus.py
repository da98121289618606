"""The classifier against the corpus of platform mail in tests/data/classify (see its README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.mail.classify import classify
from tracker.mail.parsing import parse_message

CORPUS = Path(__file__).parent / "data" / "classify"

# name: (kind, a person must decide, ticket, extension claimed)
EXPECTED: dict[str, tuple[str, bool, str | None, str | None]] = {
    # Acknowledgements and automatic replies.
    "ack_zendesk_en.eml": ("auto_reply", False, None, None),
    "ack_salesforce_x_en.eml": ("auto_reply", False, "ref:_00D4x2Jbw._5004x01KqZa:ref", None),
    "ack_salesforce_zoom_en.eml": ("auto_reply", False, "ref:_00D3j1xQk._5003j02PqRt:ref", None),
    "ack_meta_privacy_en.eml": ("auto_reply", False, None, None),
    "ack_instagram_zh_hans.eml": ("auto_reply", False, None, None),
    "ack_google_legal_en.eml": ("auto_reply", False, None, None),
    "ack_google_privacy_zh_hant.eml": ("auto_reply", False, None, None),
    "ack_microsoft_privacy_en.eml": ("auto_reply", False, None, None),
    "ack_tiktok_html_en.eml": ("auto_reply", False, None, None),
    "ooo_exchange_microsoft_en.eml": ("auto_reply", False, None, None),
    # Answers, some dressed as acknowledgements.
    "answer_starts_like_ack_meta_en.eml": ("auto_reply", True, None, None),
    "answer_starts_like_ack_tiktok_zh_hans.eml": ("auto_reply", True, None, None),
    "answer_subject_ack_google_en.eml": ("auto_reply", True, None, None),
    "answer_auto_submitted_meta_en.eml": ("auto_reply", True, None, None),
    "answer_precedence_bulk_zendesk_en.eml": ("reply", False, "Request #4417", None),
    "answer_precedence_bulk_salesforce_x_en.eml": ("reply", False,
                                                   "ref:_00D4x2Jbw._5004x01KqZa:ref", None),
    "answer_plain_precedence_bulk_zoom_en.eml": ("reply", False, "Request #4502", None),
    "answer_attached_google_privacy_en.eml": ("reply", False, None, None),
    "answer_outlook_html_microsoft_en.eml": ("reply", False, None, None),
    "answer_thread_id_x_en.eml": ("reply", False, "thread::Qk3vZp9XbG2mN7rT1wY5cA::", None),
    "answer_quoted_tiktok_zh_hant.eml": ("reply", False, None, None),
    "answer_noreply_instagram_en.eml": ("reply", False, None, None),
    "answer_gmail_quoted_zoom_zh_hans.eml": ("reply", False, None, None),
    # Extension notices, with the period they claim as a deadline rule.
    "extension_gdpr_meta_en.eml": ("extension", False, None, "2m"),
    "extension_gdpr_google_en.eml": ("extension", False, None, "2m"),
    "extension_ccpa_x_en.eml": ("extension", False, "ref:_00D4x2Jbw._5004x01LmNo:ref", "45d"),
    "extension_ccpa_tiktok_en.eml": ("extension", False, None, "45d"),
    "extension_no_period_microsoft_en.eml": ("extension", False, None, None),
    "extension_auto_submitted_zendesk_en.eml": ("extension", False, "Request #4417", "30d"),
    "extension_gdpr_zoom_zh_hans.eml": ("extension", False, "Request #4533", "2m"),
    "extension_gdpr_instagram_zh_hant.eml": ("extension", False, None, "2m"),
    "extension_no_period_tiktok_zh_hans.eml": ("extension", False, None, None),
    "extension_ccpa_x_zh_hant.eml": ("extension", False, "thread::Rm4wAq0YcH3oP8uV2xZ6dB::",
                                     "45d"),
    # The platform asks us for something.
    "info_request_identity_google_zh_hans.eml": ("information_request", False, None, None),
    "info_request_identity_meta_en.eml": ("information_request", False, None, None),
    "info_request_details_zendesk_zoom_en.eml": ("information_request", False, "Request #4417",
                                                 None),
    "info_request_salesforce_x_en.eml": ("information_request", False,
                                         "ref:_00D4x2Jbw._5004x01KqZb:ref", None),
    "info_request_tiktok_zh_hant.eml": ("information_request", False, None, None),
    "info_request_auto_submitted_microsoft_en.eml": ("information_request", False, None, None),
    "info_request_google_legal_en.eml": ("information_request", False, None, None),
    # Boilerplate about more information and longer times stays an acknowledgement.
    "ack_boilerplate_zendesk_zoom_en.eml": ("auto_reply", False, "Request #4533", None),
    "ack_boilerplate_tiktok_zh_hans.eml": ("auto_reply", False, None, None),
    "ack_read_receipt_outlook_en.eml": ("auto_reply", False, None, None),
    # A person decides.
    "uncertain_subject_only_tiktok_en.eml": ("auto_reply", True, None, None),
    "uncertain_extension_and_info_google_en.eml": ("extension", True, None, "1m"),
    "uncertain_answer_and_info_instagram_zh_hans.eml": ("information_request", True, None, None),
    "uncertain_ack_and_answer_salesforce_zoom_en.eml": ("auto_reply", True,
                                                        "ref:_00D3j1xQk._5003j02PqRu:ref", None),
}


def test_every_file_in_the_corpus_is_in_the_table() -> None:
    assert {p.name for p in CORPUS.glob("*.eml")} == set(EXPECTED)
    assert {p.name for p in CORPUS.iterdir()} - set(EXPECTED) == {"README.md"}


def test_the_readme_describes_every_file() -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert [name for name in EXPECTED if f"`{name}`" not in readme] == []


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items(), ids=list(EXPECTED))
def test_corpus_message(name: str, expected: tuple[str, bool, str | None, str | None]) -> None:
    parsed = parse_message((CORPUS / name).read_bytes())
    result = classify(parsed)
    assert (result.kind, bool(result.doubt), result.ticket, result.extension) == expected, result
    # Well-formed and fully decoded: no row passes on an empty or garbled text.
    assert parsed.defects == ()
    assert parsed.text.strip() and "\ufffd" not in parsed.text
