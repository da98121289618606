"""Read one inbound message: parse, classify, match, judge its authenticity and admit it.

Nothing here writes: `read_message` works out what a message is and whom it concerns against
a `MatchIndex` (`build_index`: what tracker knows, read once per pass), `inbound_facts` what it
teaches the messages after it, and `inspect_message` shows a reading (`tracker inspect`).
Storing a batch and its effects on requests is `tracker.services.inbound`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from tracker.mail.admission import Admission, admit
from tracker.mail.authenticity import Trust, Verdict, judge
from tracker.mail.classify import Classification, classify
from tracker.mail.matching import Fact, KnownSenders, Match, MatchIndex, match_message
from tracker.mail.parsing import ParsedMessage, parse_message
from tracker.services.workspace import Workspace
from tracker.store.models import ApprovedDomain, Message, Request, State

__all__ = [
    "Reading",
    "build_index",
    "inbound_facts",
    "inspect_message",
    "mailbox_trust",
    "read_message",
]


def build_index(ws: Workspace, session: Session) -> MatchIndex:
    """Everything matching and admission need, read once per pass (it then learns as it goes).

    What it learns while reading (`inbound_facts`) is exactly what this reads back from stored
    mail, so that a later pass starts where an earlier one left off.
    """
    letters = {}
    for message_id, ref in session.exec(
        select(Message.message_id, Request.ref)
        .join(Request, col(Message.request_id) == col(Request.id))
        .where(Message.direction == "out", Message.message_id != "")
    ).all():
        letters[message_id.strip().lower()] = ref
    threads: dict[str, str] = {}
    for message_id, ref in session.exec(
        select(Message.message_id, Request.ref)
        .join(Request, col(Message.request_id) == col(Request.id))
        .where(Message.direction == "in", Message.message_id != "",
               col(Message.match_rule).not_in(("", "sender-domain")))
        .order_by(col(Message.id))
    ).all():
        threads.setdefault(message_id.strip().lower(), ref)
    refs: set[str] = set()
    tickets: dict[str, tuple[str, ...]] = {}
    open_by_domain: dict[str, list[str]] = {}
    platform_of: dict[str, str] = {}
    domains_of = {slug: p.reply_domains for slug, p in ws.platforms.items()}
    for ref, slug, state, request_tickets in session.exec(
        select(Request.ref, Request.platform_slug, Request.state, Request.tickets)
        .order_by(col(Request.id))
    ).all():
        refs.add(ref)
        platform_of[ref] = slug
        for ticket in request_tickets:  # MatchIndex keys them (ticket_key)
            tickets[ticket] = (*tickets.get(ticket, ()), ref)
        if state not in (State.DRAFT, State.CLOSED):
            for domain in domains_of.get(slug, ()):
                open_by_domain.setdefault(domain.lower(), []).append(ref)
    approved: dict[str, set[str]] = {}
    for slug, domain in session.exec(select(ApprovedDomain.platform_slug, ApprovedDomain.domain)):
        approved.setdefault(slug, set()).add(domain.lower())
    senders = {slug: KnownSenders(
        name=ws.platforms[slug].name if slug in ws.platforms else slug,
        domains=frozenset(d.lower() for d in domains_of.get(slug, ())),
        approved=frozenset(approved.get(slug, ())))
        for slug in {*domains_of, *approved}}
    org = ws.settings.organisation
    return MatchIndex(
        letters=letters, refs=frozenset(refs), tickets=tickets,
        open_by_domain={d: tuple(r) for d, r in open_by_domain.items()},
        platform_domains=frozenset(d.lower() for ds in domains_of.values() for d in ds),
        tag_secret=ws.tag_secret, reply_base=org.reply_to or org.email,
        own_addresses=frozenset(a.lower() for a in (org.email, org.reply_to) if a),
        threads=threads, platform_of=platform_of, senders=senders,
    )


def mailbox_trust(ws: Workspace) -> Trust:
    """Whose Authentication-Results count for mail read from the organisation's mailbox."""
    imap = ws.settings.imap
    return Trust.of(imap.trusted_authserv_ids, imap.border_hosts, imap.provider)


@dataclass(frozen=True)
class Reading:
    """What an inbound message is and whom it concerns, worked out before anything is stored."""

    parsed: ParsedMessage
    kind: Classification
    match: Match
    verdict: Verdict
    admission: Admission


def read_message(ws: Workspace, raw: bytes, index: MatchIndex, trust: Trust) -> Reading:
    """Parse, classify, match, judge and admit *raw* (pure but for DKIM's DNS lookups)."""
    parsed = parse_message(raw)
    kind = classify(parsed)
    match = match_message(parsed.headers, index, ticket=kind.ticket,
                          original_ids=kind.original_message_ids)
    sender = parsed.headers.from_addr
    domain = sender.rpartition("@")[2].lower()
    verdict = judge(raw, domain, trust, dkim_check=ws.settings.imap.dkim_verify,
                    parsed=parsed.message)
    senders = index.senders_for(match.ref) if match.ref else next(
        (s for s in index.senders.values() if s.rule_for(domain)), None)
    admission = admit(kind=kind.kind, doubt=kind.doubt, match=match, sender=sender,
                      verdict=verdict, senders=senders,
                      accept_unverified=ws.settings.imap.accept_unverified,
                      sender_source=parsed.headers.sender_source)
    return Reading(parsed, kind, match, verdict, admission)


def inspect_message(ws: Workspace, session: Session, raw: bytes, trust: Trust) -> dict[str, Any]:
    """How tracker would read *raw* now, stored nowhere (`tracker inspect`)."""
    reading = read_message(ws, raw, build_index(ws, session), trust)
    parsed, kind, match, verdict = reading.parsed, reading.kind, reading.match, reading.verdict
    admission = reading.admission
    return {
        "subject": parsed.headers.subject, "from": parsed.headers.from_addr,
        "date": parsed.headers.date.isoformat() if parsed.headers.date else None,
        "message_id": parsed.headers.message_id,
        "classification": kind.kind, "classification_doubt": kind.doubt or None,
        "extension_claimed": kind.extension, "bounced_recipients": list(kind.bounced_recipients),
        "ticket": kind.ticket, "authenticity": admission.authenticity,
        "authenticity_reasons": [*verdict.reasons, *admission.reasons],
        "matched_ref": match.ref, "match_rule": match.rule or None, "probable": match.probable,
        "would_store": match.relevant, "would_count": admission.counts,
        "admission": admission.rule or None, "would_wait_because": admission.hold or None,
        "match_reasons": list(match.reasons), "classification_reasons": list(kind.reasons),
        "defects": list(parsed.defects),
    }


def inbound_facts(reading: Reading) -> list[Fact]:
    """What a stored inbound message teaches later mail (mirrored by `build_index`)."""
    ref, facts = reading.match.ref, []
    if ref is None:
        return []
    if reading.match.rule != "sender-domain" and reading.parsed.headers.message_id:
        facts.append(Fact("id", reading.parsed.headers.message_id, ref))
    if reading.admission.counts and reading.kind.ticket:  # only what counts teaches tickets
        facts.append(Fact("ticket", reading.kind.ticket, ref))
    return facts

