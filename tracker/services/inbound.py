"""Store inbound messages and let them move their requests: shared by IMAP sync and import.

Called inside the caller's transaction, so a message, its effects on the request, its events and
the folder checkpoint that covers it commit together or not at all. A batch is stored with a
few reads of the database, not a few per message: a first sync stores thousands.

Messages are read one after the other, each with everything the messages before it taught (a
ticket number, a thread's Message-ID, a letter found in the Sent folder): the same mail read in
one pass, one message per pass, or imported from a file ends in the same state. How one
message is read (parsed, classified, matched, judged) is `tracker.services.reading`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tracker.core import clock
from tracker.mail.authenticity import Trust
from tracker.mail.matching import Fact, Match, MatchIndex, is_own_letter
from tracker.mail.parsing import parse_message
from tracker.services.facts import MessageFacts
from tracker.services.reading import Reading, inbound_facts, mailbox_trust, read_message
from tracker.services.records import (
    bounced_recipient,
    for_change,
    get_request,
    learned_tickets,
    messages_facts,
    pending_letter,
    request_messages,
    settle_state,
)
from tracker.services.search import index_message, index_new_messages
from tracker.services.workspace import Workspace
from tracker.store.events import record_event, record_message_event
from tracker.store.models import Message, Request, utcnow


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
    held: int = 0  # matched, but waiting for a person (sender, authenticity or kind in doubt)
    extensions: int = 0
    information_requests: int = 0
    letters: int = 0  # our own letters found in the sent folder
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items()}


_Place = tuple[str, str, int | None, int]
# id, account, folder, uidvalidity, uid
_Stored = tuple[int, str | None, str | None, int | None, int | None]


def _place(source: Source) -> _Place | None:
    if source.uid is None:
        return None
    return source.account, source.folder, source.uidvalidity, source.uid


def _already_stored(session: Session, sources: Sequence[Source], shas: Sequence[str]
                    ) -> tuple[dict[_Place, _Stored], dict[str, _Stored]]:
    """What is stored from these places, or with these bytes: one query for a whole batch."""
    wanted: list[sa.ColumnElement[bool]] = [col(Message.sha256).in_(set(shas))]
    folders: dict[tuple[str, str, int | None], set[int]] = {}
    for place in filter(None, map(_place, sources)):
        folders.setdefault(place[:3], set()).add(place[3])
    for (account, folder, uidvalidity), uids in folders.items():
        wanted.append(sa.and_(col(Message.account) == account, col(Message.folder) == folder,
                              col(Message.uidvalidity) == uidvalidity,
                              col(Message.uid).in_(uids)))
    by_place: dict[_Place, _Stored] = {}
    by_sha: dict[str, _Stored] = {}
    query = sa.select(col(Message.id), col(Message.account), col(Message.folder),
                      col(Message.uidvalidity), col(Message.uid), col(Message.sha256)) \
        .where(sa.or_(*wanted)).order_by(col(Message.id))
    # Every stored message is flushed as it is stored; what waits (events, a request's new
    # state) cannot make a duplicate and goes out with the next write.
    with session.no_autoflush:
        rows = session.execute(query).all()
    for message_id, account, folder, uidvalidity, uid, sha256 in rows:
        stored = (message_id, account, folder, uidvalidity, uid)
        if uid is not None:
            by_place.setdefault((account, folder, uidvalidity, uid), stored)
        by_sha.setdefault(sha256, stored)
    return by_place, by_sha


@dataclass(frozen=True)
class Incoming:
    """A message read from a mailbox or a file, to be stored if it concerns a request."""

    raw: bytes
    source: Source
    received_at: datetime | None = None
    own: bool = False  # in the sent folder (or, on import, from us): a letter staff sent


@dataclass
class Stored:
    """What `store_messages` did: a result per message it consumed, and what they taught."""

    results: list[Message | None]
    learned: list[Fact]  # everything new the consumed messages taught

    @property
    def consumed(self) -> int:
        return len(self.results)


def store_messages(ws: Workspace, session: Session, batch: Sequence[Incoming],
                   index: MatchIndex, counts: Counts, *, now: datetime | None = None,
                   trust: Trust | None = None,
                   stop_when: Callable[[Incoming, list[Fact]], bool] | None = None) -> Stored:
    """Store each message of *batch* that concerns a request (or needs triage) and apply its
    effects, one after the other; *index* learns from each as it goes.

    *stop_when(item, new facts)*: stop after a message whose new facts it says matter, so that
    the caller can look again at mail it set aside without that knowledge (the sync's
    pre-screen); otherwise the whole batch is consumed. The database is read a few times per
    batch, not a few times per message, and the new messages are written together.
    """
    if not batch:
        return Stored([], [])
    now = now or utcnow()
    trust = trust if trust is not None else mailbox_trust(ws)
    shas = [hashlib.sha256(item.raw).hexdigest() for item in batch]
    by_place, by_sha = _already_stored(session, [item.source for item in batch], shas)
    results: list[Message | None] = []
    inbound: list[tuple[int, Incoming, str, Reading]] = []
    first_copy: dict[str, int] = {}  # bytes seen earlier in this batch: where
    copies: list[tuple[int, Source]] = []
    learned: list[Fact] = []
    for pos, (item, sha) in enumerate(zip(batch, shas, strict=True)):
        results.append(None)
        place = _place(item.source)
        stored = (by_place.get(place) if place else None) or by_sha.get(sha)
        if stored is not None:
            _duplicate(session, stored, item.source, counts)
            continue
        if sha in first_copy:
            copies.append((first_copy[sha], item.source))
            continue
        first_copy[sha] = pos
        if item.own:
            # Its effects depend on what the database holds: store what came before it first.
            _store_inbound(ws, session, inbound, counts, now, results)
            inbound = []
            results[pos], fact = _store_own_letter(ws, session, item, sha, index, counts, now)
            new = index.learn([fact] if fact else [])
        else:
            reading = read_message(ws, item.raw, index, trust)
            new = []
            if reading.match.relevant:
                inbound.append((pos, item, sha, reading))
                new = index.learn(inbound_facts(reading))
        learned += new
        if new and stop_when is not None and stop_when(item, new):
            break
    _store_inbound(ws, session, inbound, counts, now, results)
    for pos, source in copies:  # the same bytes twice in one batch
        if (message := results[pos]) is not None:
            session.flush()
            assert message.id is not None
            _duplicate(session, (message.id, message.account, message.folder,
                                 message.uidvalidity, message.uid), source, counts)
    return Stored(results, learned)


def _duplicate(session: Session, stored: _Stored, source: Source, counts: Counts) -> None:
    counts.duplicates += 1
    message_id, account, folder, uidvalidity, uid = stored
    if source.uid is not None and (uidvalidity, uid) != (source.uidvalidity, source.uid) \
            and (account, folder) == (source.account, source.folder):
        # The folder was renumbered (UIDVALIDITY changed): re-pair, never store twice.
        message = session.get(Message, message_id)
        assert message is not None
        message.uidvalidity, message.uid = source.uidvalidity, source.uid
        session.add(message)
        counts.repaired += 1


def _store_inbound(ws: Workspace, session: Session,
                   inbound: list[tuple[int, Incoming, str, Reading]], counts: Counts,
                   now: datetime, results: list[Message | None]) -> None:
    """Store relevant inbound messages together: one write for them, one read of history."""
    if not inbound:
        return
    refs = {reading.match.ref for *_, reading in inbound if reading.match.ref is not None}
    with session.no_autoflush:  # what waits goes out with the messages below, in one write
        requests = {r.ref: r for r in session.exec(for_change(session, select(Request).where(
            col(Request.ref).in_(refs)).order_by(col(Request.id))))} if refs else {}
    for ref in refs - set(requests):
        requests[ref] = get_request(session, ref)  # gone meanwhile: a clear NotFoundError
    messages = []
    for pos, item, sha, reading in inbound:
        message = _message(item, sha, reading, now)
        if reading.match.ref is not None:
            message.request_id = requests[reading.match.ref].id
        results[pos] = message
        messages.append(message)
    session.add_all(messages)
    session.flush()
    index_new_messages(session, [(message, reading.parsed) for message, (*_, reading)
                                 in zip(messages, inbound, strict=True)])
    history = messages_facts(session, {m.request_id for m in messages if m.request_id})
    later = {m.id for m in messages}  # each message sees the history up to itself only
    for (_pos, _item, _sha, reading), message in zip(inbound, messages, strict=True):
        later.discard(message.id)
        kind, match = reading.kind, reading.match
        counts.stored += 1
        counts.suspicious += reading.admission.authenticity == "suspicious"
        counts.probable += match.probable
        counts.held += match.ref is not None and not match.probable \
            and not reading.admission.counts
        counts.replies += kind.kind == "reply"
        counts.acknowledgements += kind.kind == "auto_reply"
        counts.bounces += kind.kind == "bounce"
        counts.delays += kind.kind == "delivery_delay"
        counts.extensions += kind.kind == "extension"
        counts.information_requests += kind.kind == "information_request"
        if match.ref is None:
            counts.unmatched += 1
            record_message_event(session, message, "triage", "tracker", at=now,
                                 reasons=list(match.reasons))
            continue
        counts.matched += 1
        request = requests[match.ref]
        assert request.id is not None
        so_far = [facts for message_id, facts in history[request.id] if message_id not in later]
        _apply(ws, session, request, message, match.rule, now, "tracker", so_far)


def _message(item: Incoming, sha256: str, reading: Reading, now: datetime) -> Message:
    parsed, kind, match, verdict = reading.parsed, reading.kind, reading.match, reading.verdict
    headers, source, admission = parsed.headers, item.source, reading.admission
    return Message(
        direction="in", status="received", kind=kind.kind, channel="email",
        subject=headers.subject, from_addr=headers.from_addr,
        to_addrs=", ".join(headers.recipients), message_id=headers.message_id,
        in_reply_to=" ".join(headers.in_reply_to), references=" ".join(headers.references),
        raw=item.raw, sha256=sha256, occurred_at=item.received_at or headers.date or now,
        created_at=now, account=source.account, folder=source.folder,
        uidvalidity=source.uidvalidity, uid=source.uid, authenticity=admission.authenticity,
        reasons=[*match.reasons, *kind.reasons, *verdict.reasons, *admission.reasons],
        match_rule=match.rule, triage="" if admission.counts else "pending",
        admission=admission.rule, hold=admission.hold, ticket=kind.ticket or "",
        extension=kind.extension or "",
        bounced=list(kind.bounced_recipients), defects=list(parsed.defects),
    )


def apply_message(ws: Workspace, session: Session, request: Request, message: Message,
                  match: Match | None, now: datetime, actor: str = "tracker") -> None:
    """What an inbound message does to its request: state, tickets, delivery failure."""
    session.add(message)
    session.flush()
    _apply(ws, session, request, message, match.rule if match else "manual", now, actor)


def _apply(ws: Workspace, session: Session, request: Request, message: Message, rule: str,
           now: datetime, actor: str, history: Sequence[MessageFacts] | None = None) -> None:
    """`apply_message` for a stored *message*; *history*: its request's messages up to it."""
    if message.triage == "pending":
        record_event(session, request, "needs_review", actor, message=message, at=now,
                     message_kind=message.kind, rule=rule, why=message.hold)
        return
    if message.ticket:
        request.tickets = learned_tickets([*request.tickets, message.ticket])
    if message.kind == "bounce":
        if bounced_recipient(request.recipient, message.bounced):
            request.delivery_failed = True
        record_event(session, request, "bounced", actor, message=message, at=now, rule=rule,
                     recipients=message.bounced, delivery_failed=request.delivery_failed)
        return
    if message.kind == "delivery_delay":
        record_event(session, request, "delivery_delayed", actor, message=message, at=now,
                     rule=rule, recipients=message.bounced)
        return
    due_before = request.due_on
    state = settle_state(ws, session, request, clock.local_date(now, ws.settings.tz), history)
    extra: dict[str, object] = {}
    if message.kind == "extension":
        extra = extension_notice_facts(ws, message, due_before)
    record_event(session, request, _EVENTS.get(message.kind, "reply_received"), actor,
                 to_state=state, message=message, at=now, rule=rule,
                 authenticity=message.authenticity, admission=message.admission, **extra)


def extension_notice_facts(ws: Workspace, message: Message,
                           due_on: date | None) -> dict[str, object]:
    """What an extension notice claims, and whether it came after the deadline it extends
    (GDPR Art. 12(3): the data subject must be told within the first month)."""
    arrived = clock.local_date(message.occurred_at, ws.settings.tz) if message.occurred_at else None
    late = bool(arrived and due_on and arrived > due_on)
    facts: dict[str, object] = {"claims": message.extension or None, "late": late}
    if late:
        facts["warning"] = (f"the notice arrived on {arrived}, after the deadline of {due_on} "
                            "it claims to extend")
    return facts


_EVENTS = {"reply": "reply_received", "auto_reply": "acknowledged",
           "extension": "extension_notice", "information_request": "information_requested"}


def _store_own_letter(ws: Workspace, session: Session, item: Incoming, sha256: str,
                      index: MatchIndex, counts: Counts, now: datetime
                      ) -> tuple[Message | None, Fact | None]:
    """A letter staff sent from their own mail client, found in the Sent folder; and the
    Message-ID it teaches (replies to it belong to its request)."""
    raw, source, received_at = item.raw, item.source, item.received_at
    parsed = parse_message(raw)
    ref = is_own_letter(parsed.headers, index)
    if ref is None:
        return None, None
    headers = parsed.headers
    if headers.message_id and session.exec(select(Message).where(
            Message.message_id == headers.message_id, Message.direction == "out")).first():
        counts.duplicates += 1  # tracker sent it itself
        return None, None
    request = get_request(session, ref)
    message = pending_letter(request_messages(session, request))
    if message is None:
        message = Message(request_id=request.id, direction="out", status="sent",
                          kind="follow-up", language=request.language, created_at=now)
    message.status, message.channel, message.raw, message.sha256 = "sent", "email", raw, sha256
    message.subject, message.message_id = headers.subject, headers.message_id
    message.from_addr, message.to_addrs = headers.from_addr, ", ".join(headers.recipients)
    message.occurred_at = headers.date or received_at or now
    message.account, message.folder = source.account, source.folder
    message.uidvalidity, message.uid = source.uidvalidity, source.uid
    message.note = "found in the sent folder"
    session.add(message)
    session.flush()
    index_message(session, message, parsed)
    state = settle_state(ws, session, request, clock.local_date(now, ws.settings.tz))
    record_event(session, request, "sent", "tracker", to_state=state, message=message, at=now,
                 channel="email", found_in=source.folder, message_id=headers.message_id)
    counts.letters += 1
    counts.stored += 1
    return message, Fact("letter", headers.message_id, ref) if headers.message_id else None
