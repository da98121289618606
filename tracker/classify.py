"""What kind of inbound message is this: a reply, an automatic reply, a bounce or a delay notice?

Pure functions over a ``ParsedMessage``. The order of the checks is the order of the evidence's
strength: an RFC 3464 delivery report first, then ``flufl.bounce``'s detectors for the many MTAs
that ignore RFC 3464, then the RFC 3834 automatic-reply markers, then subject wording. Whatever
is left is a reply: when in doubt a person reads it, so a human answer is never filed away as
an out-of-office.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from typing import Literal

from flufl.bounce import all_failures

from tracker.parsing import ParsedMessage, decode_bytes
from tracker.tags import REF_RE

__all__ = ["Classification", "Kind", "classify", "extract_ticket"]

Kind = Literal["reply", "auto_reply", "bounce", "delivery_delay", "extension",
               "information_request"]


@dataclass(frozen=True)
class Classification:
    """The kind of a message, why, and what it tells about tickets and failed deliveries."""

    kind: Kind
    reasons: tuple[str, ...]
    bounced_recipients: tuple[str, ...] = ()
    ticket: str | None = None
    original_message_ids: tuple[str, ...] = ()
    doubt: str = ""  # why a person must decide what kind it is ("" when the evidence decides)
    extension: str | None = None  # for an extension notice: the period claimed ("2m", "45d")


# --- platform ticket numbers -------------------------------------------------------------------

_SALESFORCE = re.compile(r"ref:_?00D[A-Za-z0-9]+\._?500[A-Za-z0-9]+:ref|thread::[\w-]{10,}::")
_BRACKET = re.compile(r"\[#([A-Za-z]{1,10}-\d{3,}|\d{3,})\]")
_KIND_NUMBER = re.compile(
    r"(?<![\w-])(?P<kind>ticket|request|case|工单|工單|请求|請求|案例|案件)"
    r"\s*\(?\s*(?:#|[:：]\s*#?|(?:number|no\.?|nr\.?|id|编号|編號|号|號)\s*[:：#.]?)"
    r"\s*(?P<num>\d{3,})(?![\d-])",
    re.IGNORECASE,
)
_KIND_LABEL = {"工单": "ticket", "工單": "ticket", "请求": "request", "請求": "request",
               "案例": "case", "案件": "case"}  # fmt: skip


def _ticket_in(text: str) -> str | None:
    if match := _SALESFORCE.search(text):
        return match.group(0)
    for match in _BRACKET.finditer(text):
        if not REF_RE.fullmatch(match.group(1)):
            return "#" + match.group(1).upper()
    if match := _KIND_NUMBER.search(text):
        kind = _KIND_LABEL.get(match["kind"], match["kind"].lower())
        return f"Case: {match['num']}" if kind == "case" else f"{kind.title()} #{match['num']}"
    return None


def extract_ticket(subject: str, text: str = "") -> str | None:
    """The platform's own ticket tag, normalised ("Ticket #123", "Case: 0123", "Request #45").

    The subject is searched first, then the body without quoted lines: a quoted copy of our
    letter is not the platform speaking. Our own ``[HC-2026-0007]`` tags never count.
    """
    unquoted = "\n".join(line for line in text[:50_000].splitlines() if not line.startswith(">"))
    return _ticket_in(subject) or _ticket_in(unquoted)


# --- bounces and delays ------------------------------------------------------------------------

_MAIL_SYSTEM = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|mail delivery (failed|failure)|"
    r"failure notice|returned mail|delivery failure|could not be delivered|delivery has failed|"
    r"non-?delivery|delayed mail|delivery delayed|warning: could not send|"
    r"退信|投递失败|未能送达|無法傳遞|延迟投递|延遲投遞",
    re.I,
)
_DELAY_SUBJECT = re.compile(r"delay|still being retried|warning: could not send|延迟|延遲", re.I)
_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_BODY_MESSAGE_ID = re.compile(r"^message-id:\s*(<[^<>\s]+>)", re.I | re.M)


def _status_blocks(part: Message) -> list[Message]:
    """Per-recipient field blocks of a message/delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [b for b in payload if isinstance(b, Message)]
    else:  # e.g. transfer-encoded, so the parser left it as text
        data = part.get_payload(decode=True)
        text = decode_bytes(data if isinstance(data, bytes) else b"", "utf-8")
        blocks = [HeaderParser().parsestr(c.strip()) for c in re.split(r"\r?\n\s*\r?\n", text)]
    # The first block holds per-message fields; recipients are recognised by their fields.
    return [b for b in blocks if b.get("final-recipient") or b.get("original-recipient")]


def _recipient(block: Message) -> str:
    for name in ("original-recipient", "final-recipient"):
        value = str(block.get(name, "")).split(";", 1)[-1].strip().strip("<>").lower()
        if "@" in value:
            return value
    return ""


def _dsn_failures(msg: Message) -> tuple[list[str], list[str], list[str], int]:
    """RFC 3464 (and RFC 6533 global) reports: (permanent, delayed, reasons, recipients seen)."""
    permanent: list[str] = []
    delayed: list[str] = []
    reasons: list[str] = []
    seen = 0
    for part in msg.walk():
        if part.get_content_type() not in _STATUS_TYPES:
            continue
        blocks = _status_blocks(part)
        seen += len(blocks)
        for block in blocks:
            action = str(block.get("action", "")).strip().lower()
            status = str(block.get("status", "")).strip().split(" ", 1)[0]
            addr = _recipient(block)
            if not addr:
                continue
            if action.startswith(("failed", "error")) or (not action and status[:1] == "5"):
                permanent.append(addr)
                reasons.append(f"RFC 3464 report: {addr} failed permanently (Status {status})")
            elif action.startswith("delayed") or (not action and status[:1] == "4"):
                delayed.append(addr)
                reasons.append(f"RFC 3464 report: delivery to {addr} delayed (Status {status})")
    return permanent, delayed, reasons, seen


def _from_mail_system(parsed: ParsedMessage) -> bool:
    """Was this sent by a mail server rather than a person? (Headers only, not the subject.)"""
    msg = parsed.message
    return bool(
        _MAIL_SYSTEM.match(parsed.headers.from_addr)
        or str(msg.get("return-path", "")).strip() == "<>"
        or msg.get("x-failed-recipients")
        or parsed.headers.content_type == "multipart/report"
    )


def _bounce_subject(subject: str) -> bool:
    # "Re: Undeliverable: ..." is a person writing about a bounce, not a bounce.
    return bool(_BOUNCE_SUBJECT.search(subject)) and not _REPLY_PREFIX.match(subject)


def _flufl_failures(msg: Message) -> tuple[list[str], list[str], list[str]]:
    try:
        temporary, permanent = all_failures(msg)
    except Exception as exc:  # a detector crashing on odd mail must not lose the message
        return [], [], [f"flufl.bounce failed: {type(exc).__name__}"]
    def decoded(found: frozenset[bytes]) -> list[str]:
        return sorted({a.decode("ascii", "replace").strip("<>").lower() for a in found})
    perm, temp = decoded(permanent), decoded(temporary)
    reasons = [f"flufl.bounce: {a} failed permanently" for a in perm]
    reasons += [f"flufl.bounce: delivery to {a} delayed" for a in temp]
    return perm, temp, reasons


def _original_ids(parsed: ParsedMessage) -> tuple[str, ...]:
    """Message-IDs of the returned original, so the bounce can be matched to our letter."""
    found: list[str] = []
    for part in parsed.message.walk():
        ctype = part.get_content_type()
        value = ""
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                value = str(inner[0].get("message-id", ""))
        elif ctype == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            text = decode_bytes(data if isinstance(data, bytes) else b"", "utf-8")
            value = str(HeaderParser().parsestr(text).get("message-id", ""))
        found.extend(re.findall(r"<[^<>\s]+>", value))
    found.extend(_BODY_MESSAGE_ID.findall(parsed.text))  # Exim and qmail copy it into the text
    return tuple(dict.fromkeys(found))


def _delivery_kind(parsed: ParsedMessage) -> Classification | None:
    subject = parsed.headers.subject
    permanent, delayed, reasons, seen = _dsn_failures(parsed.message)
    from_mail_system = _from_mail_system(parsed)
    # flufl.bounce's heuristics read free text: never run them on what a person wrote.
    if not (permanent or delayed or seen) and (from_mail_system or _bounce_subject(subject)):
        permanent, delayed, reasons = _flufl_failures(parsed.message)
    ticket = extract_ticket(subject)
    if permanent or delayed:
        kind: Kind = "bounce" if permanent else "delivery_delay"
        addrs = tuple(dict.fromkeys(permanent or delayed))
        return Classification(kind, tuple(reasons), addrs, ticket, _original_ids(parsed))
    if seen or not from_mail_system or not _bounce_subject(subject):
        return None
    # A mail server says delivery failed but no detector could read for whom: keep it a bounce
    # (or a delay) so that a person looks, rather than file it as an answer.
    reasons.append("delivery failure notice from a mail system; no recipient readable")
    kind = "delivery_delay" if _DELAY_SUBJECT.search(subject) else "bounce"
    return Classification(kind, tuple(reasons), (), ticket, _original_ids(parsed))


# --- automatic replies -------------------------------------------------------------------------

_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|fwd?|wg|tr|答复|回复|回覆|轉寄|转发)\s*[:：]", re.I)
_AUTO_SUBJECTS = [
    re.compile(p, re.I)
    for p in (
        r"^\s*(automatic reply|auto[- ]?reply|auto[- ]?response|autoresponse|auto)\s*[:：]",
        r"\bout of (the )?office\b",
        r"\bwe('ve| have)? received your (request|message|inquiry|enquiry|e-?mail|ticket)\b",
        r"\byour (request|ticket|case|message|inquiry|enquiry)\b.{0,40}\b(has been|was|is)"
        r" (received|created|submitted|opened|logged)\b",
        r"^\s*(request|ticket|case)\b[^:]{0,20}\b(received|created|opened|logged)\b",
        r"^\s*thank(s| you) for (contacting|your (message|e-?mail|request|inquiry))\b",
        r"^\s*(abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática)",
        r"自动回复|自動回覆|自動回復|自动答复|外出(回复|中)|不在办公室|休假中|"
        r"(我们|我們)?已(收到|接獲|接获)(您|你)的(请求|請求|邮件|郵件|来信|來信|来函|申请|申請)",
    )
]


def _auto_reply_reasons(parsed: ParsedMessage) -> tuple[list[str], list[str]]:
    """(strong reasons, weak hints) that a message was sent by a machine on its own."""
    msg, head = parsed.message, parsed.headers
    strong: list[str] = []
    keyword = re.split(r"[\s;(]", head.auto_submitted, maxsplit=1)[0]
    if keyword not in ("", "no"):
        strong.append(f"Auto-Submitted: {head.auto_submitted} (RFC 3834)")
    for name in ("X-Autoreply", "X-Autorespond"):
        value = str(msg.get(name, "")).strip()
        if value and value.lower() not in ("no", "false", "0"):
            strong.append(f"{name}: {value}")
    precedence = str(msg.get("precedence", "")).strip().lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        strong.append(f"Precedence: {precedence}")
    if head.report_type == "disposition-notification":
        strong.append("read receipt (RFC 8098 disposition notification)")
    elif head.content_type == "multipart/report":
        strong.append(f"delivery report without failures (report-type={head.report_type})")
    # A human answering our own auto-reply-titled mail writes "Re: Automatic reply: ...".
    if not _REPLY_PREFIX.match(head.subject):
        for pattern in _AUTO_SUBJECTS:
            if match := pattern.search(head.subject):
                strong.append(f"subject says {match.group(0).strip()!r}")
                break
    weak = []
    if msg.get("x-auto-response-suppress"):
        weak.append("X-Auto-Response-Suppress present (weak: Exchange sets it on many mails)")
    return strong, weak


def classify(parsed: ParsedMessage) -> Classification:
    """Decide whether *parsed* is a bounce, a delay notice, an automatic reply or a reply."""
    delivery = _delivery_kind(parsed)
    if delivery is not None:
        return delivery
    ticket = extract_ticket(parsed.headers.subject, parsed.text)
    strong, weak = _auto_reply_reasons(parsed)
    if strong:
        return Classification("auto_reply", tuple(strong + weak), ticket=ticket)
    return Classification("reply", ("no automatic-reply or bounce marker", *weak), ticket=ticket)
