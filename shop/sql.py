"""Small SQL helpers that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from shop import tables as t


def insert_for(conn: Connection, table: Table) -> Any:
    """Return an INSERT for `table` that supports ON CONFLICT on this connection's database.

    Both dialects spell upserts the same way (`on_conflict_do_update`, `excluded`).
    """
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@cache
def _upsert(table: Table, keys: tuple[str, ...], changes: tuple[str, ...], dialect: str) -> Any:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.on_conflict_do_update(
        index_elements=list(keys), set_={name: insert.excluded[name] for name in changes}
    )


def upsert(conn: Connection, table: Table, keys: tuple[str, ...], changes: tuple[str, ...]) -> Any:
    """Return INSERT … ON CONFLICT (`keys`) DO UPDATE SET `changes` to the new values, built once.

    Execute it with the row's values as parameters; a hot path then pays neither
    for building the statement nor for working out its cache key (shop/db.py).
    """
    return _upsert(table, keys, changes, conn.dialect.name)


@cache
def _insert_new(table: Table, keys: tuple[str, ...], dialect: str) -> Any:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.on_conflict_do_nothing(index_elements=list(keys)).returning(table.c.id)


def insert_new(conn: Connection, table: Table, keys: tuple[str, ...]) -> Any:
    """Return INSERT … ON CONFLICT (`keys`) DO NOTHING RETURNING id, built once.

    Execute it with the row's values as parameters: it returns the new row's id, or
    nothing when a row with those keys exists.
    """
    return _insert_new(table, keys, conn.dialect.name)


def bump_revision(conn: Connection, product_ids: list[int] | None = None) -> int:
    """Advance the catalog revision and stamp `product_ids` with it; return the new revision.

    Pass no ids when the caller stamps the products itself (bulk import).
    """
    revision: int = (
        conn.execute(
            update(t.catalog_revision)
            .where(t.catalog_revision.c.id == 1)
            .values(value=t.catalog_revision.c.value + 1)
            .returning(t.catalog_revision.c.value)
        )
    ).scalar_one()
    if product_ids:
        conn.execute(
            update(t.product).where(t.product.c.id.in_(product_ids)).values(revision=revision)
        )
    return revision


def current_revision(conn: Connection) -> int:
    """Return the catalog revision (0 for a catalog never changed)."""
    value = (conn.execute(select(t.catalog_revision.c.value))).scalar_one_or_none()
    return value or 0


def claim(conn: Connection, table: Table, due: Select[Any], **values: Any) -> list[Any]:
    """Set `values` on the rows whose ids `due` selects, and return them in `due`'s order.

    Concurrent claimers on PostgreSQL skip each other's rows instead of waiting
    (FOR UPDATE SKIP LOCKED); SQLite serialises writers anyway.
    """
    if conn.dialect.name != "sqlite":
        due = due.with_for_update(skip_locked=True)
    ids = list(conn.execute(due).scalars())
    if not ids:
        return []
    rows = conn.execute(
        update(table).where(table.c.id.in_(ids)).values(**values).returning(*table.c)
    ).all()
    place = {row_id: n for n, row_id in enumerate(ids)}
    return sorted(rows, key=lambda row: place[row.id])
