"""Taking a message apart for the bundle: its attached files, their safe names, its key headers.

Pure functions over bytes and parsed messages (``email`` compat32, as ``tracker.mail.parsing``
uses); nothing here raises on odd mail except where a caller can keep the raw bytes instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.header import decode_header
from email.message import Message as MimePart

from tracker.mail.decoding import decode_bytes

NAME_BYTES = 150  # attachment names, in UTF-8 bytes: room for "NNN-" and "-2" under 255

HEADERS_OF_INTEREST = (
    "Date", "From", "Sender", "Reply-To", "To", "Cc", "Subject", "Message-ID", "In-Reply-To",
    "References", "Return-Path", "Received", "Authentication-Results",
    "ARC-Authentication-Results", "Received-SPF", "DKIM-Signature", "Auto-Submitted",
)  # fmt: skip
# Deterministic on every machine (the mimetypes module reads the system's tables).
_EXTENSIONS = {
    "application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
    "text/plain": ".txt", "text/html": ".html", "text/csv": ".csv", "application/zip": ".zip",
    "message/rfc822": ".eml", "application/json": ".json",
}  # fmt: skip
_MAGIC = ((b"%PDF-", ".pdf"), (b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"),
          (b"GIF8", ".gif"), (b"PK\x03\x04", ".zip"))
_UNSAFE_CHARS = re.compile(r'[\\/:*?"<>|]')


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message, decoded from its transfer encoding: the bytes as sent."""

    filename: str
    content_type: str
    data: bytes


def is_mail(raw: bytes) -> bool:
    """Whether *raw* looks like an email (a header block first), not a scan or a document."""
    head = raw[:4096].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return bool(re.search(rb"(?im)^(from|message-id|date|subject|received):", head))


def file_extension(raw: bytes) -> str:
    """The extension for a file recorded by hand: ``.eml`` for mail, else what the bytes show."""
    for magic, extension in _MAGIC:
        if raw.startswith(magic):
            return extension
    if is_mail(raw):
        return ".eml"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return ".bin"
    return ".txt"


def sanitise_filename(name: str, content_type: str = "") -> str:
    """A safe file name for *name*: no folders, leading dots, control or bidi characters.

    Characters Windows forbids become ``_``; the name is cut to ``NAME_BYTES`` bytes of UTF-8,
    keeping its extension; an empty one becomes ``attachment`` with the type's extension.
    """
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    name = _UNSAFE_CHARS.sub("_", name).strip().lstrip(".").rstrip(". ").strip()
    if not name:
        return "attachment" + _EXTENSIONS.get(content_type, ".bin")
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 16:
        stem, dot, extension = name, "", ""
    while len((stem + dot + extension).encode("utf-8")) > NAME_BYTES and stem:
        stem = stem[:-1]
    return (stem.rstrip(". ") or "attachment") + dot + extension


def unique_names(names: Sequence[str]) -> list[str]:
    """*names* with later duplicates numbered (``a.pdf``, ``a-2.pdf``), ignoring letter case."""
    taken: set[str] = set()
    result: list[str] = []
    for name in names:
        stem, dot, extension = name.rpartition(".")
        if not dot:
            stem, extension = name, ""
        candidate, n = name, 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{stem}-{n}{dot}{extension}"
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


def _attachment_parts(part: MimePart) -> Iterator[MimePart]:
    """Leaf parts that are files, in order; an attached message is one file, not opened."""
    ctype = part.get_content_type()
    payload = part.get_payload()
    if ctype in ("message/rfc822", "message/global") or not isinstance(payload, list):
        if ctype in ("message/rfc822", "message/global") or part.get_filename() \
                or part.get_content_disposition() == "attachment" \
                or ctype.split("/")[0] not in ("text", "message", "multipart"):
            yield part
    elif not ctype.startswith("message/"):  # delivery-status blocks hold no files
        for child in payload:
            if isinstance(child, MimePart):
                yield from _attachment_parts(child)


def _part_filename(part: MimePart) -> str:
    """The part's file name, decoded however it was written (RFC 2231, RFC 2047, raw 8-bit)."""
    name = str(part.get_filename("") or "")
    if re.search("[\udc80-\udcff]", name):  # raw 8-bit bytes, kept as surrogates by compat32
        name = decode_bytes(name.encode("ascii", "surrogateescape"), part.get_content_charset())
    if "=?" in name:
        chunks = decode_header(name)
        name = "".join(decode_bytes(text, charset) if isinstance(text, bytes) else text
                       for text, charset in chunks)
    return name


def _part_bytes(part: MimePart) -> bytes:
    if part.get_content_type() in ("message/rfc822", "message/global"):
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], MimePart):
            return inner[0].as_bytes()
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def extract_attachments(message: MimePart) -> list[Attachment]:
    """The files attached to a parsed message, as the sender attached them."""
    return [Attachment(filename=_part_filename(part), content_type=part.get_content_type(),
                       data=_part_bytes(part))
            for part in _attachment_parts(message)]


def headers_of_interest(message: MimePart) -> dict[str, list[str]]:
    """The header fields that show where a message came from, unfolded, in their order.

    Values are as written (encoded-words left alone); raw 8-bit bytes are read as UTF-8.
    """
    wanted = {name.lower(): name for name in HEADERS_OF_INTEREST}
    found: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        key = wanted.get(name.lower())
        if key is not None:
            text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            found.setdefault(key, []).append(re.sub(r"\r?\n[ \t]+", " ", text).strip())
    return found


