"""Is a reply really from the platform? Judge a message's authentication results.

Anybody can write ``Authentication-Results: mx.google.com; dmarc=pass`` into a forged message.
RFC 8601 section 5: only results whose authserv-id names the organisation's own border servers
count, and only those the border added on arrival. A server adds its header fields at the top,
so what our border wrote stands *above* the ``Received`` header it added when it took the
message from the outside ("by mx.hrgroup.example"); everything below that travelled with the
message and may be forged, whatever authserv-id it names. So tracker finds the topmost
``Received`` header written by one of the border hosts and trusts only Authentication-Results
above it (the topmost of those, the newest, wins). A header with our authserv-id below it is
reported: it was planted, or our server does not remove such headers as RFC 8601 asks.
Optionally tracker checks the DKIM signatures itself, over the exact stored bytes, never over a
re-serialised message.

Pure functions: the only outside contact is the DNS lookup of DKIM keys, which the caller
injects (``dnsfunc``); without it dkimpy queries real DNS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser
from typing import Any, Literal

import authres

__all__ = ["Authenticity", "DnsFunc", "Trust", "Verdict", "judge"]

Authenticity = Literal["verified", "suspicious", "unverified"]
DnsFunc = Callable[[bytes], bytes | None]

_LEADING_COMMENTS = re.compile(r"^\s*(\([^()]*\)\s*)*")
_BY_HOST = re.compile(r"(?:^|[\s)])by\s+([A-Za-z0-9][A-Za-z0-9.\-]*)", re.I)


@dataclass(frozen=True)
class Trust:
    """Whose Authentication-Results count, and how to find where a message entered our servers.

    ``authserv_ids``: the authserv-ids our border writes. ``border_hosts``: the host names its
    ``Received`` headers give after "by" (``*.example.org`` matches any host below it); by
    default the authserv-ids themselves. No authserv-id: nothing is trusted (e.g. mail imported
    from files whose path through servers nobody vouched for).
    """

    authserv_ids: frozenset[str] = frozenset()
    border_hosts: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, authserv_ids: Sequence[str], border_hosts: Sequence[str] = ()) -> Trust:
        ids = frozenset(a.strip().lower() for a in authserv_ids if a.strip())
        hosts = tuple(h.strip().lower() for h in border_hosts if h.strip()) or tuple(sorted(ids))
        return cls(ids, hosts)

    def is_border(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
                   for pattern in self.border_hosts)


def _by_host(received: str) -> str:
    match = _BY_HOST.search(received)
    return match.group(1) if match else ""


@dataclass(frozen=True)
class Verdict:
    """How far a message's claimed sender is proven, and the evidence, one line per fact."""

    authenticity: Authenticity
    reasons: tuple[str, ...]


def _domain(value: str) -> str:
    """Bare lower-case domain of a domain, address or ``@domain`` identity."""
    return value.strip().strip("<>").rpartition("@")[2].strip().rstrip(".").lower()


def aligned(signer: str, from_domain: str) -> bool:
    """Relaxed alignment (DMARC): same domain, or one inside the other.

    Equal organisational domains are approximated by a label-boundary suffix match. A public
    suffix such as ``co.uk`` could only "align" by signing with its own key, which no registry
    publishes, so no public-suffix list is needed to stay safe.
    """
    a, b = _domain(signer), _domain(from_domain)
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    return a == b or ("." in short and long.endswith("." + short))


def _authserv_id(value: str) -> str:
    head = _LEADING_COMMENTS.sub("", value).split(";", 1)[0].split()
    return head[0].lower() if head else ""


def _props(result: Any) -> dict[str, str]:
    return {f"{p.type}.{p.name}".lower(): str(p.value) for p in getattr(result, "properties", [])}


def _judge_header(header: Any, from_domain: str) -> tuple[Authenticity, list[str]]:
    """Apply the rules to one trusted, parsed Authentication-Results header."""
    server = header.authserv_id
    dmarc: list[tuple[str, str]] = []
    dkim_pass: list[str] = []
    failures: list[str] = []
    notes: list[str] = []
    for result in header.results:
        method, outcome = str(result.method).lower(), str(result.result).lower()
        props = _props(result)
        if method == "dmarc":
            domain = _domain(props.get("header.from", from_domain))
            if aligned(domain, from_domain):
                dmarc.append((outcome, domain))
            else:
                notes.append(f"dmarc={outcome} ({server}) is for {domain}, not {from_domain}")
        elif method == "dkim":
            signer = _domain(props.get("header.d") or props.get("header.i", ""))
            if outcome == "pass" and aligned(signer, from_domain):
                dkim_pass.append(signer)
            elif outcome == "pass":
                notes.append(f"dkim=pass ({server}) for {signer}, not aligned with {from_domain}")
            elif outcome == "fail":
                failures.append(f"dkim=fail ({server}) for {signer or 'unknown signer'}")
        elif method == "spf":
            if outcome in ("fail", "softfail"):
                failures.append(f"spf={outcome} ({server}) for {props.get('smtp.mailfrom', '?')}")
            else:
                notes.append(f"spf={outcome} ({server}); SPF alone does not prove the From")
    for outcome, domain in dmarc:
        if outcome == "pass":
            return "verified", [f"dmarc=pass ({server}) for {domain}", *notes]
    for outcome, domain in dmarc:
        if outcome == "fail":
            return "suspicious", [f"dmarc=fail ({server}) for {domain}", *failures, *notes]
    if dkim_pass:
        return "verified", [f"dkim=pass ({server}) with header.d={dkim_pass[0]} aligned", *notes]
    if any(not f.startswith("spf=softfail") for f in failures):  # softfail is only a hint
        return "suspicious", [*failures, "no passing aligned DKIM signature", *notes]
    notes += [f"dmarc={outcome} ({server}) for {domain}" for outcome, domain in dmarc]
    return "unverified", [*failures, *notes] or [f"no usable results from {server}"]


def _judge_headers(
    msg: EmailMessage, from_domain: str, trust: Trust
) -> tuple[Authenticity, list[str]]:
    fields = [(k.lower(), re.sub(r"\s+", " ", str(v))) for k, v in msg.raw_items()]
    border = next((i for i, (name, value) in enumerate(fields)
                   if name == "received" and trust.is_border(_by_host(value))), None)
    reasons: list[str] = []
    above: list[tuple[str, str]] = []  # (authserv-id, value), top to bottom
    below: list[tuple[str, str]] = []
    for index, (name, value) in enumerate(fields):
        if name != "authentication-results":
            continue
        server = _authserv_id(value)
        if server not in trust.authserv_ids:
            reasons.append(f"ignored Authentication-Results from untrusted authserv-id {server}")
        elif border is not None and index < border:
            above.append((server, value))
        else:
            below.append((server, value))
    if not trust.authserv_ids:
        return "unverified", [*reasons, "no trusted authserv-id: no Authentication-Results "
                              "can be trusted"]
    hosts = ", ".join(trust.border_hosts)
    if border is None:
        if below:
            reasons.append(f"ignored {len(below)} Authentication-Results naming a trusted "
                           f"server: no Received header by {hosts} shows where the message "
                           "entered it, so they may have come with the message")
        return "unverified", [*reasons, f"no Received header by {hosts}"]
    planted = [_planted_claim(server, value, from_domain) for server, value in below]
    if planted:
        host = _by_host(fields[border][1])
        reasons.append(f"{len(planted)} Authentication-Results naming a trusted server came "
                       f"with the message (below the Received header by {host}): ignored; the "
                       "server does not remove such headers (RFC 8601 section 5)")
    if not above:
        claims = [p for p in planted if p]
        if claims:
            return "suspicious", [*reasons, f"a planted Authentication-Results claims {claims[0]}"]
        return "unverified", [*reasons, "no Authentication-Results from a trusted server"]
    server, value = above[0]
    if len(above) > 1:
        reasons.append(f"{len(above) - 1} older trusted Authentication-Results below it ignored")
    try:
        header = authres.AuthenticationResultsHeader.parse_value(value)
    except Exception as exc:  # authres raises its own and stdlib errors on odd syntax
        # Never fall back to a lower header: it may have come with the message, forged.
        reasons.append(f"ignored unparseable Authentication-Results from {server}: {exc}")
        return "unverified", reasons
    verdict, found = _judge_header(header, from_domain)
    return verdict, found + reasons


def _planted_claim(server: str, value: str, from_domain: str) -> str:
    """What a header below the border claims, if it claims a pass ("" otherwise)."""
    try:
        verdict, found = _judge_header(
            authres.AuthenticationResultsHeader.parse_value(value), from_domain)
    except Exception:  # a planted header that cannot even be read claims nothing
        return ""
    return found[0] if verdict == "verified" else ""


def _own_dkim(raw: bytes, from_domain: str, dnsfunc: DnsFunc | None) -> tuple[str, list[str]]:
    """Verify every DKIM signature ourselves: ("pass" | "fail" | "none", reasons).

    "fail" only when a signature of the From domain's own (aligned) signer is broken: a third
    party's broken signature (a mailing list, a bulk sender) says nothing about the From.
    """
    import dkim  # only when [imap] dkim_verify is on: it brings dnspython and asyncio
    import dkim.dnsplug

    fetched: list[bool] = []

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        # dkimpy calls dnsfunc(name, timeout=...); ours takes the name only.
        try:
            txt = dnsfunc(name) if dnsfunc else dkim.dnsplug.get_txt(name, timeout=timeout)
        except Exception:  # a resolver error is "no key", not a forgery
            txt = None
        fetched.append(bool(txt))
        return txt if isinstance(txt, bytes) or txt is None else bytes(txt)

    try:
        checker = dkim.DKIM(raw)
        count = sum(name.lower() == b"dkim-signature" for name, _ in checker.headers)
    except Exception as exc:  # dkimpy cannot read the message at all
        return "none", [f"own DKIM check could not read the message: {exc}"]
    if not count:
        return "none", ["own DKIM check: no DKIM-Signature"]
    outcome, reasons = "none", []
    for idx in range(count):
        fetched.clear()
        checker.domain, error = None, ""  # a signature too broken to name its d= leaves it unset
        try:
            ok = bool(checker.verify(idx=idx, dnsfunc=lookup))
        except Exception as exc:  # body hash mismatch, malformed tags, bad key
            ok, error = False, f": {exc}"
        signer = (checker.domain or b"?").decode("ascii", "replace").lower()
        if ok and aligned(signer, from_domain):
            return "pass", [f"own DKIM check passed for d={signer}"]
        if ok:
            reasons.append(f"own DKIM check passed for d={signer}, not aligned with {from_domain}")
        elif fetched and not any(fetched):
            reasons.append(f"own DKIM check could not fetch the key for d={signer}")
        elif aligned(signer, from_domain):
            outcome = "fail"
            reasons.append(f"own DKIM check failed for d={signer}{error}")
        else:
            reasons.append(f"own DKIM check failed for d={signer}{error}; not aligned with "
                           f"{from_domain}, so it says nothing about the sender")
    return outcome, reasons


def judge(
    raw: bytes,
    from_domain: str,
    trust: Trust | Sequence[str],
    *,
    dkim_check: bool = False,
    dnsfunc: DnsFunc | None = None,
    parsed: EmailMessage | None = None,
) -> Verdict:
    """Judge whether *raw* (the exact stored bytes) really comes from *from_domain*.

    ``verified``: a trusted server saw dmarc=pass or an aligned dkim=pass, or our own DKIM check
    passed for an aligned domain. ``suspicious``: dmarc=fail, failing DKIM/SPF without an
    aligned pass, a planted header claiming a pass, or an aligned signature that our own check
    finds broken (a third party's broken signature changes nothing). Otherwise ``unverified``.
    *trust*: a `Trust`, or just the trusted authserv-ids (which are then the border hosts too).
    *parsed*: *raw* already parsed with the compat32 policy, to save parsing its header again.
    """
    from_domain = _domain(from_domain)
    if not isinstance(trust, Trust):
        trust = Trust.of(trust)
    try:
        if parsed is None:
            parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        verdict, reasons = _judge_headers(parsed, from_domain, trust)
    except Exception as exc:  # never lose a message over its header syntax
        verdict, reasons = "unverified", [f"unreadable header: {type(exc).__name__}"]
    if not from_domain:
        reasons.append("no From domain to align with")
    if dkim_check:
        outcome, own = _own_dkim(raw, from_domain, dnsfunc)
        reasons += own
        if outcome == "pass":
            verdict = "verified"
        elif outcome == "fail":  # the From domain's own signature broke: the bytes changed
            verdict = "suspicious"
    return Verdict(verdict, tuple(reasons))
