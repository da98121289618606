"""Store one inbound message and let it move its request: shared by IMAP sync and import.

Called inside the caller's transaction, so a message, its effects on the request, its events and
the folder checkpoint that covers it commit together or not at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from tracker import clock
from tracker.authenticity import judge
from tracker.classify import classify
from tracker.events import record_event, record_message_event
from tracker.matching import Match, MatchIndex, is_own_letter, match_message
from tracker.models import Message, Request, State, utcnow
from tracker.parsing import ParsedMessage, parse_message
from tracker.records import get_request, pending_letter, request_messages, settle_state
from tracker.workspace import Workspace


@dataclass(frozen=True)
class Source:
    """Where a message was read: an IMAP folder (with UIDs) or an imported file."""

    account: str
    folder: str
    uidvalidity: int | None = None
    uid: int | None = None


@dataclass
class Counts:
    """What a sync or import did, for `--json` and the log."""

    screened: int = 0
    stored: int = 0
    duplicates: int = 0
    repaired: int = 0
    matched: int = 0
    replies: int = 0
    acknowledgements: int = 0
    bounces: int = 0
    delays: int = 0
    suspicious: int = 0
    unmatched: int = 0
    probable: int = 0
    letters: int = 0  # our own letters found in the sent folder
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items()}


def build_index(ws: Workspace, session: Session) -> MatchIndex:
    """Everything matching needs, read once per sync."""
    letters = {}
    for message_id, ref in session.exec(
        select(Message.message_id, Request.ref)
        .join(Request, col(Message.request_id) == col(Request.id))
        .where(Message.direction == "out", Message.message_id != "")
    ).all():
        letters[message_id.strip().lower()] = ref
    refs: set[str] = set()
    tickets: dict[str, str] = {}
    open_by_domain: dict[str, list[str]] = {}
    domains_of = {slug: p.reply_domains for slug, p in ws.platforms.items()}
    for ref, slug, state, request_tickets in session.exec(
        select(Request.ref, Request.platform_slug, Request.state, Request.tickets)
    ).all():
        refs.add(ref)
        for ticket in request_tickets:
            tickets[ticket] = ref
        if state not in (State.DRAFT, State.CLOSED):
            for domain in domains_of.get(slug, ()):
                open_by_domain.setdefault(domain.lower(), []).append(ref)
    org = ws.settings.organisation
    return MatchIndex(
        letters=letters, refs=frozenset(refs), tickets=tickets,
        open_by_domain={d: tuple(r) for d, r in open_by_domain.items()},
        platform_domains=frozenset(d.lower() for ds in domains_of.values() for d in ds),
        tag_secret=ws.tag_secret, reply_base=org.reply_to or org.email,
        own_addresses=frozenset(a.lower() for a in (org.email, org.reply_to) if a),
    )


def find_duplicate(session: Session, sha256: str, source: Source) -> Message | None:
    """A message already stored from this place, or with exactly these bytes."""
    if source.uid is not None:
        found = session.exec(select(Message).where(
            Message.account == source.account, Message.folder == source.folder,
            Message.uidvalidity == source.uidvalidity, Message.uid == source.uid)).first()
        if found is not None:
            return found
    return session.exec(select(Message).where(Message.sha256 == sha256)).first()


def store_message(ws: Workspace, session: Session, raw: bytes, source: Source,
                  received_at: datetime | None, index: MatchIndex, counts: Counts, *,
                  sent_folder: bool = False, now: datetime | None = None) -> Message | None:
    """Store *raw* if it concerns a request (or needs triage) and apply its effects."""
    now = now or utcnow()
    sha256 = hashlib.sha256(raw).hexdigest()
    duplicate = find_duplicate(session, sha256, source)
    if duplicate is not None:
        counts.duplicates += 1
        if source.uid is not None and (duplicate.uidvalidity, duplicate.uid, duplicate.folder) \
                != (source.uidvalidity, source.uid, source.folder) \
                and duplicate.account == source.account and duplicate.folder == source.folder:
            # The folder was renumbered (UIDVALIDITY changed): re-pair, never store twice.
            duplicate.uidvalidity, duplicate.uid = source.uidvalidity, source.uid
            session.add(duplicate)
            counts.repaired += 1
        return None
    parsed = parse_message(raw)
    if sent_folder:
        return _store_own_letter(ws, session, parsed, raw, sha256, source, received_at, index,
                                 counts, now)
    kind = classify(parsed)
    match = match_message(parsed.headers, index, ticket=kind.ticket,
                          original_ids=kind.original_message_ids)
    if not match.relevant:
        return None
    verdict = judge(raw, parsed.headers.from_addr.rpartition("@")[2],
                    ws.settings.imap.trusted_authserv_ids,
                    dkim_check=ws.settings.imap.dkim_verify)
    pending = match.probable or verdict.authenticity == "suspicious" or match.ref is None
    message = Message(
        direction="in", status="received", kind=kind.kind, channel="email",
        subject=parsed.headers.subject, from_addr=parsed.headers.from_addr,
        to_addrs=", ".join(parsed.headers.recipients), message_id=parsed.headers.message_id,
        in_reply_to=" ".join(parsed.headers.in_reply_to),
        references=" ".join(parsed.headers.references), raw=raw, sha256=sha256,
        sent_at=received_at or parsed.headers.date or now, created_at=now,
        account=source.account, folder=source.folder, uidvalidity=source.uidvalidity,
        uid=source.uid, authenticity=verdict.authenticity,
        reasons=[*match.reasons, *kind.reasons, *verdict.reasons], match_rule=match.rule,
        triage="pending" if pending else "", ticket=kind.ticket or "",
        bounced=list(kind.bounced_recipients), defects=list(parsed.defects),
    )
    counts.stored += 1
    counts.suspicious += verdict.authenticity == "suspicious"
    counts.probable += match.probable
    counts.replies += kind.kind == "reply"
    counts.acknowledgements += kind.kind == "auto_reply"
    counts.bounces += kind.kind == "bounce"
    counts.delays += kind.kind == "delivery_delay"
    if match.ref is None:
        counts.unmatched += 1
        record_message_event(session, message, "triage", "tracker", at=now,
                             reasons=list(match.reasons))
        return message
    counts.matched += 1
    request = get_request(session, match.ref)
    message.request_id = request.id
    apply_message(ws, session, request, message, match, now)
    return message


def apply_message(ws: Workspace, session: Session, request: Request, message: Message,
                  match: Match | None, now: datetime, actor: str = "tracker") -> None:
    """What an inbound message does to its request: state, tickets, delivery failure."""
    session.add(message)
    session.flush()
    if message.ticket and message.ticket not in request.tickets:
        request.tickets = [*request.tickets, message.ticket]
    rule = match.rule if match else "manual"
    if message.triage == "pending":
        why = "suspicious" if message.authenticity == "suspicious" else "probable match"
        record_event(session, request, "needs_review", actor, message=message, at=now,
                     message_kind=message.kind, rule=rule, why=why)
        return
    if message.kind == "bounce":
        recipients = {r.lower() for r in message.bounced}
        if not recipients or request.recipient.lower() in recipients:
            request.delivery_failed = True
        record_event(session, request, "bounced", actor, message=message, at=now, rule=rule,
                     recipients=message.bounced, delivery_failed=request.delivery_failed)
        return
    if message.kind == "delivery_delay":
        record_event(session, request, "delivery_delayed", actor, message=message, at=now,
                     rule=rule, recipients=message.bounced)
        return
    state = settle_state(ws, session, request, clock.local_date(now, ws.settings.tz))
    event = "reply_received" if message.kind == "reply" else "acknowledged"
    record_event(session, request, event, actor, to_state=state, message=message, at=now,
                 rule=rule, authenticity=message.authenticity)


def _store_own_letter(ws: Workspace, session: Session, parsed: ParsedMessage, raw: bytes,
                      sha256: str, source: Source, received_at: datetime | None,
                      index: MatchIndex, counts: Counts, now: datetime) -> Message | None:
    """A letter staff sent from their own mail client, found in the Sent folder."""
    ref = is_own_letter(parsed.headers, index)
    if ref is None:
        return None
    headers = parsed.headers
    if headers.message_id and session.exec(select(Message).where(
            Message.message_id == headers.message_id, Message.direction == "out")).first():
        counts.duplicates += 1  # tracker sent it itself
        return None
    request = get_request(session, ref)
    message = pending_letter(request_messages(session, request))
    if message is None:
        message = Message(request_id=request.id, direction="out", status="sent",
                          kind="follow-up", language=request.language, created_at=now)
    message.status, message.channel, message.raw, message.sha256 = "sent", "email", raw, sha256
    message.subject, message.message_id = headers.subject, headers.message_id
    message.from_addr, message.to_addrs = headers.from_addr, ", ".join(headers.recipients)
    message.sent_at = headers.date or received_at or now
    message.account, message.folder = source.account, source.folder
    message.uidvalidity, message.uid = source.uidvalidity, source.uid
    message.note = "found in the sent folder"
    session.add(message)
    session.flush()
    state = settle_state(ws, session, request, clock.local_date(now, ws.settings.tz))
    record_event(session, request, "sent", "tracker", to_state=state, message=message, at=now,
                 channel="email", found_in=source.folder, message_id=headers.message_id)
    counts.letters += 1
    counts.stored += 1
    return message
