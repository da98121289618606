"""The database edge: engines, transactions and schema migrations (Alembic)."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlmodel import Session

from tracker.core.errors import ConfigError, DatabaseError

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. Kept here so that ordinary commands can check the schema without
# importing Alembic (a test checks it against Alembic's own idea of the head).
HEAD = "0008"
# Row ids are PostgreSQL INTEGER (SERIAL) columns: a larger number cannot name a row, and
# passing one to the server is an error rather than "not found".
MAX_ROW_ID = 2**31 - 1
_FORMS = "use sqlite:///PATH or postgresql://USER@HOST[:PORT]/DB"
# user:password@ in the authority. The user part has no ':' or '/' (as SQLAlchemy reads it);
# the password runs to the last '@', so a password holding '@', '/' or '?' is masked whole.
_USERINFO = re.compile(r"^(?P<head>[^:/?#]*://[^:/@?#]*:).*@", re.DOTALL)
_READONLY_SQLITE = "attempt to write a readonly database"
# PostgreSQL's driver is an extra (most workspaces are SQLite): what to install when it is missing.
POSTGRES_EXTRA = "pip install 'tracker[postgres]'"


def normalise_url(url: str) -> str:
    """Accept the common ``postgres://`` / ``postgresql://`` spellings; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def safe_url(url: str) -> str:
    """The URL with every password masked (``user:***@``, ``password=***``), for messages.

    Works on the text, not a parsed URL, so that a malformed URL is masked as well.
    """
    masked = _USERINFO.sub(r"\g<head>***@", url, count=1)
    base, sep, query = masked.partition("?")
    if not sep:
        return masked
    parts = []
    for part in re.split(r"([&;])", query):
        key, eq, _value = part.partition("=")
        # password=, sslpassword=, and their percent-encoded spellings.
        parts.append(f"{key}=***" if eq and "password" in unquote_plus(key).lower() else part)
    return base + sep + "".join(parts)


def has_password(url: str) -> bool:
    """True if *url* carries a password (in its user part or its query): a secret."""
    return safe_url(url) != url


def url_problem(url: str) -> str | None:
    """What is wrong with database *url* (one line), or None if tracker can use it."""
    try:
        parsed = make_url(normalise_url(url))
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return f"it is not a database URL; {_FORMS}"
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        return f"tracker works with SQLite and PostgreSQL, not {backend!r}; {_FORMS}"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"port {parsed.port} is not between 1 and 65535"
    return None


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite *url*, or None (PostgreSQL, in-memory or a malformed URL)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def opens_read_only(url: str) -> bool:
    """True for an existing SQLite file that cannot be written (read-only media, an archive).

    SQLite needs to write the file and, for WAL and the -shm index, its folder.
    """
    path = sqlite_path(url)
    return path is not None and path.is_file() and not (
        os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _private_sqlite_file(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite does (it would honour only the umask)."""
    if not path.exists() and path.parent.is_dir():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise DatabaseError(
                f"cannot create the database file {path}: {exc.strerror}; "
                "check that its folder can be written"
            ) from None


def _read_only_connect(path: Path) -> Any:
    """A connector for a SQLite file on read-only media, or DatabaseError if none can work.

    Without a -wal file (or with an empty one) everything is in the file itself, and
    ``immutable=1`` opens it without locks or -wal/-shm files, which a read-only folder could
    not hold: nobody writes to read-only media, so promising SQLite that is true. With a -wal
    file, part of the data is only there; ``mode=ro`` reads it, but needs the -shm index
    beside it, since it cannot create one.
    """
    wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    if wal.exists() and wal.stat().st_size > 0:
        if not shm.exists():
            raise DatabaseError(
                f"database {path} cannot be read here: it has a {wal.name} file but no "
                f"{shm.name} beside it, and its folder cannot be written; copy the workspace "
                "to a folder you can write to"
            )
        flags = "mode=ro"
    else:
        flags = "mode=ro&immutable=1"
    uri = f"file:{quote(str(path.resolve()))}?{flags}"
    return lambda: sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)


_READING = "tracker_reading"  # execution option: a transaction that only reads


def make_engine(url: str) -> Engine:
    """Build an engine for *url*; SQLite gets foreign keys, WAL and a busy timeout.

    An existing SQLite file that cannot be written is opened read-only (see
    :func:`opens_read_only`): reading works, every write fails with a DatabaseError.
    """
    url = normalise_url(url)
    problem = url_problem(url)
    if problem:
        raise DatabaseError(f"database URL {safe_url(url)!r} cannot be used: {problem}")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        read_only = opens_read_only(url)
        if read_only:
            assert path is not None
            engine = sa.create_engine(parsed, creator=_read_only_connect(path))
        else:
            if path is not None:
                _private_sqlite_file(path)
            engine = sa.create_engine(parsed, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Python's sqlite3 begins a transaction only at the first write, so what a unit of
            # work read before it could be changed by another process before it writes: a
            # reply stored by the watcher would then undo a close made on the web. tracker
            # begins every transaction itself instead (`_begin`).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if read_only:
                cur.execute("PRAGMA query_only=ON")
            else:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            # A unit of work that may write takes the write lock at its start (IMMEDIATE), so
            # it reads what no one else can change until it commits; others wait for it (the
            # busy timeout). `reading` units take none: SQLite's WAL gives them a snapshot.
            reads = read_only or conn.get_execution_options().get(_READING, False)
            conn.exec_driver_sql("BEGIN" if reads else "BEGIN IMMEDIATE")

        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True,
                                connect_args={"connect_timeout": 10})
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] == "psycopg" or "psycopg" in str(exc):
            raise ConfigError(
                f"database {safe_url(url)} is PostgreSQL, which needs the psycopg driver; "
                f"it is not installed: {POSTGRES_EXTRA}") from None
        raise DatabaseError(f"cannot use database {safe_url(url)}: {exc}") from None
    except ArgumentError as exc:
        raise DatabaseError(f"cannot use database {safe_url(url)}: {exc}") from None


def _write_refused(engine: Engine, exc: BaseException) -> DatabaseError | None:
    """The clear error for a write to a read-only SQLite database, else None."""
    if _READONLY_SQLITE not in str(getattr(exc, "orig", None) or exc):
        return None
    return DatabaseError(
        f"database {safe_url(str(engine.url))} is read-only, so nothing was changed; "
        "copy the workspace to a folder you can write to, or make its files writable"
    )


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error. On SQLite it holds the
    write lock from its start: what it reads, nobody changes before it commits."""
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except OperationalError as exc:
        raise _write_refused(engine, exc) or DatabaseError(
            f"database {safe_url(str(engine.url))} failed: {_first_line(exc)}"
        ) from None


def is_reading(session: Session) -> bool:
    """Is *session* a `reading` unit of work?"""
    return bool(session.get_bind().get_execution_options().get(_READING, False))


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A unit of work that only reads (pages, reports): one consistent view of the record,
    without waiting for writers or making them wait. Writing in it is a mistake."""
    try:
        bound = engine.execution_options(**{_READING: True})
        with Session(bound, expire_on_commit=False) as session, session.begin():
            yield session
            if session.new or session.dirty or session.deleted:
                raise RuntimeError("db.reading() is for reading; write in db.transaction()")
    except OperationalError as exc:
        raise DatabaseError(
            f"database {safe_url(str(engine.url))} failed: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


# What the search index keeps outside the tables of models.py: SQLite's FTS5 table (and the
# shadow tables FTS5 makes for it) and PostgreSQL's trigram indexes (only where pg_trgm is).
SEARCH_INDEX_PREFIXES = ("messagesearch", "ix_messagetext_subject_trgm",
                         "ix_messagetext_body_trgm")
# Reads a stored message's words for the search: (subject, text), or None for bytes that are
# no mail (a scan). The services pass tracker's mail parsing; this layer cannot import it.
MessageTextReader = Callable[[bytes], "tuple[str, str] | None"]


def in_models(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name`` hook: False for the search index's own objects, which
    models.py does not describe (so that comparing the schema with the models skips them)."""
    return not (name or "").startswith(SEARCH_INDEX_PREFIXES)


def _alembic_config(engine: Engine, message_text: MessageTextReader | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    cfg.attributes["message_text"] = message_text
    return cfg


def alembic_head() -> str:
    """The head revision according to Alembic's scripts (slow: imports Alembic)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config(sa.create_engine("sqlite://"))) \
        .get_current_head()
    assert head is not None
    return str(head)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("select version_num from alembic_version")).scalar()
    except (OperationalError, ProgrammingError) as exc:
        raise DatabaseError(
            f"cannot open database {safe_url(str(engine.url))}: {_first_line(exc)}; "
            "check [database] url / TRACKER_DATABASE_URL and that the server is running"
        ) from None


def upgrade(engine: Engine, message_text: MessageTextReader | None = None
            ) -> tuple[str | None, str]:
    """Apply every pending migration; return (revision before, revision after).

    *message_text*: how to read a stored message's words, for the migration that builds the
    search index from the mail already stored (without it that index starts empty).
    """
    from alembic import command

    before = current_revision(engine)
    try:
        command.upgrade(_alembic_config(engine, message_text), "head")
    except SQLAlchemyError as exc:
        raise _write_refused(engine, exc) or DatabaseError(
            f"cannot migrate database {safe_url(str(engine.url))} from schema "
            f"{before or 'none'}: {_first_line(exc)}"
        ) from None
    return before, HEAD


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not the one this version needs."""
    current, head = current_revision(engine), HEAD
    if current != head:
        raise DatabaseError(
            f"database {safe_url(str(engine.url))} is at schema {current or 'none'}, "
            f"this tracker needs {head}; run `tracker db upgrade`"
        )
