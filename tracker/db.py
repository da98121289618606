"""The database edge: engines, transactions and schema migrations (Alembic)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError
from sqlmodel import Session

from tracker.errors import DatabaseError

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration. Kept here so that ordinary commands can check the schema without
# importing Alembic (a test checks it against Alembic's own idea of the head).
HEAD = "0004"


def normalise_url(url: str) -> str:
    """Accept the common ``postgres://`` / ``postgresql://`` spellings; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<malformed database URL>"


def _private_sqlite_file(url: sa.URL) -> None:
    """Create the SQLite file 0600 before SQLite does (it would honour only the umask)."""
    if url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.exists() and path.parent.is_dir():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def make_engine(url: str) -> Engine:
    """Build an engine for *url*; SQLite gets foreign keys, WAL and a busy timeout."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"database URL {safe_url(url)!r} is malformed; "
            "use sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        _private_sqlite_file(parsed)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        return engine
    try:
        return sa.create_engine(parsed, pool_pre_ping=True,
                                connect_args={"connect_timeout": 10})
    except (ImportError, ArgumentError) as exc:
        raise DatabaseError(f"cannot use database {safe_url(url)}: {exc}") from None


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except OperationalError as exc:
        raise DatabaseError(
            f"database {safe_url(str(engine.url))} failed: {_first_line(exc)}"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
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


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every pending migration; return (revision before, revision after)."""
    from alembic import command

    before = current_revision(engine)
    command.upgrade(_alembic_config(engine), "head")
    return before, HEAD


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not the one this version needs."""
    current, head = current_revision(engine), HEAD
    if current != head:
        raise DatabaseError(
            f"database {safe_url(str(engine.url))} is at schema {current or 'none'}, "
            f"this tracker needs {head}; run `tracker db upgrade`"
        )
