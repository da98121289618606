"""Which Authentication-Results count, per mail provider: real layouts (tests/data/mail/providers).

Each sample is a real provider's header layout in its real order (see the README there). The
table says what tracker must conclude; the mutations move or remove the provider's own header
to show that position, not the authserv-id, is what makes it trusted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.mail.authenticity import judge
from tracker.mail.header_info import parse_headers
from tracker.mail.trust import Provider, Trust, claimed_id, find_trusted, normalised

SAMPLES = Path(__file__).parent / "data" / "mail" / "providers"
OWN = ["mx.hrgroup.example"]

# file: (provider, authenticity, a reason fragment)
EXPECTED: dict[str, tuple[Provider, str, str]] = {
    "m365_verified.eml": ("microsoft365", "verified", "dmarc=pass (microsoft365) for zoom.us"),
    "m365_verified_authserv_id.eml": ("microsoft365", "verified", "dmarc=pass (mx.microsoft.com)"),
    "m365_dmarc_fail.eml": ("microsoft365", "suspicious", "dmarc=fail (microsoft365)"),
    "m365_planted_ar.eml": ("microsoft365", "suspicious", "came with the message"),
    "gmail_verified.eml": ("gmail", "verified", "dmarc=pass (mx.google.com) for zoom.us"),
    "gmail_forged_ar_below_border.eml": ("gmail", "suspicious", "came with the message"),
    "gmail_lookalike_domain.eml": ("gmail", "verified", "for zoom-us.support"),
    "fastmail_verified.eml": ("fastmail", "verified", "dmarc=pass (phl-mx-04.messagingengine"),
    "postfix_opendmarc_verified.eml": ("generic", "verified", "dmarc=pass (mx.hrgroup.example)"),
    "postfix_no_ar.eml": ("generic", "unverified", "no Authentication-Results from a trusted"),
}


def verdict_of(raw: bytes, provider: Provider) -> tuple[str, tuple[str, ...]]:
    trust = Trust.of(OWN if provider == "generic" else [], provider=provider)
    domain = parse_headers(raw).from_addr.rpartition("@")[2]
    verdict = judge(raw, domain, trust)
    return verdict.authenticity, verdict.reasons


def test_every_sample_is_in_the_table() -> None:
    assert {p.name for p in SAMPLES.glob("*.eml")} == set(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items(), ids=list(EXPECTED))
def test_provider_layouts(name: str, expected: tuple[Provider, str, str]) -> None:
    provider, authenticity, reason = expected
    found, reasons = verdict_of((SAMPLES / name).read_bytes(), provider)
    assert found == authenticity, reasons
    assert any(reason in r for r in reasons), reasons


def _lines(raw: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    fields: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return fields, body


def _join(fields: list[bytes], body: bytes) -> bytes:
    return b"\r\n".join(fields) + b"\r\n\r\n" + body


def _index(fields: list[bytes], start: bytes, contains: bytes = b"") -> int:
    return next(i for i, f in enumerate(fields) if f.lower().startswith(start) and contains in f)


@pytest.mark.parametrize(("name", "provider", "border"), [
    ("gmail_verified.eml", "gmail", b"by mx.google.com"),
    ("m365_verified.eml", "microsoft365", b"mail.protection.outlook.com"),
])
def test_the_providers_header_counts_only_next_to_its_border(name: str, provider: Provider,
                                                             border: bytes) -> None:
    fields, body = _lines((SAMPLES / name).read_bytes())
    at = _index(fields, b"authentication-results:")
    own = fields.pop(at)
    # (a) one header further from the border: the layout is not the provider's: nothing counts
    # (and a pass claimed from the wrong place makes the message suspicious).
    moved = [*fields]
    moved.insert(at + (2 if provider == "gmail" else -1), own)
    authenticity, reasons = verdict_of(_join(moved, body), provider)
    assert authenticity == "suspicious" and any("layout not recognised" in r for r in reasons)
    # (b) no border Received at all: the message never passed the provider.
    fields.insert(at, own)
    no_border = [f for f in fields if not (f.lower().startswith(b"received:") and border in f)]
    authenticity, reasons = verdict_of(_join(no_border, body), provider)
    assert authenticity == "unverified" and any("no Received header by" in r for r in reasons)
    # (c) a copy claiming pass at the very top: not where the provider writes; it came from
    # elsewhere and is never read (the provider's own verdict still stands).
    top = [own, *fields]
    assert verdict_of(_join(top, body), provider)[0] == "verified"


def test_fastmail_merges_its_four_headers_and_generic_merges_opendkim_and_opendmarc() -> None:
    for name, provider in (("fastmail_verified.eml", "fastmail"),
                           ("postfix_opendmarc_verified.eml", "generic")):
        raw = (SAMPLES / name).read_bytes()
        fields = [(k.lower(), v) for k, v in _parsed_fields(raw)]
        found = find_trusted(fields, Trust.of(OWN if provider == "generic" else [],
                                              provider=provider))
        assert len(found.trusted) > 1 and not found.planted


def _parsed_fields(raw: bytes) -> list[tuple[str, str]]:
    from email import policy
    from email.parser import BytesHeaderParser

    msg = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    return [(k, " ".join(str(v).split())) for k, v in msg.raw_items()]


@pytest.mark.parametrize(("value", "authserv_id", "parseable"), [
    ("mx.google.com; dkim=pass header.i=@zoom.us", "mx.google.com", "mx.google.com; dkim=pass"),
    ("spf=pass (sender IP is 1.2.3.4) smtp.mailfrom=zoom.us; dkim=pass header.d=zoom.us", "",
     "microsoft365; spf=pass"),
    ("spf=pass smtp.mailfrom=a.example; tenant.example; dkim=pass header.d=a.example", "",
     "microsoft365; spf=pass smtp.mailfrom=a.example; dkim=pass"),
    ("mx.microsoft.com 1; spf=pass smtp.mailfrom=zoom.us", "mx.microsoft.com",
     "mx.microsoft.com 1; spf=pass"),
])
def test_microsoft_headers_are_made_parseable(value: str, authserv_id: str,
                                              parseable: str) -> None:
    assert claimed_id(value) == authserv_id
    assert normalised(value).replace("  ", " ").startswith(parseable)


def test_an_unknown_provider_is_one_clear_line(tmp_path: Path) -> None:
    from tracker.config.loading import load_settings
    from tracker.core.errors import ConfigError

    (tmp_path / "tracker.toml").write_text('[imap]\nprovider = "yahoo"\n')
    with pytest.raises(ConfigError, match=r"\[imap\] provider .* must be one of generic, gmail"):
        load_settings(tmp_path, env={})
