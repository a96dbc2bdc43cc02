"""The migrated schema is exactly what the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import shop.models  # noqa: F401  (registers the tables)
from bot.services import Shop
from shop.migrate import upgrade


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrations_build_the_schema_the_models_describe(any_shop: Shop) -> None:
    assert await any_shop.db.read(_diff) == []


async def test_migrations_are_idempotent_and_seed_the_revision(any_shop: Shop) -> None:
    await upgrade(any_shop.db)  # a second run changes nothing
    assert await any_shop.catalog.revision() == 0

    def tables(conn: Connection) -> set[str]:
        return set(inspect(conn).get_table_names())

    assert {"product", "shop_order", "order_event", "analytics_event"} <= await any_shop.db.read(
        tables
    )
