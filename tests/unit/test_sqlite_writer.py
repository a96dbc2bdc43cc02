"""The SQLite writer: queued transactions commit in groups, and a failing one fails alone."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from shop.sqlite_writer import SQLiteWriter

metadata = MetaData()
note = Table("note", metadata, Column("id", Integer, primary_key=True), Column("text", String))


async def test_a_failing_transaction_leaves_the_rest_of_its_group_committed(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    metadata.create_all(engine)
    writer = SQLiteWriter(engine)

    def add(text: str, fail: bool = False) -> object:
        def work(conn: Connection) -> str:
            conn.execute(note.insert().values(text=text))
            if fail:
                raise LookupError(text)
            return text

        return work

    outcomes = await asyncio.gather(
        *(writer.run(add(f"n{i}", fail=i % 7 == 3)) for i in range(40)),  # type: ignore[arg-type]
        return_exceptions=True,
    )
    writer.close()

    failed = {str(o) for o in outcomes if isinstance(o, LookupError)}
    assert failed == {f"n{i}" for i in range(40) if i % 7 == 3}
    with engine.connect() as conn:
        stored = set(conn.execute(select(note.c.text)).scalars())
    assert stored == {f"n{i}" for i in range(40) if i % 7 != 3}
    assert [o for o in outcomes if not isinstance(o, Exception)] == sorted(
        stored, key=lambda t: int(t[1:])
    )


async def test_close_finishes_queued_work_and_a_later_call_starts_again(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    metadata.create_all(engine)
    writer = SQLiteWriter(engine)

    def count(conn: Connection) -> int:
        conn.execute(note.insert().values(text="x"))
        return len(conn.execute(select(note.c.id)).all())

    assert await writer.run(count) == 1
    writer.close()
    assert await writer.run(count) == 2
    writer.close()

    def duplicate(conn: Connection) -> None:
        conn.execute(note.insert().values(text="y"))
        conn.execute(note.insert().values(id=1, text="again"))

    with pytest.raises(IntegrityError):
        await writer.run(duplicate)
    writer.close()
    with engine.connect() as conn:
        assert list(conn.execute(select(note.c.text)).scalars()) == ["x", "x"]


def test_what_other_connections_commit_is_checkpointed_by_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    metadata.create_all(engine)
    keeper = sqlite3.connect(path)  # SQLite checkpoints by itself when the last one closes
    loop_side = sqlite3.connect(path, isolation_level=None)
    loop_side.execute("PRAGMA wal_autocheckpoint=0")  # as the event loop's connection
    before = path.stat().st_size
    for n in range(500):
        loop_side.execute("INSERT INTO note (text) VALUES (?)", ("x" * 1000 + str(n),))
    assert path.stat().st_size == before  # all of it still in the WAL

    writer = SQLiteWriter(engine)
    writer.wrote_elsewhere()
    writer.close()  # it checkpoints before it stops (and after each quiet moment)

    assert path.stat().st_size > before + 500 * 1000
    loop_side.close()
    keeper.close()


def _counter(conn: Connection) -> int:
    conn.execute(note.insert().values(text="x"))
    return len(conn.execute(select(note.c.id)).all())


async def test_a_database_that_cannot_be_opened_fails_every_waiting_transaction(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "not-yet"
    engine = create_engine(f"sqlite:///{folder / 'w.db'}")
    writer = SQLiteWriter(engine)

    async with asyncio.timeout(60):  # the writer used to leave its callers waiting forever
        outcomes = await asyncio.gather(
            *(writer.run(_counter) for _ in range(5)), return_exceptions=True
        )
    assert [type(outcome) for outcome in outcomes] == [OperationalError] * 5

    folder.mkdir()
    metadata.create_all(engine)
    async with asyncio.timeout(60):
        assert await writer.run(_counter) == 1  # once it can be opened, the writer works
    writer.close()


def test_a_caller_gone_with_its_event_loop_leaves_the_writer_working(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    metadata.create_all(engine)
    writer = SQLiteWriter(engine)
    running = threading.Event()
    release = threading.Event()

    def slow(conn: Connection) -> int:
        running.set()
        release.wait()
        return _counter(conn)

    async def give_up() -> None:
        waiting = asyncio.ensure_future(writer.run(slow))
        await asyncio.to_thread(running.wait)
        waiting.cancel()

    asyncio.run(give_up())  # its loop is closed while the writer still runs `slow`
    release.set()

    async def write_again() -> int:
        async with asyncio.timeout(60):
            return int(await writer.run(_counter))

    assert asyncio.run(write_again()) == 2
    writer.close()
