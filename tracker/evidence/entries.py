"""What a bundle is made of: the requests read from the database, and their messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from tracker.core import clock
from tracker.core.deadlines import DeadlineRule
from tracker.mail.attachments import Attachment
from tracker.services.facts import StatusRow
from tracker.store.models import Case, Document, Event, Message, Request


@dataclass(frozen=True)
class RequestEvidence:
    """One request as read from the database: everything its part of the bundle is made of."""

    request: Request
    case: Case | None
    platform_name: str
    messages: tuple[Message, ...]  # letters sent (or being sent) and replies, in time order
    events: tuple[Event, ...]
    rule: DeadlineRule
    wait: clock.Wait
    row: StatusRow
    documents: tuple[Document, ...] = ()  # posted PDFs and receipts, each of a letter


@dataclass(frozen=True)
class BundleContext:
    """What the whole bundle shares: who made it, as of which day, in which time zone."""

    generated_by: str
    organisation: str
    as_of: date
    tz: ZoneInfo


@dataclass(frozen=True)
class MessageEntry:
    """One message as it goes into the bundle: its number, file, text and attachments."""

    number: int
    message: Message
    raw: bytes | None
    path: str | None
    text: str = ""
    headers: dict[str, list[str]] = field(default_factory=dict)
    attachments: tuple[tuple[Attachment, str], ...] = ()  # with its path in the bundle
    problems: tuple[str, ...] = ()
    documents: tuple[tuple[Document, str], ...] = ()  # kept with a letter, with its path

    @property
    def no_file_reason(self) -> str:
        """Why a message has no file in the bundle (only meaningful when ``path`` is None)."""
        if self.message.direction == "in" and self.message.channel == "manual":
            return "recorded by hand without a file"
        return "no bytes stored for this message"


@dataclass(frozen=True)
class Story:
    """One request as the bundle tells it: its messages, and the one that answered it."""

    item: RequestEvidence
    entries: tuple[MessageEntry, ...]
    answer: MessageEntry | None  # the reply that closed the current wait, if it is closed
