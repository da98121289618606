"""The decode-fidelity corpus (tests/data/realworld/): real messages and what mail clients show.

``corpus.json`` lists each message with its source, licence and the subject, sender and first
line of text that a mainstream mail client shows (where they come from is in each entry).
`compare` reads one message as tracker reads it and names each field that disagrees; the test
(tests/test_realworld.py) and the benchmark (benchmarks/fidelity.py) both use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.mail.parsing import parse_message

CORPUS = Path(__file__).resolve().parent / "data" / "realworld"
FIELDS = ("subject", "from_addr", "from_name", "sender_from", "first_line")


@dataclass(frozen=True)
class Case:
    file: str
    expected: dict[str, str]
    entry: dict[str, Any]

    @property
    def raw(self) -> bytes:
        return (CORPUS / self.file).read_bytes()


def cases() -> list[Case]:
    entries = json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8"))
    return [Case(e["file"], {k: e[k] for k in FIELDS}, e) for e in entries]


def _line(text: str) -> str:
    return " ".join(text.split())


def first_line(text: str) -> str:
    """The first line with something on it, white space collapsed (as a client's preview)."""
    return next((_line(line) for line in text.splitlines() if line.strip()), "")


def shown(raw: bytes) -> dict[str, str]:
    """The fields of *raw* as tracker reads them."""
    parsed = parse_message(raw)
    headers = parsed.headers
    return {"subject": _line(headers.subject), "from_addr": headers.from_addr,
            "from_name": _line(headers.from_name),
            "sender_from": headers.sender_source.split(" ")[0] or "From",  # repaired: From
            "first_line": first_line(parsed.text)}


def compare(case: Case) -> dict[str, tuple[str, str]]:
    """Each field where tracker's reading differs from the client's: (expected, got)."""
    got = shown(case.raw)
    expected = {k: _line(v) if k in ("subject", "from_name", "first_line") else v
                for k, v in case.expected.items()}
    return {k: (expected[k], got[k]) for k in FIELDS if expected[k] != got[k]}
