"""Turn a rendered letter into the exact bytes of an email (pure: no I/O, time passed in)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from tracker.core.tags import subject_with_tag
from tracker.mail.addresses import check_address
from tracker.mail.headers import check_header_value


class Letter(Protocol):
    """What an email is made of: a rendered letter's one-line subject and its text."""

    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class Outgoing:
    """An email ready to go: its bytes and the facts the database keeps about it."""

    raw: bytes
    sha256: str
    message_id: str
    subject: str
    sender: str
    recipients: tuple[str, ...]
    headers: dict[str, str]


def new_message_id(ref: str, domain: str) -> str:
    """``<hc-2026-0007.5f3a...@org.example>`` on the organisation's own domain."""
    # make_msgid without domain would call getfqdn() and leak the machine's host name.
    return f"<{ref.lower()}.{secrets.token_hex(10)}@{domain}>"


def build_email(
    *,
    ref: str,
    letter: Letter,
    sender_name: str,
    sender: str,
    recipient: str,
    reply_to: str | None,
    message_id: str,
    date: datetime,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
) -> Outgoing:
    """Compose the letter as a text/plain UTF-8 email with the reference in the subject."""
    to_addr = check_address("recipient", recipient)
    from_addr = check_address("[organisation] email", sender)
    subject = check_header_value("subject", subject_with_tag(ref, letter.subject))
    check_header_value("[organisation] name", sender_name)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=sender_name, addr_spec=from_addr)
    msg["To"] = to_addr
    if reply_to:
        msg["Reply-To"] = Address(display_name=sender_name,
                                  addr_spec=check_address("reply_to", reply_to))
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    msg["X-Tracker-Ref"] = ref
    msg.set_content(letter.text, charset="utf-8", cte="quoted-printable")
    raw = msg.as_bytes(policy=policy.SMTP)
    headers = {k: str(v) for k, v in msg.items()}
    return Outgoing(
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        message_id=message_id,
        subject=subject,
        sender=from_addr,
        recipients=(to_addr,),
        headers=headers,
    )
