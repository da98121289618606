"""What every part of a bundle shares: the fixed file names, the format version, the error, and
deterministic JSON and hashing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tracker.core.errors import TrackerError

FORMAT = "tracker-evidence"
# 2: each message says which rule let it count (admission, admission_means, hold) and each
# request's deadline which message answered it (answered_at, answered_by).
# 3: each message lists the files kept with it (documents: a posted letter's PDF, receipts)
# and a posted letter's tracking number (tracking, carrier). verify reads 1 and 2 too.
FORMAT_VERSION = 3
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
TIMELINE = "timeline.html"


class EvidenceError(TrackerError):
    """A bundle cannot be built (stored bytes no longer match their hash) or fails its check.

    Either way something was altered: the database, or the zip since it was exported.
    """

    exit_code = 9


def dump_json(data: Any) -> bytes:
    """Deterministic JSON: sorted keys, UTF-8, two-space indent, a final newline."""
    return (json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode()


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of *data* as lower-case hex, as ``sha256sum`` prints it."""
    return hashlib.sha256(data).hexdigest()



def files_in_words(count: int) -> str:
    """A bundle's files counted as export and verify both count them: every file of the zip,
    the manifest and its hash included, so that the two numbers can be compared."""
    return (f"{count} files ({MANIFEST}, {MANIFEST_SUM} and the {count - 2} files the manifest "
            "lists)")
