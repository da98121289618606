"""Postal tracking numbers: which carrier a number belongs to, and whether it is well formed.

Registered letters between postal operators carry a UPU S10 identifier (UPU standard S10):
two letters for the service (``R`` registered, ``E`` EMS, ``C`` parcel, ``L``/``U``
tracked, ``V`` insured), eight serial digits, a check digit, and the ISO 3166 code of the
country whose operator issued it: ``RR123456785DE`` is a Deutsche Post registered letter. The
check digit catches most typing mistakes: a number that looks like S10 but fails it is kept as
entered (the receipt is the proof, not tracker) and described with a warning to check it.
Other numbers (a courier's) are kept as entered, carrier unknown, unless they are plainly a
UPS number (``1Z`` and 16 letters or digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracker.core.errors import InputError

_S10 = re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}")
_UPS = re.compile(r"1Z[0-9A-Z]{16}")
_ANY = re.compile(r"[0-9A-Z][0-9A-Z -]{3,38}[0-9A-Z]")
_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)

# The designated postal operators of the countries tracker's users most often post to.
OPERATORS = {
    "AT": "Österreichische Post", "AU": "Australia Post", "BE": "bpost", "CA": "Canada Post",
    "CH": "Swiss Post", "CN": "China Post", "CZ": "Česká pošta", "DE": "Deutsche Post",
    "DK": "PostNord Denmark", "ES": "Correos", "FI": "Posti", "FR": "La Poste",
    "GB": "Royal Mail", "HK": "Hongkong Post", "IE": "An Post", "IT": "Poste Italiane",
    "JP": "Japan Post", "KR": "Korea Post", "LU": "POST Luxembourg", "NL": "PostNL",
    "NO": "Posten Norge", "NZ": "NZ Post", "PL": "Poczta Polska", "PT": "CTT",
    "SE": "PostNord Sweden", "SG": "Singapore Post", "TW": "Chunghwa Post", "US": "USPS",
}  # fmt: skip
_SERVICES = {"R": "registered", "E": "EMS", "C": "parcel", "L": "tracked", "U": "tracked",
             "V": "insured"}  # fmt: skip


@dataclass(frozen=True)
class Tracking:
    """A tracking number as kept (upper case, no spaces) and who carries it."""

    number: str
    carrier: str  # "" when the number does not say
    service: str = ""  # "registered", "EMS", ... for a UPU S10 number
    warning: str = ""  # e.g. the S10 check digit does not match

    def describe(self) -> str:
        """``RR123456785DE (Deutsche Post, registered)``; ``AB-1234 (carrier unknown)``."""
        said = ", ".join(p for p in (self.carrier, self.service) if p) or "carrier unknown"
        return f"{self.number} ({said}{'; ' + self.warning if self.warning else ''})"


def s10_check_digit(serial: str) -> int:
    """The UPU S10 check digit of an eight-digit *serial*."""
    remainder = 11 - sum(int(d) * w for d, w in zip(serial, _WEIGHTS, strict=True)) % 11
    return {10: 0, 11: 5}.get(remainder, remainder)


def parse_tracking(text: str) -> Tracking:
    """*text* as a tracking number; InputError saying what is wrong if it cannot be one."""
    number = "".join(text.split()).upper()
    if _S10.fullmatch(number):
        serial, check, country = number[2:10], int(number[10]), number[11:]
        expected = s10_check_digit(serial)
        warning = "" if expected == check else \
            f"its check digit should be {expected}, not {check}: compare it with the receipt"
        operator = OPERATORS.get(country, f"postal operator of {country}")
        return Tracking(number, operator, _SERVICES.get(number[0], ""), warning)
    if _UPS.fullmatch(number):
        return Tracking(number, "UPS")
    if not _ANY.fullmatch(number):
        raise InputError(f"tracking number {text.strip()[:60]!r}: give the number on the "
                         "receipt (5 to 40 letters, digits and dashes), e.g. RR123456785DE")
    return Tracking(number, "")
