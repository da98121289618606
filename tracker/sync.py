"""`tracker sync`: read new mail from IMAP, keep what concerns a request, never touch the mailbox.

Per folder: select read-only, compare UIDVALIDITY with the stored checkpoint, list UIDs above it,
screen their headers in batches, fetch full bytes only for what concerns a request, and store
those together with the advanced checkpoint, one transaction per few batches. A crash anywhere
loses at most the uncommitted batches, which the next run reads again; nothing is stored twice
(unique source key and SHA-256), nothing is missed.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import Session, select

from tracker.classify import extract_ticket
from tracker.db import transaction
from tracker.inbound import Counts, Incoming, Source, build_index, store_messages
from tracker.mailbox import FolderInfo, Mailbox, imap_credentials
from tracker.matching import MatchIndex, is_own_letter, match_message
from tracker.models import FolderState, Message, utcnow
from tracker.parsing import ScreenFields, parse_headers, screen_fields
from tracker.workspace import Workspace

log = logging.getLogger("tracker.sync")
BATCH = 500  # headers per FETCH
# Messages screened per transaction: the checkpoint and what was stored commit together; a crash
# costs at most this many messages screened again (each commit waits for the disk).
COMMIT_EVERY = 2_000
Progress = Callable[[str, int, int], None]  # folder, done, total


def account_name(ws: Workspace) -> str:
    imap = ws.settings.imap
    return f"{imap.username}@{imap.host}"


# A ticket tag (tracker.classify) needs three digits, "[#", "thread::" or "ref:" in the subject.
_TICKET_SIGN = re.compile(rb"\d{3}|\[|thread::|ref:", re.IGNORECASE)


class Screen:
    """Could a message concern one of our requests? Decided from its header bytes.

    A byte-level pre-screen (:func:`tracker.parsing.screen_fields`, a few us) first: it says no
    only when every rule of :func:`looks_relevant` certainly fails (no Message-ID of ours, no
    ``[`` in the subject, no ticket of ours, no tag address, no platform domain, no bounce sign);
    otherwise, or for unusual bytes, the header is parsed and matched in full (~200 us).
    ``benchmarks/screen_check.py`` (and a test) holds it to that.
    """

    def __init__(self, index: MatchIndex) -> None:
        self.index = index
        local = index.reply_base.lower().rpartition("@")[0]
        self.tag_prefix = (local.split("+", 1)[0] + "+").encode() if local else b""
        self.domains = _any_of({*index.platform_domains, *index.open_by_domain})
        self.own = tuple(a.encode() for a in index.own_addresses)
        # Each of our Message-IDs contains its domain: mail that names none of them in
        # In-Reply-To or References needs no exact look at those fields.
        self.letter_domains = _any_of(
            {key.strip().strip("<>").rpartition("@")[2] for key in index.letters})

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
        index, sender = self.index, fields.sender
        if sent_folder:  # is_own_letter: one of our From addresses and a [REF] tag
            return self._bracket(fields) and any(own in sender for own in self.own)
        if fields.report or b"mailer-daemon" in sender or b"postmaster" in sender:
            return True  # possibly a bounce
        if fields.ids and index.letters and (
                self.letter_domains is not None
                and self.letter_domains.search(b"".join(b"".join(fields.ids).split()))) and \
                any(i.strip() in index.letters for i in fields.message_ids()):
            return True
        if self.tag_prefix and (self.tag_prefix in fields.recipients
                                or b"(" in fields.recipients):
            return True
        if self._bracket(fields) or (self.domains is not None and self.domains.search(sender)):
            return True
        if not index.tickets or not (b"=?" in fields.subject
                                     or _TICKET_SIGN.search(fields.subject)):
            return False
        return extract_ticket(fields.subject_text()) in index.tickets

    @staticmethod
    def _bracket(fields: ScreenFields) -> bool:
        """Could there be a ``[`` in the decoded subject?"""
        return fields.subject_may_contain(b"[")


def _any_of(needles: set[str]) -> re.Pattern[bytes] | None:
    """A pattern finding any of *needles* (an empty one is found everywhere); None if none."""
    if not needles:
        return None
    return re.compile(b"|".join(re.escape(n.encode()) for n in sorted(needles)))


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
    with contextlib.ExitStack() as open_transaction:
        writing: Session | None = None
        uncommitted = 0
        for chunk, headers in mailbox.header_batches(uids, batch=BATCH):
            if writing is None:
                writing = open_transaction.enter_context(transaction(ws.engine))
            counts.screened += len(headers)
            wanted = [uid for uid, header in headers if screen(header, sent_folder=sent_folder)]
            fetched = {m.uid: m for m in mailbox.fetch_messages(wanted)} if wanted else {}
            missing = set(wanted) - set(fetched)
            if missing:
                # Never advance past a message we wanted but could not read: stop here, retry
                # later.
                counts.skipped.extend(f"{folder}:{uid}" for uid in sorted(missing))
                chunk = [uid for uid in chunk if uid < min(missing)]
            batch = [Incoming(fetched[uid].raw, Source(account, folder, info.uidvalidity, uid),
                              fetched[uid].internaldate, own=sent_folder)
                     for uid in chunk if uid in fetched]
            stored = store_messages(ws, writing, batch, index, counts, now=now())
            if chunk:
                state = _advance(writing, state, account, folder, info.uidvalidity,
                                 max(chunk), now())
            if any(_teaches(message, index) for message in stored if message is not None):
                index = build_index(ws, writing)
                screen = Screen(index)
            done += len(chunk)
            uncommitted += len(chunk)
            if progress:
                progress(folder, done, len(uids))
            if missing:
                break
            if uncommitted >= COMMIT_EVERY:
                open_transaction.close()  # commit the checkpoint with what it covers
                writing, uncommitted = None, 0
    return info


def _teaches(message: Message, index: MatchIndex) -> bool:
    """Does *message* give later mail something to match: a letter of ours, a new ticket?"""
    return message.direction == "out" or message.ticket not in ("", *index.tickets)


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
