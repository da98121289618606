"""A request's letter on paper: the PDF to print and post, and the address it goes to.

The text is the letter's own template rendered for print (``medium`` is ``"print"``: the
heading the email carries is laid out by the page instead); the sender is the organisation's
settings; the recipient's address comes from the platform directory, with its source. A letter
already posted is given back as the exact PDF stored when it was marked sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from tracker.core import clock
from tracker.core.errors import StateError
from tracker.directory.model import Platform as DirectoryPlatform
from tracker.letters.pdf import PaperLetter, address_lines, check_engine, letter_pdf
from tracker.letters.rendering import template_uses
from tracker.services.compose import render_message
from tracker.services.records import get_request, pending_letter, request_messages, sent_letters
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.models import Case, Channel, Document, DocumentRole, Message, Request


@dataclass(frozen=True)
class Recipient:
    """Where a posted letter goes: its address lines, and where the directory has them from."""

    lines: tuple[str, ...]
    source: str  # the public page the address was read on ("" if the directory has none)
    checked: date | None
    warning: str = ""  # e.g. the directory has no postal address for the platform


def postal_recipient(platform: DirectoryPlatform | None, request: Request) -> Recipient:
    """The address a posted letter of *request* carries (pure).

    A request that goes by post to a postal contact of the directory (an Art. 27
    representative, say) is addressed to that contact; any other to the platform's entity
    (the EU one first), its department and postal address.
    """
    name = platform.name if platform else request.platform_slug
    if platform is not None:
        for contact in platform.contacts:
            if contact.channel == "post" and request.recipient.strip() \
                    and contact.value.strip() == request.recipient.strip():
                return Recipient(address_lines(contact.value), contact.source, contact.checked)
        entity = platform.entity_for()
        if entity is not None and entity.address.strip():
            return Recipient(address_lines(entity.name, entity.department, entity.address),
                             entity.source, entity.checked)
        if entity is not None:
            name = entity.name
    slug = platform.slug if platform else request.platform_slug
    return Recipient((name,), "", None, warning=(
        f"the directory has no postal address for {name}: the letter names the addressee "
        f"only; add the address to platforms/{slug}.toml (docs/platforms.md) before posting"))


@dataclass(frozen=True)
class LetterPdf:
    """A letter as a PDF: its bytes, their SHA-256 and the name to save it as."""

    ref: str
    data: bytes
    sha256: str
    letter_date: date
    stored: bool  # the exact PDF kept when the letter was posted, not made again
    recipient: Recipient | None  # None for a stored PDF
    warnings: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.ref}-{self.letter_date.isoformat()}.pdf"


def make_pdf(ws: Workspace, session: Session, request: Request, message: Message,
             letter_date: date, language: str | None = None) -> LetterPdf:
    """The PDF of *message* dated *letter_date*: the same facts give the same bytes."""
    check_engine()  # before rendering: a missing font is said first
    letter = render_message(ws, session, request, message, letter_date, language,
                            medium="print")
    org, layout = ws.settings.organisation, ws.settings.letters
    recipient = postal_recipient(ws.platforms.get(request.platform_slug), request)
    case = session.get(Case, request.case_id)
    paper = PaperLetter(
        language=letter.template.language, subject=letter.rendered.subject,
        text=letter.rendered.text, sender_name=org.name,
        sender_address=address_lines(org.address), sender_email=org.email,
        recipient_lines=recipient.lines, letter_date=letter_date, ref=request.ref,
        matter=case.title if case else "", place=layout.place, paper=layout.paper,
        window=layout.address_window)
    data = letter_pdf(paper)
    warnings = [recipient.warning] if recipient.warning else []
    if not template_uses(letter.template, "medium"):
        warnings.append(f"template {letter.template.filename} writes its own heading for "
                        "email; on paper the page lays one out as well: put the heading "
                        "inside {% if medium == \"email\" %} (docs/templates.md)")
    return LetterPdf(request.ref, data, hashlib.sha256(data).hexdigest(), letter_date, False,
                     recipient, tuple(warnings))


def stored_pdf(session: Session, message: Message) -> Document | None:
    """The PDF kept when *message* was marked sent by post or fax, if there is one."""
    return session.exec(select(Document).where(
        Document.message_id == message.id, Document.role == DocumentRole.LETTER)
        .order_by(col(Document.id))).first()


def request_pdf(ws: Workspace, ref: str, today: date, language: str | None = None) -> LetterPdf:
    """The PDF of request *ref*'s current letter: the draft dated *today*, else the last
    letter sent: as posted (the stored PDF), or made again dated the day it went out.

    *language*: the draft in another of its template's languages (a preview).
    """
    with transaction(ws.engine) as session:
        request = get_request(session, ref)
        messages = request_messages(session, request)
        sent = sent_letters(messages)
        message = pending_letter(messages) or (sent[-1] if sent else None)
        if message is None:
            raise StateError(f"{request.ref} has no letter")
        if message.status == "sent" and language is None:
            kept = stored_pdf(session, message)
            if kept is not None:
                assert message.occurred_at is not None
                return LetterPdf(request.ref, bytes(kept.data), kept.sha256,
                                 clock.local_date(message.occurred_at, ws.settings.tz), True,
                                 None)
        if message.status == "sent" and not message.template:
            raise StateError(f"the last letter of {request.ref} was written in a mail client, "
                             "not from a template: there is no letter to lay out on paper")
        on = today if message.status != "sent" or message.occurred_at is None else \
            clock.local_date(message.occurred_at, ws.settings.tz)
        return make_pdf(ws, session, request, message, on, language)


def posted_channel(channel: str) -> bool:
    """Does a letter sent on *channel* go on paper (its PDF is kept when marked sent)?"""
    return channel in (Channel.POST, Channel.FAX)
