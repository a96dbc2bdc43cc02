"""A crowd shopping at once within Telegram's flood limits, while a broadcast is being sent.

`chatshop run` against the fake Bot API with its flood control on (here at 10
messages a second, for a short test, and 1 a second to a chat). More customers
than the limit can answer at once each do five things; every action is answered,
Telegram never has to refuse a message, nobody is told that something went wrong,
and the broadcast the same process is sending takes no send while a customer waits.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.app import running_shop
from bot.handlers.telegram.errors import TRY_AGAIN
from bot.settings import Settings
from shop.models import Channel
from tests.broadcast_support import add_customers, queue_broadcast
from tests.crowd_support import STEPS, Crowd
from tests.fake_telegram import fake_bot_api
from tests.payment_support import free_socket
from tests.telegram_e2e_support import Running

RATE = 10  # messages a second in all, at the fake and in the shop's settings
CUSTOMERS = 25  # answering them all at once takes 2.5 s of the budget
RECIPIENTS = 60
FIRST_CUSTOMER = 3_000_000
FIRST_RECIPIENT = 4_000_000
# A customer's action reaches the bot's send budget within this: longer, it waits for it.
SLACK = 0.3


async def a_broadcast_queued(database_url: str) -> None:
    async with running_shop(Settings(database_url=database_url)) as shop:
        await add_customers(shop, Channel.TELEGRAM, FIRST_RECIPIENT, RECIPIENTS)
        assert (await queue_broadcast(shop, "Spring sale: 20% off")).total == RECIPIENTS


async def test_a_crowd_is_answered_within_the_limits_and_before_a_broadcast(
    tmp_path: Path, demo_database: Path
) -> None:
    shutil.copy(demo_database, tmp_path / "shop.db")
    await a_broadcast_queued(f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    async with fake_bot_api() as api:
        api.flood_control(overall=RATE, per_chat=1)
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        shop = Running(
            api,
            tmp_path,
            port,
            settings={"TELEGRAM_SEND_RATE": str(RATE), "TELEGRAM_CHAT_RATE": "1"},
        )
        await shop.start()
        try:
            await api.wait_for(lambda c: c.method == "sendMessage" and c.result is not None)
            crowd = Crowd(api, FIRST_CUSTOMER, CUSTOMERS)
            await crowd.shop()
        finally:
            assert await shop.stop() == 0, shop.output()

    assert len(crowd.actions) == CUSTOMERS * len(STEPS)
    assert crowd.unanswered == 0
    assert api.flooded == 0
    assert not [c for c in crowd.told() if TRY_AGAIN in c.words]
    waited = [wait for wait in crowd.waits if wait > SLACK]
    assert waited  # the crowd did have to wait for the budget
    broadcast = [
        c.at
        for c in api.calls
        if c.method == "sendMessage" and c.result and int(c["chat_id"]) >= FIRST_RECIPIENT
    ]
    assert crowd.overtaken(broadcast, SLACK) <= 1  # at most one already on its way
    assert "Traceback" not in shop.output()
