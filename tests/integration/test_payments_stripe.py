"""Stripe Checkout through the real `stripe` SDK against a fake Stripe on loopback, in Stripe's wire format."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest
from pydantic import SecretStr

from payments.interface import PaymentError, WebhookError
from payments.stripe_checkout import STRIPE
from shop.models import Channel
from shop.views import OrderView
from tests.conftest import FakeClock, our_log_lines
from tests.payment_support import (
    FakeStripe,
    Heard,
    Served,
    answer_before_the_body,
    fake_stripe,
    pending_order,
    served_shop,
    state,
    stripe_settings,
    stripe_signature,
)

WEBHOOK = "/payments/stripe/webhook"


@dataclass
class World:
    served: Served
    stripe: FakeStripe
    http: aiohttp.ClientSession

    async def deliver(self, payload: bytes, signature: str | None = None) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        headers["Stripe-Signature"] = stripe_signature(payload) if signature is None else signature
        async with self.http.post(
            self.served.url + WEBHOOK, data=payload, headers=headers
        ) as response:
            return response.status, await response.text()

    async def checkout(self, order: OrderView) -> dict[str, object]:
        start = await self.served.shop.payments.start(order.id)
        assert start.provider == STRIPE
        assert start.url is not None
        payment = await self.served.shop.payments.payment(start.payment_id)
        assert payment is not None
        assert payment.external_id is not None
        return self.stripe.sessions[payment.external_id]


@pytest.fixture
async def world(sqlite_url: str, clock: FakeClock) -> AsyncIterator[World]:
    async with (
        fake_stripe() as stripe,
        served_shop(sqlite_url, clock, stripe=stripe_settings(stripe)) as served,
        aiohttp.ClientSession() as http,
    ):
        yield World(served, stripe, http)


async def test_a_payment_link_is_a_checkout_session_of_the_order(world: World) -> None:
    shop = world.served.shop
    order = await pending_order(shop, price=1_999, quantity=2, channel=Channel.WHATSAPP)

    session = await world.checkout(order)

    method, path, form = world.stripe.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert form["mode"] == "payment"
    assert form["line_items"] == [
        {
            "price_data": {
                "currency": "usd",
                "unit_amount": "1999",
                "product_data": {"name": "Product A"},
            },
            "quantity": "2",
        }
    ]
    assert form["metadata"]["order_id"] == str(order.id)
    assert str(form["success_url"]).endswith("?result=success")
    assert str(form["cancel_url"]).endswith("?result=cancel")
    assert str(form["success_url"]).startswith(world.served.url + "/pay/")
    assert session["amount_total"] == order.total == 3_998
    again = await shop.payments.start(order.id)
    assert again.url == session["url"]
    assert len(world.stripe.sessions) == 1


async def test_checkout_session_completed_pays_once_however_often_it_comes(world: World) -> None:
    shop = world.served.shop
    order = await pending_order(shop, stock=3, quantity=3, channel=Channel.WHATSAPP)
    heard = await Heard.start(shop)
    session = world.stripe.pay(str((await world.checkout(order))["id"]))
    event = world.stripe.event("checkout.session.completed", session)

    first = await world.deliver(event)
    again = await world.deliver(event)

    assert first[0] == 200
    assert json.loads(first[1])["outcome"] == "paid"
    assert again[0] == 200
    assert json.loads(again[1])["outcome"] == "duplicate"
    after = await state(shop, order.id)
    assert after["order"] == ("paid", "committed")
    assert after["stock"] == [("A", 0, 3)]
    assert (await heard.said()).count("paid") == 1
    (payment,) = await shop.payments.payments_for(order.id)
    assert payment.charge_id == session["payment_intent"]


@pytest.mark.parametrize("forgery", ["unsigned", "wrong secret", "stale", "tampered"])
async def test_a_stripe_event_without_a_valid_signature_changes_nothing(
    world: World, forgery: str
) -> None:
    shop = world.served.shop
    order = await pending_order(shop, channel=Channel.WHATSAPP)
    session = world.stripe.pay(str((await world.checkout(order))["id"]))
    event = world.stripe.event("checkout.session.completed", session)
    before = await state(shop, order.id)
    signature = {
        "unsigned": "",
        "wrong secret": stripe_signature(event, secret="whsec_someone_else"),
        "stale": stripe_signature(event, at=int(time.time()) - 600),
        "tampered": stripe_signature(event.replace(b'"paid"', b'"unpaid"')),
    }[forgery]

    status, answer = await world.deliver(event, signature)

    assert status == 400
    assert "refused" in answer
    assert await state(shop, order.id) == before


@pytest.mark.parametrize(
    ("signature", "why"),
    [
        (None, "not signed"),
        ("t=²,v1=00", "malformed"),
        ("t={now},v1=ключ", "malformed"),
        ("t={stale},v1=00", "too old"),
    ],
    ids=["unsigned", "superscript time", "non-ascii signature", "stale"],
)
async def test_a_stripe_webhook_not_signed_now_is_refused_before_its_body_is_sent(
    world: World, caplog: pytest.LogCaptureFixture, signature: str | None, why: str
) -> None:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        now = int(time.time())
        headers["Stripe-Signature"] = signature.format(now=now, stale=now - 600)

    status = await answer_before_the_body(world.served.url + WEBHOOK, headers, 1024 * 1024)

    assert status == 400
    (line,) = our_log_lines(caplog)
    assert why in line


async def test_a_stripe_event_of_a_megabyte_is_refused_before_it_is_sent(world: World) -> None:
    headers = {"Content-Type": "application/json", "Stripe-Signature": stripe_signature(b"")}

    status = await answer_before_the_body(world.served.url + WEBHOOK, headers, 1024 * 1024)

    assert status == 413


async def test_coming_back_from_stripe_pays_before_the_webhook_and_the_webhook_changes_nothing(
    world: World,
) -> None:
    shop = world.served.shop
    order = await pending_order(shop, channel=Channel.WHATSAPP)
    heard = await Heard.start(shop)
    session = world.stripe.pay(str((await world.checkout(order))["id"]))

    async with world.http.get(str(session["success_url"])) as response:
        page = await response.text()
    late = await world.deliver(world.stripe.event("checkout.session.completed", session))

    assert response.status == 200
    assert "Payment received" in page
    assert json.loads(late[1])["outcome"] == "duplicate"
    assert (await state(shop, order.id))["order"] == ("paid", "committed")
    assert (await heard.said()).count("paid") == 1
    assert "returned" not in await heard.said()


async def test_a_second_paid_session_for_the_order_is_refunded_at_stripe(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with (
        fake_stripe() as stripe,
        served_shop(
            sqlite_url, clock, stripe=stripe_settings(stripe), payment_link_minutes=30
        ) as served,
        aiohttp.ClientSession() as http,
    ):
        world = World(served, stripe, http)
        shop = served.shop
        order = await pending_order(shop, channel=Channel.WHATSAPP)
        first = stripe.pay(str((await world.checkout(order))["id"]))
        clock.advance(minutes=20)  # the first link is near its end: a new one is made
        second = stripe.pay(str((await world.checkout(order))["id"]))
        assert first["id"] != second["id"]

        await world.deliver(stripe.event("checkout.session.completed", first))
        status, answer = await world.deliver(stripe.event("checkout.session.completed", second))

        assert status == 200
        assert json.loads(answer)["outcome"] == "refunded"
        assert [r["payment_intent"] for r in stripe.refunds] == [second["payment_intent"]]
        payments = await shop.payments.payments_for(order.id)
        assert [(p.status, p.reason) for p in payments] == [
            ("succeeded", None),
            ("refunded", "already_paid"),
        ]
        assert payments[1].refund_id == stripe.refunds[0]["id"]


async def test_a_refund_on_request_goes_through_stripe(world: World) -> None:
    shop = world.served.shop
    order = await pending_order(shop, channel=Channel.WHATSAPP)
    session = world.stripe.pay(str((await world.checkout(order))["id"]))
    await world.deliver(world.stripe.event("checkout.session.completed", session))

    refunded = await shop.payments.settlement.refund(order.id, actor="staff")

    assert [r["payment_intent"] for r in world.stripe.refunds] == [session["payment_intent"]]
    assert refunded.refund_id == world.stripe.refunds[0]["id"]
    assert (await state(shop, order.id))["order"][0] == "refunded"


async def test_an_expired_session_leaves_the_order_waiting(world: World) -> None:
    shop = world.served.shop
    order = await pending_order(shop, channel=Channel.WHATSAPP)
    session = await world.checkout(order)
    session["status"] = "expired"

    status, answer = await world.deliver(world.stripe.event("checkout.session.expired", session))

    assert status == 200
    assert json.loads(answer)["outcome"] == "cancelled"
    assert (await state(shop, order.id))["order"] == ("pending_payment", "held")


async def test_a_stripe_event_for_another_amount_or_an_unknown_order_changes_nothing(
    world: World,
) -> None:
    shop = world.served.shop
    order = await pending_order(shop, channel=Channel.WHATSAPP)
    session = world.stripe.pay(str((await world.checkout(order))["id"]))
    before = await state(shop, order.id)
    cheaper = {**session, "amount_total": 1}
    foreign = {
        **session,
        "id": "cs_test_foreign",
        "client_reference_id": "someone-else-7",
        "metadata": {"order_id": "999999"},
    }

    mismatch = await world.deliver(world.stripe.event("checkout.session.completed", cheaper))
    unknown = await world.deliver(world.stripe.event("checkout.session.completed", foreign))

    assert json.loads(mismatch[1])["outcome"] == "refunded"
    assert json.loads(unknown[1])["outcome"] == "unknown_order"
    assert await state(shop, order.id) == before


async def test_when_stripe_refuses_the_session_the_customer_is_told_and_nothing_is_left_open(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with fake_stripe() as stripe:
        settings = stripe_settings(stripe).model_copy(update={"api_key": SecretStr("sk_wrong")})
        async with served_shop(sqlite_url, clock, stripe=settings) as served:
            order = await pending_order(served.shop, channel=Channel.WHATSAPP)

            with pytest.raises(PaymentError, match="stripe payments are unavailable now"):
                await served.shop.payments.start(order.id)

            (payment,) = await served.shop.payments.payments_for(order.id)
            assert payment.status == "failed"
            assert payment.note is not None
            assert "Invalid API Key" in payment.note
            assert (await state(served.shop, order.id))["order"] == ("pending_payment", "held")


def foreign_session(order_id: int, payment_id: int, **changes: object) -> dict[str, object]:
    """A paid Checkout Session another application on the same Stripe account made."""
    session: dict[str, object] = {
        "id": "cs_live_other_app_1",
        "object": "checkout.session",
        "mode": "payment",
        "amount_total": 1_234,
        "currency": "usd",
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": "pi_other_app_1",
        "client_reference_id": str(payment_id),
        "metadata": {"order_id": str(order_id), "payment_id": str(payment_id)},
    }
    session.update(changes)
    return session


@pytest.mark.parametrize(
    "changes",
    [
        {},  # another application's session whose metadata names one of our orders
        {"amount_total": 5_000},  # ... for exactly our order's amount
        {"client_reference_id": "order-7f3a"},  # an odd reference (was a 400, retried for days)
        {"client_reference_id": None, "metadata": {}},
        {"metadata": {"order_id": "not a number"}},
    ],
    ids=["wrong-amount", "same-amount", "odd-reference", "no-metadata", "odd-metadata"],
)
async def test_a_session_this_shop_did_not_create_is_acknowledged_and_changes_nothing(
    world: World, changes: dict[str, object]
) -> None:
    shop = world.served.shop
    order = await pending_order(shop, price=2_500, quantity=2, channel=Channel.WHATSAPP)
    ours = await world.checkout(order)
    (payment,) = await shop.payments.payments_for(order.id)
    heard = await Heard.start(shop)
    before = await state(shop, order.id)
    foreign = foreign_session(order.id, payment.id, **changes)

    answers = [
        await world.deliver(world.stripe.event(kind, foreign))
        for kind in ("checkout.session.completed", "checkout.session.expired")
    ]

    assert [status for status, _ in answers] == [200, 200]
    assert await state(shop, order.id) == before
    assert world.stripe.refunds == []  # never another application's money
    assert "paid" not in await heard.said()
    assert await heard.said() == []
    (unchanged,) = await shop.payments.payments_for(order.id)
    assert (unchanged.status, unchanged.external_id) == ("created", ours["id"])


async def test_a_link_shorter_than_stripes_minimum_lasts_stripes_minimum(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with (
        fake_stripe() as stripe,
        served_shop(
            sqlite_url,
            clock,
            stripe=stripe_settings(stripe),
            payment_link_minutes=5,
            stock_hold_minutes=10,
        ) as served,
    ):
        order = await pending_order(served.shop, channel=Channel.WHATSAPP)

        start = await served.shop.payments.start(order.id)

        _method, _path, form = stripe.requests[-1]
        lasts = int(form["expires_at"]) - int(clock.now.timestamp())
        assert 30 * 60 <= lasts <= 32 * 60  # not 24 hours
        assert start.expires_at == clock.now + timedelta(seconds=lasts)


async def test_a_stripe_signature_of_non_ascii_characters_is_refused_whoever_asks(
    world: World,
) -> None:
    shop = world.served.shop
    order = await pending_order(shop, channel=Channel.WHATSAPP)
    session = world.stripe.pay(str((await world.checkout(order))["id"]))
    event = world.stripe.event("checkout.session.completed", session)
    forged = f"t={int(time.time())},v1=подпись"

    with pytest.raises(WebhookError):
        await shop.payments.settlement.handle_webhook("stripe", event, {"Stripe-Signature": forged})
    assert (await state(shop, order.id))["order"][0] == "pending_payment"
