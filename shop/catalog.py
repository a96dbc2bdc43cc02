"""The catalog: categories and products, bulk import, and what changed since when.

A shelf's products, narrowed and sorted, are listed by the search index
(`SearchService.find` with `Filters(category_id=...)`): one owner of the shelf's order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.catalog_file import CatalogRow
from shop.db import Database
from shop.errors import NotFoundError
from shop.models import Category
from shop.sql import bump_revision, current_revision, insert_for
from shop.stock_alerts import tell_restocked
from shop.types import utcnow
from shop.views import ProductView

_IMPORT_CHUNK = 2_000
# What an import changes of a product already in the shop (and `created_at` when the row gives it).
_IMPORTED = (
    "title",
    "description",
    "title_i18n",
    "description_i18n",
    "price",
    "currency",
    "stock",
    "image_url",
    "image_urls",
    "attrs",
    "sort_order",
    "digital",
    "category_id",
    "active",
    "revision",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class CategorySummary:
    """A category and how many active products it holds."""

    category: Category
    products: int


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    created: int
    updated: int
    categories: int
    revision: int


# Built once: customers browsing run these on every tap (shop/db.py says why).
_PRODUCT_BY_ID = select(t.product).where(t.product.c.id == bindparam("id"))
_PRODUCT_BY_SKU = select(t.product).where(t.product.c.sku == bindparam("sku"))
_PRODUCTS_BY_ID = select(t.product).where(t.product.c.id.in_(bindparam("ids", expanding=True)))
_CATEGORY = select(t.category).where(t.category.c.id == bindparam("id"))


def load_product(conn: Connection, product_id: int) -> ProductView | None:
    """Read a product by id, active or not, inside the caller's transaction."""
    row = conn.execute(_PRODUCT_BY_ID, {"id": product_id}).first()
    return ProductView.from_row(row) if row else None


def load_product_by_sku(conn: Connection, sku: str) -> ProductView | None:
    """Read a product by sku, active or not, inside the caller's transaction."""
    row = conn.execute(_PRODUCT_BY_SKU, {"sku": sku}).first()
    return ProductView.from_row(row) if row else None


class CatalogService:
    """Reads and changes the catalog; every change advances the catalog revision."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def revision(self) -> int:
        """Return the catalog revision: a cheap check for "has anything changed?"."""

        def work(conn: Connection) -> Any:
            return current_revision(conn)

        return await self._db.read(work)

    async def count(self, *, active_only: bool = True) -> int:
        """Return how many products the catalog holds."""
        query = select(func.count()).select_from(t.product)
        if active_only:
            query = query.where(t.product.c.active)

        def work(conn: Connection) -> Any:
            return int((conn.execute(query)).scalar_one())

        return await self._db.read(work, bulk=True)

    async def product(self, product_id: int) -> ProductView | None:
        """Return the product with this id, active or not."""
        return await self._db.read(lambda conn: load_product(conn, product_id))

    async def product_by_sku(self, sku: str) -> ProductView | None:
        """Return the product with this sku, active or not."""
        return await self._db.read(lambda conn: load_product_by_sku(conn, sku))

    async def products(self, ids: Sequence[int]) -> dict[int, ProductView]:
        """Return the products with these ids, by id."""
        if not ids:
            return {}

        def work(conn: Connection) -> Any:
            rows = conn.execute(_PRODUCTS_BY_ID, {"ids": list(ids)})
            return {r.id: ProductView.from_row(r) for r in rows}

        return await self._db.read(work)

    async def all_products(self, *, active_only: bool = True) -> list[ProductView]:
        """Return every product (the active ones by default), by id."""
        query = select(t.product).order_by(t.product.c.id)
        if active_only:
            query = query.where(t.product.c.active)

        def work(conn: Connection) -> Any:
            return [ProductView.from_row(r) for r in conn.execute(query)]

        return await self._db.read(work, bulk=True)

    async def categories(self) -> list[CategorySummary]:
        """Return the categories that have active products, in shelf order."""
        count = func.count(t.product.c.id).label("n")
        query = (
            select(t.category, count)
            .join(t.product, t.product.c.category_id == t.category.c.id)
            .where(t.product.c.active)
            .group_by(t.category.c.id)
            .order_by(t.category.c.position, t.category.c.name)
        )

        def work(conn: Connection) -> Any:
            return (conn.execute(query)).all()

        rows = await self._db.read(work, bulk=True)
        return [
            CategorySummary(
                Category(id=r.id, name=r.name, name_i18n=r.name_i18n, position=r.position), r.n
            )
            for r in rows
        ]

    async def category(self, category_id: int) -> Category | None:
        """Return the category with this id, if there is one."""

        def work(conn: Connection) -> Category | None:
            found = conn.execute(_CATEGORY, {"id": category_id}).first()
            return Category(**found._mapping) if found is not None else None

        return await self._db.read(work)

    async def set_price(self, sku: str, price: int) -> ProductView:
        """Change a product's price (minor units)."""
        if price < 0:
            raise ValueError("price cannot be negative")
        return await self._change(sku, price=price)

    async def set_stock(self, sku: str, stock: int) -> ProductView:
        """Set how many units are free to sell."""
        if stock < 0:
            raise ValueError("stock cannot be negative")
        return await self._change(sku, stock=stock)

    async def set_active(self, sku: str, active: bool) -> ProductView:
        """Put a product on sale or take it off."""
        return await self._change(sku, active=active)

    async def _change(self, sku: str, **values: Any) -> ProductView:
        now = self._clock()

        def work(conn: Connection) -> Any:
            revision = bump_revision(conn)
            row = (
                conn.execute(
                    update(t.product)
                    .where(t.product.c.sku == sku)
                    .values(**values, revision=revision, updated_at=now)
                    .returning(*t.product.c)
                )
            ).first()
            if row is None:
                raise NotFoundError("product", sku)
            tell_restocked(conn, now, [row.id])  # back in stock, or back on sale with stock
            return ProductView.from_row(row)

        return await self._db.write(work)

    async def import_rows(
        self, rows: Sequence[CatalogRow], *, progress: Callable[[int], None] | None = None
    ) -> ImportResult:
        """Create or update products by sku in one transaction: all rows or none.

        Rows are put on sale unless they say `active` false (taken off sale); products
        missing from the file are left as they are. A product keeps when it came to the
        shop (`created_at`, for "newest first") unless its row says when.
        """
        now = self._clock()

        def work(conn: Connection) -> ImportResult:
            categories = self._upsert_categories(conn, rows)
            existing = set((conn.execute(select(t.product.c.sku))).scalars())
            revision = bump_revision(conn)
            insert = insert_for(conn, t.product)
            # Products come first in the file's order (their ids are the shelf's last tie-break),
            # then those already in the shop whose arrival the file moves.
            statements = [
                insert.on_conflict_do_update(
                    index_elements=["sku"],
                    set_={name: insert.excluded[name] for name in columns},
                )
                for columns in (_IMPORTED, (*_IMPORTED, "created_at"))
            ]
            for start in range(0, len(rows), _IMPORT_CHUNK):
                chunk = rows[start : start + _IMPORT_CHUNK]
                for redated, statement in enumerate(statements):
                    values = [
                        _product_values(r, categories[r.category], revision, now)
                        for r in chunk
                        if (r.created is not None and r.sku in existing) == redated
                    ]
                    if values:
                        conn.execute(statement, values)
                if progress:
                    progress(len(chunk))
            updated = sum(1 for r in rows if r.sku in existing)
            tell_restocked(conn, now)
            return ImportResult(len(rows) - updated, updated, len(categories), revision)

        return await self._db.write(work, bulk=True)

    def _upsert_categories(self, conn: Connection, rows: Sequence[CatalogRow]) -> dict[str, int]:
        names: dict[str, dict[str, str]] = {}
        for row in rows:
            names.setdefault(row.category, {}).update(row.categories)
        known = {
            r.name: (r.id, r.name_i18n)
            for r in conn.execute(
                select(t.category.c.id, t.category.c.name, t.category.c.name_i18n)
            )
        }
        position = len(known)
        for name, translations in names.items():
            if name in known:
                category_id, current = known[name]
                if {**current, **translations} != current:
                    conn.execute(
                        update(t.category)
                        .where(t.category.c.id == category_id)
                        .values(name_i18n={**current, **translations})
                    )
                continue
            new_id = (
                conn.execute(
                    insert_for(conn, t.category)
                    .values(name=name, name_i18n=translations, position=position)
                    .returning(t.category.c.id)
                )
            ).scalar_one()
            known[name] = (new_id, translations)
            position += 1
        return {name: known[name][0] for name in names}

    async def export_rows(self) -> list[CatalogRow]:
        """Return the active catalog as rows that `import_rows` takes back unchanged."""
        query = (
            select(
                t.product,
                t.category.c.name.label("category_name"),
                t.category.c.name_i18n.label("category_i18n"),
            )
            .join(t.category, t.product.c.category_id == t.category.c.id, isouter=True)
            .where(t.product.c.active)
            .order_by(t.product.c.id)
        )

        def work(conn: Connection) -> Any:
            return (conn.execute(query)).all()

        rows = await self._db.read(work, bulk=True)
        return [
            CatalogRow(
                line=n,
                sku=r.sku,
                title=r.title,
                description=r.description,
                price=r.price,
                currency=r.currency,
                stock=r.stock,
                category=r.category_name or "",
                image_url=r.image_url,
                digital=r.digital,
                titles=dict(r.title_i18n),
                descriptions=dict(r.description_i18n),
                categories=dict(r.category_i18n or {}),
                image_urls=tuple(r.image_urls or ([r.image_url] if r.image_url else [])),
                attrs=dict(r.attrs),
                sort_order=r.sort_order,
                created=r.created_at,
            )
            for n, r in enumerate(rows, start=2)
        ]


def _product_values(
    row: CatalogRow, category_id: int, revision: int, now: datetime
) -> dict[str, Any]:
    return {
        "sku": row.sku,
        "title": row.title,
        "description": row.description,
        "title_i18n": row.titles,
        "description_i18n": row.descriptions,
        "price": row.price,
        "currency": row.currency,
        "stock": row.stock,
        "image_url": row.image_url,
        "image_urls": list(row.image_urls),
        "attrs": row.attrs,
        "sort_order": row.sort_order,
        "created_at": row.created or now,
        "digital": row.digital,
        "category_id": category_id,
        "active": row.active,
        "revision": revision,
        "updated_at": now,
        "sold": 0,
    }
