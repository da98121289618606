"""`tracker import PATH`: past correspondence from an mbox, a Maildir or .eml files.

The same screening, matching and storage as `tracker sync`; importing twice stores nothing twice
(messages are recognised by the SHA-256 of their bytes). Letters the organisation sent itself
(From one of its own addresses, with a reference tag) are recorded as sent letters.
"""

from __future__ import annotations

import mailbox as mailboxes
from collections.abc import Callable, Iterator
from pathlib import Path

from tracker.db import transaction
from tracker.errors import InputError
from tracker.inbound import Counts, Incoming, Source, build_index, store_messages
from tracker.parsing import parse_headers
from tracker.workspace import Workspace

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


def import_path(ws: Workspace, path: Path, *, progress: Progress | None = None) -> Counts:
    """Import every message under *path* that concerns a request."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    counts = Counts()
    source = Source(account="import", folder=str(path.resolve()))
    with transaction(ws.engine) as session:
        index = build_index(ws, session)
    batch: list[bytes] = []
    done = 0

    def flush() -> None:
        nonlocal index
        incoming = [Incoming(raw, source, own=parse_headers(raw).from_addr in index.own_addresses)
                    for raw in batch]
        with transaction(ws.engine) as session:
            stored = any(store_messages(ws, session, incoming, index, counts))
        if stored:
            with transaction(ws.engine) as session:
                index = build_index(ws, session)
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
