"""Alembic environment: run with the connection passed by ronda.storage.db.migrate."""

from __future__ import annotations

from alembic import context

from ronda.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - migrations run through ronda.storage.db.migrate
    raise RuntimeError("run migrations through ronda.storage.db.migrate(engine)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
