"""Alembic's environment: migrations run on the connection storage.database hands over.

Batch mode (`render_as_batch`) makes one migration serve both databases: SQLite gets the
copy-and-move it needs for ALTER, PostgreSQL a plain ALTER.
"""

from __future__ import annotations

from alembic import context

from storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
