"""`tracker sync`: read new mail from IMAP, keep what concerns a request, never touch the mailbox.

Per folder: select read-only, compare UIDVALIDITY with the stored checkpoint, list UIDs above it,
screen their headers in batches, fetch full bytes only for what concerns a request, and store
those together with the advanced checkpoint in one transaction per batch. A crash anywhere
loses at most the uncommitted batch, which the next run reads again; nothing is stored twice
(unique source key and SHA-256), nothing is missed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from sqlmodel import Session, select

from tracker.classify import extract_ticket
from tracker.db import transaction
from tracker.inbound import Counts, Source, build_index, store_message
from tracker.mailbox import FolderInfo, Mailbox, imap_credentials
from tracker.matching import MatchIndex, is_own_letter, match_message
from tracker.models import FolderState, utcnow
from tracker.parsing import parse_headers, screen_fields
from tracker.workspace import Workspace

log = logging.getLogger("tracker.sync")
BATCH = 500
Progress = Callable[[str, int, int], None]  # folder, done, total


def account_name(ws: Workspace) -> str:
    imap = ws.settings.imap
    return f"{imap.username}@{imap.host}"


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class Screen:
    """Could a message concern one of our requests? Decided from its header bytes.

    A byte-level pre-screen (:func:`tracker.parsing.screen_fields`, ~10 us) first: it says no
    only when every rule of :func:`looks_relevant` certainly fails (no Message-ID of ours, no
    ``[`` in the subject, no ticket of ours, no tag address, no platform domain, no bounce sign);
    otherwise, or for unusual bytes, the header is parsed and matched in full (~200 us).
    """

    def __init__(self, index: MatchIndex) -> None:
        self.index = index
        local = index.reply_base.lower().rpartition("@")[0]
        self.tag_prefix = (local.split("+", 1)[0] + "+").encode() if local else b""
        domains = sorted({*index.platform_domains, *index.open_by_domain})
        self.domains = re.compile(b"|".join(re.escape(d.encode()) for d in domains)) \
            if domains else None
        self.own = tuple(a.encode() for a in index.own_addresses)

    def __call__(self, header: bytes, *, sent_folder: bool = False) -> bool:
        return (self.may_concern(header, sent_folder=sent_folder)
                and _looks_relevant(header, self.index, sent_folder=sent_folder))

    def may_concern(self, header: bytes, *, sent_folder: bool = False) -> bool:
        """False only if the full screen would certainly say False."""
        fields = screen_fields(header)
        # A comment may split an address anywhere ("mailer(x)-daemon@" is mailer-daemon@):
        # substring checks would miss it, so let the parser decide.
        if fields is None or b"(" in fields.sender:
            return True
        index, sender, subject = self.index, fields.sender, fields.subject
        if sent_folder:  # is_own_letter: one of our From addresses and a [REF] tag
            return "[" in subject and any(own in sender for own in self.own)
        if (fields.report or b"mailer-daemon" in sender
                or b"postmaster" in sender):
            return True  # possibly a bounce
        if fields.message_ids and any(i.strip() in index.letters for i in fields.message_ids):
            return True
        if self.tag_prefix and (self.tag_prefix in fields.recipients
                                or b"(" in fields.recipients):
            return True
        if "[" in subject or (self.domains is not None and self.domains.search(sender)):
            return True
        return bool(index.tickets) and extract_ticket(subject) in index.tickets


def looks_relevant(header: bytes, index: MatchIndex, *, sent_folder: bool = False) -> bool:
    """Cheap screen on header bytes: could this message concern one of our requests?"""
    return Screen(index)(header, sent_folder=sent_folder)


def _looks_relevant(header: bytes, index: MatchIndex, *, sent_folder: bool = False) -> bool:
    headers = parse_headers(header)
    if sent_folder:
        return is_own_letter(headers, index) is not None
    if headers.content_type == "multipart/report" or headers.from_addr.partition("@")[0] in (
            "mailer-daemon", "postmaster"):
        return True  # a bounce: its original's Message-ID is in the body, decide after fetching
    ticket = extract_ticket(headers.subject)
    return match_message(headers, index, ticket=ticket).relevant


def _checkpoint(session: Session, account: str, folder: str) -> FolderState | None:
    return session.exec(select(FolderState).where(
        FolderState.account == account, FolderState.folder == folder)).first()


def sync_folder(ws: Workspace, mailbox: Mailbox, folder: str, counts: Counts, *,
                sent_folder: bool = False, progress: Progress | None = None,
                now: Callable[[], datetime] = utcnow) -> FolderInfo:
    """Bring one folder up to date (see the module docstring)."""
    account = account_name(ws)
    info = mailbox.select(folder)
    with transaction(ws.engine) as session:
        state = _checkpoint(session, account, folder)
    last_uid = 0
    if state is not None and state.uidvalidity == info.uidvalidity:
        last_uid = state.last_uid
    elif state is not None:
        log.warning("%s: UIDVALIDITY changed from %s to %s; re-reading the folder, known "
                    "messages are re-paired by their SHA-256", folder, state.uidvalidity,
                    info.uidvalidity)
    uids = mailbox.uids_above(last_uid)
    if not uids:
        # Nothing new: write only to record a first or changed UIDVALIDITY (even for an empty
        # folder, so that a renumbering is noticed); no index, no write transaction otherwise.
        if state is None or state.uidvalidity != info.uidvalidity:
            with transaction(ws.engine) as session:
                _advance(session, _checkpoint(session, account, folder), account, folder,
                         info.uidvalidity, last_uid, now())
        return info
    with transaction(ws.engine) as session:
        index = build_index(ws, session)
    screen = Screen(index)
    done = 0
    for chunk in _chunks(uids, BATCH):
        headers = list(mailbox.fetch_header_blocks(chunk, batch=BATCH))
        counts.screened += len(headers)
        wanted = [uid for uid, header in headers if screen(header, sent_folder=sent_folder)]
        fetched = {m.uid: m for m in mailbox.fetch_messages(wanted)} if wanted else {}
        missing = set(wanted) - set(fetched)
        if missing:
            # Never advance past a message we wanted but could not read: stop here, retry later.
            counts.skipped.extend(f"{folder}:{uid}" for uid in sorted(missing))
            chunk = [uid for uid in chunk if uid < min(missing)]
        stored_any = False
        with transaction(ws.engine) as session:
            for uid in chunk:
                message = fetched.get(uid)
                if message is not None:
                    source = Source(account, folder, info.uidvalidity, uid)
                    stored = store_message(ws, session, message.raw, source,
                                           message.internaldate, index, counts,
                                           sent_folder=sent_folder, now=now())
                    stored_any = stored_any or stored is not None
            if chunk:
                state = _advance(session, state, account, folder, info.uidvalidity, max(chunk),
                                 now())
        if missing:
            break
        if stored_any:
            with transaction(ws.engine) as session:
                index = build_index(ws, session)  # new tickets and letters match later mail
            screen = Screen(index)
        done += len(chunk)
        if progress:
            progress(folder, done, len(uids))
    return info


def _advance(session: Session, state: FolderState | None, account: str, folder: str,
             uidvalidity: int, last_uid: int, now: datetime) -> FolderState:
    if state is None:
        state = FolderState(account=account, folder=folder, uidvalidity=uidvalidity)
    state.uidvalidity, state.last_uid, state.updated_at = uidvalidity, last_uid, now
    session.add(state)
    return state


def sync_all(ws: Workspace, *, progress: Progress | None = None,
             folders: Sequence[str] | None = None, mailbox: Mailbox | None = None) -> Counts:
    """One pass over every configured folder (and the sent folder), in one IMAP session."""
    counts = Counts()
    imap = ws.settings.imap
    wanted = list(folders or imap.folders)
    if mailbox is not None:
        _sync_each(ws, mailbox, wanted, counts, progress)
        return counts
    with Mailbox(imap, imap_credentials(imap)) as opened:
        _sync_each(ws, opened, wanted, counts, progress)
    return counts


def _sync_each(ws: Workspace, mailbox: Mailbox, folders: Sequence[str], counts: Counts,
               progress: Progress | None) -> None:
    for folder in folders:
        sync_folder(ws, mailbox, folder, counts, progress=progress)
    sent = ws.settings.imap.sent_folder
    if sent:
        sync_folder(ws, mailbox, sent, counts, sent_folder=True, progress=progress)
