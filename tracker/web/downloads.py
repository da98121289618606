"""Files the pages hand out (a message's exact bytes, an attachment, an evidence bundle).

A file from mail is never shown by the browser: it is always a download (``attachment``), typed
``application/octet-stream`` unless tracker made it itself, and ``nosniff`` stops the browser
guessing otherwise. Its name, chosen by whoever sent the mail, is made safe first
(`sanitise_filename`: no folders, controls, bidi characters) and then given twice: as plain
ASCII for old clients and in full as RFC 5987 ``filename*``.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from fastapi.responses import Response

from tracker.mail.attachments import sanitise_filename

OCTET_STREAM = "application/octet-stream"
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._+()-]+")


def ascii_filename(name: str) -> str:
    """*name* in plain ASCII letters, digits and ``._+()-`` (the rest becomes ``_``)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, extension = folded.rpartition(".")
    if not dot or _NOT_PLAIN.search(extension) or not extension:
        stem, extension = folded, ""
    plain = _NOT_PLAIN.sub("_", stem).strip("._") or "download"
    return f"{plain}.{extension}" if extension else plain


def content_disposition(name: str) -> str:
    """``attachment`` with *name* made safe, as ASCII and as UTF-8 (RFC 6266, RFC 5987)."""
    safe = sanitise_filename(name)
    return (f"attachment; filename=\"{ascii_filename(safe)}\"; "
            f"filename*=UTF-8''{quote(safe, safe='')}")


def download(data: bytes, name: str, content_type: str = OCTET_STREAM) -> Response:
    """*data* as a file to save, never to open in the page."""
    return Response(data, media_type=content_type, headers={
        "Content-Disposition": content_disposition(name),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    })
