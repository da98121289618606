"""One stored message as staff read it (`tracker message show`), and the inbox's first lines.

Values here are what the message says, decoded but exact: whoever prints them makes them inert
(tracker.inert), and JSON keeps them as they are. Nothing is re-judged: kind, authenticity and
match are what tracker decided when the message arrived.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from sqlmodel import Session

from tracker.core.errors import NotFoundError
from tracker.core.inert import inert_line
from tracker.mail.attachments import (
    extract_attachments,
    file_extension,
    is_mail,
    sanitise_filename,
)
from tracker.mail.decoding import header_text
from tracker.mail.header_info import sender_source_of
from tracker.mail.parsing import ParsedMessage, parse_message
from tracker.store.models import Message, Request

# The headers that say who wrote a message, to whom, and what it answers.
SHOWN_HEADERS = ("Date", "From", "Sender", "Reply-To", "To", "Cc", "Subject", "Message-ID",
                 "In-Reply-To")
MAX_ID = 2**31 - 1  # message ids are PostgreSQL integers; a larger one cannot exist
FIRST_LINES, LINE_WIDTH = 2, 100


@dataclass(frozen=True)
class AttachmentView:
    """A file attached to a message: its name as sent, the name a bundle gives it, type, size."""

    name: str
    safe_name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageView:
    """What `tracker message show` prints about one stored message (and `--json`)."""

    id: int
    direction: str  # "in" | "out"
    status: str
    kind: str
    channel: str
    ref: str | None  # the request it belongs to
    at: str | None  # when it arrived (in) or left (out), in the workspace's time zone
    stored_at: str
    headers: list[tuple[str, str]]  # (name, decoded value) in SHOWN_HEADERS order
    authenticity: str
    reasons: list[str]
    match_rule: str
    triage: str
    admission: str  # the rule that let it count for its request (tracker.mail.admission.RULES)
    hold: str  # why it waits for a person
    ticket: str
    bounced: list[str]
    defects: list[str]
    note: str
    size: int  # of the stored bytes; 0 when none are stored (a draft, a reply by phone)
    sha256: str
    is_mail: bool  # False for a stored scan or document (record-reply --file)
    file_type: str  # extension of the stored bytes: .eml, .pdf, ...
    text: str
    text_from_html: bool
    attachments: list[AttachmentView] = field(default_factory=list)
    sender: str = ""  # the address tracker took as the sender
    sender_source: str = ""  # where, if not From: as written ("Reply-To", "From (repaired)")

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["headers"] = [{"name": n, "value": v} for n, v in self.headers]
        data["attachments"] = [dict(a.__dict__) for a in self.attachments]
        return data


def get_message(session: Session, message_id: int) -> Message:
    """The stored message *message_id*, or a NotFoundError that says where ids are listed."""
    message = session.get(Message, message_id) if 1 <= message_id <= MAX_ID else None
    if message is None:
        raise NotFoundError(f"no message {message_id}; see `tracker inbox` or "
                            "`tracker request show REF` for message ids")
    return message


def _headers(parsed: ParsedMessage) -> list[tuple[str, str]]:
    msg = parsed.message
    hint = next((p.get_content_charset() for p in msg.walk() if p.get_content_charset()), None)
    wanted = {name.lower(): name for name in SHOWN_HEADERS}
    found: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        key = wanted.get(name.lower())
        if key is not None:
            found.setdefault(key, []).append(header_text(str(value), hint))
    return [(name, value) for name in SHOWN_HEADERS for value in found.get(name, [])]


def _stored_headers(message: Message, tz: tzinfo) -> list[tuple[str, str]]:
    """Headers from the database columns, for a message without stored mail bytes."""
    values = [("Date", message.occurred_at.astimezone(tz).isoformat(timespec="minutes")
               if message.occurred_at else ""),
              ("From", message.from_addr), ("To", message.to_addrs),
              ("Subject", message.subject), ("Message-ID", message.message_id),
              ("In-Reply-To", message.in_reply_to)]
    return [(name, value) for name, value in values if value]


def show_message(session: Session, message_id: int, tz: tzinfo) -> MessageView:
    """Everything tracker knows about stored message *message_id*, decoded from its bytes."""
    message = get_message(session, message_id)
    request = session.get(Request, message.request_id) if message.request_id else None
    raw = message.raw or b""
    mail = bool(raw) and is_mail(raw)
    parsed = parse_message(raw) if mail else None
    return MessageView(
        id=message_id, direction=message.direction, status=message.status, kind=message.kind,
        channel=message.channel, ref=request.ref if request else None,
        at=message.occurred_at.astimezone(tz).isoformat(timespec="minutes")
        if message.occurred_at else None,
        stored_at=message.created_at.astimezone(tz).isoformat(timespec="minutes"),
        headers=_headers(parsed) if parsed else _stored_headers(message, tz),
        authenticity=message.authenticity, reasons=list(message.reasons),
        match_rule=message.match_rule, triage=message.triage, admission=message.admission,
        hold=message.hold, ticket=message.ticket,
        bounced=list(message.bounced), defects=list(message.defects), note=message.note,
        size=len(raw), sha256=message.sha256, is_mail=mail,
        file_type=file_extension(raw) if raw else "",
        text=parsed.text if parsed else "", text_from_html=parsed.text_from_html if parsed
        else False,
        attachments=[AttachmentView(name, sanitise_filename(name, ctype), ctype, size)
                     for name, ctype, size in parsed.attachments] if parsed else [],
        sender=message.from_addr, sender_source=sender_source_of(message.defects),
    )


def raw_message(session: Session, message_id: int) -> bytes:
    """The exact bytes stored for message *message_id* (evidence: never changed)."""
    message = get_message(session, message_id)
    if not message.raw:
        raise NotFoundError(f"message {message_id} has no stored bytes (a draft letter, or a "
                            f"reply recorded by hand); see `tracker message show {message_id}`")
    return message.raw


def attachment_file(session: Session, message_id: int,
                    number: int) -> tuple[AttachmentView, bytes]:
    """Attachment *number* (from 0, in the order `show_message` lists them) of message
    *message_id*: what it is and its bytes as the sender attached them (as a bundle holds it)."""
    message = get_message(session, message_id)
    raw = message.raw or b""
    found = extract_attachments(parse_message(raw).message) if raw and is_mail(raw) else []
    if not 0 <= number < len(found):
        raise NotFoundError(f"message {message_id} has no attachment {number}; "
                            f"see `tracker message show {message_id}`")
    item = found[number]
    view = AttachmentView(item.filename, sanitise_filename(item.filename, item.content_type),
                          item.content_type, len(item.data))
    return view, item.data


# Where a reply's own text ends and the quoted message begins (the common mail clients).
_ATTRIBUTION = re.compile(
    r"(on\b.{0,200}\bwrote|am\b.{0,200}\bschrieb.{0,100}|le\b.{0,200}\ba écrit|"
    r"el\b.{0,200}\bescribió|在.{0,100}写道)\s*[:：]$", re.IGNORECASE)
_SEPARATOR = re.compile(r"-{2,} ?(original message|forwarded message|ursprüngliche nachricht)"
                        r" ?-{2,}|_{10,}|-----+|原始邮件|原始郵件", re.IGNORECASE)
_HEADER_FROM = re.compile(r"(from|von|de|发件人|寄件者)\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"(sent|date|gesendet|envoyé|enviado|发送时间|日期|寄件日期)\s*[:：]",
                          re.IGNORECASE)


def _quote_starts(line: str, following: str) -> bool:
    """Whether *line* (stripped; *following*: the next non-empty line) starts the quoted part."""
    return (line.startswith(">") or bool(_SEPARATOR.fullmatch(line))
            or bool(_ATTRIBUTION.match(line) or _ATTRIBUTION.match(f"{line} {following}"))
            or bool(_HEADER_FROM.match(line) and _HEADER_NEXT.match(following)))


def own_lines(text: str, count: int = FIRST_LINES, width: int = LINE_WIDTH) -> list[str]:
    """The first *count* non-empty lines of what the sender wrote (not what they quote), inert,
    each cut at *width* characters."""
    lines = [line.strip() for line in text.splitlines()]
    found: list[str] = []
    for pos, line in enumerate(lines):
        if not line:
            continue
        if _quote_starts(line, next((later for later in lines[pos + 1:] if later), "")):
            break
        shown = inert_line(line)
        found.append(shown if len(shown) <= width else shown[:width - 1].rstrip() + "…")
        if len(found) == count:
            break
    return found


def first_lines(raw: bytes | None) -> list[str]:
    """`own_lines` of a stored message's text ([] for a scan, a document or no bytes)."""
    if not raw or not is_mail(raw):
        return []
    return own_lines(parse_message(raw).text)
