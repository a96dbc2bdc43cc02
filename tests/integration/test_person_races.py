"""One person writing on Telegram and WhatsApp at the same moment, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop import persons
from shop import tables as t
from shop.migrate import upgrade
from shop.models import Channel
from shop.views import CustomerView
from tests.conftest import FakeClock

PEOPLE = 12
NUMBER = "447700900123"


async def test_both_channels_at_once_end_in_one_link_and_one_consent(
    any_shop: Shop, clock: FakeClock
) -> None:
    shop = any_shop
    numbers = [f"44770090{n:04d}" for n in range(PEOPLE)]
    telegram = [await shop.customers.touch(Channel.TELEGRAM, f"{n}") for n in range(PEOPLE)]
    # Half of them wrote on WhatsApp before (as customers did before numbers were proved).
    for number in numbers[::2]:
        await shop.customers.touch(Channel.WHATSAPP, number)
    clock.advance(minutes=1)

    await asyncio.gather(
        *(
            step
            for n, number in enumerate(numbers)
            for step in (
                shop.customers.prove_phone(telegram[n].id, f"+{number}"),
                shop.customers.touch(Channel.WHATSAPP, number, phone=number),
                shop.customers.set_marketing_consent(telegram[n].id, True),
            )
        )
    )

    def identities(conn: Connection) -> list[CustomerView]:
        return [CustomerView.from_row(row) for row in conn.execute(select(t.customer))]

    rows = await shop.db.read(identities)
    by_id = {row.id: row for row in rows}
    assert len(rows) == 2 * PEOPLE
    for n, number in enumerate(numbers):
        ours = [r for r in rows if r.external_id in (str(n), number)]
        assert len(ours) == 2
        [oldest] = [r for r in ours if r.person_id is None]  # one survives, one points at it
        [younger] = [r for r in ours if r.person_id is not None]
        assert younger.person_id == oldest.id < younger.id
        assert by_id[oldest.id].person_id is None  # no chain, no cycle
        # One consent, on both identities.
        assert {(r.marketing_consent, r.consent_at) for r in ours} == {(True, clock.now)}


@pytest.fixture
async def pg_shop(postgres_url: str, clock: FakeClock) -> AsyncIterator[Shop]:
    """A migrated shop on PostgreSQL only: the race below is one of its transactions."""
    shop = build_shop(Settings(database_url=postgres_url), clock=clock)
    await upgrade(shop.db)
    yield shop
    await shop.db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("first", ["telegram", "whatsapp"])
async def test_a_number_proved_while_the_other_channel_proves_it_uncommitted_still_links(
    pg_shop: Shop, postgres_url: str, first: str
) -> None:
    shop = pg_shop
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001")
    whatsapp = await shop.customers.touch(Channel.WHATSAPP, NUMBER)  # its number not yet proved
    held, then = (telegram, whatsapp) if first == "telegram" else (whatsapp, telegram)
    other = create_async_engine(postgres_url)
    async with other.connect() as conn:
        proving = await conn.begin()  # one channel's proof, not committed yet...
        await conn.run_sync(lambda sync: persons.prove_phone(sync, held.id, NUMBER))
        # ...while the other channel proves the same number.
        racing = asyncio.create_task(shop.customers.prove_phone(then.id, f"+{NUMBER}"))
        await _until_done_or_waiting(racing, other)
        await proving.commit()
        await racing
    await other.dispose()

    assert await shop.customers.person_of(then.id) == await shop.customers.person_of(held.id)


async def _until_done_or_waiting(task: asyncio.Task[object], engine: AsyncEngine) -> None:
    """Wait until `task` is over, or waits for a lock another transaction holds."""
    waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    async with engine.connect() as conn:
        for _ in range(500):
            done, _pending = await asyncio.wait([task], timeout=0.01)
            if done or (await conn.execute(waiting)).scalar_one():
                return
    raise AssertionError("the racing proof neither finished nor waited")
