"""Migrations and the schema check, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tracker import db
from tracker.errors import DatabaseError


def test_head_constant_matches_alembic() -> None:
    assert db.alembic_head() == db.HEAD


def test_upgrade_creates_every_table_and_is_idempotent(database_url: str) -> None:
    engine = db.make_engine(database_url)
    try:
        with pytest.raises(DatabaseError, match="tracker db upgrade"):
            db.check_schema(engine)
        assert db.upgrade(engine) == (None, db.HEAD)
        assert db.upgrade(engine) == (db.HEAD, db.HEAD)
        db.check_schema(engine)
        tables = set(sa.inspect(engine).get_table_names())
        assert {"platform", "case", "request", "message", "event"} <= tables
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """Autogenerate finds nothing to do: the migrations and models.py agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    import tracker.models  # noqa: F401

    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["nonsense://", "postgresql://nobody@127.0.0.1:1/x"])
def test_unusable_database_is_a_database_error(url: str) -> None:
    with pytest.raises(DatabaseError):
        engine = db.make_engine(url)
        db.check_schema(engine)


def test_password_is_masked_in_messages() -> None:
    assert "hunter2" not in db.safe_url("postgresql://u:hunter2@h/db")
    with pytest.raises(DatabaseError) as info:
        db.check_schema(db.make_engine("postgresql://u:hunter2@127.0.0.1:1/db"))
    assert "hunter2" not in str(info.value)
