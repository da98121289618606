"""ISO-2022-JP as Windows and iPhones write it (tracker.mail.iso2022jp, codec "cp50221").

The expected characters are the WHATWG Encoding Standard's index-jis0208 (what Thunderbird
and browsers show): NEC row 13 from pointer 1128, the NEC-selected IBM extensions from
pointer 8272; pointer = (row - 1) * 94 + (cell - 1).
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.mail import iso2022jp
from tracker.mail.decoding import decode_noting

ESC_JIS, ESC_ASCII = b"\x1b$B", b"\x1b(B"


def _jis0208() -> list[str]:
    """Every character of standard JIS X 0208, as Python's strict codec reads it."""
    found = []
    for lead in range(0x21, 0x7F):
        for trail in range(0x21, 0x7F):
            with contextlib.suppress(UnicodeDecodeError):
                found.append((ESC_JIS + bytes((lead, trail)) + ESC_ASCII).decode("iso2022_jp"))
    return found


JIS0208 = _jis0208()

CASES = [
    # (bytes, text, why)
    (ESC_JIS + b"%F%9%H-!" + ESC_ASCII, "テスト①", "NEC row 13, pointer 1128 (iPhone Mail)"),
    (ESC_JIS + b"-j" + ESC_ASCII, "㈱", "NEC row 13: the company mark"),
    (ESC_JIS + b"-5-b" + ESC_ASCII, "Ⅰ№", "NEC row 13: Roman numerals and the numero sign"),
    (ESC_JIS + b"y!" + ESC_ASCII, "纊", "IBM extension, pointer 8272 (row 89)"),
    (ESC_JIS + b"|q|r" + ESC_ASCII, "ⅰⅱ", "IBM extension, row 92 (pointers 8634, 8635)"),
    (b"(=\x1b(I_\x1b$B&X\x1b(I_\x1b(B)\x1b(II\x1b(B", "(=ﾟωﾟ)ﾉ", "half-width katakana, ESC ( I"),
    (b"a\x0e1\x0fb", "aｱb", "half-width katakana by SO and SI (CP50222)"),
    (b"\x1b$@K\\J8\x1b(J\\", "本文\\", "JIS C 6226 designation and JIS-Roman"),
    (ESC_JIS + b"K\\J8\nK\\J8" + ESC_ASCII, "本文\n本文", "a line end inside two-byte mode"),
    (b"plain ascii", "plain ascii", "no escapes at all"),
]


@pytest.mark.parametrize(("data", "text", "why"), CASES, ids=[c[2] for c in CASES])
def test_windows_iso_2022_jp_reads_as_mail_clients_show_it(data: bytes, text: str,
                                                          why: str) -> None:
    assert data.decode(iso2022jp.CODEC_NAME) == text


@given(st.lists(st.sampled_from(JIS0208 + list("abc \n")), max_size=40).map("".join))
def test_standard_jis_text_reads_exactly_as_python_reads_it(text: str) -> None:
    data = text.encode("iso2022_jp")
    assert data.decode(iso2022jp.CODEC_NAME) == data.decode("iso2022_jp") == text


@pytest.mark.parametrize("data", [ESC_JIS + b"\x7f\x7f", b"\xa4\xa2", ESC_JIS + b"%", b"\x1b$Z"],
                         ids=["no such code", "8-bit byte", "half a character", "bad escape"])
def test_what_is_not_iso_2022_jp_is_refused_or_replaced(data: bytes) -> None:
    with pytest.raises(UnicodeDecodeError):
        data.decode(iso2022jp.CODEC_NAME)
    assert "\ufffd" in data.decode(iso2022jp.CODEC_NAME, "replace")


def test_the_codec_only_reads() -> None:
    with pytest.raises(UnicodeEncodeError):
        "テスト".encode(iso2022jp.CODEC_NAME)


@pytest.mark.parametrize(("label", "note"), [
    ("iso-2022-jp", "charset iso-2022-jp failed, decoded as cp50221"),
    ("ISO-2022-JP", "charset iso-2022-jp failed, decoded as cp50221"),
    ("csISO2022JP", "charset csiso2022jp failed, decoded as cp50221"),
    ("cp50220", "charset cp50220 decoded as cp50221"),  # Windows' own label: Python has none
])
def test_mail_labelled_iso_2022_jp_with_windows_characters_is_read_and_noted(label: str,
                                                                           note: str) -> None:
    notes: list[str] = []
    assert decode_noting(ESC_JIS + b"%F%9%H-!" + ESC_ASCII, label, notes) == "テスト①"
    assert notes == [note]
