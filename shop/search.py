"""Product search for customers and staff: the index kept in step with the catalog.

`SearchService` builds a `SearchIndex` from the database at start, then asks the
catalog's revision counter (one indexed read) at most once a second whether
anything changed, and folds the changed products into the index without a
rebuild. When the overlay of changes grows past a quarter of the index, a fresh
index is built on a worker thread and swapped in.

Two questions are asked of it: `suggest` (as-you-type, the best few, Telegram's
inline mode) and `find` (a page of a shelf or a search's results narrowed by
`shop.filters.Filters` and sorted, with the total and attribute facets). Filters
and paging run inside the index (shop/search_index.py), on arrays the changes
folded in above keep current, so a price or stock change narrows the next page.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from shop import tables as t
from shop.db import Database
from shop.filters import Filters
from shop.search_index import NO_FILTERS, Hit, SearchDoc, SearchIndex, SearchResult, WordMatch
from shop.sql import current_revision

__all__ = ["Hit", "SearchDoc", "SearchResult", "SearchService", "WordMatch"]

COMPACT_AT = 0.25

_DOCS = (
    select(
        t.product.c.id,
        t.product.c.sku,
        t.product.c.title,
        t.product.c.title_i18n,
        t.product.c.stock,
        t.product.c.sold,
        t.product.c.price,
        t.product.c.currency,
        t.product.c.active,
        t.product.c.category_id,
        t.product.c.attrs,
        t.product.c.sort_order,
        t.product.c.created_at,
        t.category.c.name.label("category"),
        t.category.c.name_i18n.label("category_i18n"),
    )
    .select_from(t.product.outerjoin(t.category, t.category.c.id == t.product.c.category_id))
    .order_by(t.product.c.id)
)


def _doc(row: Any) -> SearchDoc:
    categories = (row.category, *(row.category_i18n or {}).values()) if row.category else ()
    return SearchDoc(
        product_id=row.id,
        sku=row.sku,
        title=row.title,
        titles=dict(row.title_i18n),
        categories=tuple(dict.fromkeys(categories)),
        in_stock=row.stock > 0,
        sold=row.sold,
        price=row.price,
        currency=sys.intern(row.currency),  # one string for a million prices in dollars
        category_id=row.category_id,
        attrs=dict(row.attrs),
        sort_order=row.sort_order,
        created=row.created_at.timestamp(),
    )


class SearchService:
    """Answers searches from an in-memory index that follows the catalog."""

    def __init__(
        self,
        db: Database,
        *,
        refresh_every: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._refresh_every = refresh_every
        self._monotonic = monotonic
        self._index = SearchIndex()
        self._revision = -1
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def index(self) -> SearchIndex:
        """Return the current index (replaced, never mutated, by a rebuild)."""
        return self._index

    async def start(self) -> None:
        """Build the index from every active product in the database."""

        def load(conn: Connection) -> tuple[int, list[SearchDoc]]:
            revision = current_revision(conn)
            rows = conn.execute(_DOCS.where(t.product.c.active))
            return revision, [_doc(row) for row in rows]

        revision, docs = await self._db.read(load, bulk=True)
        self._index = await asyncio.to_thread(SearchIndex.build, docs)
        self._revision = revision
        self._checked_at = self._monotonic()

    async def suggest(self, query: str, limit: int = 10, locale: str | None = None) -> SearchResult:
        """Return the best products for a (partial) query, catching up with the catalog first."""
        await self._catch_up()
        return self._index.suggest(query, limit, locale)

    async def find(
        self,
        query: str,
        filters: Filters = NO_FILTERS,
        *,
        offset: int = 0,
        limit: int = 10,
        locale: str | None = None,
    ) -> SearchResult:
        """Return a page of products for `query` within `filters`, catching up with the catalog first."""
        await self._catch_up()
        return self._index.find(query, filters, offset=offset, limit=limit, locale=locale)

    async def _catch_up(self) -> None:
        """Fold in the catalog's changes when the last look is older than `refresh_every`."""
        if self._monotonic() - self._checked_at >= self._refresh_every:
            await self.refresh()

    async def refresh(self) -> None:
        """Fold catalog changes since the last look into the index."""
        async with self._lock:
            self._checked_at = self._monotonic()
            since = self._revision

            def changes(conn: Connection) -> tuple[int, list[Any]]:
                revision = current_revision(conn)
                if revision == since:
                    return revision, []
                return revision, list(conn.execute(_DOCS.where(t.product.c.revision > since)))

            revision, rows = await self._db.read(changes, bulk=True)
            if not rows:
                self._revision = revision
                return
            self._index.upsert(_doc(row) for row in rows if row.active)
            self._index.remove(row.id for row in rows if not row.active)
            self._revision = revision
            if self._index.overlay_share > COMPACT_AT:
                self._index = await asyncio.to_thread(self._index.compact)
