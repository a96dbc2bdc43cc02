"""Reminders on WhatsApp: free text within the 24-hour window, the owner's template outside it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shop.models import Channel
from tests.conftest import FakeClock
from tests.fake_twilio import fake_twilio
from tests.whatsapp_support import NUMBER, WhatsApp, whatsapp_shop

TEMPLATES = {"cart_reminder": "HX000000000000000000000000000000cart"}
PHONE = "APL-IP16P-128-BTI"  # from the demo catalog


@pytest.fixture
async def wa(sqlite_url: str, clock: FakeClock) -> AsyncIterator[WhatsApp]:
    async with (
        fake_twilio() as twilio,
        whatsapp_shop(sqlite_url, clock, twilio, whatsapp={"templates": TEMPLATES}) as shop,
    ):
        yield shop


async def customer_id(wa: WhatsApp) -> int:
    """Return the id of the customer behind NUMBER, who has written and may receive marketing."""
    await wa.say("hi")
    found = await wa.shop.customers.find(Channel.WHATSAPP, NUMBER)
    assert found is not None
    await wa.shop.customers.set_marketing_consent(found.id, True)
    return found.id


async def test_a_cart_reminder_a_day_after_the_last_message_goes_as_the_owners_template(
    wa: WhatsApp, clock: FakeClock
) -> None:
    ann = await customer_id(wa)
    phone = await wa.shop.catalog.product_by_sku(PHONE)
    assert phone is not None
    await wa.shop.carts.add(ann, phone.id)
    clock.advance(hours=25)  # left alone past the delay, and past WhatsApp's window

    await wa.shop.reminders.remind()
    [reminder] = await wa.pushed()
    assert reminder.content_sid == TEMPLATES["cart_reminder"]
    assert "Apple iPhone 16 Pro 128GB Black Titanium × 1 — $999.00" in reminder.variables["1"]


async def test_back_in_stock_within_the_window_goes_as_free_text(wa: WhatsApp) -> None:
    ann = await customer_id(wa)
    await wa.shop.catalog.set_stock(PHONE, 0)
    phone = await wa.shop.catalog.product_by_sku(PHONE)
    assert phone is not None
    await wa.shop.stock_alerts.ask(ann, phone.id)

    await wa.shop.catalog.set_stock(PHONE, 3)
    [told] = await wa.pushed()
    assert told.content_sid is None
    assert "Good news: Apple iPhone 16 Pro 128GB Black Titanium is back in stock." in told.words
