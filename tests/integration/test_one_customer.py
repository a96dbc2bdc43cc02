"""One customer on Telegram and WhatsApp: a shared contact of their own joins them, no one else's does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shop.models import Channel
from shop.staff_views import order_in_full
from tests.conftest import FakeClock
from tests.fake_twilio import FakeTwilio, fake_twilio
from tests.payment_support import pending_order
from tests.telegram_support import USER_ID, Harness, buy, last_message, message_json
from tests.whatsapp_support import NUMBER, WhatsApp, both_channels

PHONE = "+44 7700 900123"  # NUMBER, as a Telegram contact carries it


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with fake_twilio() as fake:
        yield fake


@pytest.fixture
async def both(
    sqlite_url: str, clock: FakeClock, twilio: FakeTwilio
) -> AsyncIterator[tuple[Harness, WhatsApp]]:
    async with both_channels(sqlite_url, clock, twilio) as pair:
        yield pair


async def test_a_telegram_buyer_writing_on_whatsapp_sees_both_orders_in_their_language(
    both: tuple[Harness, WhatsApp],
) -> None:
    tg, wa = both
    asked = await tg.say("/language")
    ru = next(b for b in asked.buttons if "|setlang|ru|" in str(b["callback_data"]))
    await tg.press(asked, "setlang", data=ru["callback_data"])
    telegram = await tg.shop.customers.find(Channel.TELEGRAM, str(USER_ID))
    assert telegram is not None
    await tg.shop.customers.set_marketing_consent(telegram.id, True)
    link = await buy(tg, language="ru", phone=PHONE)  # sharing their own number at checkout
    assert link.words.startswith("Заказ №")  # placed, in the language they chose
    [on_telegram] = await tg.shop.orders.list_for_customer(telegram.id)

    [greeting] = await wa.say("hi", number=NUMBER)
    on_whatsapp = await pending_order(wa.shop, channel=Channel.WHATSAPP, customer=NUMBER)
    [orders] = await wa.say("/orders", number=NUMBER)

    assert greeting.words.startswith("Здравствуйте, Ann!")  # in the language chosen on Telegram
    assert f"#{on_telegram.id}" in orders.words
    assert f"#{on_whatsapp.id}" in orders.words
    assert "Ваши заказы" in orders.words
    whatsapp = await wa.shop.customers.find(Channel.WHATSAPP, NUMBER)
    assert whatsapp is not None
    assert (whatsapp.locale, whatsapp.marketing_consent) == ("ru", True)
    # Staff see one customer, whichever channel the order came from.
    shown = [await order_in_full(wa.shop.db, o.id) for o in (on_telegram, on_whatsapp)]
    assert {(s.person.id, s.person.name) for s in shown} == {(telegram.id, "Ann Lee")}
    assert [s.customer.channel for s in shown] == ["telegram", "whatsapp"]


async def test_someone_elses_contact_card_joins_no_one(tg: Harness) -> None:
    whatsapp = await tg.shop.customers.touch(Channel.WHATSAPP, NUMBER, phone=NUMBER)
    await tg.say("/start")
    forwarded = message_json(contact={"phone_number": PHONE, "first_name": "Bob", "user_id": 777})

    answer = last_message(await tg.feed(message=forwarded))

    assert "your own number" in answer.words
    telegram = await tg.shop.customers.find(Channel.TELEGRAM, str(USER_ID))
    assert telegram is not None
    assert await tg.shop.customers.person_of(telegram.id) == telegram.id
    assert await tg.shop.orders.list_for_customer(whatsapp.id) == []
    own = message_json(contact={"phone_number": PHONE, "first_name": "Ann", "user_id": USER_ID})
    await tg.feed(message=own)
    assert await tg.shop.customers.person_of(telegram.id) == whatsapp.id
