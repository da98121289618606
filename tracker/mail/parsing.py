"""Parse one whole message for the classifier and the matcher: header, body text, attachments.

Evidence-grade rules: nothing here raises on bad input. Malformed mail is parsed as far as it
goes and what was wrong is listed in ``defects``; the caller stores the exact raw bytes anyway.
The header is read by `tracker.mail.header_info`, text is decoded by `tracker.mail.decoding`;
the sync's cheap screens are ``parse_headers`` there and ``screen_fields``
(`tracker.mail.screen`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from html.parser import HTMLParser

from tracker.mail.decoding import decode_noting, decode_words, raw_header_str
from tracker.mail.header_info import HeaderInfo, header_info

__all__ = ["MAX_NESTING", "ParsedMessage", "html_to_text", "parse_message"]


@dataclass(frozen=True)
class ParsedMessage:
    """A fully parsed message: header values, body text, attachments and what was wrong."""

    headers: HeaderInfo
    text: str
    attachments: tuple[tuple[str, str, int], ...]
    defects: tuple[str, ...]
    message: Message = field(repr=False)
    text_from_html: bool = False  # no text/plain part: ``text`` is the HTML part's visible text


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
        filename = decode_words(raw_header_str(raw_name, notes, part.get_content_charset()), notes)
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
            text = decode_noting(data, part.get_content_charset(), notes)
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
        headers = header_info(msg, notes)
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
