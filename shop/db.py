"""The database: SQLite (WAL) by default, PostgreSQL through asyncpg.

Services write their transactions as plain functions over a SQLAlchemy Core
`Connection` and hand them to `Database.read` or `Database.write`:

- On SQLite, with the standard `sqlite3` driver, a short transaction (a cart
  change, an order, a product page) runs right on the event loop, start to end.
  It is over in tens of microseconds, less than a hop to a thread and back
  would cost, and no thread contends with the loop for the GIL meanwhile
  (benchmarks/updates.py measures the difference). WAL readers never wait for
  the writer. A write starts with ``BEGIN IMMEDIATE`` and never waits on the
  loop: when another process (or our own writer thread) holds the write lock,
  the transaction goes to the writer thread instead (`shop.sqlite_writer`),
  which waits for the lock on the busy timeout and commits whatever is queued
  in groups. That thread also takes the checkpoints (each an fsync), so the
  loop never does. What may touch many rows (`bulk`: imports, exports,
  reports, the search index) runs on threads from the start: on the writer
  thread, or on a small pool of reader threads, so customers are served
  meanwhile. Work that runs after its request was answered (`background`)
  takes a turn before each transaction (`shop.turns`): one such transaction a
  pass of the event loop, so that the requests that came meanwhile go first.
- On PostgreSQL the same function runs through asyncpg on the event loop
  (`AsyncConnection.run_sync`).

The statements every message runs (a customer, a conversation, a product) are
built once, at import, with bind parameters: building a `select()` and working
out its cache key takes longer than SQLite takes to answer it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shop.sqlite_writer import SQLiteWriter
from shop.turns import Turns

DEFAULT_URL = "sqlite+aiosqlite:///chatshop.db"
POSTGRES_DRIVER = "postgresql+asyncpg"
_SPOKEN = (
    "chatshop runs on SQLite (sqlite+aiosqlite:///chatshop.db) "
    "or PostgreSQL (postgresql+asyncpg://user:password@host/database)"
)
SQLITE_BUSY_TIMEOUT_MS = 15_000
SQLITE_READERS = 4

T = TypeVar("T")
Work = Callable[[Connection], T]

# Whether the transactions started in this context are for work nobody waits on.
_BACKGROUND: ContextVar[bool] = ContextVar("background", default=False)


@contextmanager
def background() -> Iterator[None]:
    """Run what is started within as background work: its transactions wait for their turns."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


class DatabaseUrlError(ValueError):
    """A DATABASE_URL that names no database chatshop can open."""


class Database:
    """Owns the engine and runs read and write transactions."""

    def __init__(self, url: str | URL = DEFAULT_URL, *, echo: bool = False) -> None:
        self.url = database_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        if self.is_sqlite:
            _check_sqlite_folder(self.url)
            # Whatever driver the URL names (aiosqlite by convention), transactions run
            # in our own threads on the standard driver, as explained above.
            sync_url = self.url.set(drivername="sqlite+pysqlite")
            self._sync = create_engine(
                sync_url,
                echo=echo,
                pool_size=SQLITE_READERS + 3,  # the readers, the writer, the loop's two
                max_overflow=4,  # short transactions from threads other than the loop's
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            event.listen(self._sync, "connect", _on_sqlite_connect)
            self._writer = SQLiteWriter(self._sync)
            self._turns = Turns()
            self._readers = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="sqlite-reader")
            self._own = threading.local()  # see _kept
            self._kept_connections: list[Connection] = []
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

    async def write(self, work: Work[T], *, bulk: bool = False) -> T:
        """Run `work` in a transaction that writes: committed on return, rolled back on error.

        Pass `bulk=True` when it may write many rows: on SQLite it then runs on the
        writer thread instead of the event loop (see the module's docstring).
        """
        if self._sync is None:
            return await self._on_loop(work)
        if _BACKGROUND.get():
            await self._turns.take()
        if not bulk and self._writer.idle:
            try:
                result = _in_write_transaction(self._kept("writer"), work)
            except _LockTakenError:
                pass  # someone else is writing: queue behind them on the writer thread
            else:
                self._writer.wrote_elsewhere()
                return result
        written: T = await self._writer.run(work)
        return written

    async def read(self, work: Work[T], *, bulk: bool = False) -> T:
        """Run `work` in a transaction that only reads (a consistent snapshot).

        Pass `bulk=True` when it may read many rows: on SQLite it then runs on a
        reader thread instead of the event loop (see the module's docstring).
        """
        engine = self._sync
        if engine is None:
            return await self._on_loop(work)
        if _BACKGROUND.get():
            await self._turns.take()
        if bulk:
            return await asyncio.get_running_loop().run_in_executor(
                self._readers, _read_transaction, engine, work
            )
        return _in_read_transaction(self._kept("reader"), work)

    def _kept(self, role: str) -> Connection:
        """Return this thread's own connection for short reads or writes, opening it once.

        Checking a connection out of the pool for each transaction costs a third of
        a short one; the loop's thread keeps one of each kind instead.
        """
        conn: Connection | None = getattr(self._own, role, None)
        if conn is None or conn.closed:
            assert self._sync is not None
            conn = self._sync.connect()
            if role == "writer":
                # Never wait for the lock here, and leave checkpoints to the writer thread.
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
                conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
            setattr(self._own, role, conn)
            self._kept_connections.append(conn)
        return conn

    async def _on_loop(self, work: Work[T]) -> T:
        assert self._async is not None
        async with self._async.begin() as conn:
            return await conn.run_sync(work)

    async def dispose(self) -> None:
        """Close every pooled connection and stop the worker threads."""
        if self._sync is not None:
            self._writer.close()
            self._readers.shutdown(wait=True)
            for conn in self._kept_connections:
                conn.close()
            self._kept_connections.clear()
            self._own = threading.local()
            self._sync.dispose()
        if self._async is not None:
            await self._async.dispose()


def database_url(url: str | URL) -> URL:
    """Return the URL to connect with: SQLite, or PostgreSQL through asyncpg.

    Hosting services hand out ``postgres://`` and ``postgresql://`` URLs, with no
    driver and perhaps libpq's ``sslmode``: they mean asyncpg, whose word for
    sslmode is ``ssl``.

    Raises:
        DatabaseUrlError: not a URL, or a database chatshop does not speak to.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:  # its text may hold a password: not repeated
        raise DatabaseUrlError(f"not a database URL; {_SPOKEN}") from None
    if parsed.get_backend_name() == "sqlite":
        return parsed
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    if parsed.drivername != POSTGRES_DRIVER:
        raise DatabaseUrlError(f"{_SPOKEN}, not {parsed.drivername}")
    if "sslmode" in parsed.query:
        sslmode = parsed.query["sslmode"]
        parsed = parsed.difference_update_query(["sslmode"]).update_query_dict({"ssl": sslmode})
    return parsed


def _check_sqlite_folder(url: URL) -> None:
    """Refuse a database file in a folder that does not exist, naming the folder.

    SQLite itself only says "unable to open database file".
    """
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    folder = Path(database).absolute().parent
    if not folder.is_dir():
        raise DatabaseUrlError(
            f"the folder {folder} of the SQLite database does not exist; create it, "
            "or set DATABASE_URL to a file in a folder that does"
        )


def _read_transaction(engine: Engine, work: Work[T]) -> T:
    """Run `work` in a read transaction on a connection from the pool."""
    with engine.connect() as conn:
        return _in_read_transaction(conn, work)


def _in_read_transaction(conn: Connection, work: Work[T]) -> T:
    """Run `work` in a read transaction (one snapshot) on an SQLite connection."""
    # We emit BEGIN ourselves, straight to the driver (its legacy mode would skip it
    # before SELECT; through SQLAlchemy it would cost as much as the query). Nothing
    # was written, so ending is a rollback: SQLAlchemy's, and the driver's if
    # `work` ran no statement for SQLAlchemy to know of.
    driver = _driver(conn)
    driver.execute("BEGIN")
    try:
        return work(conn)
    finally:
        conn.rollback()
        if driver.in_transaction:
            driver.rollback()


def _driver(conn: Connection) -> sqlite3.Connection:
    """Return the `sqlite3` connection under a SQLAlchemy one."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


class _LockTakenError(Exception):
    """Another connection holds SQLite's write lock right now."""


def _in_write_transaction(conn: Connection, work: Work[T]) -> T:
    """Run `work` in a write transaction on an SQLite connection that never waits for the lock.

    Raises:
        _LockTakenError: another connection is writing; nothing was run.
    """
    driver = _driver(conn)  # as in _in_read_transaction
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
            raise _LockTakenError from error
        raise
    try:
        result = work(conn)
        conn.commit()
        if driver.in_transaction:
            driver.commit()
    except BaseException:
        conn.rollback()
        if driver.in_transaction:
            driver.rollback()
        raise
    return result


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
