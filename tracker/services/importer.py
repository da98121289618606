"""`tracker import PATH`: past correspondence from an mbox, a Maildir or .eml files.

The same screening, matching and storage as `tracker sync`; importing twice stores nothing twice
(messages are recognised by the SHA-256 of their bytes). Letters the organisation sent itself
(From one of its own addresses, with a reference tag) are recorded as sent letters.

A file says nothing about the servers its messages went through, so their Authentication-Results
count only when the person importing says whose server received them (``received_by``, or
``trust_mailbox``: an export of the organisation's own mailbox).
"""

from __future__ import annotations

import mailbox as mailboxes
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from tracker.core.errors import InputError
from tracker.mail.authenticity import Trust
from tracker.mail.header_info import parse_headers
from tracker.services.inbound import Counts, Incoming, Source, store_messages
from tracker.services.reading import build_index, mailbox_trust
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.models import utcnow

BATCH = 200
Progress = Callable[[str, int, int], None]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}; fix that and import again "
                         "(messages already imported are not stored twice)") from None


def _messages(path: Path) -> Iterator[bytes]:
    if path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new")):
        maildir = mailboxes.Maildir(path, factory=None, create=False)
        for key in sorted(maildir.iterkeys()):
            yield maildir.get_bytes(key)
    elif path.is_dir():
        # Only regular files: a folder named x.eml is descended into, never read, and a
        # device or pipe so named would never end.
        for file in sorted(path.rglob("*.eml")):
            if file.is_file():
                yield _read(file)
    elif not path.is_file():
        raise InputError(f"{path} is not a file or a folder; give an mbox file, a Maildir "
                         "or a folder of .eml files")
    elif path.suffix.lower() == ".eml":
        yield _read(path)
    else:
        try:
            with path.open("rb") as fh:
                if not fh.read(5) == b"From ":
                    raise InputError(f"{path} is not an mbox file, a Maildir or .eml files")
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
        box = mailboxes.mbox(path, factory=None, create=False)
        try:
            for key in box.iterkeys():
                yield box.get_bytes(key)
        finally:
            box.close()


def import_path(ws: Workspace, path: Path, *, progress: Progress | None = None,
                received_by: Sequence[str] = (), trust_mailbox: bool = False,
                now: Callable[[], datetime] = utcnow) -> Counts:
    """Import every message under *path* that concerns a request, in file order.

    *received_by*: authserv-ids (and border hosts) of the server that received these messages,
    whose Authentication-Results may then count; *trust_mailbox*: they come from the
    organisation's own mailbox, so its ``[imap]`` trust settings apply. *now*: the time events
    are recorded at.
    """
    if not path.exists():
        raise InputError(f"{path} does not exist")
    trust = mailbox_trust(ws) if trust_mailbox else Trust.of(received_by)
    counts = Counts()
    source = Source(account="import", folder=str(path.resolve()))
    with transaction(ws.engine) as session:
        index = build_index(ws, session)  # it learns from each message as they are stored
    batch: list[bytes] = []
    done = 0

    def flush() -> None:
        incoming = [Incoming(raw, source, own=parse_headers(raw).from_addr in index.own_addresses)
                    for raw in batch]
        with transaction(ws.engine) as session:
            store_messages(ws, session, incoming, index, counts, now=now(), trust=trust)
        batch.clear()

    for raw in _messages(path):
        counts.screened += 1
        batch.append(raw)
        if len(batch) >= BATCH:
            done += len(batch)
            flush()
            if progress:
                progress(str(path), done, 0)
    if batch:
        flush()
    return counts
