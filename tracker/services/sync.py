"""`tracker sync`: read new mail from IMAP, keep what concerns a request, never touch the mailbox.

Per folder: select read-only, compare UIDVALIDITY with the stored checkpoint, list UIDs above it,
screen their headers in batches, fetch full bytes only for what concerns a request, and store
those together with the advanced checkpoint, one transaction per few batches. A crash anywhere
loses at most the uncommitted batches, which the next run reads again; nothing is stored twice
(unique source key and SHA-256), nothing is missed.

Knowledge grows while a batch is read: an acknowledgement teaches the platform's ticket number,
and the answer a few messages later may carry only that. So when a stored message teaches
something, the headers after it that the pre-screen set aside are screened again with the new
knowledge before anything after it is stored, and the checkpoint never passes a message that
was screened with less than the messages before it taught. The Sent folder goes first: a reply
to a letter staff sent from their own mail client is known as such when the inbox is read.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from sqlmodel import Session, select

from tracker.mail.authenticity import Trust
from tracker.mail.classify import extract_ticket, ticket_key
from tracker.mail.header_info import parse_headers
from tracker.mail.matching import Fact, MatchIndex, is_own_letter, match_message
from tracker.mail.screen import ScreenFields, screen_fields
from tracker.net.imap import Mailbox
from tracker.net.imap_parse import FetchedMessage, FolderInfo
from tracker.net.logins import imap_login
from tracker.services.inbound import Counts, Incoming, Source, store_messages
from tracker.services.reading import build_index, mailbox_trust
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.models import FolderState, utcnow

log = logging.getLogger("tracker.sync")
BATCH = 500  # headers per FETCH
# Headers screened before the messages they need are fetched and stored together: a store reads
# the database a few times whatever its size, so fewer, bigger ones cost less (~5 ms each).
STORE_EVERY = 1_000
# Messages screened per transaction: the checkpoint and what was stored commit together; a crash
# costs at most this many messages screened again (each commit waits for the disk).
COMMIT_EVERY = 2_000
Progress = Callable[[str, int, int], None]  # folder, done, total


def account_name(ws: Workspace) -> str:
    imap = ws.settings.imap
    return f"{imap.username}@{imap.host}"


# A ticket tag (tracker.mail.classify.extract_ticket) needs three digits, "[#", "thread::" or
# "ref:" in the subject.
_TICKET_SIGN = re.compile(rb"\d{3}|\[|thread::|ref:", re.IGNORECASE)


class Screen:
    """Could a message concern one of our requests? Decided from its header bytes.

    A byte-level pre-screen (`may_concern`, on :func:`tracker.mail.screen.screen_fields`, a
    few us) first: it says no only when every rule of the full screen (`concerns`) certainly
    fails (no Message-ID of ours, no ``[`` in the subject, no ticket of ours, no tag address,
    no platform domain, no bounce sign); otherwise, or for unusual bytes, the header is parsed
    and matched in full (~200 us). ``benchmarks/screen_check.py`` (and a test) holds it to that.
    """

    def __init__(self, index: MatchIndex) -> None:
        self.index = index
        local = index.reply_base.lower().rpartition("@")[0]
        self.tag_prefix = (local.split("+", 1)[0] + "+").encode() if local else b""
        self.domains = _any_of({*index.platform_domains, *index.open_by_domain})
        self.own = tuple(a.encode() for a in index.own_addresses)
        self.refresh()

    def refresh(self) -> None:
        """Take in what the index learned since (new letters and thread Message-IDs)."""
        # Each known Message-ID contains its domain: mail that names none of them in
        # In-Reply-To or References needs no exact look at those fields.
        self.letter_domains = _any_of(
            {key.strip().strip("<>").rpartition("@")[2]
             for key in (*self.index.letters, *self.index.threads)})

    @staticmethod
    def needles(fact: Fact) -> list[bytes]:
        """What a lower-cased header carrying *fact* must contain (a superset check)."""
        value = fact.value.lower()
        if fact.kind == "ticket":  # its number, however the subject writes the rest
            found = re.findall(r"\d{3,}", value) or [value]
        else:
            found = [value.strip().strip("<>")]
        return [needle.encode("utf-8", "replace") for needle in found]

    @staticmethod
    def mentions(low: bytes, facts: Sequence[Fact]) -> bool:
        """Could the lower-cased header *low* contain one of *facts*? (A cheap check before a
        full screen.)"""
        return any(needle in low for fact in facts for needle in Screen.needles(fact))

    def __call__(self, header: bytes, *, sent_folder: bool = False) -> bool:
        return self.screen(header, sent_folder=sent_folder)[0]

    def screen(self, header: bytes, *, sent_folder: bool = False) -> tuple[bool, bytes]:
        """(could *header* concern a request, *header* lower-cased): the pre-screen, then the
        full screen if need be; the lower-cased bytes (which the pre-screen makes anyway) are
        for `mentions` later."""
        fields = screen_fields(header)
        lowered = fields.lowered if fields is not None else header.lower()
        return (self._may_concern(fields, sent_folder)
                and self.concerns(header, sent_folder=sent_folder)), lowered

    def concerns(self, header: bytes, *, sent_folder: bool = False) -> bool:
        """The full screen: parse *header* and match it as if it were the whole message."""
        return _looks_relevant(header, self.index, sent_folder=sent_folder)

    def may_concern(self, header: bytes, *, sent_folder: bool = False) -> bool:
        """False only if the full screen (`concerns`) would certainly say False."""
        return self._may_concern(screen_fields(header), sent_folder)

    def _may_concern(self, fields: ScreenFields | None, sent_folder: bool) -> bool:
        # A comment may split an address anywhere ("mailer(x)-daemon@" is mailer-daemon@):
        # substring checks would miss it, so let the parser decide.
        if fields is None or b"(" in fields.sender:
            return True
        index, sender = self.index, fields.sender
        if sent_folder:  # is_own_letter: one of our From addresses and a [REF] tag
            return self._bracket(fields) and any(own in sender for own in self.own)
        if fields.report or b"mailer-daemon" in sender or b"postmaster" in sender:
            return True  # possibly a bounce
        if fields.ids and (index.letters or index.threads) and (
                self.letter_domains is not None
                and self.letter_domains.search(b"".join(b"".join(fields.ids).split()))) and \
                any(i.strip() in index.letters or i.strip() in index.threads
                    for i in fields.message_ids()):
            return True
        if self.tag_prefix and (self.tag_prefix in fields.recipients
                                or b"(" in fields.recipients):
            return True
        if self._bracket(fields) or (self.domains is not None and self.domains.search(sender)):
            return True
        if not index.tickets or not (b"=?" in fields.subject
                                     or _TICKET_SIGN.search(fields.subject)):
            return False
        ticket = extract_ticket(fields.subject_text())
        return ticket is not None and ticket_key(ticket) in index.tickets

    @staticmethod
    def _bracket(fields: ScreenFields) -> bool:
        """Could there be a ``[`` in the decoded subject?"""
        return fields.subject_may_contain(b"[")


def _any_of(needles: set[str]) -> re.Pattern[bytes] | None:
    """A pattern finding any of *needles* (an empty one is found everywhere); None if none."""
    if not needles:
        return None
    return re.compile(b"|".join(re.escape(n.encode()) for n in sorted(needles)))


def _looks_relevant(header: bytes, index: MatchIndex, *, sent_folder: bool = False) -> bool:
    """The full screen: parse *header* and match it as if it were the whole message."""
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
    reader = _ChunkReader(ws, mailbox, Screen(index), mailbox_trust(ws), counts,
                          Source(account, folder, info.uidvalidity), sent_folder, now)
    done = 0
    with contextlib.ExitStack() as open_transaction:
        writing: Session | None = None
        uncommitted = 0
        for chunk, headers in _joined(mailbox.header_batches(uids, batch=BATCH), STORE_EVERY):
            if writing is None:
                writing = open_transaction.enter_context(transaction(ws.engine))
            counts.screened += len(headers)
            covered, missing = reader.store(writing, chunk, headers)
            if covered:
                state = _advance(writing, state, account, folder, info.uidvalidity,
                                 max(covered), now())
            done += len(covered)
            uncommitted += len(covered)
            if progress:
                progress(folder, done, len(uids))
            if missing:
                # Never advance past a message we wanted but could not read: stop here, retry
                # later.
                counts.skipped.extend(f"{folder}:{uid}" for uid in sorted(missing))
                break
            if uncommitted >= COMMIT_EVERY:
                open_transaction.close()  # commit the checkpoint with what it covers
                writing, uncommitted = None, 0
    return info


def _joined(batches: Iterable[tuple[list[int], list[tuple[int, bytes]]]], size: int
            ) -> Iterator[tuple[list[int], list[tuple[int, bytes]]]]:
    """Consecutive header *batches* joined until they ask for *size* UIDs (the last one may
    ask for fewer): one chunk, screened, fetched and stored in UID order as one batch would."""
    chunk: list[int] = []
    headers: list[tuple[int, bytes]] = []
    for asked, blocks in batches:
        chunk += asked
        headers += blocks
        if len(chunk) >= size:
            yield chunk, headers
            chunk, headers = [], []
    if chunk:
        yield chunk, headers


class _ChunkReader:
    """Screens, fetches and stores one chunk of a folder, in UID order, learning as it goes."""

    def __init__(self, ws: Workspace, mailbox: Mailbox, screen: Screen, trust: Trust,
                 counts: Counts, folder: Source, sent_folder: bool,
                 now: Callable[[], datetime]) -> None:
        self.ws, self.mailbox, self.screen, self.trust = ws, mailbox, screen, trust
        self.counts, self.folder, self.sent_folder, self.now = counts, folder, sent_folder, now

    def store(self, session: Session, chunk: Sequence[int],
              headers: Sequence[tuple[int, bytes]]) -> tuple[list[int], set[int]]:
        """Store what concerns a request among *chunk*; return the UIDs it covers (all of the
        chunk, or those before the first message that could not be fetched) and those lost."""
        sent = self.sent_folder
        set_aside: dict[int, bytes] = {}
        aside = _SetAside()
        wanted = []
        for uid, header in sorted(headers):
            keep, lowered = self.screen.screen(header, sent_folder=sent)
            if keep:
                wanted.append(uid)
            else:
                set_aside[uid] = header
                aside.add(uid, lowered)
        fetched, missing = self._fetch(wanted)
        order = [uid for uid in chunk if not missing or uid < min(missing)]
        pos = 0
        while pos < len(order):
            todo = [uid for uid in order[pos:] if uid in fetched]
            batch = [Incoming(fetched[uid].raw, self._source(uid), fetched[uid].internaldate,
                              own=sent) for uid in todo]
            stored = store_messages(self.ws, session, batch, self.screen.index, self.counts,
                                    now=self.now(), trust=self.trust, stop_when=aside.matters)
            self.screen.refresh()  # what this batch taught, for the next one
            if stored.consumed == len(batch):
                break
            # The last message taught something a message set aside after it may carry: look
            # at those again before storing anything after it.
            pos = order.index(todo[stored.consumed - 1]) + 1
            again = []
            for uid in order[pos:]:
                if uid in set_aside and Screen.mentions(aside.lowered(uid), stored.learned) \
                        and self.screen(set_aside.pop(uid), sent_folder=sent):
                    again.append(uid)
            more, lost = self._fetch(again)
            fetched.update(more)
            if lost:
                missing |= lost
                order = [uid for uid in order if uid < min(lost)]
        return order, missing

    def _source(self, uid: int) -> Source:
        return Source(self.folder.account, self.folder.folder, self.folder.uidvalidity, uid)

    def _fetch(self, uids: Sequence[int]) -> tuple[dict[int, FetchedMessage], set[int]]:
        got = {m.uid: m for m in self.mailbox.fetch_messages(uids)} if uids else {}
        return got, set(uids) - set(got)


class _SetAside:
    """The headers of a chunk the screen set aside, lower-cased, all in one string in UID order:
    one search finds whether a fact appears in any header after a given message (thousands of
    checks in a first sync), and each is kept once (a chunk is thousands of headers)."""

    def __init__(self) -> None:
        self._uids: list[int] = []
        self._starts: list[int] = []
        self._blob = bytearray()

    def add(self, uid: int, lowered: bytes) -> None:
        """Keep *lowered*, the header of *uid* (above every UID added before) lower-cased."""
        self._uids.append(uid)
        self._starts.append(len(self._blob))
        self._blob += lowered
        self._blob += b"\0"

    def lowered(self, uid: int) -> bytes:
        """The lower-cased header of *uid*, one that was added."""
        at = bisect.bisect_left(self._uids, uid)
        end = self._starts[at + 1] if at + 1 < len(self._starts) else len(self._blob)
        return bytes(self._blob[self._starts[at]:end - 1])

    def matters(self, item: Incoming, facts: list[Fact]) -> bool:
        """Could what *item* taught make a message set aside after it relevant?"""
        first = bisect.bisect_right(self._uids, item.source.uid or 0)
        return first < len(self._uids) and any(
            self._blob.find(needle, self._starts[first]) != -1
            for fact in facts for needle in Screen.needles(fact))


def _advance(session: Session, state: FolderState | None, account: str, folder: str,
             uidvalidity: int, last_uid: int, now: datetime) -> FolderState:
    if state is None:
        state = FolderState(account=account, folder=folder, uidvalidity=uidvalidity)
    state.uidvalidity, state.last_uid, state.updated_at = uidvalidity, last_uid, now
    session.add(state)
    return state


def sync_all(ws: Workspace, *, progress: Progress | None = None,
             folders: Sequence[str] | None = None, mailbox: Mailbox | None = None,
             now: Callable[[], datetime] = utcnow) -> Counts:
    """One pass over the sent folder and every configured folder, in one IMAP session.

    *now* gives the time events are recorded at (the CLI honours ``TRACKER_TODAY``).
    """
    counts = Counts()
    imap = ws.settings.imap
    wanted = list(folders or imap.folders)
    if mailbox is not None:
        _sync_each(ws, mailbox, wanted, counts, progress, now)
        return counts
    with Mailbox(imap, imap_login(ws.settings)) as opened:
        _sync_each(ws, opened, wanted, counts, progress, now)
    return counts


def _sync_each(ws: Workspace, mailbox: Mailbox, folders: Sequence[str], counts: Counts,
               progress: Progress | None, now: Callable[[], datetime]) -> None:
    sent = ws.settings.imap.sent_folder
    if sent:  # first: replies to letters found there are then known as such
        sync_folder(ws, mailbox, sent, counts, sent_folder=True, progress=progress, now=now)
    for folder in folders:
        if folder != sent:
            sync_folder(ws, mailbox, folder, counts, progress=progress, now=now)
