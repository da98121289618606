"""Which request does an inbound message belong to? Pure: the index of known facts is passed in.

Evidence, strongest first (see docs/mailbox.md):

1. ``in-reply-to``: In-Reply-To / References name one of our letters (``bounced-letter``: a
   bounce's returned original is one of our letters);
2. ``address-tag``: a signed per-request reply address among the recipients;
3. ``subject-tag``: a ``[HC-2026-0007]`` tag of a known request in the subject;
4. ``thread``: In-Reply-To / References name a message already matched to a request (help desks
   answer in their own threads);
5. ``ticket``: the platform's own ticket number, learned from an earlier message that counted;
6. ``sender-domain``: the sender is on a platform's reply domain and exactly one request to that
   platform is open: only a *probable* match, for a person to confirm.

Mail that matches nothing but looks relevant (a platform's domain, a tag of ours with a bad
signature, a tag of an unknown request) is kept for triage; everything else is not ours to keep.

Matching says which request a message is about, not whether it counts: that is
:mod:`tracker.admission`. The index learns as mail is read (:meth:`MatchIndex.learn`), so that a
message is matched with everything the messages before it taught, in one pass or in many.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from tracker.core.tags import ref_from_reply_address, refs_in_subject
from tracker.mail.classify import ticket_key
from tracker.mail.header_info import HeaderInfo


class Fact(NamedTuple):
    """Something a stored message taught later mail to match by."""

    kind: str  # "letter": our letter's Message-ID; "id": a thread's Message-ID; "ticket"
    value: str
    ref: str


@dataclass(frozen=True)
class KnownSenders:
    """Who may answer for one platform: its directory reply domains and those staff approved."""

    name: str
    domains: frozenset[str] = frozenset()  # subdomains count too (support.zoom.us)
    approved: frozenset[str] = frozenset()  # exactly these (zoom.zendesk.com, not zendesk.com)

    def rule_for(self, domain: str) -> str | None:
        """``"platform-domain"``, ``"approved-domain"`` or None for a sender's *domain*."""
        domain = domain.lower().rstrip(".")
        if domain and on_domain(domain, self.domains):
            return "platform-domain"
        if domain in self.approved:
            return "approved-domain"
        return None


@dataclass
class MatchIndex:
    """What tracker knows when it reads mail: its letters, references, tickets, platforms.

    ``letters``, ``threads`` and ``tickets`` grow while mail is read (`learn`); the rest is fixed
    for a pass.
    """

    letters: dict[str, str] = field(default_factory=dict)  # our Message-ID (lower) -> ref
    refs: frozenset[str] = frozenset()  # every known reference
    # ticket_key(ticket) -> refs: the platform's number, however a message writes it
    tickets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    open_by_domain: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # domain -> refs
    platform_domains: frozenset[str] = frozenset()  # every platform's reply domains
    tag_secret: bytes = b""
    reply_base: str = ""  # inquiries@org.example: mail to its +tags is ours
    own_addresses: frozenset[str] = frozenset()  # our From addresses (lower-case)
    # Message-IDs (lower) of inbound mail matched to a request (not probable) -> ref
    threads: dict[str, str] = field(default_factory=dict)
    platform_of: Mapping[str, str] = field(default_factory=dict)  # ref -> platform slug
    senders: Mapping[str, KnownSenders] = field(default_factory=dict)  # slug -> who may answer

    def __post_init__(self) -> None:
        # However the tickets were given ("Ticket #448812"), they are looked up by their key.
        keyed: dict[str, tuple[str, ...]] = {}
        for ticket, refs in self.tickets.items():
            key = ticket_key(ticket)
            keyed[key] = (*keyed.get(key, ()), *(r for r in refs if r not in keyed.get(key, ())))
        self.tickets = keyed

    def senders_for(self, ref: str) -> KnownSenders | None:
        """Who may answer for the platform of request *ref*."""
        slug = self.platform_of.get(ref)
        return self.senders.get(slug) if slug else None

    def learn(self, facts: Sequence[Fact]) -> list[Fact]:
        """Add *facts*; return those that are new (what later mail may now match)."""
        new: list[Fact] = []
        for fact in facts:
            if fact.kind == "id":
                key = fact.value.strip().lower()
                if key and key not in self.letters and self.threads.get(key) != fact.ref:
                    self.threads.setdefault(key, fact.ref)
                    new.append(fact)
            elif fact.kind == "letter":
                key = fact.value.strip().lower()
                if key and self.letters.get(key) != fact.ref:
                    self.letters[key] = fact.ref
                    new.append(fact)
            elif fact.ref not in self.tickets.get(ticket_key(fact.value), ()):
                key = ticket_key(fact.value)
                self.tickets[key] = (*self.tickets.get(key, ()), fact.ref)
                new.append(fact)
        return new


@dataclass(frozen=True)
class Match:
    """The request a message belongs to (if any), by which rule, and why."""

    ref: str | None
    rule: str  # "" when unmatched
    probable: bool = False
    relevant: bool = False  # keep it (for triage if unmatched), or it is not ours
    reasons: tuple[str, ...] = ()


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".")


def on_domain(domain: str, domains: Mapping[str, object] | frozenset[str]) -> str | None:
    """The listed domain that *domain* is, or is a subdomain of (support.zoom.us -> zoom.us)."""
    parts = domain.split(".")
    for i in range(len(parts) - 1):
        candidate = ".".join(parts[i:])
        if candidate in domains:
            return candidate
    return None


def _tag_addresses(recipients: Sequence[str], reply_base: str) -> list[str]:
    local, _, domain = reply_base.lower().rpartition("@")
    if not local:
        return []
    prefix = local.split("+", 1)[0] + "+"
    return [r for r in recipients if r.startswith(prefix) and _domain_of(r) == domain]


def match_message(headers: HeaderInfo, index: MatchIndex, *, ticket: str | None = None,
                  original_ids: Sequence[str] = ()) -> Match:
    """Decide which request *headers* belong to, by the strongest evidence present."""
    for rule, ids in (("in-reply-to", (*headers.in_reply_to, *headers.references)),
                      ("bounced-letter", original_ids)):
        for message_id in ids:
            ref = index.letters.get(message_id.strip().lower())
            if ref:
                return Match(ref, rule, relevant=True,
                             reasons=(f"{message_id} is our letter for {ref}",))
    reasons: list[str] = []
    tagged = _tag_addresses(headers.recipients, index.reply_base)
    for address in tagged:
        ref = ref_from_reply_address(address, index.tag_secret)
        if ref and ref in index.refs:
            return Match(ref, "address-tag", relevant=True,
                         reasons=(f"sent to the signed reply address of {ref}",))
        reasons.append(f"reply address {address} has no valid signature: possibly forged")
    subject_refs = refs_in_subject(headers.subject)
    for ref in subject_refs:
        if ref in index.refs:
            return Match(ref, "subject-tag", relevant=True,
                         reasons=(f"subject carries [{ref}]",))
        reasons.append(f"subject carries [{ref}], which is no request of ours")
    for message_id in (*headers.in_reply_to, *headers.references):
        ref = index.threads.get(message_id.strip().lower())
        if ref:
            return Match(ref, "thread", relevant=True,
                         reasons=(f"it answers {message_id}, a message about {ref}",))
    refs = index.tickets.get(ticket_key(ticket), ()) if ticket else ()
    if len(refs) == 1:
        return Match(refs[0], "ticket", relevant=True,
                     reasons=(f"{ticket} is the platform's ticket for {refs[0]}",))
    if refs:
        reasons.append(f"{ticket} is the platform's ticket for several requests "
                       f"({', '.join(refs)})")
    domain = _domain_of(headers.from_addr)
    known = on_domain(domain, index.open_by_domain) if domain else None
    if known:
        refs = index.open_by_domain[known]
        if len(refs) == 1:
            return Match(refs[0], "sender-domain", probable=True, relevant=True,
                         reasons=(f"from {domain}, and {refs[0]} is the only open request "
                                  "to that platform: confirm with `tracker link`",))
        reasons.append(f"from {domain}: {len(refs)} open requests to that platform "
                       f"({', '.join(refs)})")
    elif domain and on_domain(domain, index.platform_domains):
        reasons.append(f"from {domain}, a platform's domain, but no request to it is open")
    return Match(None, "", relevant=bool(reasons), reasons=tuple(reasons))


def is_own_letter(headers: HeaderInfo, index: MatchIndex) -> str | None:
    """The reference of a letter staff sent from their own mail client (Sent folder), if any."""
    if headers.from_addr.lower() not in index.own_addresses:
        return None
    for ref in refs_in_subject(headers.subject):
        if ref in index.refs:
            return ref
    return None
