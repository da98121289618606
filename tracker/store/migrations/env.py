"""Alembic environment: tracker passes its engine in ``config.attributes["engine"]``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import tracker.store.models  # noqa: F401  (registers the tables)
from tracker.store.db import in_models

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it; with foreign keys on, dropping the old copy of a
        # referenced table fails. Switch them off for the migration (it must happen outside a
        # transaction, so on the driver's connection: tracker's engine begins every transaction
        # it is given) and check every reference afterwards.
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=sqlite,
        compare_type=True,
        include_name=in_models,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        raw.execute("PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"migration left broken references: {broken[:5]}")
