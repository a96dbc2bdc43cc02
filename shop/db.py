"""The database: SQLite (WAL) by default, PostgreSQL through asyncpg.

Services write their transactions as plain functions over a SQLAlchemy Core
`Connection` and hand them to `Database.read` or `Database.write`:

- On SQLite a whole transaction runs in a worker thread with the standard
  `sqlite3` driver: one hop between the event loop and a thread per
  transaction, instead of several per statement as with aiosqlite (measured by
  benchmarks/checkout.py: several times the checkouts per second). Writes go
  through one writer thread that commits queued transactions in groups
  (`shop.sqlite_writer`); they start with ``BEGIN IMMEDIATE`` so that writers of
  other processes queue on the busy timeout instead of failing on a stale
  snapshot. Reads run on a small pool of reader threads (WAL lets them run
  beside the writer).
- On PostgreSQL the same function runs through asyncpg on the event loop
  (`AsyncConnection.run_sync`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shop.sqlite_writer import SQLiteWriter

DEFAULT_URL = "sqlite+aiosqlite:///chatshop.db"
SQLITE_BUSY_TIMEOUT_MS = 15_000
SQLITE_READERS = 4

T = TypeVar("T")
Work = Callable[[Connection], T]


class Database:
    """Owns the engine and runs read and write transactions."""

    def __init__(self, url: str | URL = DEFAULT_URL, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        if self.is_sqlite:
            # Whatever driver the URL names (aiosqlite by convention), transactions run
            # in our own threads on the standard driver, as explained above.
            sync_url = self.url.set(drivername="sqlite+pysqlite")
            self._sync = create_engine(
                sync_url,
                echo=echo,
                pool_size=SQLITE_READERS + 1,
                max_overflow=0,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            event.listen(self._sync, "connect", _on_sqlite_connect)
            self._writer = SQLiteWriter(self._sync)
            self._readers = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="sqlite-reader")
        else:
            self._async = create_async_engine(
                self.url, echo=echo, pool_size=10, max_overflow=40, pool_pre_ping=True
            )

    @property
    def dialect(self) -> str:
        """Return the SQL dialect name: ``sqlite`` or ``postgresql``."""
        engine = self._sync or self._async
        assert engine is not None
        return engine.dialect.name

    async def write(self, work: Work[T]) -> T:
        """Run `work` in a transaction that writes: committed on return, rolled back on error."""
        if self._sync is not None:
            result: T = await self._writer.run(work)
            return result
        return await self._on_loop(work)

    async def read(self, work: Work[T]) -> T:
        """Run `work` in a transaction that only reads (a consistent snapshot)."""
        if self._sync is not None:
            return await self._in_thread(self._readers, "BEGIN", work)
        return await self._on_loop(work)

    async def _in_thread(self, pool: ThreadPoolExecutor, begin: str, work: Work[T]) -> T:
        """Run `work` in a transaction opened with `begin` on one of `pool`'s threads."""
        engine = self._sync
        assert engine is not None

        def transaction() -> T:
            with engine.connect() as conn:
                # We emit BEGIN ourselves (the driver's legacy mode would skip it before
                # SELECT and DDL); doing it here rather than in a "begin" event keeps
                # the engine free of per-statement event dispatch.
                conn.exec_driver_sql(begin)
                try:
                    result = work(conn)
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
                return result

        return await asyncio.get_running_loop().run_in_executor(pool, transaction)

    async def _on_loop(self, work: Work[T]) -> T:
        assert self._async is not None
        async with self._async.begin() as conn:
            return await conn.run_sync(work)

    async def dispose(self) -> None:
        """Close every pooled connection and stop the worker threads."""
        if self._sync is not None:
            self._writer.close()
            self._readers.shutdown(wait=True)
            self._sync.dispose()
        if self._async is not None:
            await self._async.dispose()


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Turn on WAL, foreign keys and a busy timeout; leave BEGIN to `Database`."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL with NORMAL is durable across application crashes; only an OS crash
    # or power cut may lose the last commits, never corrupt the file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
