"""ISO-2022-JP as Windows and iPhones write it, decoded as Thunderbird and browsers show it.

Python's ``iso2022_jp`` codecs hold strictly to JIS X 0208, but Japanese mail from Outlook
and iOS carries Windows' extensions in the same two-byte mode: NEC row 13 (①, ㈱, ㍉) and
the NEC-selected IBM extensions in rows 89-92 (ⅱ, 纊), plus half-width katakana after
``ESC ( I``. Python refuses the whole text; the WHATWG decoder (Thunderbird's, every
browser's) reads them through the Windows-31J table. This module registers that decoder as
the codec ``cp50221`` (Windows' name for ISO-2022-JP with half-width katakana) so the rest
of tracker can use it like any other codec. It decodes only.
"""

from __future__ import annotations

import codecs
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["CODEC_NAME", "decode"]

CODEC_NAME = "cp50221"

_ASCII, _JIS, _KATAKANA = "ascii", "jis", "katakana"
_ESCAPES = {b"\x1b(B": _ASCII, b"\x1b(J": _ASCII, b"\x1b(I": _KATAKANA,
            b"\x1b$@": _JIS, b"\x1b$B": _JIS}
_SHIFT_OUT, _SHIFT_IN = 0x0E, 0x0F  # CP50222 spells half-width katakana this way


@lru_cache(maxsize=4096)
def _jis_pair(pair: bytes) -> str:
    """One two-byte JIS character: standard JIS X 0208 as Python reads it, the Windows
    extensions through their Shift_JIS (Windows-31J) code. Raises UnicodeDecodeError."""
    try:
        return (b"\x1b$B" + pair + b"\x1b(B").decode("iso2022_jp")
    except UnicodeDecodeError:
        pass
    if len(pair) != 2 or not all(0x21 <= byte <= 0x7E for byte in pair):
        raise UnicodeDecodeError(CODEC_NAME, pair, 0, len(pair), "not a JIS X 0208 code")
    lead, trail = pair  # JIS row and cell -> Shift_JIS bytes (JIS X 0208 annex 1)
    first = (lead + 1) // 2 + (0x70 if lead < 0x5F else 0xB0)
    odd_row_trail = trail + (0x1F if trail < 0x60 else 0x20)
    second = odd_row_trail if lead % 2 else trail + 0x7E
    return bytes((first, second)).decode("cp932")


def _character(chunk: bytes, mode: str) -> str:
    byte = chunk[0]
    if byte == 0x1B or byte > 0x7F:
        raise UnicodeDecodeError(CODEC_NAME, chunk, 0, 1, "not 7-bit ISO-2022-JP")
    if mode == _JIS and byte > 0x20:
        return _jis_pair(chunk)
    if mode == _KATAKANA and 0x21 <= byte <= 0x5F:
        return chr(0xFF40 + byte)  # 0x21 is U+FF61, the half-width full stop
    return chr(byte)  # controls and line ends pass in any mode


def decode(buffer: Buffer, errors: str = "strict", /) -> tuple[str, int]:
    """Decode ISO-2022-JP with Windows' extensions; *errors* as for `bytes.decode`."""
    data = bytes(buffer)
    out: list[str] = []
    mode = _ASCII
    i = 0
    while i < len(data):
        escape = data[i : i + 3]
        if escape in _ESCAPES:
            mode = _ESCAPES[escape]
            i += 3
            continue
        byte = data[i]
        if byte in (_SHIFT_OUT, _SHIFT_IN):
            mode = _KATAKANA if byte == _SHIFT_OUT else _ASCII
            i += 1
            continue
        width = 2 if mode == _JIS and 0x20 < byte < 0x7F else 1
        try:
            out.append(_character(data[i : i + width], mode))
        except UnicodeDecodeError as error:
            if errors == "strict":
                raise UnicodeDecodeError(CODEC_NAME, data, i, i + width, error.reason) from None
            if errors == "replace":
                out.append("\ufffd")
        i += width
    return "".join(out), len(data)


def _encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
    raise UnicodeEncodeError(CODEC_NAME, text, 0, len(text), "tracker only reads cp50221")


def _search(name: str) -> codecs.CodecInfo | None:
    if name.replace("-", "_") != CODEC_NAME:
        return None
    return codecs.CodecInfo(_encode, decode, name=CODEC_NAME)


codecs.register(_search)
