"""Read the fields screening and matching use from a message's header into a `HeaderInfo`.

Message-IDs, addresses, the date, the subject: unfolded and decoded (see
`tracker.mail.decoding`), never raising; what was missing or unreadable goes into *notes*.
``parse_headers`` screens many messages cheaply from their header bytes (``compat32`` is ~10x
faster than ``email.policy.default``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from tracker.mail.decoding import RAW_8BIT, decode_words, raw_header_str

__all__ = [
    "RECIPIENT_HEADERS", "SCREEN_FIELDS", "SENDER_FALLBACKS", "HeaderInfo", "header_info",
    "message_ids", "parse_headers", "sender_source_of",
]

_MSG_ID = re.compile(r"<([^<>]+)>")
RECIPIENT_HEADERS = (
    "delivered-to", "x-original-to", "envelope-to", "to", "cc", "resent-to", "resent-cc",
)
# Where the sender is read when From: is missing or unreadable, in this order (as mail
# clients fall back): the agent that sent it, then where replies go, then the envelope sender.
SENDER_FALLBACKS = (("sender", "Sender"), ("reply-to", "Reply-To"), ("return-path", "Return-Path"))
_WANTED = frozenset((*RECIPIENT_HEADERS, "message-id", "in-reply-to", "references", "subject",
                     "from", "date", "auto-submitted", *(name for name, _ in SENDER_FALLBACKS)))
_QUOTED_LOCAL = re.compile(r'"[^"\\]*"@[\w-]+(?:\.[\w-]+)+')
# An address as a mail client finds one in a From: line its parser cannot read.
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# Every field `parse_headers` reads: a screen given only these decides as on the whole header.
SCREEN_FIELDS = (*sorted(_WANTED), "content-type")


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
    # "" when the sender is From: as written; else where it was read instead: "From (repaired)",
    # "Sender", "Reply-To" or "Return-Path". A guessed sender never makes a message verified.
    sender_source: str = ""


def _fields(msg: Message, notes: list[str]) -> dict[str, list[str]]:
    """The header fields we read, by lower-case name, values in order, unfolded and decoded
    from raw 8-bit (encoded-words are left alone). One pass: screening must stay cheap."""
    fields: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        if (key := name.lower()) in _WANTED:
            fields.setdefault(key, []).append(str(value))
    hint = None
    if any(RAW_8BIT.search(v) for values in fields.values() for v in values):
        hint = next((p.get_content_charset() for p in msg.walk() if p.get_content_charset()), None)
    return {k: [raw_header_str(v, notes, hint) for v in values] for k, values in fields.items()}


def message_ids(values: list[str]) -> tuple[str, ...]:
    """The Message-IDs in header *values*, in order, without repeats, each as ``<id>``."""
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
        # A quoted local part may hold spaces ("john smith"@example.org): still one address.
        if "@" in addr and (len(addr.split()) == 1 or _QUOTED_LOCAL.fullmatch(addr)):
            pairs.append((decode_words(name, notes).strip(), addr))
    return pairs


def _repaired(values: list[str], notes: list[str]) -> list[tuple[str, str]]:
    """The sender of a From: line the address parser cannot read, found as mail clients find
    it: the address-shaped text (the one in angle brackets first), and the words before it
    as the name (``Test test@example.com``, ``Name <a @b.example>``, a stray ``>``)."""
    for value in values:
        squeezed = re.sub(r"<([^<>]*)>", lambda m: "<" + "".join(m[1].split()) + ">", value)
        found = re.search(r"<(" + _ADDRESS.pattern + r")>", squeezed) or _ADDRESS.search(squeezed)
        if found is None:
            continue
        address = found.group(1) if found.re is not _ADDRESS else found.group(0)
        name = squeezed[:found.start()].strip().strip("<>\"' ,;:").strip()
        return [(decode_words(name, notes).strip(), address.lower())]
    return []


_REPAIRED = "sender read from a malformed From: header"
_TAKEN = re.compile(r"sender taken from ([\w-]+) \(no usable From:\)")


def sender_source_of(defects: list[str] | tuple[str, ...]) -> str:
    """Where a stored message's sender was read, from its defects ("" if from From:)."""
    for defect in defects:
        if defect == _REPAIRED:
            return "From (repaired)"
        if found := _TAKEN.fullmatch(defect):
            return found.group(1)
    return ""


def _sender(fields: dict[str, list[str]],
            notes: list[str]) -> tuple[list[tuple[str, str]], str]:
    """The sender, and where it was read if not from From: as written ("" when it was)."""
    values = fields.get("from", [])
    senders = _addresses(values, notes)
    if senders:
        return senders, ""
    if values and (senders := _repaired(values, notes)):
        notes.append(_REPAIRED)
        return senders, "From (repaired)"
    notes.append("missing From" if not values else "unreadable From")
    for key, name in SENDER_FALLBACKS:
        found = _addresses(fields.get(key, []), notes) or _repaired(fields.get(key, []), notes)
        if found:
            notes.append(f"sender taken from {name} (no usable From:)")
            return found, name
    return [], ""


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


def header_info(msg: Message, notes: list[str]) -> HeaderInfo:
    """The `HeaderInfo` of a parsed (compat32) message; what is missing goes into *notes*."""
    fields = _fields(msg, notes)

    def first(name: str) -> str:
        values = fields.get(name)
        return values[0].strip() if values else ""

    message_id_raw = first("message-id")
    ids = message_ids([message_id_raw])
    if not message_id_raw:
        notes.append("missing Message-ID")
    senders, sender_source = _sender(fields, notes)
    recipients: list[str] = []
    for name in RECIPIENT_HEADERS:
        for _, addr in _addresses(fields.get(name, []), notes):
            if addr not in recipients:
                recipients.append(addr)
    report_type = msg.get_param("report-type", "", header="content-type")
    return HeaderInfo(
        message_id=ids[0] if ids else message_id_raw,
        in_reply_to=message_ids(fields.get("in-reply-to", [])),
        references=message_ids(fields.get("references", [])),
        subject=decode_words(first("subject"), notes).strip(),
        from_addr=senders[0][1] if senders else "",
        from_name=senders[0][0] if senders else "",
        recipients=tuple(recipients),
        date=_date(fields.get("date", []), notes),
        auto_submitted=first("auto-submitted").lower(),
        content_type=msg.get_content_type(),
        report_type=str(report_type).strip().lower() if isinstance(report_type, str) else "",
        sender_source=sender_source,
    )


def parse_headers(header_bytes: bytes) -> HeaderInfo:
    """Screen a message from its header bytes (a whole message also works); never raises."""
    try:
        msg = BytesHeaderParser(policy=policy.compat32).parsebytes(header_bytes)
        return header_info(msg, [])
    except Exception:  # screening must survive any input; callers keep the bytes
        return HeaderInfo()
