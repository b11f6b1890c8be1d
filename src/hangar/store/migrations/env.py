"""Alembic environment, driven by ``hangar.store.migrate`` (there is no alembic.ini).

Online: runs on the connection handed over in ``config.attributes["connection"]``.
Offline (``migrate.upgrade_sql``): renders the PostgreSQL DDL script without a database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from hangar.store.schema import metadata


def _run_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite can only ALTER some things by copying the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline(dialect_name: str) -> None:
    context.configure(
        dialect_name=dialect_name,
        target_metadata=metadata,
        render_as_batch=True,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline(context.config.attributes.get("dialect_name", "postgresql"))
else:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through hangar.store.migrate(), not the alembic CLI")
    _run_online(connection)
