"""Does a matched message count for its request? Only the platform can answer for the platform.

Matching (:mod:`tracker.matching`) says which request a message is about; anybody can put our
``[HC-2026-0007]`` tag in a subject or answer our letter's Message-ID. What may then move the
request (stop the clock, mark it acknowledged, learn a ticket) is decided here, from the sender
and the authentication results. Pure: the caller passes the match, the verdict and who may
answer for the platform.

The rule that let a message count is stored with it (``Message.admission``) and shown in the
timeline and the evidence manifest; a message that does not count waits in the inbox with a
one-line reason (``Message.hold``). "verified" means proven to come from one of the platform's
domains: DMARC or aligned DKIM pass for that domain, seen by a trusted server.
"""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass

from tracker.mail.authenticity import Authenticity, Verdict
from tracker.mail.matching import KnownSenders, Match

# What each stored rule means, for the timeline, the manifest and `message show`.
RULES: dict[str, str] = {
    "verified-platform-domain": "from one of the platform's reply domains, and a trusted server "
                                "saw DMARC or aligned DKIM pass for it",
    "verified-approved-domain": "from a domain staff approved for the platform, and a trusted "
                                "server saw DMARC or aligned DKIM pass for it",
    "unverified-platform-domain": "from one of the platform's reply domains; nothing proved it "
                                  "([imap] accept_unverified is on)",
    "unverified-approved-domain": "from a domain staff approved for the platform; nothing proved "
                                  "it ([imap] accept_unverified is on)",
    "names-our-letter": "a delivery report naming the Message-ID of one of our letters",
    "staff-confirmed": "a person confirmed it (tracker link)",
    "recorded-by-hand": "staff recorded it by hand (tracker record-reply)",
    "before-0004": "stored by a version of tracker before the sender rule (schema 0004)",
}
_DELIVERY = ("bounce", "delivery_delay")
_NAMES_OUR_LETTER = ("in-reply-to", "bounced-letter")


@dataclass(frozen=True)
class Admission:
    """Whether a message counts (``rule`` set) or waits for a person (``hold`` says why)."""

    rule: str
    hold: str
    authenticity: Authenticity  # relative to the platform: "verified" only for its domains
    reasons: tuple[str, ...] = ()  # added to the message's reasons

    @property
    def counts(self) -> bool:
        return bool(self.rule)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().lower().rstrip(".")


def admit(*, kind: str, doubt: str, match: Match, sender: str, verdict: Verdict,
          senders: KnownSenders | None, accept_unverified: bool,
          sender_source: str = "") -> Admission:
    """Decide whether a message of *kind* from *sender*, matched by *match*, counts.

    *senders*: who may answer for the platform of the matched request (for an unmatched
    message, the platform whose domain the sender is on, if any). *doubt*: the classifier's
    reason why a person must decide what kind of message it is ("" when certain).
    *sender_source*: where the sender was read if not from From: as written ("Reply-To", "From
    (repaired)"): such a sender is a guess, so the message is never verified and never counts
    before a person has looked at it.
    """
    domain = _domain(sender)
    authenticity, reasons = _relative_authenticity(domain, verdict, senders)
    if sender_source:
        guessed = (f"the sender was taken from {sender_source}, not from a readable From: "
                   "header: nothing proves who sent it")
        authenticity = "suspicious" if authenticity == "suspicious" else "unverified"
        reasons = (*reasons, guessed)
        doubt = doubt or f"{guessed}; check it, then link it"
    else:
        guessed = ""
    if match.ref is None:
        return Admission("", "; ".join(match.reasons) or "matches no request", authenticity,
                         reasons)
    if match.probable:
        return Admission("", match.reasons[0] if match.reasons else "probable match",
                         authenticity, reasons)
    name = senders.name if senders else "the platform"
    if kind in _DELIVERY:
        if match.rule not in _NAMES_OUR_LETTER:
            return Admission("", "this delivery notice names none of our letters' Message-IDs; "
                             "it may be forged", authenticity, reasons)
        return _with_doubt(Admission("names-our-letter", "", authenticity, reasons), doubt)
    on = senders.rule_for(domain) if senders else None
    if on is None:
        if senders is not None and looks_like(domain, senders):
            return Admission("", f"the sender's domain {domain} looks like a domain of {name} "
                             "but is not one: possibly an impersonation", "suspicious",
                             (*reasons, f"{domain} imitates a domain of {name}"))
        return Admission("", f"the sender is not a known address of {name} "
                         f"({sender or 'no sender'}); if {name} really writes from "
                         f"{domain or 'it'}, link it with --approve-domain", authenticity,
                         reasons)
    if authenticity == "suspicious":
        why = next((r for r in verdict.reasons if "fail" in r), "its authentication failed")
        return Admission("", f"it may be forged: {why}", authenticity, reasons)
    if guessed:
        return Admission("", doubt, authenticity, reasons)
    if authenticity == "verified":
        return _with_doubt(Admission(f"verified-{on}", "", authenticity, reasons), doubt)
    if accept_unverified:
        return _with_doubt(Admission(f"unverified-{on}", "", authenticity, reasons), doubt)
    return Admission("", f"nothing proves it comes from {domain} (no trusted "
                     "Authentication-Results or DKIM pass); check it, then link it", authenticity,
                     reasons)


def _with_doubt(admission: Admission, doubt: str) -> Admission:
    if not doubt:
        return admission
    return Admission("", doubt, admission.authenticity, admission.reasons)


def _relative_authenticity(domain: str, verdict: Verdict, senders: KnownSenders | None
                           ) -> tuple[Authenticity, tuple[str, ...]]:
    """The verdict about the From domain, as a verdict about the platform."""
    if verdict.authenticity != "verified":
        return verdict.authenticity, ()
    if senders is not None and senders.rule_for(domain):
        return "verified", ()
    whose = f"a known domain of {senders.name}" if senders else "a platform's known domain"
    return "unverified", (f"authentication passed for {domain or 'the sender'}, which is not "
                          f"{whose}",)


# --- look-alike domains ------------------------------------------------------------------------

# Letters that read alike, after NFKC: the ones phishers use in platform names (Cyrillic and
# Greek look-alikes, digits for letters).
_CONFUSABLE = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ɡ": "g", "ӏ": "l", "һ": "h", "κ": "k", "ο": "o", "ν": "v", "α": "a",
    "ε": "e", "ι": "i", "τ": "t", "0": "o", "1": "l", "3": "e", "5": "s", "@": "a",
})  # fmt: skip
_TWO_LEVEL = frozenset(("co.uk", "com.au", "com.cn", "com.hk", "com.tw", "co.jp", "com.br",
                        "co.in", "com.sg", "co.kr"))  # fmt: skip


def _skeleton(domain: str) -> str:
    """A domain as it reads: IDNA decoded, NFKC, confusable letters folded, lower-case."""
    labels = []
    for label in domain.lower().split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                label = label.encode("ascii").decode("idna")
        labels.append(unicodedata.normalize("NFKC", label).translate(_CONFUSABLE))
    return ".".join(labels)


def _registrable(labels: list[str]) -> str:
    """The label a domain's owner registered (zoom-us.support -> zoom-us; a.co.uk -> a)."""
    cut = 3 if ".".join(labels[-2:]) in _TWO_LEVEL else 2
    return labels[-cut] if len(labels) >= cut else ""


def _names(senders: KnownSenders) -> set[str]:
    """The distinctive labels of a platform's domains (zoom.us -> zoom) and of its name."""
    found = {_registrable(domain.lower().split(".")) for domain in senders.domains}
    found.add("".join(c for c in senders.name.lower() if c.isalnum()))
    return {name.translate(_CONFUSABLE) for name in found if len(name) >= 4}


def looks_like(domain: str, senders: KnownSenders) -> bool:
    """Does *domain* (not one of the platform's) imitate one of its domains or its name?

    Only the part its owner registered counts (``zoom-us.support``, ``z00m.us``), or a
    platform domain put in front of another (``zoom.us.evil.example``): anybody can name a
    help-desk subdomain after a platform (``zoom.zendesk.com``); that is unknown, not forged.
    """
    if not domain or senders.rule_for(domain):
        return False
    skeleton = _skeleton(domain)
    if any(skeleton.startswith(known + ".") for known in senders.domains):
        return True
    registered = _registrable(skeleton.split("."))
    return any(name in registered for name in _names(senders))
