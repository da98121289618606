"""Which Authentication-Results in a message our own mail provider wrote, by where they stand.

Anybody can write ``Authentication-Results: mx.google.com; dmarc=pass`` into a message (RFC 8601
section 5). What the sender cannot do is write above the ``Received`` header our border added
when it took the message from the outside: everything from that header down came with the
message, or was written by the border on arrival next to it. So each provider's layout is a
preset: which ``Received`` header is its border (the *topmost* whose "by" host is the
provider's, from a host that is not loopback), and where exactly its own results stand:

============  ======================  ==============================================================
provider      border "by" host        the trusted Authentication-Results
============  ======================  ==============================================================
generic       ``border_hosts``        every one above the border naming a ``trusted_authserv_ids``
              (default: the ids)      (Postfix with OpenDKIM/OpenDMARC or rspamd write them there)
fastmail      ``*mx*.messaging-       every one above the border naming such a host
              engine.com``
gmail         ``mx.google.com``       the one directly *below* the border (only ``Received-SPF``
                                      between), naming ``mx.google.com``
microsoft365  ``*.mail.protection.    the one directly *above* the border (only ``Received-SPF``
              outlook.com``           between), naming no authserv-id or ``mx.microsoft.com``
============  ======================  ==============================================================

For Gmail and Microsoft 365 anything else in that gap means the layout is not the one we know:
nothing is trusted then (a change at the provider fails closed, not open). Every other header
naming the trusted server came with the message: it is reported, and never read for a verdict.
ARC-Authentication-Results are never trusted: a sender's own provider adds them on the way out.
Sources for each layout: docs/mailbox.md ("Which Authentication-Results count") and the samples
in tests/data/mail/providers/. Pure functions over header fields in their order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

Provider = Literal["generic", "gmail", "microsoft365", "fastmail"]
PROVIDERS: tuple[Provider, ...] = ("generic", "gmail", "microsoft365", "fastmail")
NAMES = {"generic": "your mail server", "gmail": "Gmail", "microsoft365": "Microsoft 365",
         "fastmail": "Fastmail"}

_LEADING_COMMENTS = re.compile(r"^\s*(\([^()]*\)\s*)*")
_BY_HOST = re.compile(r"(?:^|[\s)])by\s+([A-Za-z0-9][A-Za-z0-9.\-]*)", re.I)
_FROM = re.compile(r"^\s*from\s+(.*?)(?:\sby\s|$)", re.I | re.S)
_LOOPBACK = re.compile(r"\blocalhost\b|\b127\.0\.0\.1\b|\[::1\]|\(::1\)", re.I)
_FASTMAIL = re.compile(r"^[a-z0-9-]*mx[a-z0-9-]*\.messagingengine\.com$")
_M365_BORDER = ".mail.protection.outlook.com"


@dataclass(frozen=True)
class Trust:
    """Whose Authentication-Results count: the provider's preset, or the organisation's own
    server (``generic``: its ``authserv_ids`` and the ``border_hosts`` of its Received headers,
    where ``*.example.org`` matches any host below it; by default the ids themselves).

    ``generic`` with no authserv-id trusts nothing (mail imported from files whose path
    through servers nobody vouched for).
    """

    authserv_ids: frozenset[str] = frozenset()
    border_hosts: tuple[str, ...] = field(default=())
    provider: Provider = "generic"

    @classmethod
    def of(cls, authserv_ids: Sequence[str], border_hosts: Sequence[str] = (),
           provider: Provider = "generic") -> Trust:
        ids = frozenset(a.strip().lower() for a in authserv_ids if a.strip())
        hosts = tuple(h.strip().lower() for h in border_hosts if h.strip()) or tuple(sorted(ids))
        return cls(ids, hosts, provider)

    @property
    def trusts_anything(self) -> bool:
        return self.provider != "generic" or bool(self.authserv_ids)

    @property
    def name(self) -> str:
        """Who the border is, for reasons: "Gmail", or the border host names."""
        if self.provider == "generic":
            return ", ".join(self.border_hosts) or "your mail server"
        return NAMES[self.provider]

    def is_border(self, host: str) -> bool:
        """Is *host* (a Received header's "by" host) one of the border's?"""
        host = host.lower().rstrip(".")
        if self.provider == "gmail":
            return host == "mx.google.com"
        if self.provider == "microsoft365":
            return host.endswith(_M365_BORDER)
        if self.provider == "fastmail" and _FASTMAIL.match(host):
            return True
        return any(host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
                   for pattern in self.border_hosts)

    def names_us(self, authserv_id: str) -> bool:
        """Does a header with *authserv_id* ("" when it has none) claim to be the border's?"""
        if self.provider == "microsoft365" and authserv_id in ("", "mx.microsoft.com"):
            return True
        if self.provider == "gmail" and authserv_id == "mx.google.com":
            return True
        if self.provider == "fastmail" and _FASTMAIL.match(authserv_id):
            return True
        return bool(authserv_id) and authserv_id in self.authserv_ids


def by_host(received: str) -> str:
    """The host after "by" in a Received header ("" if none)."""
    match = _BY_HOST.search(received)
    return match.group(1) if match else ""


def _from_loopback(received: str) -> bool:
    match = _FROM.match(received)
    return bool(match and _LOOPBACK.search(match.group(1)))


def claimed_id(value: str) -> str:
    """The authserv-id an Authentication-Results value names; "" when it starts with a result
    (Microsoft 365 writes ``spf=pass (...) ...`` with no authserv-id)."""
    head = _LEADING_COMMENTS.sub("", value).split(";", 1)[0].split()
    return "" if not head or "=" in head[0] else head[0].lower()


def normalised(value: str) -> str:
    """A Microsoft 365 header made parseable: a placeholder authserv-id in front when it has
    none, and the bare words between results (its tenant's domain) left out."""
    if claimed_id(value) and "=" not in value.split(";", 1)[0]:
        return value
    parts = [p for p in value.split(";") if "=" in p]
    return "microsoft365; " + ";".join(parts) if parts else value


@dataclass
class Found:
    """What a message's header fields say about its Authentication-Results."""

    trusted: list[str] = field(default_factory=list)  # values the border wrote, top first
    planted: list[str] = field(default_factory=list)  # values naming the border it did not write
    notes: list[str] = field(default_factory=list)
    border: str = ""  # the border's "by" host, "" when the message never passed it


def find_trusted(fields: Sequence[tuple[str, str]], trust: Trust) -> Found:
    """Sort the Authentication-Results of *fields* (lower-case name, unfolded value; top
    first) into those the border wrote and those that came with the message."""
    found = Found()
    ars = [(i, value) for i, (name, value) in enumerate(fields)
           if name == "authentication-results"]
    ours = [(i, value) for i, value in ars if trust.names_us(claimed_id(value))]
    found.notes += [f"ignored Authentication-Results from untrusted authserv-id "
                    f"{claimed_id(v) or '(none)'}" for i, v in ars if (i, v) not in ours]
    border = next((i for i, (name, value) in enumerate(fields)
                   if name == "received" and trust.is_border(by_host(value))
                   and not _from_loopback(value)), None)
    if border is None:
        found.planted = [value for _, value in ours]
        return found
    found.border = by_host(fields[border][1])
    if trust.provider in ("gmail", "microsoft365"):
        step = 1 if trust.provider == "gmail" else -1
        at = border + step
        if 0 <= at < len(fields) and fields[at][0] == "received-spf":
            at += step
        if 0 <= at < len(fields) and (at, fields[at][1]) in ours:
            found.trusted = [fields[at][1]]
        else:
            shown = fields[at][0] if 0 <= at < len(fields) else "nothing"
            found.notes.append(f"layout not recognised: {NAMES[trust.provider]}'s "
                               f"Authentication-Results is not next to its Received header "
                               f"(found {shown} there)")
    else:
        found.trusted = [value for i, value in ours if i < border]
    found.planted = [value for _, value in ours if value not in found.trusted]
    return found
