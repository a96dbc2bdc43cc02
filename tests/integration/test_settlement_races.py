"""A late payment settled as a real race, over HTTP, on SQLite and PostgreSQL.

An order whose hold ran out is paid after all: the same confirmation arrives
several times at once (a retried webhook, two Pay presses, Stripe's webhook
and the customer's return together). The stock is taken once, the payment
counts once, and an order is never both paid and refunded.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from payments.interface import PaymentStatus
from payments.sandbox import SANDBOX
from shop.models import Channel
from tests.conftest import FakeClock
from tests.payment_support import (
    Heard,
    Served,
    fake_stripe,
    paid_event,
    pending_order,
    sandbox_event,
    sandbox_headers,
    served_shop,
    state,
    stripe_settings,
    stripe_signature,
)

WEBHOOK = "/payments/sandbox/webhook"


async def _post(http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> str:
    async with http.post(url, data=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        return str((await response.json())["outcome"])


@pytest.mark.parametrize("deliveries", [2, 20])
@pytest.mark.parametrize("spare", [0, 3], ids=["just-enough-stock", "plenty-of-stock"])
async def test_a_late_payment_delivered_at_once_takes_the_stock_once(
    served: Served, http: aiohttp.ClientSession, clock: FakeClock, deliveries: int, spare: int
) -> None:
    shop = served.shop
    order = await pending_order(shop, stock=2 + spare, quantity=2, channel=Channel.WHATSAPP)
    start = await shop.payments.start(order.id, provider=SANDBOX)
    payment = await shop.payments.payment(start.payment_id)
    assert payment is not None
    clock.advance(minutes=45)  # the hold ran out; the link still works
    assert await shop.orders.expire_holds() == [order.id]
    heard = await Heard.start(shop)
    body = sandbox_event(order, payment.external_id or "", payment.id)
    headers = sandbox_headers(body, clock)

    outcomes = await asyncio.gather(
        *(_post(http, served.url + WEBHOOK, body, headers) for _ in range(deliveries))
    )

    assert sorted(outcomes) == ["duplicate"] * (deliveries - 1) + ["paid"]
    after = await state(shop, order.id)
    assert after["order"] == ("paid", "committed")
    assert after["stock"] == [("A", spare, 2)]
    assert after["analytics"]["paid"] == 1
    assert after["timeline"] == ["pending_payment", "cancelled", "paid"]
    stored = await shop.payments.payment(payment.id)
    assert stored is not None
    assert stored.status == PaymentStatus.SUCCEEDED
    assert (await heard.said()).count("paid") == 1
    assert await heard.said() == ["paid", "staff:paid"]


async def test_the_same_late_payment_confirmed_twenty_times_at_once_in_one_process(
    served: Served, clock: FakeClock
) -> None:
    shop = served.shop
    order = await pending_order(shop, stock=2, quantity=2, channel=Channel.WHATSAPP)
    start = await shop.payments.start(order.id, provider=SANDBOX)
    payment = await shop.payments.payment(start.payment_id)
    assert payment is not None
    clock.advance(minutes=45)
    await shop.orders.expire_holds()
    event = paid_event(order, payment.external_id or "", payment.id)

    results = await asyncio.gather(*(shop.payments.settlement.confirm(event) for _ in range(20)))

    assert sorted(r.outcome for r in results) == ["duplicate"] * 19 + ["paid"]
    after = await state(shop, order.id)
    assert (after["order"], after["stock"]) == (("paid", "committed"), [("A", 0, 2)])
    assert [p.status for p in await shop.payments.payments_for(order.id)] == ["succeeded"]


async def test_stripes_webhook_and_the_customers_return_at_once_pay_a_lapsed_order_once(
    database_url: str, clock: FakeClock, http: aiohttp.ClientSession
) -> None:
    async with (
        fake_stripe() as stripe,
        served_shop(database_url, clock, stripe=stripe_settings(stripe)) as served,
    ):
        shop = served.shop
        order = await pending_order(shop, stock=2, quantity=2, channel=Channel.WHATSAPP)
        start = await shop.payments.start(order.id)
        payment = await shop.payments.payment(start.payment_id)
        assert payment is not None
        clock.advance(minutes=45)
        await shop.orders.expire_holds()
        session = stripe.pay(payment.external_id or "")
        body = stripe.event("checkout.session.completed", session)
        headers = {"Stripe-Signature": stripe_signature(body), "Content-Type": "application/json"}

        async def webhook() -> int:
            async with http.post(
                served.url + "/payments/stripe/webhook", data=body, headers=headers
            ) as r:
                return r.status

        async def comes_back() -> int:
            async with http.get(str(session["success_url"])) as r:
                return r.status

        statuses = await asyncio.gather(
            *(webhook() for _ in range(3)), *(comes_back() for _ in range(3))
        )

        assert statuses == [200] * 6
        after = await state(shop, order.id)
        assert (after["order"], after["stock"]) == (("paid", "committed"), [("A", 0, 2)])
        assert [p.status for p in await shop.payments.payments_for(order.id)] == ["succeeded"]
        assert stripe.refunds == []
