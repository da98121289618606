"""The search: requests found by their reference, platform, subject or the text of their mail.

Every stored message with mail bytes has its words (decoded subject and text part, as
`mail.parsing` reads them) in `MessageText`, written by the code that stores or changes the
bytes (`index_message`) and by migration 0007 for the mail stored before it. SQLite indexes the
words with an FTS5 trigram table, which finds any substring of three characters or more in any
script; PostgreSQL with pg_trgm GIN indexes when the migration could create them. A query of one
or two characters (a Chinese word is often two) has no trigram: it is read with LIKE / ILIKE,
slower but the same answer.

A match is a substring, case-insensitive (ASCII on SQLite's LIKE, Unicode in FTS5 and on
PostgreSQL): "zoom" finds "Zoom", "账号" finds "您的账号已被封禁". Nothing here prints: snippets
are made inert, and the faces escape them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from tracker.core.errors import InputError
from tracker.core.inert import inert_line
from tracker.mail.attachments import is_mail
from tracker.mail.parsing import ParsedMessage, parse_message
from tracker.services.workspace import Workspace
from tracker.store.db import transaction
from tracker.store.models import Message, MessageText, Platform, Request

# Where a request matched, best first: its reference, its platform, a subject, a message's text.
WHERE = ("reference", "platform", "subject", "message")
MAX_QUERY = 200  # characters: longer is no search anyone types
MAX_BODY = 100_000  # characters of a message's text kept for the search (a rare huge mail)
SNIPPET_SIDE = 60  # characters shown either side of the match
TRIGRAM = 3  # the FTS5 trigram tokenizer indexes runs of three characters
REINDEX_BATCH = 500


@dataclass(frozen=True)
class Snippet:
    """A short inert excerpt around the match: ``before + match + after``, one line."""

    before: str
    match: str
    after: str

    def __str__(self) -> str:
        return f"{self.before}{self.match}{self.after}"


@dataclass(frozen=True)
class Found:
    """One request the query found, where it matched best, and the message if in one."""

    request_id: int
    where: str  # one of WHERE
    message_id: int | None = None


@dataclass(frozen=True)
class Hit:
    """A found request as the faces show it (`tracker search`, the search box)."""

    ref: str
    platform: str
    state: str
    where: str
    snippet: Snippet
    message_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "platform": self.platform, "state": self.state,
                "where": self.where, "snippet": str(self.snippet),
                "message_id": self.message_id}


@dataclass(frozen=True)
class SearchResult:
    query: str
    total: int  # requests found; `hits` holds the first `limit` of them
    hits: list[Hit]

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total,
                "hits": [hit.to_dict() for hit in self.hits]}


# ---------------------------------------------------------------- keeping the words


def message_words(raw: bytes | None, parsed: ParsedMessage | None = None
                  ) -> tuple[str, str] | None:
    """A stored message's (subject, text) for the search, or None when its bytes are no mail
    (a scan recorded by hand) or there are none (a draft). *parsed*: the bytes parsed already."""
    if not raw or not is_mail(raw):
        return None
    parsed = parsed or parse_message(raw)
    return parsed.headers.subject, parsed.text[:MAX_BODY]


def index_message(session: Session, message: Message,
                  parsed: ParsedMessage | None = None) -> None:
    """Bring *message*'s words in the search up to its bytes (after they were stored or
    changed; a message that lost its bytes leaves the search). The message must have its id."""
    assert message.id is not None, "flush the message before indexing it"
    words = message_words(message.raw, parsed)
    row = session.get(MessageText, message.id)
    if words is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        row = MessageText(message_id=message.id)
    row.sha256, (row.subject, row.body) = message.sha256, words
    session.add(row)


def index_new_messages(session: Session,
                       stored: list[tuple[Message, ParsedMessage | None]]) -> None:
    """`index_message` for messages just inserted (no words of theirs can exist yet)."""
    rows = []
    for message, parsed in stored:
        assert message.id is not None, "flush the messages before indexing them"
        words = message_words(message.raw, parsed)
        if words is not None:
            rows.append(MessageText(message_id=message.id, sha256=message.sha256,
                                    subject=words[0], body=words[1]))
    session.add_all(rows)


def reindex(ws: Workspace) -> int:
    """Read again the words of every message whose bytes the search has not seen (missing,
    changed, or gone); the number of messages brought up to date. Safe to run at any time."""
    changed, last = 0, 0
    while True:
        with transaction(ws.engine) as session:
            batch = session.execute(
                sa.select(col(Message.id), col(Message.sha256), col(MessageText.sha256),
                          col(Message.raw).is_not(None))
                .select_from(Message)
                .outerjoin(MessageText, col(MessageText.message_id) == col(Message.id))
                .where(col(Message.id) > last).order_by(col(Message.id))
                .limit(REINDEX_BATCH)).all()
            if not batch:
                return changed
            last = batch[-1][0]
            # Only the bytes of messages the search is behind on are read.
            stale = [id_ for id_, sha, indexed, has_raw in batch
                     if (indexed is None and has_raw) or (indexed is not None and indexed != sha)]
            if not stale:
                continue
            indexed_ids = {id_ for id_, _sha, indexed, _raw in batch if indexed is not None}
            for id_, sha, raw in session.execute(
                    sa.select(col(Message.id), col(Message.sha256), col(Message.raw))
                    .where(col(Message.id).in_(stale))).all():
                words = message_words(raw)
                if id_ in indexed_ids:
                    session.execute(sa.delete(MessageText)
                                    .where(col(MessageText.message_id) == id_))
                if words is not None:
                    session.add(MessageText(message_id=id_, sha256=sha, subject=words[0],
                                            body=words[1]))
                changed += words is not None or id_ in indexed_ids


# ---------------------------------------------------------------- finding


def normalise_query(text: str) -> str:
    """The query as searched: spaces collapsed; InputError when empty or absurdly long."""
    query = " ".join(text.split())
    if not query:
        raise InputError("give some text to search for")
    if len(query) > MAX_QUERY:
        raise InputError(f"the search text is {len(query)} characters; use at most {MAX_QUERY}")
    return query


def _like(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _has_fts(session: Session) -> bool:
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return False
    return connection.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE name = 'messagesearch'").first() is not None


def _contains(column: Any, pattern: str, dialect: str) -> Any:
    # SQLite's LIKE ignores ASCII case already; PostgreSQL's ILIKE ignores all case.
    if dialect == "sqlite":
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def _message_matches(session: Session, query: str, column: str) -> dict[int, int]:
    """Request id -> the first message whose *column* ("subject" or "body") holds *query*."""
    dialect = session.connection().dialect.name
    if len(query) >= TRIGRAM and _has_fts(session):
        # A phrase of the query's trigrams, in one column: the substring itself.
        phrase = '"' + query.replace('"', '""') + '"'
        rows = session.connection().exec_driver_sql(
            "SELECT m.request_id, min(m.id) FROM messagesearch JOIN message m "
            "ON m.id = messagesearch.rowid WHERE messagesearch MATCH ? "
            "AND m.request_id IS NOT NULL GROUP BY m.request_id",
            (f"{column} : {phrase}",)).all()
    else:
        text_column = getattr(MessageText, column)
        rows = session.execute(
            sa.select(col(Message.request_id), sa.func.min(col(Message.id)))
            .select_from(MessageText)
            .join(Message, col(Message.id) == col(MessageText.message_id))
            .where(col(Message.request_id).is_not(None))
            .where(_contains(col(text_column), _like(query), dialect))
            .group_by(col(Message.request_id))).all()
    return {request_id: message_id for request_id, message_id in rows}


def find_requests(session: Session, text: str) -> list[Found]:
    """Every request *text* is found in, best match first (reference, platform, subject, then
    a message's text), newest request first within each."""
    query = normalise_query(text)
    dialect = session.connection().dialect.name
    pattern = _like(query)
    found: dict[int, Found] = {}
    for (id_,) in session.execute(
            sa.select(col(Request.id))
            .where(_contains(col(Request.ref), pattern, dialect))).all():
        found[id_] = Found(id_, "reference")
    platforms = sa.select(col(Platform.slug)).where(sa.or_(
        _contains(col(Platform.slug), pattern, dialect),
        _contains(col(Platform.name), pattern, dialect)))
    for (id_,) in session.execute(sa.select(col(Request.id)).where(
            col(Request.platform_slug).in_(platforms))).all():
        found.setdefault(id_, Found(id_, "platform"))
    for where, column in (("subject", "subject"), ("message", "body")):
        for id_, message_id in _message_matches(session, query, column).items():
            found.setdefault(id_, Found(id_, where, message_id))
    rank = {where: pos for pos, where in enumerate(WHERE)}
    return sorted(found.values(), key=lambda f: (rank[f.where], -f.request_id))


def snippet_of(text: str, query: str) -> Snippet:
    """The part of *text* around the first place *query* is in it, on one line, inert."""
    line = " ".join(text.split())
    found = re.search(re.escape(" ".join(query.split())), line, re.IGNORECASE)
    if found is None:  # found by the index's own folding: show the start
        head = line[:2 * SNIPPET_SIDE]
        return Snippet(inert_line(head) + ("…" if len(line) > len(head) else ""), "", "")
    start, end = found.span()
    before = line[max(0, start - SNIPPET_SIDE):start]
    after = line[end:end + SNIPPET_SIDE]
    return Snippet(("…" if start > SNIPPET_SIDE else "") + inert_line(before),
                   inert_line(line[start:end]),
                   inert_line(after) + ("…" if end + SNIPPET_SIDE < len(line) else ""))


def snippets(session: Session, query: str, found: list[Found]) -> dict[int, Snippet]:
    """The snippet of each found request (request id -> snippet), read for these only."""
    query = normalise_query(query)
    ids = [f.request_id for f in found]
    requests = {id_: (ref, slug) for id_, ref, slug in session.execute(
        sa.select(col(Request.id), col(Request.ref), col(Request.platform_slug))
        .where(col(Request.id).in_(ids))).all()} if ids else {}
    message_ids = [f.message_id for f in found if f.message_id is not None]
    words = {id_: (subject, body) for id_, subject, body in session.execute(
        sa.select(col(MessageText.message_id), col(MessageText.subject), col(MessageText.body))
        .where(col(MessageText.message_id).in_(message_ids))).all()} if message_ids else {}
    names = dict(session.execute(sa.select(col(Platform.slug), col(Platform.name))).all())
    shown: dict[int, Snippet] = {}
    for f in found:
        ref, slug = requests.get(f.request_id, ("", ""))
        if f.where == "reference":
            text = ref
        elif f.where == "platform":
            text = f"{names.get(slug, slug)} ({slug})"
        else:
            subject, body = words.get(f.message_id or 0, ("", ""))
            text = subject if f.where == "subject" else body
        shown[f.request_id] = snippet_of(text, query)
    return shown


def search(ws: Workspace, text: str, limit: int = 50) -> SearchResult:
    """`tracker search`: the requests *text* is found in, the first *limit* with snippets."""
    with transaction(ws.engine) as session:
        found = find_requests(session, text)
        first = found[:limit]
        shown = snippets(session, text, first)
        ids = [f.request_id for f in first]
        columns = {id_: (ref, slug, state) for id_, ref, slug, state in session.execute(
            sa.select(col(Request.id), col(Request.ref), col(Request.platform_slug),
                      col(Request.state)).where(col(Request.id).in_(ids))).all()} if ids else {}
    hits = [Hit(ref=columns[f.request_id][0], platform=columns[f.request_id][1],
                state=columns[f.request_id][2], where=f.where, snippet=shown[f.request_id],
                message_id=f.message_id) for f in first]
    return SearchResult(query=normalise_query(text), total=len(found), hits=hits)
