"""Turn raw mail bytes into typed, decoded values: pure functions, no I/O.

Evidence-grade rules: nothing here raises on bad input. Malformed mail is parsed as far as it
goes and what was wrong is listed in ``defects``; the caller stores the exact raw bytes anyway.

Entry points: ``parse_headers`` screens many messages cheaply from their header bytes
(``compat32`` is ~10x faster than ``email.policy.default``), ``parse_message`` parses one message
fully for the classifier and the matcher, and ``screen_fields`` reads the few fields a sync's
pre-screen needs straight from the bytes (a few us instead of ~200 us for ``parse_headers``).
"""

from __future__ import annotations

import binascii
import codecs
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import NamedTuple

import charset_normalizer

__all__ = [
    "HeaderInfo",
    "ParsedMessage",
    "ScreenFields",
    "decode_bytes",
    "header_text",
    "html_to_text",
    "parse_headers",
    "parse_message",
    "screen_fields",
]

# Labels whose real-world content is a superset: Chinese mail labelled gb2312 routinely holds
# GBK-only characters (镕, 喆) and Python's strict gb2312 codec turns them into U+FFFD.
_GB = ("gb2312", "gbk", "cp936", "x-gbk", "euc-cn", "x-euc-cn", "csgb2312", "gb_2312-80", "ms936")
_BIG5 = ("big5", "big5-hkscs", "x-x-big5", "x-big5", "cn-big5", "csbig5")
_SUPERSETS = {**dict.fromkeys(_GB, "gb18030"), **dict.fromkeys(_BIG5, "big5hkscs")}
# What mail actually uses; a free choice among all codecs picks cp1006 or cp949 for short text.
_MAIL_CHARSETS = (
    "utf_8", "gb18030", "big5hkscs", "cp1252", "iso8859_15", "cp1250", "cp1251", "koi8_r",
    "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "shift_jis", "euc_jp", "iso2022_jp",
    "euc_kr", "tis_620", "utf_16", "utf_32",
)  # fmt: skip
_PREFERRED = ("utf_8", "gb18030", "big5hkscs", "cp1252", "latin_1")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_MSG_ID = re.compile(r"<([^<>]+)>")
_RECIPIENT_HEADERS = (
    "delivered-to", "x-original-to", "envelope-to", "to", "cc", "resent-to", "resent-cc",
)
_WANTED = frozenset((*_RECIPIENT_HEADERS, "message-id", "in-reply-to", "references", "subject",
                     "from", "date", "auto-submitted"))
_SURROGATE = re.compile("[\udc80-\udcff]")  # how compat32 keeps undecodable header bytes
_FOLD = re.compile(r"\r?\n(?=[ \t])")


@dataclass(frozen=True)
class HeaderInfo:
    """What the screening and matching steps need from a message's header."""

    message_id: str = ""
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    subject: str = ""
    from_addr: str = ""
    from_name: str = ""
    recipients: tuple[str, ...] = ()
    date: datetime | None = None
    auto_submitted: str = ""
    content_type: str = "text/plain"
    report_type: str = ""


@dataclass(frozen=True)
class ParsedMessage:
    """A fully parsed message: header values, body text, attachments and what was wrong."""

    headers: HeaderInfo
    text: str
    attachments: tuple[tuple[str, str, int], ...]
    defects: tuple[str, ...]
    message: Message = field(repr=False)
    text_from_html: bool = False  # no text/plain part: ``text`` is the HTML part's visible text


def _decode(data: bytes, charset: str | None, notes: list[str]) -> str:
    """Decode *data*, appending to *notes* whenever the declared charset was not the whole story."""
    if not data:
        return ""
    label = (charset or "").strip().strip("\"'").lower().split("*", 1)[0]  # RFC 2231 language
    target = _SUPERSETS.get(label, label)
    if not _decodes_as(b"a", target):  # unknown label, or a non-text codec such as "base64"
        target = ""
    if target and _decodes_as(data, target):
        if target != label and not _decodes_as(data, label):
            notes.append(f"charset {label} decoded as {target}")
        return data.decode(target)
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


def _decodes_as(data: bytes, label: str) -> bool:
    try:
        codecs.lookup(label)
        data.decode(label)
    except (LookupError, UnicodeError, ValueError, TypeError):
        return False
    return True


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode text whose declared charset may be a lie; never raises.

    Chinese labels are widened to their supersets (gb2312 family -> gb18030, big5 -> big5hkscs).
    A missing, unknown or wrong charset falls back to UTF-8, then to charset-normalizer's guess,
    and as a last resort to UTF-8 with U+FFFD replacements.
    """
    return _decode(data, charset, [])


def _raw_to_str(value: str, notes: list[str], hint: str | None) -> str:
    """A header value as the parser stored it (8-bit bytes as surrogates) -> real text, unfolded.

    Raw 8-bit headers are UTF-8 (RFC 6532) or, from old clients, in the body's charset (*hint*):
    short strings are too ambiguous for a statistical guess, so the hint goes first.
    """
    value = _FOLD.sub("", value).replace("\r", "").replace("\n", "")
    if _SURROGATE.search(value):
        data = value.encode("ascii", "surrogateescape")
        value = data.decode() if _decodes_as(data, "utf-8") else _decode(data, hint, notes)
    return value


def header_text(value: str, hint: str | None = None) -> str:
    """A header value as written (8-bit bytes as surrogates, as compat32 keeps them) as a
    person reads it: unfolded, raw 8-bit and RFC 2047 encoded-words decoded; never raises.

    For display only: addresses must be parsed before names are decoded (see `_addresses`).
    """
    notes: list[str] = []
    try:
        return _decode_words(_raw_to_str(str(value), notes, hint), notes).strip()
    except Exception:  # display must survive any input; the raw bytes stay stored
        return str(value).encode("utf-8", "replace").decode("utf-8").strip()


def _decode_words(value: str, notes: list[str]) -> str:
    """Decode RFC 2047 encoded-words leniently (bad padding, split multibyte characters)."""
    value = _BETWEEN_WORDS.sub(r"\1\2", value)  # whitespace between encoded-words is not text
    out: list[str] = []
    pending: tuple[str, bytearray] | None = None  # same-charset run: a character may be split
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        if match.start() > pos:
            if pending:
                out.append(_decode(bytes(pending[1]), pending[0], notes))
                pending = None
            out.append(value[pos : match.start()])
        charset, encoding, payload = match.groups()
        if encoding in "bB":
            try:
                chunk = binascii.a2b_base64(payload.encode("ascii", "replace") + b"===")
            except binascii.Error:
                notes.append("bad base64 in encoded-word")
                chunk = payload.encode("ascii", "replace")
        else:
            chunk = _q_decode(payload)
        if pending and pending[0] == charset.lower():
            pending[1].extend(chunk)
        else:
            if pending:
                out.append(_decode(bytes(pending[1]), pending[0], notes))
            pending = (charset.lower(), bytearray(chunk))
        pos = match.end()
    if pending:
        out.append(_decode(bytes(pending[1]), pending[0], notes))
    out.append(value[pos:])
    return "".join(out)


def _q_decode(payload: str) -> bytes:
    raw = payload.replace("_", " ").encode("ascii", "replace")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)


def _fields(msg: Message, notes: list[str]) -> dict[str, list[str]]:
    """The header fields we read, by lower-case name, values in order, unfolded and decoded
    from raw 8-bit (encoded-words are left alone). One pass: screening must stay cheap."""
    fields: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        if (key := name.lower()) in _WANTED:
            fields.setdefault(key, []).append(str(value))
    hint = None
    if any(_SURROGATE.search(v) for values in fields.values() for v in values):
        hint = next((p.get_content_charset() for p in msg.walk() if p.get_content_charset()), None)
    return {k: [_raw_to_str(v, notes, hint) for v in values] for k, values in fields.items()}


def _message_ids(values: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        ids = ["<" + re.sub(r"\s+", "", m) + ">" for m in _MSG_ID.findall(value)]
        if not ids:  # some clients drop the angle brackets
            ids = [f"<{token}>" for token in value.split() if "@" in token]
        found.extend(i for i in ids if i not in found)
    return tuple(found)


def _addresses(values: list[str], notes: list[str]) -> list[tuple[str, str]]:
    """(decoded name, lower-case address) pairs; parsed before decoding: a decoded "," is safe."""
    pairs: list[tuple[str, str]] = []
    if not values:
        return pairs
    try:
        found = getaddresses(values)
    except Exception:  # the stdlib's address parser has had crashes on hostile input
        notes.append("unparseable address header")
        return []
    for name, addr in found:
        addr = addr.strip().lower()
        if "@" in addr and len(addr.split()) == 1:
            pairs.append((_decode_words(name, notes).strip(), addr))
    return pairs


def _date(values: list[str], notes: list[str]) -> datetime | None:
    if not values:
        notes.append("missing Date")
        return None
    try:
        when = parsedate_to_datetime(values[0])
    except (TypeError, ValueError, IndexError, OverflowError):
        notes.append("unparseable Date")
        return None
    # "-0000" means "time zone unknown" (RFC 5322 3.3): the instant is still UTC.
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _header_info(msg: Message, notes: list[str]) -> HeaderInfo:
    fields = _fields(msg, notes)

    def first(name: str) -> str:
        values = fields.get(name)
        return values[0].strip() if values else ""

    message_id_raw = first("message-id")
    ids = _message_ids([message_id_raw])
    if not message_id_raw:
        notes.append("missing Message-ID")
    senders = _addresses(fields.get("from", []), notes)
    if not senders:
        notes.append("missing From")
    recipients: list[str] = []
    for name in _RECIPIENT_HEADERS:
        for _, addr in _addresses(fields.get(name, []), notes):
            if addr not in recipients:
                recipients.append(addr)
    report_type = msg.get_param("report-type", "", header="content-type")
    return HeaderInfo(
        message_id=ids[0] if ids else message_id_raw,
        in_reply_to=_message_ids(fields.get("in-reply-to", [])),
        references=_message_ids(fields.get("references", [])),
        subject=_decode_words(first("subject"), notes).strip(),
        from_addr=senders[0][1] if senders else "",
        from_name=senders[0][0] if senders else "",
        recipients=tuple(recipients),
        date=_date(fields.get("date", []), notes),
        auto_submitted=first("auto-submitted").lower(),
        content_type=msg.get_content_type(),
        report_type=str(report_type).strip().lower() if isinstance(report_type, str) else "",
    )


def parse_headers(header_bytes: bytes) -> HeaderInfo:
    """Screen a message from its header bytes (a whole message also works); never raises."""
    try:
        msg = BytesHeaderParser(policy=policy.compat32).parsebytes(header_bytes)
        return _header_info(msg, [])
    except Exception:  # screening must survive any input; callers keep the bytes
        return HeaderInfo()


# The fields the pre-screen reads, found in the lower-cased header block with b"\n" in front:
# a field starts a line, continuation lines start with a space or a tab (as in the feedparser).
_SCREEN_FIELD = re.compile(
    rb"\n(?=[cdefirstx])(from|subject|in-reply-to|references|"
    + "|".join(_RECIPIENT_HEADERS).encode() + rb"):([^\n]*(?:\n[ \t][^\n]*)*)")
_LONE_CR = re.compile(rb"\r(?!\n)")  # the feedparser ends a line there too: leave it to the parser


_SCREEN_ROLE = {b"from": 0, b"subject": 1, b"in-reply-to": 2, b"references": 2,
                **{name.encode(): 3 for name in _RECIPIENT_HEADERS}}


class ScreenFields(NamedTuple):
    """Header fields for the sync's pre-screen, read from the bytes without the email package.

    ``sender`` and ``recipients`` are every value of From and of the recipient fields, lower-cased,
    joined, with all whitespace removed: a superset of the addresses ``parse_headers`` extracts
    (it drops comments, so the caller must take a ``(`` in them as "cannot tell"). ``ids`` are
    the raw In-Reply-To and References values, lower-cased: any Message-ID ``parse_headers``
    finds there is, whitespace removed, inside ``b"".join(b"".join(ids).split())``; `message_ids`
    gives them exactly. ``subject`` is the first Subject value as raw bytes (`subject_text` gives
    ``parse_headers``' subject exactly). ``report`` is False when its ``content_type`` cannot be
    multipart/report. Reading them costs a few microseconds; decoding is left to whoever needs it.
    """

    sender: bytes
    recipients: bytes
    ids: list[bytes]
    subject: bytes
    report: bool

    def message_ids(self) -> tuple[str, ...]:
        """``in_reply_to + references`` as ``parse_headers`` gives them, but lower-cased."""
        return _message_ids([v.decode("ascii").replace("\r", "").replace("\n", "")
                             for v in self.ids])

    def subject_text(self) -> str:
        """The subject exactly as ``parse_headers`` gives it."""
        text = _raw_to_str(self.subject.decode("ascii"), [], None).strip()
        return _decode_words(text, []).strip() if "=?" in text else text

    def subject_may_contain(self, char: bytes) -> bool:
        """False only if `subject_text` certainly lacks the ASCII *char*: decoding each
        encoded-word's bytes is left out where their charset writes *char* as that byte."""
        if b"=?" not in self.subject:  # unfolding and stripping add no character
            return char in self.subject
        text = self.subject.decode("ascii")
        if char.decode() in _ENCODED_WORD.sub("", text):
            return True
        for charset, encoding, payload in _ENCODED_WORD.findall(text):
            if _codec(charset) not in _ASCII_BYTES:
                return char.decode() in self.subject_text()
            if encoding in "bB":
                try:
                    data = binascii.a2b_base64(payload.encode("ascii", "replace") + b"===")
                except binascii.Error:  # _decode_words keeps the payload as it is
                    data = payload.encode("ascii", "replace")
            else:
                data = _q_decode(payload)
            if char in data:
                return True
        return False


def _codec(label: str) -> str:
    try:
        return codecs.lookup(_SUPERSETS.get(label.lower(), label)).name
    except LookupError:
        return ""


# Charsets in which an ASCII character is always that byte (a trail byte may be too: a false
# alarm only), and so are the guesses _decode falls back to. Not UTF-7 or EBCDIC.
_ASCII_BYTES = frozenset(codecs.lookup(name).name for name in (
    "utf-8", "ascii", "latin-1", *(f"iso8859-{n}" for n in (*range(2, 12), *range(13, 17))),
    *(f"cp125{n}" for n in range(9)), "gb2312", "gbk", "gb18030", "big5", "big5hkscs",
    "shift_jis", "euc_jp", "euc_kr", "iso2022_jp", "koi8_r", "koi8_u", "tis_620", "utf-16",
    "utf-32"))


def screen_fields(header_bytes: bytes) -> ScreenFields | None:
    """The fields a pre-screen needs; None when only a full parse can tell (8-bit bytes, or a
    lone CR, which also ends a line for the feedparser). Never raises."""
    if not header_bytes.isascii() or _LONE_CR.search(header_bytes):
        return None
    low = b"\n" + header_bytes.lower()
    found: tuple[list[bytes], list[bytes], list[bytes], list[bytes]] = ([], [], [], [])
    for name, value in _SCREEN_FIELD.findall(low):
        found[_SCREEN_ROLE[name]].append(value)
    senders, subjects, ids, recipients = found
    subject = b""
    if subjects:  # the first one, as parse_headers takes, in the original case
        start = low.find(b"\nsubject:") + 8  # in header_bytes: one b"\n" less
        subject = header_bytes[start:start + len(subjects[0])]
    return ScreenFields(
        sender=b"".join(b",".join(senders).split()),
        recipients=b"".join(b",".join(recipients).split()),
        ids=ids, subject=subject, report=b"multipart/report" in low,
    )


def _leaves(msg: Message) -> list[tuple[Message, bool]]:
    """Leaf parts in order, each with "is inside an attached message" (not body text then)."""
    found: list[tuple[Message, bool]] = []

    def walk(part: Message, attached: bool) -> None:
        ctype = part.get_content_type()
        payload = part.get_payload()
        if ctype in ("message/rfc822", "message/global") or not isinstance(payload, list):
            found.append((part, attached))
        elif ctype.startswith("message/"):  # delivery-status header blocks: not body, not a file
            return
        else:
            for child in payload:
                if isinstance(child, Message):
                    walk(child, attached)

    walk(msg, False)
    return found


def _part_bytes(part: Message) -> bytes:
    if part.get_content_type() in ("message/rfc822", "message/global"):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes(policy=policy.compat32)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _body(msg: Message,
          notes: list[str]) -> tuple[str, tuple[tuple[str, str, int], ...], bool]:
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[tuple[str, str, int]] = []
    for part, attached in _leaves(msg):
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):  # its boundary was never found: the payload is text
            ctype = "text/plain"
        raw_name = str(part.get_filename("") or "")
        filename = _decode_words(_raw_to_str(raw_name, notes, part.get_content_charset()), notes)
        disposition = (part.get_content_disposition() or "").lower()
        is_file = (
            bool(filename)
            or disposition == "attachment"
            or ctype.split("/")[0] not in ("text", "message")
            or ctype in ("message/rfc822", "message/global")
        )
        data = _part_bytes(part)
        if is_file:
            attachments.append((filename, ctype, len(data)))
        elif not attached and ctype in ("text/plain", "text/html"):
            text = _decode(data, part.get_content_charset(), notes)
            (plain if ctype == "text/plain" else markup).append(text)
    text = "\n".join(plain) if plain else "\n".join(html_to_text(m) for m in markup)
    from_html = not plain and bool(markup)
    return text.replace("\r\n", "\n").replace("\r", "\n"), tuple(attachments), from_html


class _TextExtractor(HTMLParser):
    """Collect visible text; block elements become line breaks."""

    _BLOCKS = frozenset(("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote", "hr"))
    _HIDDEN = frozenset(("script", "style", "head", "title"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in self._HIDDEN
        if tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        if tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.chunks.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML body, one line per block, whitespace collapsed."""
    try:
        extractor = _TextExtractor()
        extractor.feed(markup)
        extractor.close()
        text = "".join(extractor.chunks)
    except Exception:  # the stdlib parser is lenient, but evidence must never be lost
        text = html.unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _defects(msg: Message) -> list[str]:
    names: list[str] = []
    for part in msg.walk():
        names.extend(type(defect).__name__ for defect in part.defects)
    return names


# MIME parts nested deeper than this are not taken apart: the stdlib walks parts recursively
# and fails on absurd nesting (a hostile message ~1,000 levels deep), and no mail client nests
# so deep. The message is then read as its header and one body of text, and flagged.
MAX_NESTING = 50


def _nesting(msg: Message) -> int:
    """How deep the parts of *msg* nest, counted without recursion."""
    deepest, stack = 0, [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        payload = part.get_payload()
        if isinstance(payload, list) and depth <= MAX_NESTING:
            stack.extend((child, depth + 1) for child in payload if isinstance(child, Message))
    return deepest


def _parse(raw: bytes, notes: list[str]) -> Message:
    """The message as the stdlib parses it, or, when its structure defeats that, its header
    with the whole body as one text part (the raw bytes are kept anyway)."""
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)
        if _nesting(msg) <= MAX_NESTING:
            return msg
        notes.append(f"MIME parts nested deeper than {MAX_NESTING} levels: read as one text")
    except Exception as exc:  # e.g. RecursionError: evidence must be stored, not lost
        notes.append(f"unparseable structure ({type(exc).__name__}): read as one text")
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    except Exception as exc:
        notes.append(f"unparseable message: {type(exc).__name__}")
        return Message()
    # The body is now one payload: let it read as text, whatever the header said it holds.
    del msg["Content-Type"], msg["Content-Transfer-Encoding"]
    return msg


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one message fully; never raises, whatever the bytes."""
    notes: list[str] = []
    msg = _parse(raw, notes)
    try:
        headers = _header_info(msg, notes)
    except Exception as exc:
        headers = HeaderInfo()
        notes.append(f"unreadable header: {type(exc).__name__}")
    try:
        text, attachments, from_html = _body(msg, notes)  # decoding first: it adds defects
    except Exception as exc:
        text, attachments, from_html = "", (), False
        notes.append(f"unreadable body: {type(exc).__name__}")
    try:
        found = _defects(msg) + notes
    except Exception as exc:  # e.g. RecursionError on absurd nesting
        found = [*notes, f"unreadable structure: {type(exc).__name__}"]
    return ParsedMessage(headers, text, attachments, tuple(dict.fromkeys(found)), msg,
                         from_html)
