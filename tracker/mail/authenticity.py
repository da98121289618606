"""Is a reply really from the platform? Judge a message's authentication results.

Anybody can write ``Authentication-Results: mx.google.com; dmarc=pass`` into a forged message.
RFC 8601 section 5: only results the organisation's own border (or mail provider) added on
arrival count. Which headers those are follows from where they stand relative to the
``Received`` header the border added: :mod:`tracker.trust` (one preset per provider). Every
other header naming the border came with the message: it is reported, and if it claims a pass
the border did not see, the message is suspicious. Optionally tracker checks the DKIM
signatures itself, over the exact stored bytes, never over a re-serialised message.

Pure functions: the only outside contact is the DNS lookup of DKIM keys, which the caller
injects (``dnsfunc``); without it dkimpy queries real DNS.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser
from types import SimpleNamespace
from typing import Any, Literal

import authres

from tracker.core.errors import ConfigError
from tracker.mail.trust import Trust, find_trusted, normalised

__all__ = ["Authenticity", "DnsFunc", "Trust", "Verdict", "judge"]

Authenticity = Literal["verified", "suspicious", "unverified"]
DnsFunc = Callable[[bytes], bytes | None]
# dkimpy is an extra (most organisations trust their border's results): what to install.
DKIM_EXTRA = "pip install 'tracker[dkim]'"

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


def _props(result: Any) -> dict[str, str]:
    return {f"{p.type}.{p.name}".lower(): str(p.value) for p in getattr(result, "properties", [])}


def _judge_header(header: Any, from_domain: str) -> tuple[Authenticity, list[str]]:
    """Apply the rules to the results of a trusted, parsed Authentication-Results header."""
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


@functools.lru_cache(maxsize=1024)
def _parse_value(value: str) -> Any:
    """One Authentication-Results value parsed by authres (~0.4 ms each), kept: the border
    writes the same results for every message of a sender, and a sync reads thousands. The
    parsed header is only read, never changed; a value authres rejects raises again."""
    return authres.AuthenticationResultsHeader.parse_value(value)


def _parsed(values: Sequence[str], trust: Trust) -> Any:
    """The trusted headers' results as one header: where a method appears twice (OpenDKIM
    and OpenDMARC writing separate headers), the topmost, the later check, wins."""
    results: dict[str, Any] = {}
    server = ""
    for value in values:
        if trust.provider == "microsoft365":
            value = normalised(value)
        header = _parse_value(value)
        server = server or header.authserv_id
        for result in header.results:
            results.setdefault(str(result.method).lower(), result)
    return SimpleNamespace(authserv_id=server, results=list(results.values()))


def _judge_headers(
    msg: EmailMessage, from_domain: str, trust: Trust
) -> tuple[Authenticity, list[str]]:
    if not trust.trusts_anything:
        return "unverified", ["no trusted authserv-id: no Authentication-Results can be "
                              "trusted"]
    fields = [(k.lower(), re.sub(r"\s+", " ", str(v))) for k, v in msg.raw_items()]
    found = find_trusted(fields, trust)
    reasons = list(found.notes)
    if not found.border:
        if found.planted:
            reasons.append(f"ignored {len(found.planted)} Authentication-Results naming a "
                           f"trusted server: no Received header by {trust.name} shows where "
                           "the message entered it, so they may have come with the message")
        return "unverified", [*reasons, f"no Received header by {trust.name}"]
    claims = [claim for value in found.planted if (claim := _planted_claim(value, from_domain,
                                                                             trust))]
    if found.planted:
        reasons.append(f"{len(found.planted)} Authentication-Results naming a trusted server "
                       f"came with the message (not where the Received header by "
                       f"{found.border} puts its own): ignored; the server does not remove "
                       "such headers (RFC 8601 section 5)")
    if not found.trusted:
        if claims:
            return "suspicious", [*reasons, f"a planted Authentication-Results claims "
                                  f"{claims[0]}"]
        return "unverified", [*reasons, "no Authentication-Results from a trusted server"]
    try:
        header = _parsed(found.trusted, trust)
    except Exception as exc:  # authres raises its own and stdlib errors on odd syntax
        # Never fall back to another header: it may have come with the message, forged.
        reasons.append(f"ignored unparseable Authentication-Results from {found.border}: {exc}")
        return "unverified", reasons
    verdict, judged = _judge_header(header, from_domain)
    if claims and verdict != "verified":
        return "suspicious", [*judged, *reasons, f"a planted Authentication-Results claims "
                              f"{claims[0]}"]
    return verdict, judged + reasons


def _planted_claim(value: str, from_domain: str, trust: Trust) -> str:
    """What a header that came with the message claims, if it claims a pass ("" otherwise)."""
    try:
        verdict, found = _judge_header(_parsed([value], trust), from_domain)
    except Exception:  # a planted header that cannot even be read claims nothing
        return ""
    return found[0] if verdict == "verified" else ""


def _own_dkim(raw: bytes, from_domain: str, dnsfunc: DnsFunc | None) -> tuple[str, list[str]]:
    """Verify every DKIM signature ourselves: ("pass" | "fail" | "none", reasons).

    "fail" only when a signature of the From domain's own (aligned) signer is broken: a third
    party's broken signature (a mailing list, a bulk sender) says nothing about the From.
    """
    try:  # only when [imap] dkim_verify is on: it brings dnspython and asyncio
        import dkim
        import dkim.dnsplug
    except ImportError:
        raise ConfigError(
            "[imap] dkim_verify is on, and checking DKIM signatures needs dkimpy, which is not "
            f"installed: {DKIM_EXTRA} (or turn dkim_verify off)") from None

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
