"""Receipts and posted letters: files kept as proof that a letter left, exactly and hashed.

A receipt is what a web form showed on submitting (saved as PDF, or a screenshot), the
confirmation email, or a scan of a registered letter's delivery confirmation; a letter that
went by post or fax keeps the exact PDF that was printed. Each is a `Document` of the letter
it belongs to: its bytes as given, their SHA-256, the type the bytes show (not the name), and
the file's name only as a label, made safe. Each one stored is an event with its actor.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from tracker.core.errors import InputError, NotFoundError, StateError
from tracker.core.postal import parse_tracking
from tracker.mail.attachments import file_extension, sanitise_filename
from tracker.services.records import get_request, refresh_learned, request_messages, sent_letters
from tracker.services.workspace import Workspace
from tracker.store.db import MAX_ROW_ID, transaction
from tracker.store.events import record_event
from tracker.store.models import Document, DocumentRole, Message, Request

# What a receipt may be, with the extension its file has in an evidence bundle (the one
# `file_extension` reads from its bytes).
MEDIA_TYPES = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg",
               "message/rfc822": ".eml", "text/plain": ".txt"}
_BY_EXTENSION = {extension: media_type for media_type, extension in MEDIA_TYPES.items()}
KINDS_IN_WORDS = "PDF, PNG, JPEG, EML (a saved email) or plain text"
_HTML = re.compile(rb"^\s*(<!doctype html|<html|<\?xml|<svg)", re.IGNORECASE)
_TICKET = re.compile(r"[^\x00-\x1f\x7f]{1,80}")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab or a space is only a space
LABEL_CHARS = 120


@dataclass(frozen=True)
class Upload:
    """A file a person gave: its *name* is only a label (never opened as a path here)."""

    name: str
    data: bytes


def media_type_of(data: bytes) -> str | None:
    """What the bytes are, among the receipt types; None if none of them (pure)."""
    media_type = _BY_EXTENSION.get(file_extension(data))
    if media_type == "text/plain" and (_HTML.match(data[:1024]) or b"\x00" in data):
        return None  # a web page (with its scripts) or a binary: not plain text
    return media_type


def check_receipt(upload: Upload, limit_mb: int) -> str:
    """The media type of *upload*, or InputError naming the file and what to do (pure)."""
    label = label_of(upload.name)
    if len(upload.data) > limit_mb * 2**20:
        raise InputError(f"receipt {label} is larger than {limit_mb} MB, the limit ([letters] "
                         "receipt_max_mb); keep a smaller copy (a screenshot, a lower-resolution "
                         "scan)")
    if not upload.data:
        raise InputError(f"receipt {label} is empty; give the saved page, screenshot or scan")
    media_type = media_type_of(upload.data)
    if media_type is None:
        raise InputError(f"receipt {label} is not a {KINDS_IN_WORDS} file; save a web page "
                         "with the browser's Print > Save as PDF, or take a screenshot")
    return media_type


def label_of(name: str) -> str:
    """The file name a person gave, made safe to show and shortened: a label, not a path."""
    return sanitise_filename(name or "receipt")[:LABEL_CHARS]


def check_ticket(text: str) -> str:
    """A platform's ticket or case number as entered, on one line; InputError if it is not."""
    ticket = " ".join(text.split())
    if _CONTROL.search(text) or not _TICKET.fullmatch(ticket):
        raise InputError(f"--ticket {text[:40]!r}: give the number the platform showed, on one "
                         "line (at most 80 characters)")
    return ticket


def store_document(session: Session, request: Request, letter: Message, role: DocumentRole,
                   upload: Upload, media_type: str, actor: str, now: datetime,
                   note: str = "") -> Document:
    """Keep *upload* as a document of *letter*, and record the event (in the caller's
    transaction)."""
    data = bytes(upload.data)
    document = Document(request_id=request.id or 0, message_id=letter.id, role=role,
                        media_type=media_type, label=label_of(upload.name), size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), data=data, note=note,
                        added_by=actor, added_at=now)
    session.add(document)
    session.flush()
    kind = "letter_pdf_kept" if role == DocumentRole.LETTER else "receipt_added"
    record_event(session, request, kind, actor, message=letter, at=now, document=document.id,
                 role=role.value, label=document.label, media_type=media_type,
                 size=document.size, sha256=document.sha256)
    return document


def set_ticket(session: Session, request: Request, letter: Message, ticket: str, actor: str,
               now: datetime) -> None:
    """Note the platform's ticket shown when *letter* was submitted: later mail carrying it
    matches the request."""
    letter.ticket = check_ticket(ticket)
    session.add(letter)
    session.flush()
    refresh_learned(session, request)
    session.add(request)
    record_event(session, request, "ticket_entered", actor, message=letter, at=now,
                 ticket=letter.ticket)


def set_tracking(session: Session, request: Request, letter: Message, tracking: str,
                 actor: str, now: datetime) -> str:
    """Note the posted *letter*'s tracking number; return it described (carrier, warning)."""
    found = parse_tracking(tracking)
    letter.tracking = found.number
    session.add(letter)
    record_event(session, request, "tracking_entered", actor, message=letter, at=now,
                 tracking=found.number, carrier=found.carrier)
    return found.describe()


@dataclass(frozen=True)
class Added:
    """What `add_receipts` kept: the documents, and the tracking number as described."""

    ref: str
    documents: tuple[Document, ...]
    tracking: str = ""
    ticket: str = ""  # the ticket entered, as kept


def add_receipts(ws: Workspace, ref: str, uploads: Sequence[Upload], now: datetime, *,
                 note: str = "", tracking: str = "", ticket: str = "") -> Added:
    """Keep receipts for the last letter *ref* sent (`tracker receipt add`): all or none."""
    if not uploads and not tracking and not ticket:
        raise InputError("give a receipt file, --tracking or --ticket")
    limit = ws.settings.letters.receipt_max_mb
    typed = [(upload, check_receipt(upload, limit)) for upload in uploads]  # before writing
    described = parse_tracking(tracking).describe() if tracking else ""
    if ticket:
        check_ticket(ticket)
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        sent = sent_letters(request_messages(session, request))
        if not sent:
            raise StateError(f"{request.ref} has no letter sent yet; record how it went with "
                             f"`tracker mark-sent {request.ref} --on DATE --channel CHANNEL "
                             "--receipt FILE`")
        letter = sent[-1]
        documents = tuple(store_document(session, request, letter, DocumentRole.RECEIPT,
                                         upload, media_type, ws.actor, now, note)
                          for upload, media_type in typed)
        if tracking:
            set_tracking(session, request, letter, tracking, ws.actor, now)
        if ticket:
            set_ticket(session, request, letter, ticket, ws.actor, now)
        return Added(request.ref, documents, described, letter.ticket if ticket else "")


@dataclass(frozen=True)
class DocumentInfo:
    """A kept document as lists show it (without its bytes)."""

    id: int
    message_id: int | None
    role: str
    media_type: str
    label: str
    size: int
    sha256: str
    note: str
    added_by: str
    added_at: datetime


def _info(document: Document) -> DocumentInfo:
    return DocumentInfo(document.id or 0, document.message_id, document.role,
                        document.media_type, document.label, document.size, document.sha256,
                        document.note, document.added_by, document.added_at)


def request_documents(session: Session, request: Request) -> list[DocumentInfo]:
    """The documents kept for *request*, oldest first (their bytes are not read)."""
    lazy = defer(Document.data)  # type: ignore[arg-type]  # sqlmodel's field type
    rows = session.exec(select(Document).options(lazy)
                        .where(Document.request_id == request.id)
                        .order_by(col(Document.id))).all()
    return [_info(row) for row in rows]


def list_documents(ws: Workspace, ref: str) -> tuple[str, list[DocumentInfo]]:
    """Request *ref*'s kept documents (`tracker receipt list`)."""
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        return request.ref, request_documents(session, request)


@dataclass(frozen=True)
class DocumentFile:
    """A kept document with its bytes, for a download or `tracker receipt get`."""

    info: DocumentInfo
    data: bytes

    @property
    def filename(self) -> str:
        """A name to save it as: the label's stem with the extension its type has."""
        stem = self.info.label.rsplit(".", 1)[0] or self.info.role
        return f"{stem}{MEDIA_TYPES.get(self.info.media_type, '.bin')}"


def get_document(ws: Workspace, ref: str, document_id: int) -> DocumentFile:
    """Document *document_id* of request *ref*; NotFoundError if it is not one of its own."""
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        # Ids are PostgreSQL integers: a larger one cannot exist (and must not reach a query).
        document = session.get(Document, document_id) if 1 <= document_id <= MAX_ROW_ID \
            else None
        if document is None or document.request_id != request.id:
            raise NotFoundError(f"{request.ref} has no document {document_id}; see `tracker "
                                f"receipt list {request.ref}`")
        return DocumentFile(_info(document), bytes(document.data))
