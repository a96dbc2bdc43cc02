"""One writer thread per process for SQLite, committing queued transactions in groups.

SQLite takes one writer at a time, so a process gains nothing from several
writing threads; what costs is the hop between the event loop and a thread and
the COMMIT. The writer drains whatever transactions are queued, runs them one
after another within one ``BEGIN IMMEDIATE … COMMIT`` and answers every caller
after the COMMIT: under load the hops and commits are shared, and a lone caller
still gets one hop. When one of them fails (say, out of stock) the group rolls
back and the others run again without it: failures are rare, so this is cheaper
than a SAVEPOINT around each. A transaction must therefore be a function of the
database alone, safe to run again, as every `Database.write` function is.

Most short transactions commit on the event loop without this thread
(`shop.db`); it gets the ones that must wait for the lock or are large, and it
takes the checkpoints of what the loop commits, whenever it has nothing queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

MAX_GROUP = 64
CHECKPOINT_AFTER = 0.5  # seconds without queued work before copying the WAL into the database


@dataclass(slots=True)
class _Job:
    work: Callable[[Connection], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    result: Any = None
    error: BaseException | None = field(default=None)


class SQLiteWriter:
    """Runs write transactions on a dedicated thread and connection, in commit groups."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._waiting = 0  # transactions handed over and not yet answered
        self._unchecked = False  # commits made elsewhere since the last checkpoint

    @property
    def idle(self) -> bool:
        """Tell whether no transaction is queued or running here."""
        return self._waiting == 0

    async def run(self, work: Callable[[Connection], Any]) -> Any:
        """Run `work` in a write transaction and return what it returns, once committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._waiting += 1
        try:
            # Queued before the thread is looked for: a thread giving up (see _give_up)
            # either still answers this job, or has already left and a new one starts.
            self._queue.put(_Job(work, future, loop))
            self._start()
            return await future
        finally:
            self._waiting -= 1

    def wrote_elsewhere(self) -> None:
        """Note a commit made on another connection: its pages get checkpointed here."""
        self._unchecked = True
        self._start()

    def close(self) -> None:
        """Finish the queued transactions and stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="sqlite-writer", daemon=True
                )
                self._thread.start()

    def _serve(self) -> None:
        group: list[_Job] = []
        try:
            with self._engine.connect() as conn:
                while True:
                    try:
                        first = self._queue.get(timeout=CHECKPOINT_AFTER)
                    except queue.Empty:
                        self._checkpoint(conn)
                        continue
                    if first is None:
                        self._checkpoint(conn)
                        return
                    group = [first]
                    while len(group) < MAX_GROUP:
                        try:
                            job = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        if job is None:
                            self._queue.put(None)  # stop after this group
                            break
                        group.append(job)
                    self._commit_group(conn, group)
                    for job in group:
                        _answer(job)
                    group = []
        except Exception as error:  # the database cannot be opened, or the connection broke
            self._give_up(group, error)

    def _give_up(self, group: list[_Job], error: Exception) -> None:
        """Stop this thread, failing its group and every queued job with `error`.

        Nothing may be left waiting for an answer that never comes: a file that
        cannot be opened once made `chatshop db upgrade` hang. The next `run` starts
        a new thread, which tries to connect again.
        """
        with self._lock:
            if self._thread is threading.current_thread():
                self._thread = None
        _fail(group, error)
        for job in group:
            _answer(job)
        while True:
            try:
                queued = self._queue.get_nowait()
            except queue.Empty:
                return
            if queued is not None:  # a stop request needs no answer: this thread stops
                _fail([queued], error)
                _answer(queued)

    def _checkpoint(self, conn: Connection) -> None:
        """Copy what other connections committed from the WAL into the database file."""
        if not self._unchecked:
            return
        self._unchecked = False
        try:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:  # the next one catches up; a checkpoint is never a correctness matter
            log.exception("WAL checkpoint failed")
        finally:
            conn.rollback()  # ends SQLAlchemy's idea of a transaction; SQLite has none open

    def _commit_group(self, conn: Connection, group: list[_Job]) -> None:
        pending = list(group)
        while pending:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except Exception as error:  # locked past the busy timeout, disk trouble
                conn.rollback()
                _fail(pending, error)
                return
            failed = next((job for job in pending if not _attempt(job, conn)), None)
            if failed is not None:
                conn.rollback()
                pending.remove(failed)  # it keeps its error; the rest run again
                continue
            try:
                conn.commit()
            except Exception as error:  # nothing of the group was written
                conn.rollback()
                _fail(pending, error)
            return


def _attempt(job: _Job, conn: Connection) -> bool:
    """Run one job; return whether it succeeded (its error is kept if not)."""
    try:
        job.result = job.work(conn)
    except Exception as error:
        job.error = error
        return False
    return True


def _fail(jobs: list[_Job], error: Exception) -> None:
    for job in jobs:
        job.result, job.error = None, error


def _answer(job: _Job) -> None:
    """Hand a finished job back to its caller's event loop."""
    # A caller whose loop has closed meanwhile waits for nothing; the writer carries on.
    with contextlib.suppress(RuntimeError):
        job.loop.call_soon_threadsafe(_settle, job)


def _settle(job: _Job) -> None:
    """Hand the outcome to the waiting coroutine (on its own loop)."""
    if job.future.cancelled():
        return
    if job.error is not None:
        job.future.set_exception(job.error)
    else:
        job.future.set_result(job.result)
