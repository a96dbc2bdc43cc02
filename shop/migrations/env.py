"""Alembic environment: runs on the connection the caller hands over, sync or async."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import shop.models  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata


def run_migrations(connection: Connection) -> None:
    """Apply migrations on `connection` inside one transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `chatshop db upgrade`, which supplies a connection")
run_migrations(connection)
