"""Decode mail text whose labels may lie: body charsets, raw 8-bit header bytes, encoded-words.

Pure functions that never raise. Where the declared charset was not the whole story, the
``*_noting`` forms append a note to a list the caller keeps as the message's defects.
"""

from __future__ import annotations

import binascii
import codecs
import re

import charset_normalizer

from tracker.mail import iso2022jp

__all__ = [
    "ENCODED_WORD",
    "RAW_8BIT",
    "canonical_codec",
    "decode_bytes",
    "decode_noting",
    "decode_words",
    "header_text",
    "q_decode",
    "raw_header_str",
]

# Labels whose real-world content is a superset: Chinese mail labelled gb2312 routinely holds
# GBK-only characters (镕, 喆) and Python's strict gb2312 codec turns them into U+FFFD. The rest
# is what mail clients and browsers read a label as (the WHATWG Encoding Standard): Latin-1 as
# windows-1252, Shift_JIS as Windows-31J, EUC-KR and Outlook's ks_c_5601-1987 as windows-949,
# and the labels Python does not know under the name mail gives them.
_GB = ("gb2312", "gbk", "cp936", "x-gbk", "euc-cn", "x-euc-cn", "csgb2312", "gb_2312-80", "ms936",
       "gb-2312", "gb_2312", "chinese")
_BIG5 = ("big5", "big5-hkscs", "x-x-big5", "x-big5", "cn-big5", "csbig5")
_SJIS = ("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis", "windows-31j",
         "cp932", "ms932")
_KOREAN = ("euc-kr", "ks_c_5601-1987", "ks_c_5601", "ksc5601", "x-windows-949", "windows-949",
           "korean", "cseuckr", "ks_c_5601-1989")
_WESTERN = ("iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso_8859-1", "cp819",
            "ibm819", "windows-1252", "x-cp1252")
_SUPERSETS = {
    **dict.fromkeys(_GB, "gb18030"), **dict.fromkeys(_BIG5, "big5hkscs"),
    **dict.fromkeys(_SJIS, "cp932"), **dict.fromkeys(_KOREAN, "cp949"),
    **dict.fromkeys(_WESTERN, "cp1252"),
    "iso-8859-8-i": "iso8859-8", "iso-8859-6-i": "iso8859-6", "windows-874": "cp874",
    "tis-620": "cp874", "iso-8859-11": "cp874", "iso-8859-9": "cp1254", "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman", "cp-850": "cp850", "x-user-defined": "cp1252",
    "cp50220": iso2022jp.CODEC_NAME, "cp50222": iso2022jp.CODEC_NAME,
}
# Tried in turn when the label's own codec fails: ISO-2022-JP mail from Windows and iPhones
# carries Microsoft's extensions (①, ㈱, half-width katakana; see tracker.mail.iso2022jp), and
# 8-bit text labelled ISO-2022-JP is UTF-8, EUC-JP or Shift_JIS (the stricter codecs first:
# Shift_JIS accepts most byte strings); 7-bit labels on 8-bit text are UTF-8 or
# windows-1252 in practice.
_ALTERNATIVES = {
    "iso2022_jp": (iso2022jp.CODEC_NAME, "iso2022_jp_2", "iso2022_jp_2004", "iso2022_jp_3",
                   "utf-8", "euc_jp", "cp932"),
    "us-ascii": ("utf-8", "cp1252"), "ascii": ("utf-8", "cp1252"),
    "ansi_x3.4-1968": ("utf-8", "cp1252"), "cp1252": ("utf-8", "iso8859-1"),
}
# Labels that say nothing: guess.
_UNKNOWN = ("unknown-8bit", "x-unknown", "unknown", "8bit", "default", "x-unknown-8bit")
# What mail actually uses; a free choice among all codecs picks cp1006 or cp949 for short text.
_MAIL_CHARSETS = (
    "utf_8", "gb18030", "big5hkscs", "cp1252", "iso8859_15", "cp1250", "cp1251", "koi8_r",
    "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "shift_jis", "euc_jp", "iso2022_jp",
    "euc_kr", "tis_620", "utf_16", "utf_32",
)  # fmt: skip
_PREFERRED = ("utf_8", "gb18030", "big5hkscs", "cp1252", "latin_1")
# RFC 2047 allows no white space inside an encoded-word; real clients write it anyway
# (``=?us-ascii?Q?ABC / 123?=``, ``=?UTF-8?Q? Personal=C3=A4nderung?=``) and every mail client
# decodes them, so the encoded text may hold spaces here (never a "?": the word ends at "?=").
ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
RAW_8BIT = re.compile("[\udc80-\udcff]")  # how compat32 keeps undecodable header bytes
_FOLD = re.compile(r"\r?\n(?=[ \t])")


def decode_noting(data: bytes, charset: str | None, notes: list[str]) -> str:
    """Decode *data*, appending to *notes* whenever the declared charset was not the whole story."""
    if not data:
        return ""
    label = (charset or "").strip().strip("\"'").lower().split("*", 1)[0]  # RFC 2231 language
    target = "" if label in _UNKNOWN else _SUPERSETS.get(label, label)
    if not _is_text_codec(target):  # unknown label, or a non-text codec such as "base64"
        target = ""
    target = _with_byte_order(target, data)
    if target and _decodes_as(data, target):
        if target != label and not _decodes_as(data, label):
            notes.append(f"charset {label} decoded as {target}")
        return data.decode(target)
    codec = canonical_codec(target) if target else ""
    for other in _ALTERNATIVES.get(codec, _ALTERNATIVES.get(label, ())):
        if _decodes_as(data, other):
            notes.append(f"charset {label} failed, decoded as {other}")
            return data.decode(other)
    if target != "utf-8" and _decodes_as(data, "utf-8"):
        if target:
            notes.append(f"charset {label} failed, decoded as utf-8")
        return data.decode("utf-8")
    if target:
        # A right label with a few broken bytes: keep the label rather than trust a guess.
        text = data.decode(target, errors="replace")
        if text.count("\ufffd") <= max(1, len(text) // 100):
            notes.append("undecodable bytes replaced")
            return text
    guess = _guess(data)
    if guess:
        notes.append(f"charset {label or 'missing'} guessed as {guess}")
        return data.decode(guess)
    notes.append("undecodable bytes replaced")
    return data.decode(target or "utf-8", errors="replace")


def _guess(data: bytes) -> str | None:
    """charset-normalizer's best guess, widened; ties go to the scripts this project meets most."""
    results = list(charset_normalizer.from_bytes(data, cp_isolation=list(_MAIL_CHARSETS)))
    if b"\x00" not in data:  # short Latin text is easily "valid UTF-16"; real UTF-16 has NULs
        results = [r for r in results if not r.encoding.startswith(("utf_16", "utf_32"))]
    if not results:
        return None
    top = results[0]
    tied = [r.encoding for r in results if (r.chaos, r.coherence) == (top.chaos, top.coherence)]
    encoding = next((e for e in _PREFERRED if e in tied), top.encoding)
    encoding = _SUPERSETS.get(encoding.replace("_", "-"), encoding)
    return encoding if _decodes_as(data, encoding) and data.decode(encoding) else None


def _is_text_codec(label: str) -> bool:
    # bytes.decode refuses a codec that is not a text encoding ("base64") before it reads a
    # byte; "replace" lets a codec needing more than one byte (UTF-32) through.
    try:
        b"a".decode(label, "replace")
    except (LookupError, UnicodeError, ValueError, TypeError):
        return False
    return bool(label)


def _with_byte_order(label: str, data: bytes) -> str:
    """UTF-16 and UTF-32 without a byte order mark are big-endian (RFC 2781), not the
    machine's order Python would assume."""
    name = canonical_codec(label) if label else ""
    if name in ("utf-16", "utf-32") and not data.startswith(
            (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return f"{name}-be"
    return label


def _decodes_as(data: bytes, label: str) -> bool:
    try:
        codecs.lookup(label)
        data.decode(label)
    except (LookupError, UnicodeError, ValueError, TypeError):
        return False
    return True


def canonical_codec(label: str) -> str:
    """The codec name Python uses for the charset *label* (widened as `decode_bytes` widens
    it), or "" for an unknown label."""
    try:
        return codecs.lookup(_SUPERSETS.get(label.lower(), label)).name
    except LookupError:
        return ""


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode text whose declared charset may be a lie; never raises.

    Chinese labels are widened to their supersets (gb2312 family -> gb18030, big5 -> big5hkscs).
    A missing, unknown or wrong charset falls back to UTF-8, then to charset-normalizer's guess,
    and as a last resort to UTF-8 with U+FFFD replacements.
    """
    return decode_noting(data, charset, [])


def raw_header_str(value: str, notes: list[str], hint: str | None) -> str:
    """A header value as the parser stored it (8-bit bytes as surrogates) -> real text, unfolded.

    Raw 8-bit headers are UTF-8 (RFC 6532) or, from old clients, in the body's charset (*hint*):
    short strings are too ambiguous for a statistical guess, so the hint goes first.
    """
    value = _FOLD.sub("", value).replace("\r", "").replace("\n", "")
    if RAW_8BIT.search(value):
        data = value.encode("ascii", "surrogateescape")
        if _decodes_as(data, "utf-8"):
            return data.decode()
        if hint:  # a guess, however good: the header itself names no charset
            notes.append(f"8-bit header read in the body's charset ({hint.lower()})")
        value = decode_noting(data, hint, notes)
    return value


def header_text(value: str, hint: str | None = None) -> str:
    """A header value as written (8-bit bytes as surrogates, as compat32 keeps them) as a
    person reads it: unfolded, raw 8-bit and RFC 2047 encoded-words decoded; never raises.

    For display only: addresses must be parsed before names are decoded (see
    `tracker.mail.header_info`).
    """
    notes: list[str] = []
    try:
        return decode_words(raw_header_str(str(value), notes, hint), notes).strip()
    except Exception:  # display must survive any input; the raw bytes stay stored
        return str(value).encode("utf-8", "replace").decode("utf-8").strip()


def decode_words(value: str, notes: list[str]) -> str:
    """Decode RFC 2047 encoded-words leniently (bad padding, split multibyte characters)."""
    value = _BETWEEN_WORDS.sub(r"\1\2", value)  # whitespace between encoded-words is not text
    out: list[str] = []
    pending: tuple[str, bytearray] | None = None  # same-charset run: a character may be split
    pos = 0
    for match in ENCODED_WORD.finditer(value):
        if match.start() > pos:
            if pending:
                out.append(decode_noting(bytes(pending[1]), pending[0], notes))
                pending = None
            out.append(value[pos : match.start()])
        charset, encoding, payload = match.groups()
        if any(c.isspace() for c in payload):
            notes.append("encoded-word with spaces inside decoded")
        if encoding in "bB":
            try:
                chunk = binascii.a2b_base64(payload.encode("ascii", "replace") + b"===")
            except binascii.Error:
                notes.append("bad base64 in encoded-word")
                chunk = payload.encode("ascii", "replace")
        else:
            chunk = q_decode(payload)
        if pending and pending[0] == charset.lower():
            pending[1].extend(chunk)
        else:
            if pending:
                out.append(decode_noting(bytes(pending[1]), pending[0], notes))
            pending = (charset.lower(), bytearray(chunk))
        pos = match.end()
    if pending:
        out.append(decode_noting(bytes(pending[1]), pending[0], notes))
    out.append(value[pos:])
    return "".join(out)


def q_decode(payload: str) -> bytes:
    """The bytes of a "Q"-encoded encoded-word's payload (RFC 2047 4.2)."""
    raw = payload.replace("_", " ").encode("ascii", "replace")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
