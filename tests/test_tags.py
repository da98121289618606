"""References, subject tags and signed reply addresses."""

from __future__ import annotations

import pytest

from tracker.core.errors import InputError
from tracker.core.tags import (
    format_ref,
    parse_ref,
    ref_from_reply_address,
    refs_in_subject,
    reply_address,
    subject_with_tag,
)

SECRET = b"0123456789abcdef"


@pytest.mark.parametrize(("prefix", "year", "seq", "expected"), [
    ("HC", 2026, 7, "HC-2026-0007"),
    ("hc", 2020, 1, "HC-2020-0001"),
    ("HRW", 2026, 12345, "HRW-2026-12345"),
])
def test_format_ref_pads_sequence_to_four_digits(prefix: str, year: int, seq: int,
                                                  expected: str) -> None:
    assert format_ref(prefix, year, seq) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("HC-2026-0007", "HC-2026-0007"),
    (" hc-2026-0007 ", "HC-2026-0007"),
])
def test_parse_ref_normalises_case_and_space(text: str, expected: str) -> None:
    assert parse_ref(text) == expected


@pytest.mark.parametrize("text", ["", "HC", "HC-26-7", "HC-2026-7", "HC 2026 0007", "../x"])
def test_parse_ref_rejects_non_references(text: str) -> None:
    with pytest.raises(InputError, match="HC-2026-0007"):
        parse_ref(text)


def test_subject_tag_is_added_once() -> None:
    tagged = subject_with_tag("HC-2026-0007", "Account suspension")
    assert tagged == "[HC-2026-0007] Account suspension"
    assert subject_with_tag("HC-2026-0007", "Re: " + tagged) == "Re: " + tagged


def test_refs_in_subject_survive_reply_prefixes() -> None:
    assert refs_in_subject("RE: AW: [hc-2026-0007] x [Case: 0123]") == ["HC-2026-0007"]


def test_reply_address_round_trip() -> None:
    address = reply_address("inquiries@org.example", "HC-2026-0007", SECRET)
    assert address.startswith("inquiries+hc-2026-0007-")
    assert address.endswith("@org.example")
    assert ref_from_reply_address(address, SECRET) == "HC-2026-0007"


def test_reply_address_drops_existing_plus_tag_of_base() -> None:
    address = reply_address("inquiries+old@org.example", "HC-2026-0007", SECRET)
    assert address.startswith("inquiries+hc-2026-0007-")


@pytest.mark.parametrize("retype", [
    str.upper,
    lambda a: a.replace("0", "o"),
    lambda a: a.replace("1", "l"),
    lambda a: a.replace("1", "i"),
    lambda a: a.replace("+", "+ "),
    lambda a: f"Humanitarian China <{a}>",
])
def test_retyped_reply_address_still_matches(retype: object) -> None:
    address = reply_address("inquiries@org.example", "HC-2026-0010", SECRET)
    assert callable(retype)
    assert ref_from_reply_address(retype(address), SECRET) == "HC-2026-0010"


def test_forged_or_guessed_tags_are_rejected() -> None:
    address = reply_address("inquiries@org.example", "HC-2026-0007", SECRET)
    guessed = address.replace("0007", "0008")
    assert ref_from_reply_address(guessed, SECRET) is None
    assert ref_from_reply_address(address, b"another key") is None
    assert ref_from_reply_address("inquiries+hc-2026-0007@org.example", SECRET) is None
    assert ref_from_reply_address("inquiries@org.example", SECRET) is None
