"""Evidence bundles: the record of requests as a zip that anyone can check, tracker or not.

A bundle holds, for each request, every letter and reply as the exact bytes stored
(``REF/messages/NNN-<direction>-<kind>.eml``), the files attached to them as received
(``REF/attachments/NNN-<name>``) and the request's event log (``REF/events.json``). At the top,
``manifest.json`` lists every other file with its size and SHA-256 and says what tracker knows of
each message (how it was matched, whether it looked genuine); ``timeline.html`` tells the story
for people; ``manifest.sha256`` holds the manifest's own hash in ``sha256sum`` format.

The same data always gives the same bytes: the only date not taken from the data is the "as of"
day the caller passes in.

    format     file names, format version, EvidenceError, deterministic JSON and hashing
    entries    what a bundle is made of: requests read from the database, their messages
    bundle     read requests from the database (the only I/O) and build the files (pure)
    timeline   timeline.html
    archive    write the zip reproducibly and atomically
    names      which member names and entries a bundle may hold (safe to unzip anywhere)
    verify     check a bundle with nothing but the zip
"""

from tracker.evidence.archive import write_zip
from tracker.evidence.bundle import (
    Bundle,
    BundleBytes,
    ExportResult,
    build_bundle,
    build_bundle_bytes,
    collect_requests,
    export_bundle,
)
from tracker.evidence.entries import BundleContext, RequestEvidence
from tracker.evidence.format import EvidenceError, files_in_words
from tracker.evidence.verify import Problem, Verification, verify_bundle, verify_upload

__all__ = [
    "Bundle",
    "BundleBytes",
    "BundleContext",
    "EvidenceError",
    "ExportResult",
    "Problem",
    "RequestEvidence",
    "Verification",
    "build_bundle",
    "build_bundle_bytes",
    "collect_requests",
    "export_bundle",
    "files_in_words",
    "verify_bundle",
    "verify_upload",
    "write_zip",
]
