"""The database tables.

Times are stored in UTC and come back timezone-aware; local dates (the organisation's calendar)
are derived by the clock, never stored twice. Raw message bytes are kept exactly as sent or
received, with their SHA-256, because they are evidence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Store aware datetimes as naive UTC (SQLite has no time zones); return them aware."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json() -> Any:
    return Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


def _when(nullable: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class State(StrEnum):
    DRAFT = "draft"
    AWAITING = "awaiting"
    ACKNOWLEDGED = "acknowledged"
    ANSWERED = "answered"
    CLOSED = "closed"


class Resolution(StrEnum):
    ANSWERED = "answered"
    PARTIAL = "partial"
    REFUSED = "refused"
    NO_RESPONSE = "no-response"
    WITHDRAWN = "withdrawn"


class Channel(StrEnum):
    EMAIL = "email"
    WEBFORM = "webform"
    POST = "post"
    FAX = "fax"


class Platform(SQLModel, table=True):
    """A directory entry as it was when a request was made to it (a snapshot, for evidence)."""

    slug: str = Field(primary_key=True, max_length=64)
    name: str
    record: dict[str, Any] = _json()
    updated_at: datetime = _when()


class Case(SQLModel, table=True):
    """The incident behind one or more requests: what happened, when, to which account."""

    id: int | None = Field(default=None, primary_key=True)
    title: str
    account: str = ""
    incident_on: date | None = None
    facts: dict[str, Any] = _json()  # variables shared by the case's letters
    created_at: datetime = _when()


class Request(SQLModel, table=True):
    """One formal inquiry of a case to one platform."""

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True, max_length=40)
    case_id: int = Field(foreign_key="case.id", index=True)
    platform_slug: str = Field(foreign_key="platform.slug", index=True)
    template: str
    language: str
    recipient: str = ""
    channel: str = Channel.EMAIL
    deadline_rule: str
    due_on: date | None = None
    state: str = Field(default=State.DRAFT, index=True)
    resolution: str | None = None
    variables: dict[str, Any] = _json()
    extensions: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON,
                                             nullable=False)
    delivery_failed: bool = False  # a permanent bounce for the recipient of a letter
    tickets: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    created_at: datetime = _when()
    updated_at: datetime = _when()


class Message(SQLModel, table=True):
    """An outbound letter (draft or sent) or an inbound message, with its exact bytes.

    Inbound mail from IMAP is keyed by (account, folder, uidvalidity, uid): the same message can
    never be stored twice from the same place, and a rerun after a crash finds what it stored.
    """

    __table_args__ = (
        sa.UniqueConstraint("account", "folder", "uidvalidity", "uid", name="uq_message_source"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, foreign_key="request.id", index=True)
    direction: str  # "out" | "in"
    status: str  # out: "draft" | "sending" | "sent" | "discarded"; in: "received"
    kind: str  # out: the template kind ("initial", "follow-up"); in: "reply", "auto_reply", ...
    template: str = ""
    language: str = ""
    variables: dict[str, Any] = _json()
    channel: str = Channel.EMAIL
    subject: str = ""
    from_addr: str = ""
    to_addrs: str = ""
    message_id: str = Field(default="", index=True)
    in_reply_to: str = ""
    references: str = ""
    headers: dict[str, Any] = _json()
    raw: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    sha256: str = Field(default="", index=True)
    # When it crossed: a letter, when it left (sent or marked sent); inbound mail, when it arrived.
    occurred_at: datetime | None = _when(nullable=True)
    note: str = ""
    created_at: datetime = _when()
    # Inbound only: where it came from, how tracker judged it, and how it was matched.
    account: str | None = None
    folder: str | None = None
    uidvalidity: int | None = Field(default=None, sa_type=sa.BigInteger)
    uid: int | None = Field(default=None, sa_type=sa.BigInteger)
    authenticity: str = ""  # "verified" | "suspicious" | "unverified"
    reasons: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    match_rule: str = ""  # in-reply-to | address-tag | subject-tag | ticket | sender-domain | ...
    # Which rule let it count for its request (see tracker.admission); "" while it does not.
    admission: str = ""
    hold: str = ""  # why it waits for a person (triage "pending"), in one line
    triage: str = Field(default="", index=True)  # "" | "pending" | "linked" | "dismissed"
    ticket: str = ""
    extension: str = ""  # an extension notice's claimed period ("2m"), when it says one
    bounced: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    defects: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    # Outbound by post: the carrier's tracking number (``RR123456789DE``) as staff entered it.
    tracking: str = ""


class DocumentRole(StrEnum):
    LETTER = "letter"  # the exact PDF of a letter that went by post or fax
    RECEIPT = "receipt"  # proof it was submitted or delivered: saved page, screenshot, scan


class Document(SQLModel, table=True):
    """A file kept as evidence of a letter that left another way than by email.

    The bytes are stored exactly, with their SHA-256; the name a person gave the file is kept
    only as a label (made safe first) and never used as a path.
    """

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id")  # the letter
    role: str  # DocumentRole
    media_type: str  # application/pdf | image/png | image/jpeg | message/rfc822 | text/plain
    label: str = ""
    size: int = 0
    sha256: str = Field(default="", index=True)
    data: bytes = Field(sa_type=sa.LargeBinary)
    note: str = ""
    added_by: str = ""
    added_at: datetime = _when()


class ApprovedDomain(SQLModel, table=True):
    """A sender domain a person approved for a platform: its mail may answer for the platform.

    A platform's directory record lists its reply domains; help desks often answer from others
    (``zoom.zendesk.com``). Only a person can add one, when linking a message from the inbox,
    and the approval is recorded as an event.
    """

    __table_args__ = (sa.UniqueConstraint("platform_slug", "domain", name="uq_approved_domain"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_slug: str = Field(foreign_key="platform.slug", index=True)
    domain: str
    approved_by: str
    approved_at: datetime = _when()
    note: str = ""


class FolderState(SQLModel, table=True):
    """How far one folder of one account has been read: advanced with the messages it covers."""

    __table_args__ = (sa.UniqueConstraint("account", "folder", name="uq_folder_state"),)

    id: int | None = Field(default=None, primary_key=True)
    account: str
    folder: str
    uidvalidity: int = Field(sa_type=sa.BigInteger)
    last_uid: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = _when()


class Event(SQLModel, table=True):
    """Append-only log: one row for every change of a request, with time and actor."""

    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(default=None, foreign_key="request.id", index=True)
    message_id: int | None = Field(default=None, foreign_key="message.id")
    at: datetime = _when()
    actor: str
    kind: str
    from_state: str | None = None
    to_state: str | None = None
    data: dict[str, Any] = _json()


class ScheduleRun(SQLModel, table=True):
    """One run of a scheduled job for one period: the unique key makes it happen once."""

    __table_args__ = (sa.UniqueConstraint("job", "period", name="uq_schedule_run"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str  # "weekly-report" | "reminders"
    period: str  # "2026-W48" for a weekly job, "2026-11-25" for a daily one
    status: str  # "running" | "done" | "failed"
    started_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)
    detail: str = ""


class Role(StrEnum):
    """What a person may do in the web face: read, change requests, or also run tracker."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


class User(SQLModel, table=True):
    """A person who signs in to the web face. The password is kept only as an Argon2id hash."""

    __tablename__ = "person"  # "user" is a reserved word in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=64)
    role: str = Role.VIEWER
    password_hash: str
    disabled: bool = False
    language: str = "en"  # the interface language: "en" or "zh-Hans"
    totp_secret: str = ""  # base32; set when the person turned the second factor on
    created_at: datetime = _when()
    password_changed_at: datetime = _when()


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    copy of the database does not let anyone in."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="person.id", index=True)
    csrf_token: str
    created_at: datetime = _when()
    last_seen_at: datetime = _when()
    address: str = ""


class LoginAttempt(SQLModel, table=True):
    """A failed sign-in, for the rate limit per name and per address (kept one day)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=64)
    address: str = Field(index=True, max_length=64)
    at: datetime = _when()


class MessageText(SQLModel, table=True):
    """The words of a stored message for the search: its decoded subject and text part.

    Kept beside the message, not in it: the bytes are evidence and stay as they are, while this
    is read from them again whenever they change (a letter gets its bytes when it is sent; the
    sha256 says which bytes the text was read from). SQLite indexes it with an FTS5 trigram
    table (``messagesearch``, kept in step by triggers); PostgreSQL with pg_trgm when it can.
    """

    message_id: int = Field(foreign_key="message.id", primary_key=True)
    sha256: str = ""
    subject: str = ""
    body: str = ""
