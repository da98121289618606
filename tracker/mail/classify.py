"""What kind of inbound message is this: an answer, an acknowledgement, a bounce, a delay, an
extension notice, or the platform asking us for information?

Pure functions over a ``ParsedMessage``. Delivery failures come first: an RFC 3464 report, then
``flufl.bounce``'s detectors for the many MTAs that ignore RFC 3464. Then the evidence is
weighed by strength. Strong markers (RFC 3834 ``Auto-Submitted``, the vendors' auto-responder
headers, read receipts, delivery reports) decide that a machine wrote it. Weak ones (subject
wording, ``Precedence: bulk``, ``X-Auto-Response-Suppress``, a no-reply sender, an
acknowledgement's opening lines) only count together with what the platform's own text says
(``tracker.mail.wording``; quotes of our letter cut off). When they conflict, or only the subject
speaks, ``doubt`` says so in one line and a person decides: a human answer is never silently
filed away as an acknowledgement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from typing import Literal

from flufl.bounce import all_failures

from tracker.core.tags import REF_RE
from tracker.mail import prose, wording
from tracker.mail.decoding import decode_bytes
from tracker.mail.parsing import ParsedMessage

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


_TICKET_NUMBER = re.compile(r"[A-Za-z]{1,10}-\d{3,}|\d{3,}")


def ticket_key(ticket: str) -> str:
    """What identifies a ticket, however it is written: ``Ticket #0123``, ``[#0123]``,
    ``Request #0123`` and a bare ``0123`` typed from a web form's confirmation are one ticket
    (``0123``); a Salesforce thread token is itself; other text is compared as written."""
    ticket = ticket.strip()
    if _SALESFORCE.fullmatch(ticket):
        return ticket
    found = _TICKET_NUMBER.findall(ticket)
    return found[-1].upper() if len(found) == 1 else " ".join(ticket.upper().split())


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


# --- automatic replies, and what the platform's own words say ---------------------------------

_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|fwd?|wg|tr|答复|回复|回覆|轉寄|转发)\s*[:：]", re.I)
# RFC 3834's header and the vendors' own: each is set only by an automatic responder.
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-AutoReply-From",
                 "X-Mail-Autoreply")
_NO_REPLY = re.compile(r"(^|[._+-])(no[-_.]?reply|do[-_.]?not[-_.]?reply)([._+-]|@)", re.I)
_OPENING = 600  # characters of the platform's text where an acknowledgement says what it is
_SUBJECT_ACK = prose.union(wording.SUBJECT_ACK_EN, wording.SUBJECT_ACK_ZH)
_ACK = prose.union(wording.ACK_EN, wording.ACK_ZH)
_ANSWER = prose.union(wording.ANSWER_EN, wording.ANSWER_ZH)
_INFO = prose.union(wording.INFO_EN, wording.INFO_ZH)
_EXTENSION = prose.union(wording.EXTENSION_EN, wording.EXTENSION_ZH)
_HEDGED = prose.union(wording.HEDGES_EN, wording.HEDGES_ZH)
_NOT_ASKING = (*_HEDGED, *prose.union(wording.NOT_ASKING_EN, wording.NOT_ASKING_ZH))
_CLAIMS = prose.union(wording.PERIOD_EN, wording.PERIOD_ZH)  # is any period claimed at all?
_PERIODS = ((wording.PERIOD_EN, wording.PERIOD_CONTEXT_EN),
            (wording.PERIOD_ZH, wording.PERIOD_CONTEXT_ZH))


def _strong_markers(parsed: ParsedMessage) -> list[str]:
    """Markers that only a machine writing on its own sets: each decides alone."""
    msg, head = parsed.message, parsed.headers
    strong: list[str] = []
    keyword = re.split(r"[\s;(]", head.auto_submitted, maxsplit=1)[0]
    if keyword not in ("", "no"):
        strong.append(f"Auto-Submitted: {head.auto_submitted} (RFC 3834)")
    for name in _AUTO_HEADERS:
        value = str(msg.get(name, "")).strip()
        if value and value.lower() not in ("no", "false", "0"):
            strong.append(f"{name}: {value}")
    if str(msg.get("x-autogenerated", "")).strip().lower() == "reply":
        strong.append("X-Autogenerated: Reply")
    if str(msg.get("precedence", "")).strip().lower() == "auto_reply":
        strong.append("Precedence: auto_reply")
    if head.report_type == "disposition-notification":
        strong.append("read receipt (RFC 8098 disposition notification)")
    elif head.content_type == "multipart/report":
        strong.append(f"delivery report without failures (report-type={head.report_type})")
    return strong


def _header_hints(parsed: ParsedMessage) -> list[str]:
    """Headers that machines set on answers too (ticket systems, Exchange): never alone."""
    msg = parsed.message
    hints = []
    precedence = str(msg.get("precedence", "")).strip().lower()
    if precedence in ("bulk", "junk", "list"):
        hints.append(f"Precedence: {precedence} (weak: ticket systems set it on answers too)")
    if msg.get("x-auto-response-suppress"):
        hints.append("X-Auto-Response-Suppress present (weak: Exchange sets it on many mails)")
    if _NO_REPLY.search(parsed.headers.from_addr.split("@", 1)[0] + "@"):
        hints.append(f"no-reply sender {parsed.headers.from_addr} (weak)")
    return hints


@dataclass(frozen=True)
class _Reading:
    """What the words say: for each signal the phrase that says it, or "" when none does."""

    subject_ack: str = ""
    ack: str = ""
    answer: str = ""
    extension: str = ""
    period: str | None = None
    information: str = ""

    def reasons(self) -> list[str]:
        said = [("subject says", self.subject_ack), ("reads like an acknowledgement:", self.ack),
                ("reads like an answer:", self.answer),
                ("reads like an extension notice:", self.extension),
                ("asks for information:", self.information)]
        found = [f"{what} {words!r}" for what, words in said if words]
        if self.extension:
            found.append(f"extension claimed: {self.period or 'no period given'}")
        return found


def _found(patterns: tuple[re.Pattern[str], ...], items: list[str], low: list[str],
           skip: tuple[re.Pattern[str], ...] = ()) -> str:
    """The words of the first of *items* (lowercased: *low*) that says what *patterns* mean."""
    hit = prose.first_match(patterns, low, skip)
    return prose.phrase(hit[1], items[hit[0]]) if hit else ""


def _extension(items: list[str], low: list[str]) -> tuple[str, str | None]:
    """The first extension notice among *items* and the first period one of them claims."""
    said, period = "", None
    whole = "\n".join(low)
    if not any(prose.could_match(p, whole) and p.search(whole)
               for p in (*_EXTENSION, *_CLAIMS)):
        return said, period  # the usual case, found in four searches
    for original, sentence in zip(items, low, strict=True):
        if any(p.search(sentence) for p in _HEDGED):
            continue
        cue = next((m for p in _EXTENSION if (m := p.search(sentence))), None)
        claim = next((m for patterns, context in _PERIODS if context.search(sentence)
                      for p in patterns if (m := p.search(sentence))), None)
        if claim and period is None:
            period = wording.period_rule(claim["n"], claim["u"])
        if (hit := claim or cue) and not said:
            said = prose.phrase(hit, original)
        if said and period:
            break
    return said, period


def _read(parsed: ParsedMessage) -> _Reading:
    """Read the subject and the platform's own text (quotes of our letter cut off)."""
    subject = parsed.headers.subject
    subject_ack = ""
    if not _REPLY_PREFIX.match(subject):  # "Re: Automatic reply: ..." is a person answering
        match = next((m for p in _SUBJECT_ACK if (m := p.search(subject.lower()))), None)
        subject_ack = prose.phrase(match, subject) if match else ""
    own = prose.own_text(parsed.text)
    items = prose.sentences(own)
    low = [s.lower() for s in items]  # the tables are written in lower case
    opening = prose.sentences(own[:_OPENING])
    extension, period = _extension(items, low)
    return _Reading(
        subject_ack=subject_ack,
        ack=_found(_ACK, opening, [s.lower() for s in opening]),
        answer=_found(_ANSWER, items, low, _HEDGED),
        extension=extension, period=period,
        information=_found(_INFO, items, low, _NOT_ASKING),
    )


def _weigh(strong: str, hinted: bool, said: _Reading) -> tuple[Kind, str]:
    """The kind and, when the evidence conflicts or is thin, the one line why a person decides.

    An extension notice or a request for information is a next step for staff whatever else
    the message says. A strong marker makes the rest automatic. Wording and weak headers
    decide only together. Against answer wording the kind stays what the marker or the
    acknowledgement's wording claims, and the doubt holds the message for a person.
    """
    answer = f'an answer ("{said.answer}")' if said.answer else ""
    if said.extension:
        notice = f'reads like an extension notice ("{said.extension}")'
        if said.information:
            return "extension", f'{notice} and also like a request for information ' \
                                f'("{said.information}")'
        return "extension", f"{notice} but also like {answer}" if answer else ""
    if said.information:
        request = f'reads like a request for information ("{said.information}")'
        return "information_request", f"{request} but also like {answer}" if answer else ""
    if strong:
        return "auto_reply", f"marked automatic ({strong}) but reads like {answer}" if answer \
            else ""
    ack = said.ack or said.subject_ack
    if answer:
        if ack:
            return "auto_reply", f'reads like an acknowledgement ("{ack}") but also like {answer}'
        return "reply", ""
    if said.ack or (said.subject_ack and hinted):
        return "auto_reply", ""
    if said.subject_ack:
        return "auto_reply", (f'only the subject reads like an acknowledgement '
                              f'("{said.subject_ack}"): no automatic-reply header, and the text '
                              "does not read like one")
    return "reply", ""


def classify(parsed: ParsedMessage) -> Classification:
    """What *parsed* is: a bounce, a delay, an acknowledgement, an answer, an extension notice
    or a request for information, with the evidence, and a doubt when a person must decide."""
    delivery = _delivery_kind(parsed)
    if delivery is not None:
        return delivery
    ticket = extract_ticket(parsed.headers.subject, parsed.text)
    strong, hints, said = _strong_markers(parsed), _header_hints(parsed), _read(parsed)
    kind, doubt = _weigh(strong[0] if strong else "", bool(hints), said)
    doubt = prose.one_line(doubt)  # a header value in it may hold anything
    reasons = (*(strong or ["no automatic-reply or bounce marker"]), *hints, *said.reasons())
    return Classification(kind, reasons, ticket=ticket, doubt=doubt,
                          extension=said.period if kind == "extension" else None)
