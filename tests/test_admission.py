"""Only the platform can answer for the platform: the admission rules as a table."""

from __future__ import annotations

import pytest

from tracker.mail.admission import RULES, admit, looks_like
from tracker.mail.authenticity import Verdict
from tracker.mail.matching import KnownSenders, Match

ZOOM = KnownSenders(name="Zoom", domains=frozenset({"zoom.us"}),
                    approved=frozenset({"zoom.zendesk.com"}))
VERIFIED = Verdict("verified", ("dmarc=pass (mx.hrgroup.example) for the From domain",))
UNVERIFIED = Verdict("unverified", ("no Authentication-Results from a trusted server",))
SUSPICIOUS = Verdict("suspicious", ("dmarc=fail (mx.hrgroup.example) for zoom.us",))
TAGGED = Match("HC-2026-0001", "subject-tag", relevant=True, reasons=("subject carries it",))
LETTER = Match("HC-2026-0001", "bounced-letter", relevant=True, reasons=("our letter",))

# (case, kind, doubt, match, sender, verdict, accept_unverified) ->
#   (rule, authenticity, a fragment of the hold reason or "")
CASES = [
    ("platform-domain-verified", "reply", "", TAGGED, "legal@zoom.us", VERIFIED, False,
     "verified-platform-domain", "verified", ""),
    ("subdomain-verified", "auto_reply", "", TAGGED, "noreply@support.zoom.us", VERIFIED, False,
     "verified-platform-domain", "verified", ""),
    ("approved-domain-verified", "reply", "", TAGGED, "agent@zoom.zendesk.com", VERIFIED, False,
     "verified-approved-domain", "verified", ""),
    ("approved-is-exact", "reply", "", TAGGED, "x@evil.zoom.zendesk.com", VERIFIED, False,
     "", "unverified", "not a known address of Zoom"),
    ("lookalike-passing-dmarc", "reply", "", TAGGED, "legal@zoom-us.support", VERIFIED, False,
     "", "suspicious", "looks like a domain of Zoom"),
    ("digits-for-letters", "reply", "", TAGGED, "legal@z00m.us", VERIFIED, False,
     "", "suspicious", "looks like a domain of Zoom"),
    ("platform-domain-in-front", "reply", "", TAGGED, "legal@zoom.us.evil.example", VERIFIED,
     False, "", "suspicious", "looks like a domain of Zoom"),
    ("other-domain-passing-dmarc", "reply", "", TAGGED, "someone@gmail.example", VERIFIED, False,
     "", "unverified", "not a known address of Zoom"),
    ("forged-platform-domain", "reply", "", TAGGED, "legal@zoom.us", SUSPICIOUS, False,
     "", "suspicious", "it may be forged"),
    ("unproven-platform-domain", "reply", "", TAGGED, "legal@zoom.us", UNVERIFIED, False,
     "", "unverified", "nothing proves it comes from zoom.us"),
    ("unproven-accepted-by-setting", "reply", "", TAGGED, "legal@zoom.us", UNVERIFIED, True,
     "unverified-platform-domain", "unverified", ""),
    ("suspicious-never-accepted", "reply", "", TAGGED, "legal@zoom.us", SUSPICIOUS, True,
     "", "suspicious", "it may be forged"),
    ("doubt-waits", "auto_reply", "reads like both", TAGGED, "legal@zoom.us", VERIFIED, False,
     "", "verified", "reads like both"),
    ("bounce-naming-our-letter", "bounce", "", LETTER, "mailer-daemon@mx.example", UNVERIFIED,
     False, "names-our-letter", "unverified", ""),
    ("bounce-with-only-our-tag", "bounce", "", TAGGED, "mailer-daemon@evil.example",
     UNVERIFIED, False, "", "unverified", "names none of our letters"),
    ("probable", "reply", "", Match("HC-2026-0001", "sender-domain", probable=True,
                                    relevant=True, reasons=("confirm with tracker link",)),
     "legal@zoom.us", VERIFIED, False, "", "verified", "confirm with tracker link"),
    ("unmatched", "reply", "", Match(None, "", relevant=True, reasons=("from zoom.us",)),
     "legal@zoom.us", VERIFIED, False, "", "verified", "from zoom.us"),
]


@pytest.mark.parametrize(("kind", "doubt", "match", "sender", "verdict", "accept", "rule",
                          "authenticity", "hold"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_only_the_platform_answers_for_the_platform(
        kind: str, doubt: str, match: Match, sender: str, verdict: Verdict, accept: bool,
        rule: str, authenticity: str, hold: str) -> None:
    admission = admit(kind=kind, doubt=doubt, match=match, sender=sender, verdict=verdict,
                      senders=ZOOM, accept_unverified=accept)
    assert (admission.rule, admission.authenticity) == (rule, authenticity)
    assert admission.counts is bool(rule)
    if rule:
        assert rule in RULES and admission.hold == ""
    else:
        assert hold in admission.hold


def test_verified_for_an_unknown_platform_is_not_verified() -> None:
    admission = admit(kind="reply", doubt="", match=Match(None, "", relevant=True),
                      sender="a@example.org", verdict=VERIFIED, senders=None,
                      accept_unverified=False)
    assert admission.authenticity == "unverified"
    assert "not a platform's known domain" in admission.reasons[0]


@pytest.mark.parametrize(("domain", "expected"), [
    ("zoom-us.support", True), ("zoomsupport.example", True), ("z00m.example", True),
    ("zoom.zendesk.com", False),  # a help desk named after it: unknown, not an imitation
    ("zoom.us", False), ("support.zoom.us", False), ("example.org", False),
    ("zoom.us.evil.example", True),
])
def test_look_alike_domains(domain: str, expected: bool) -> None:
    assert looks_like(domain, ZOOM) is expected


def test_a_cyrillic_look_alike_is_caught() -> None:
    cyrillic = "zооm.us".encode("idna").decode("ascii")  # two Cyrillic o's
    assert cyrillic.startswith("xn--")
    assert looks_like(cyrillic, ZOOM)
