"""References (``HC-2026-0007``), subject tags and signed per-request reply addresses.

A reply address carries the reference and a short HMAC, so that nobody can guess the address of
another request and inject mail into it (Alaveteli's scheme). People retype addresses from
printed letters, so the check forgives case, spaces, ``o`` for ``0`` and ``l``/``i`` for ``1``.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from tracker.core.errors import InputError

REF_RE = re.compile(r"([A-Za-z0-9]{1,10})-(\d{4})-(\d{4,})")
SUBJECT_TAG_RE = re.compile(r"\[([A-Za-z0-9]{1,10}-\d{4}-\d{4,})\]")
_SIG_LEN = 10
_RETYPED = str.maketrans({"o": "0", "l": "1", "i": "1"})
_TAG_RE = re.compile(
    r"\+\s*([a-z0-9]{1,10})\s*-\s*([0-9oli]{4})\s*-\s*([0-9oli]{4,})\s*-\s*"
    r"([0-9a-foli]{" + str(_SIG_LEN) + r"})\s*@"
)


def format_ref(prefix: str, year: int, seq: int) -> str:
    """``HC-2026-0007``: prefix, year, sequence (at least four digits)."""
    return f"{prefix.upper()}-{year:04d}-{seq:04d}"


def parse_ref(text: str) -> str:
    """Normalise a reference typed by a person (case, spaces); InputError if it isn't one."""
    cleaned = text.strip().upper()
    if not REF_RE.fullmatch(cleaned):
        raise InputError(f"{text!r} is not a request reference; they look like HC-2026-0007")
    return cleaned


def subject_with_tag(ref: str, subject: str) -> str:
    """Put ``[REF]`` in front of the subject, once (Request Tracker style)."""
    tag = f"[{ref}]"
    return subject if tag in subject else f"{tag} {subject}"


def refs_in_subject(subject: str) -> list[str]:
    """Every ``[REF]`` tag in a subject, upper-cased, in order."""
    return [m.upper() for m in SUBJECT_TAG_RE.findall(subject)]


def _signature(ref: str, secret: bytes) -> str:
    digest = hmac.new(secret, ref.upper().encode("ascii"), hashlib.sha256).hexdigest()
    return digest[:_SIG_LEN]


def reply_address(base: str, ref: str, secret: bytes) -> str:
    """``inquiries@org.example`` -> ``inquiries+hc-2026-0007-3fa9c2d1e0@org.example``."""
    local, _, domain = base.rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{ref.lower()}-{_signature(ref, secret)}@{domain}"


def ref_from_reply_address(address: str, secret: bytes) -> str | None:
    """The reference an address's tag stands for, if its signature is valid; else None."""
    match = _TAG_RE.search(address.lower())
    if not match:
        return None
    prefix, year, seq, sig = match.groups()
    ref = f"{prefix.upper()}-{year.translate(_RETYPED)}-{seq.translate(_RETYPED)}"
    valid = hmac.compare_digest(_signature(ref, secret), sig.translate(_RETYPED))
    return ref if valid else None
