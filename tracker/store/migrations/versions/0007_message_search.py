"""the search: each message's words (messagetext), indexed for substrings in any language

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

SQLite: an FTS5 table with the trigram tokenizer over messagetext (external content, kept in
step by triggers), which finds any substring of three characters or more, Chinese as well as
English. PostgreSQL: pg_trgm GIN indexes when the extension can be created, otherwise none
(the search then reads the table with ILIKE).

The words are read from the stored bytes by the caller's reader (``message_text`` in the
Alembic attributes: tracker's own mail parsing, which the database layer must not import);
without one the table starts empty and ``tracker search --reindex`` fills it.
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import context, op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 500
SQLITE_TRIGGERS = (
    """CREATE TRIGGER messagetext_ai AFTER INSERT ON messagetext BEGIN
         INSERT INTO messagesearch(rowid, subject, body)
         VALUES (new.message_id, new.subject, new.body);
       END""",
    """CREATE TRIGGER messagetext_ad AFTER DELETE ON messagetext BEGIN
         INSERT INTO messagesearch(messagesearch, rowid, subject, body)
         VALUES ('delete', old.message_id, old.subject, old.body);
       END""",
    """CREATE TRIGGER messagetext_au AFTER UPDATE ON messagetext BEGIN
         INSERT INTO messagesearch(messagesearch, rowid, subject, body)
         VALUES ('delete', old.message_id, old.subject, old.body);
         INSERT INTO messagesearch(rowid, subject, body)
         VALUES (new.message_id, new.subject, new.body);
       END""",
)


def upgrade() -> None:
    op.create_table('messagetext',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(), nullable=False),
    sa.Column('subject', sa.String(), nullable=False),
    sa.Column('body', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id']),
    sa.PrimaryKeyConstraint('message_id')
    )
    bind = op.get_bind()
    reader = context.config.attributes.get("message_text")
    if reader is not None:
        _fill(bind, reader)
    if bind.dialect.name == "sqlite":
        _sqlite_index(bind)
    else:
        _postgres_index(bind)


def _fill(bind: sa.Connection, reader: Callable[[bytes], tuple[str, str] | None]) -> None:
    """Read the words of every message stored so far, a batch at a time (the bytes of
    100,000 messages do not fit in memory at once)."""
    last = 0
    while True:
        rows = bind.execute(sa.text(
            "SELECT id, sha256, raw FROM message WHERE id > :last AND raw IS NOT NULL "
            "ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            return
        words = []
        for id_, sha256, raw in rows:
            found = reader(bytes(raw))
            if found is not None:
                words.append({"message_id": id_, "sha256": sha256 or "",
                              "subject": found[0], "body": found[1]})
        if words:
            bind.execute(sa.text(
                "INSERT INTO messagetext (message_id, sha256, subject, body) "
                "VALUES (:message_id, :sha256, :subject, :body)"), words)
        last = rows[-1][0]


def _sqlite_index(bind: sa.Connection) -> None:
    try:
        bind.exec_driver_sql(
            "CREATE VIRTUAL TABLE messagesearch USING fts5(subject, body, "
            "content='messagetext', content_rowid='message_id', tokenize='trigram')")
    except sa.exc.OperationalError:
        return  # a SQLite without FTS5 or trigram (before 3.34): the search reads the table
    bind.exec_driver_sql("INSERT INTO messagesearch(messagesearch) VALUES ('rebuild')")
    for trigger in SQLITE_TRIGGERS:
        bind.exec_driver_sql(trigger)


def _postgres_index(bind: sa.Connection) -> None:
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        return  # not allowed here (no superuser, not installed): ILIKE reads the table
    # The extension may live in another schema than ours: name its operator class fully.
    schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'").scalar()
    if schema is None:
        return
    ops = f'"{schema}".gin_trgm_ops'
    for column in ("subject", "body"):
        bind.exec_driver_sql(f"CREATE INDEX ix_messagetext_{column}_trgm ON messagetext "
                             f"USING gin ({column} {ops})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("messagetext_ai", "messagetext_ad", "messagetext_au"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS messagesearch")
    else:
        for column in ("subject", "body"):
            bind.exec_driver_sql(f"DROP INDEX IF EXISTS ix_messagetext_{column}_trgm")
    op.drop_table('messagetext')
