"""Authenticity: only trusted Authentication-Results count (RFC 8601 5); our own DKIM check."""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tracker.mail.authenticity import DnsFunc, Verdict, aligned, judge
from tracker.mail.header_info import parse_headers

MAIL = Path(__file__).parent / "data" / "mail"
TRUSTED = ["mx.hrgroup.example"]


def judge_sample(name: str, trusted: list[str] = TRUSTED) -> Verdict:
    raw = (MAIL / name).read_bytes()
    sender = parse_headers(raw).from_addr
    return judge(raw, sender.rpartition("@")[2], trusted)


# name: (authenticity, a reason fragment)
EXPECTED = {
    "reply_in_reply_to.eml": ("verified", "dkim=pass (mx.hrgroup.example) with header.d=zoom.us"),
    "zendesk_ticket_ack.eml": ("verified", "dmarc=pass (mx.hrgroup.example) for zoom.us"),
    "zendesk_ticket_reply.eml": ("verified", "header.d=zoom.us aligned"),
    "verified_dmarc_pass.eml": ("verified", "dmarc=pass (mx.hrgroup.example) for zoom.us"),
    "forged_dmarc_fail.eml": ("suspicious", "dmarc=fail (mx.hrgroup.example) for zoom.us"),
    "forged_untrusted_ar.eml": ("unverified", "from untrusted authserv-id mx.zoom.us"),
    "bounce_gmail.eml": ("unverified", "from untrusted authserv-id mx.google.com"),
    "reply_subject_tag.eml": ("unverified", "no Authentication-Results from a trusted server"),
    "no_headers.eml": ("unverified", "no From domain to align with"),
    "hostile_terminal.eml": ("suspicious", "dmarc=fail (mx.hrgroup.example) for zoom.us"),
}


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items(), ids=list(EXPECTED))
def test_sample_authenticity(name: str, expected: tuple[str, str]) -> None:
    verdict = judge_sample(name)
    assert verdict.authenticity == expected[0]
    assert any(expected[1] in r for r in verdict.reasons), verdict.reasons


def test_topmost_trusted_header_wins_over_a_forged_one_below() -> None:
    # forged_dmarc_fail.eml carries a lower "mx.hrgroup.example; dmarc=pass" written by the forger.
    verdict = judge_sample("forged_dmarc_fail.eml")
    assert verdict.authenticity == "suspicious"
    assert any("came with the message (not where the Received header by mx.hrgroup.example"
               in r for r in verdict.reasons)


def test_authserv_id_comparison_ignores_case() -> None:
    verdict = judge_sample("verified_dmarc_pass.eml", ["MX.HRGroup.Example"])
    assert verdict.authenticity == "verified"


def test_results_without_a_border_hop_are_not_trusted() -> None:
    # Gmail wrote this notice itself: no Received header shows it entering from outside, so
    # nothing tells its Authentication-Results apart from ones that came with a message.
    verdict = judge_sample("bounce_gmail.eml", ["mx.google.com"])
    assert verdict.authenticity == "unverified"
    assert "no Received header by mx.google.com" in verdict.reasons


BORDER = ("Received: from mail.zoom.us (mail.zoom.us [170.114.10.1])\r\n"
          "\tby mx.hrgroup.example (Postfix) with ESMTPS id 4TqJ1f7Xd9z9sS5\r\n"
          "\tfor <inquiries@hrgroup.example>; Tue, 10 Mar 2026 14:02:06 +0000")


def message(*results: str, sender: str = "legal@zoom.us", body: str = "Hello.\n") -> bytes:
    """A reply whose Authentication-Results our border added (above its Received header)."""
    lines = [f"Authentication-Results: {r}" for r in results]
    lines += [BORDER, f"From: Zoom Legal <{sender}>", "To: inquiries@hrgroup.example",
              "Subject: [HC-2026-0001] Answer", "Date: Tue, 10 Mar 2026 14:02:05 +0000",
              "Message-ID: <answer.1@zoom.us>"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


@pytest.mark.parametrize(("results", "from_domain", "authenticity", "reason"), [
    (["mx.hrgroup.example; dkim=fail header.d=zoom.us"], "zoom.us", "suspicious",
     "dkim=fail (mx.hrgroup.example) for zoom.us"),
    (["mx.hrgroup.example; spf=fail smtp.mailfrom=legal@zoom.us"], "zoom.us", "suspicious",
     "no passing aligned DKIM signature"),
    (["mx.hrgroup.example; spf=softfail smtp.mailfrom=legal@zoom.us"], "zoom.us", "unverified",
     "spf=softfail"),
    (["mx.hrgroup.example; spf=pass smtp.mailfrom=legal@zoom.us"], "zoom.us", "unverified",
     "SPF alone does not prove the From"),
    (["mx.hrgroup.example; dkim=pass header.d=zoom.us; spf=fail smtp.mailfrom=x@relay.example"],
     "zoom.us", "verified", "header.d=zoom.us aligned"),
    (["mx.hrgroup.example; dkim=pass header.i=@mail.zoom.us"], "zoom.us", "verified",
     "header.d=mail.zoom.us aligned"),
    (["mx.hrgroup.example; dkim=pass header.d=zoom.us.evil.example"], "zoom.us", "unverified",
     "not aligned with zoom.us"),
    (["mx.hrgroup.example; dmarc=pass header.from=evil.example"], "zoom.us", "unverified",
     "is for evil.example, not zoom.us"),
    (["mx.hrgroup.example; dmarc=temperror header.from=zoom.us"], "zoom.us", "unverified",
     "dmarc=temperror"),
    (["mx.hrgroup.example; none"], "zoom.us", "unverified", "no usable results"),
    (["mx.hrgroup.example; dkim=pass header.d=zoom.us; ===garbage"], "zoom.us", "unverified",
     "ignored unparseable Authentication-Results from mx.hrgroup.example"),
    (["(comment) mx.hrgroup.example 1; dmarc=pass header.from=zoom.us"], "zoom.us", "verified",
     "dmarc=pass"),
    (["mx.hrgroup.example.evil.example; dmarc=pass header.from=zoom.us"], "zoom.us",
     "unverified", "untrusted authserv-id mx.hrgroup.example.evil.example"),
])
def test_authentication_results_rules(results: list[str], from_domain: str, authenticity: str,
                                      reason: str) -> None:
    verdict = judge(message(*results), from_domain, TRUSTED)
    assert verdict.authenticity == authenticity
    assert any(reason in r for r in verdict.reasons), verdict.reasons


def test_unparseable_topmost_trusted_header_never_falls_back_to_a_lower_one() -> None:
    raw = message("mx.hrgroup.example; dkim=pass header.d=zoom.us; ===garbage",
                  "mx.hrgroup.example; dmarc=pass header.from=zoom.us")  # the lower one: forged
    verdict = judge(raw, "zoom.us", TRUSTED)
    assert verdict.authenticity == "unverified"
    # Both stand above the border: both are its own, and one cannot be read: nothing counts.
    assert any(r.startswith("ignored unparseable Authentication-Results") for r in verdict.reasons)


@pytest.mark.parametrize(("signer", "from_domain", "expected"), [
    ("zoom.us", "zoom.us", True),
    ("Zoom.US.", "zoom.us", True),
    ("zoom.us", "support.zoom.us", True),
    ("mail.zoom.us", "zoom.us", True),
    ("@zoom.us", "legal@zoom.us", True),
    ("notzoom.us", "zoom.us", False),
    ("zoom.us.evil.example", "zoom.us", False),
    ("us", "zoom.us", False),  # a top-level domain aligns with nothing
    ("sendgrid.net", "zoom.us", False),
    ("", "zoom.us", False),
])
def test_alignment(signer: str, from_domain: str, expected: bool) -> None:
    assert aligned(signer, from_domain) is expected


# --- our own DKIM check, with a real key and an injected DNS -------------------------------


@pytest.fixture(scope="module")
def key() -> tuple[bytes, bytes]:
    """(PKCS#1 private key PEM, DNS TXT record) for selector s1._domainkey.zoom.us."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = private.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def signed(pem: bytes, raw: bytes, domain: bytes = b"zoom.us") -> bytes:
    signature = dkim.sign(raw, b"s1", domain, pem,
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return bytes(signature) + raw


def dns_for(txt: bytes | None, domain: bytes = b"zoom.us") -> tuple[list[bytes], DnsFunc]:
    asked: list[bytes] = []

    def dnsfunc(name: bytes) -> bytes | None:
        asked.append(name)
        return txt if name == b"s1._domainkey." + domain + b"." else None

    return asked, dnsfunc


def test_own_dkim_check_passes_on_the_exact_bytes(key: tuple[bytes, bytes]) -> None:
    pem, txt = key
    raw = signed(pem, message())
    asked, dnsfunc = dns_for(txt)
    assert judge(raw, "zoom.us", TRUSTED).authenticity == "unverified"  # no trusted results
    verdict = judge(raw, "zoom.us", TRUSTED, dkim_check=True, dnsfunc=dnsfunc)
    assert verdict.authenticity == "verified"
    assert "own DKIM check passed for d=zoom.us" in verdict.reasons
    assert asked == [b"s1._domainkey.zoom.us."]


def test_one_flipped_body_byte_makes_it_suspicious(key: tuple[bytes, bytes]) -> None:
    pem, txt = key
    raw = bytearray(signed(pem, message(body="We found no records.\n")))
    raw[raw.index(b"no records")] ^= 0x20  # "no" -> "No"
    _, dnsfunc = dns_for(txt)
    verdict = judge(bytes(raw), "zoom.us", TRUSTED, dkim_check=True, dnsfunc=dnsfunc)
    assert verdict.authenticity == "suspicious"
    assert any(r.startswith("own DKIM check failed for d=zoom.us") for r in verdict.reasons)


def test_tampering_after_receipt_overrides_a_trusted_pass(key: tuple[bytes, bytes]) -> None:
    pem, txt = key
    raw = signed(pem, message("mx.hrgroup.example; dmarc=pass header.from=zoom.us",
                              body="The account was deleted.\n"))
    tampered = raw.replace(b"was deleted", b"was kept!!")
    _, dnsfunc = dns_for(txt)
    assert judge(tampered, "zoom.us", TRUSTED).authenticity == "verified"
    assert judge(tampered, "zoom.us", TRUSTED, dkim_check=True,
                 dnsfunc=dnsfunc).authenticity == "suspicious"


def test_no_signature_changes_nothing(key: tuple[bytes, bytes]) -> None:
    _, txt = key
    _, dnsfunc = dns_for(txt)
    raw = message("mx.hrgroup.example; dmarc=pass header.from=zoom.us")
    verdict = judge(raw, "zoom.us", TRUSTED, dkim_check=True, dnsfunc=dnsfunc)
    assert verdict.authenticity == "verified"
    assert "own DKIM check: no DKIM-Signature" in verdict.reasons


def test_missing_key_is_not_proof_of_forgery(key: tuple[bytes, bytes]) -> None:
    pem, _ = key
    _, dnsfunc = dns_for(None)  # key rotated away, or DNS down
    verdict = judge(signed(pem, message()), "zoom.us", TRUSTED, dkim_check=True,
                    dnsfunc=dnsfunc)
    assert verdict.authenticity == "unverified"
    assert "own DKIM check could not fetch the key for d=zoom.us" in verdict.reasons


def test_valid_signature_of_another_domain_proves_nothing(key: tuple[bytes, bytes]) -> None:
    pem, txt = key
    _, dnsfunc = dns_for(txt, b"evil.example")
    raw = signed(pem, message(), domain=b"evil.example")
    verdict = judge(raw, "zoom.us", TRUSTED, dkim_check=True, dnsfunc=dnsfunc)
    assert verdict.authenticity == "unverified"
    assert "own DKIM check passed for d=evil.example, not aligned with zoom.us" in verdict.reasons


def test_dns_errors_and_garbage_never_raise(key: tuple[bytes, bytes]) -> None:
    pem, _ = key

    def broken_dns(name: bytes) -> bytes | None:
        raise OSError("resolver unreachable")

    assert judge(signed(pem, message()), "zoom.us", TRUSTED, dkim_check=True,
                 dnsfunc=broken_dns).authenticity == "unverified"
    for raw, expected in [
        (b"", "unverified"),
        (b"\x00\xff garbage", "unverified"),
        (b"Authentication-Results: mx.hrgroup.example; dmarc=\r\n\r\nx", "unverified"),
        # A signature too broken to name its signer says nothing about the From domain.
        (b"DKIM-Signature: v=1; d=\r\nFrom: a@zoom.us\r\n\r\nx", "unverified"),
    ]:
        verdict = judge(raw, "zoom.us", TRUSTED, dkim_check=True, dnsfunc=broken_dns)
        assert verdict.authenticity == expected, verdict.reasons


# -- where a trusted header stands (RFC 8601 section 5) ------------------------------------------

FROM_OUTSIDE = ("Received: from mail.hosting.example (mail.hosting.example [203.0.113.9])\r\n"
                "\tby mail.hosting.example (Postfix) with ESMTP id 1A2B; Tue, 10 Mar 2026 "
                "14:02:01 +0000")


def headers(*lines: str) -> bytes:
    return ("\r\n".join([*lines, "From: Zoom Legal <legal@zoom.us>",
                         "Subject: [HC-2026-0001] Answer", "Message-ID: <a@zoom.us>"])
            + "\r\n\r\nHello.\r\n").encode()


PASS = "Authentication-Results: mx.hrgroup.example; dmarc=pass header.from=zoom.us"
FAIL = "Authentication-Results: mx.hrgroup.example; dmarc=fail header.from=zoom.us"


@pytest.mark.parametrize(("raw", "authenticity", "reason"), [
    # Our border wrote it: above the Received header it added.
    (headers(PASS, BORDER, FROM_OUTSIDE), "verified", "dmarc=pass (mx.hrgroup.example)"),
    # Planted in the middle of the headers, below our border's Received header; our border
    # added none (a server that adds no results): a forged pass.
    (headers(BORDER, FROM_OUTSIDE, PASS), "suspicious", "a planted Authentication-Results"),
    (headers(BORDER, PASS, FROM_OUTSIDE), "suspicious", "came with the message"),
    # Our border's own verdict stands; the planted one is reported and ignored.
    (headers(FAIL, BORDER, PASS), "suspicious", "the server does not remove such headers"),
    # No Received header by our border: nothing shows where the message entered.
    (headers(PASS, FROM_OUTSIDE), "unverified", "no Received header by mx.hrgroup.example"),
    # A forged Received header "by" our border below the real one changes nothing.
    (headers(BORDER, FROM_OUTSIDE, PASS, BORDER), "suspicious", "a planted"),
])
def test_only_results_our_border_added_count(raw: bytes, authenticity: str,
                                             reason: str) -> None:
    verdict = judge(raw, "zoom.us", TRUSTED)
    assert verdict.authenticity == authenticity, verdict.reasons
    assert any(reason in r for r in verdict.reasons), verdict.reasons


def test_border_hosts_may_differ_from_the_authserv_id() -> None:
    from tracker.mail.authenticity import Trust

    relay = BORDER.replace("by mx.hrgroup.example", "by mx2.mail.hrgroup.example")
    raw = headers(PASS, relay, FROM_OUTSIDE)
    assert judge(raw, "zoom.us", TRUSTED).authenticity == "unverified"
    trust = Trust.of(TRUSTED, ["*.mail.hrgroup.example"])
    assert judge(raw, "zoom.us", trust).authenticity == "verified"


def test_with_no_trusted_server_a_forged_from_is_never_verified() -> None:
    raw = headers(PASS, BORDER, FROM_OUTSIDE)
    verdict = judge(raw, "zoom.us", [])
    assert verdict.authenticity == "unverified"
    assert any("no trusted authserv-id" in r for r in verdict.reasons)


def test_a_third_partys_broken_signature_does_not_override_an_aligned_pass(
        key: tuple[bytes, bytes]) -> None:
    pem, txt = key
    good = signed(pem, message("mx.hrgroup.example; dmarc=pass header.from=zoom.us"))
    # A list or bulk sender's signature, broken by a changed body: not aligned with zoom.us.
    broken = signed(pem, good, domain=b"lists.example").replace(b"Hello.", b"Hello!")
    _, dnsfunc = dns_for(txt)

    def both(name: bytes) -> bytes | None:
        return txt if name in (b"s1._domainkey.zoom.us.", b"s1._domainkey.lists.example.") \
            else dnsfunc(name)

    verdict = judge(broken, "zoom.us", TRUSTED, dkim_check=True, dnsfunc=both)
    # zoom.us's own signature breaks too (the body changed): that one does count.
    assert verdict.authenticity == "suspicious"
    only_third_party = signed(pem, message("mx.hrgroup.example; dmarc=pass header.from=zoom.us"),
                              domain=b"lists.example")
    tampered = only_third_party.replace(b"Hello.", b"Hello!")
    verdict = judge(tampered, "zoom.us", TRUSTED, dkim_check=True, dnsfunc=both)
    assert verdict.authenticity == "verified", verdict.reasons
    assert any("not aligned with zoom.us, so it says nothing" in r for r in verdict.reasons)
