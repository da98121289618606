"""Migrations and the schema check, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tracker.core.errors import DatabaseError
from tracker.store import db


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

    import tracker.store.models  # noqa: F401

    engine = db.make_engine(database_url)
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_name": db.in_models})
            diff = compare_metadata(context, SQLModel.metadata)
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


def test_upgrade_keeps_existing_rows(database_url: str) -> None:
    """A database made by the first release, with data in it, upgrades to the current schema."""
    from alembic import command

    engine = db.make_engine(database_url)
    try:
        command.upgrade(db._alembic_config(engine), "0001")
        with engine.begin() as conn:
            conn.execute(sa.text(
                "insert into platform (slug, name, record, updated_at) "
                "values ('zoom', 'Zoom', '{}', '2020-06-08 10:00:00')"))
            conn.execute(sa.text(
                "insert into \"case\" (id, title, account, facts, created_at) "
                "values (1, 't', '', '{}', '2020-06-08 10:00:00')"))
            conn.execute(sa.text(
                "insert into request (id, ref, case_id, platform_slug, template, language, "
                "recipient, channel, deadline_rule, state, variables, extensions, created_at, "
                "updated_at) values (1, 'HC-2020-0001', 1, 'zoom', 'account-suspension', 'en', "
                "'privacy@zoom.us', 'email', '30d', 'awaiting', '{}', '[]', "
                "'2020-06-08 10:00:00', '2020-06-08 10:00:00')"))
            conn.execute(sa.text(
                "insert into message (request_id, direction, status, kind, template, language, "
                "variables, channel, subject, from_addr, to_addrs, message_id, in_reply_to, "
                "\"references\", headers, sha256, note, created_at, sent_at) values (1, 'out', "
                "'sent', 'initial', 'account-suspension', 'en', '{}', 'email', 's', '', '', "
                "'<a@b>', '', '', '{}', '', '', '2020-06-08 10:00:00', '2020-06-08 11:00:00')"))
        assert db.upgrade(engine) == ("0001", db.HEAD)
        with engine.connect() as conn:
            request = conn.execute(sa.text(
                "select delivery_failed, tickets from request")).one()
            message = conn.execute(sa.text(
                "select triage, authenticity, reasons, occurred_at from message")).one()
        assert not request.delivery_failed
        assert request.tickets in ("[]", [])
        assert (message.triage, message.authenticity) == ("", "")
        # 0005 renamed sent_at (when a letter left, when a reply arrived) and kept its value.
        assert str(message.occurred_at).startswith("2020-06-08 11:00:00")
    finally:
        engine.dispose()


def test_a_reading_unit_refuses_to_write(tmp_path: Path) -> None:
    from tracker.services.demo import build_demo
    from tracker.services.records import get_request

    ws = build_demo(tmp_path / "demo")
    try:
        with pytest.raises(RuntimeError, match=r"write in db\.transaction"), \
                db.reading(ws.engine) as session:
            get_request(session, "HC-2020-0001").recipient = "changed@example.org"
    finally:
        ws.close()
