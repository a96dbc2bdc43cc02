"""PaymentService: amounts from the database, paid exactly once, money that cannot be kept goes back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from payments.interface import (
    EventType,
    Outcome,
    PaymentError,
    PaymentStatus,
    RefundReason,
)
from payments.sandbox import SANDBOX
from shop.migrate import upgrade
from shop.models import Channel, OrderStatus
from shop.views import OrderView
from tests.conftest import FakeClock
from tests.payment_support import Heard, paid_event, pending_order, state


async def started(shop: Shop, order: OrderView) -> tuple[int, str]:
    start = await shop.payments.start(order.id, provider=SANDBOX)
    payment = await shop.payments.payment(start.payment_id)
    assert payment is not None
    assert payment.external_id is not None
    return payment.id, payment.external_id


async def test_a_link_charges_the_order_total_from_the_database_and_is_reused(shop: Shop) -> None:
    order = await pending_order(shop, price=2_500, quantity=2, channel=Channel.WHATSAPP)

    first = await shop.payments.start(order.id)
    again = await shop.payments.start(order.id)

    assert (first.provider, first.amount, first.currency) == (SANDBOX, 5_000, "USD")
    assert first.url is not None
    assert first.url.startswith("http://127.0.0.1:8080/pay/")
    assert again.url == first.url
    assert again.payment_id == first.payment_id
    assert (await state(shop, order.id))["analytics"]["invoice"] == 1


async def test_payment_tokens_are_unguessable_and_distinct(shop: Shop) -> None:
    urls = set()
    for n in range(5):
        order = await pending_order(shop, customer=str(n), stock=10, channel=Channel.WHATSAPP)
        start = await shop.payments.start(order.id)
        assert start.url is not None
        urls.add(start.url.rsplit("/", 1)[1])
    assert len(urls) == 5
    assert all(len(token) >= 32 for token in urls)


async def test_an_order_that_is_not_waiting_for_payment_gets_no_link(
    shop: Shop, clock: FakeClock
) -> None:
    order = await pending_order(shop)
    payment_id, external_id = await started(shop, order)
    await shop.payments.settlement.confirm(paid_event(order, external_id, payment_id))
    with pytest.raises(PaymentError, match="already paid"):
        await shop.payments.start(order.id)

    late = await pending_order(shop, sku="B", customer="2")
    clock.advance(hours=1)
    with pytest.raises(PaymentError, match="no longer be paid"):
        await shop.payments.start(late.id)


async def test_a_confirmed_payment_pays_the_order_commits_stock_and_tells_everyone_once(
    shop: Shop,
) -> None:
    order = await pending_order(shop, stock=5, quantity=2)
    heard = await Heard.start(shop)
    payment_id, external_id = await started(shop, order)

    first = await shop.payments.settlement.confirm(paid_event(order, external_id, payment_id))
    repeat = await shop.payments.settlement.confirm(paid_event(order, external_id, payment_id))

    assert first.outcome is Outcome.PAID
    assert repeat.outcome is Outcome.DUPLICATE
    after = await state(shop, order.id)
    assert after["order"] == ("paid", "committed")
    assert after["stock"] == [("A", 3, 2)]
    assert after["analytics"]["paid"] == 1
    assert (await heard.said()).count("paid") == 1
    assert await heard.said() == ["paid", "staff:paid"]
    (payment,) = await shop.payments.payments_for(order.id)
    assert (payment.status, payment.amount, payment.currency) == ("succeeded", 5_000, "USD")
    assert payment.paid_at is not None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": 4_999}, RefundReason.AMOUNT_MISMATCH),
        ({"amount": 50_000}, RefundReason.AMOUNT_MISMATCH),
        ({"currency": "EUR"}, RefundReason.CURRENCY_MISMATCH),
        ({"amount": None}, RefundReason.AMOUNT_MISMATCH),
    ],
)
async def test_a_payment_of_another_amount_is_refused_recorded_and_refunded(
    shop: Shop, changes: dict[str, object], reason: RefundReason
) -> None:
    order = await pending_order(shop)
    heard = await Heard.start(shop)
    payment_id, external_id = await started(shop, order)
    before = await state(shop, order.id)

    result = await shop.payments.settlement.confirm(
        paid_event(order, external_id, payment_id, **changes)
    )

    assert (result.outcome, result.reason) == (Outcome.REFUNDED, reason)
    assert await state(shop, order.id) == before
    assert "paid" not in await heard.said()
    (payment,) = await shop.payments.payments_for(order.id)
    assert (payment.status, payment.reason) == ("refunded", reason.value)
    assert payment.note
    assert "paid" in payment.note
    # A correct payment afterwards, by a new link, still pays the order.
    again_id, again_external = await started(shop, order)
    second = await shop.payments.settlement.confirm(paid_event(order, again_external, again_id))
    assert second.outcome is Outcome.PAID


async def test_a_second_charge_for_a_paid_order_is_refunded_not_kept(shop: Shop) -> None:
    order = await pending_order(shop)
    heard = await Heard.start(shop)
    payment_id, external_id = await started(shop, order)
    await shop.payments.settlement.confirm(paid_event(order, external_id, payment_id))
    after_first = await state(shop, order.id)

    # The same link charged twice: the provider reports a charge of its own.
    second = await shop.payments.settlement.confirm(
        paid_event(order, "sbx_other_charge", payment_id)
    )

    assert (second.outcome, second.reason) == (Outcome.REFUNDED, RefundReason.ALREADY_PAID)
    assert await state(shop, order.id) == after_first
    assert await heard.said() == ["paid", "staff:paid", "returned"]
    statuses = [(p.external_id, p.status) for p in await shop.payments.payments_for(order.id)]
    assert statuses == [(external_id, "succeeded"), ("sbx_other_charge", "refunded")]


async def test_a_late_payment_takes_the_stock_again_when_it_is_there(
    shop: Shop, clock: FakeClock
) -> None:
    order = await pending_order(shop, stock=5, quantity=2)
    payment_id, external_id = await started(shop, order)
    clock.advance(hours=1)
    await shop.orders.expire_holds()

    result = await shop.payments.settlement.confirm(paid_event(order, external_id, payment_id))

    assert result.outcome is Outcome.PAID
    assert (await state(shop, order.id))["stock"] == [("A", 3, 2)]


async def test_a_late_payment_for_sold_out_goods_is_refunded_never_oversold(
    shop: Shop, clock: FakeClock
) -> None:
    order = await pending_order(shop, stock=2, quantity=2)
    payment_id, external_id = await started(shop, order)
    clock.advance(hours=1)
    await shop.orders.expire_holds()
    rival = await pending_order(shop, customer="2", quantity=2)  # takes the returned units
    assert rival.status == "pending_payment"
    heard = await Heard.start(shop)
    before = await state(shop, order.id)

    result = await shop.payments.settlement.confirm(paid_event(order, external_id, payment_id))

    assert (result.outcome, result.reason) == (Outcome.REFUNDED, RefundReason.CANNOT_FULFIL)
    assert await state(shop, order.id) == before
    assert before["stock"] == [("A", 0, 0)]
    assert await heard.said() == ["returned"]


async def test_cancel_leaves_the_order_waiting_and_a_late_cancel_changes_nothing(
    shop: Shop,
) -> None:
    order = await pending_order(shop)
    payment_id, external_id = await started(shop, order)
    cancel = paid_event(order, external_id, payment_id, type=EventType.CANCELLED)

    assert (await shop.payments.settlement.confirm(cancel)).outcome is Outcome.CANCELLED
    assert (await state(shop, order.id))["order"] == ("pending_payment", "held")

    other = await pending_order(shop, sku="B", customer="2")
    other_id, other_external = await started(shop, other)
    await shop.payments.settlement.confirm(paid_event(other, other_external, other_id))
    before = await state(shop, other.id)
    late = paid_event(other, other_external, other_id, type=EventType.CANCELLED)
    assert (await shop.payments.settlement.confirm(late)).outcome is Outcome.IGNORED
    assert await state(shop, other.id) == before


async def test_a_payment_for_an_unknown_order_changes_nothing(shop: Shop) -> None:
    order = await pending_order(shop)
    before = await state(shop, order.id)
    ghost = paid_event(order, "sbx_ghost", order_id=order.id + 1000)

    assert (await shop.payments.settlement.confirm(ghost)).outcome is Outcome.UNKNOWN_ORDER
    assert await state(shop, order.id) == before
    assert await shop.payments.payments_for(order.id + 1000) == []


async def test_an_event_naming_another_order_than_its_payment_changes_nothing(shop: Shop) -> None:
    mine = await pending_order(shop)
    other = await pending_order(shop, sku="B", customer="2")
    payment_id, external_id = await started(shop, mine)
    before = (await state(shop, mine.id), await state(shop, other.id))

    result = await shop.payments.settlement.confirm(
        paid_event(mine, external_id, payment_id, order_id=other.id)
    )

    assert result.outcome is Outcome.UNKNOWN_ORDER
    assert (await state(shop, mine.id), await state(shop, other.id)) == before


async def test_a_refund_on_request_gives_the_money_back_and_restocks(shop: Shop) -> None:
    order = await pending_order(shop, stock=5, quantity=2)
    payment_id, external_id = await started(shop, order)
    await shop.payments.settlement.confirm(paid_event(order, external_id, payment_id))
    heard = await Heard.start(shop)

    refunded = await shop.payments.settlement.refund(
        order.id, actor="staff", note="customer changed their mind"
    )

    assert refunded.status == PaymentStatus.REFUNDED
    assert refunded.refund_id == f"sbx_re_{payment_id}"
    after = await state(shop, order.id)
    assert after["order"][0] == OrderStatus.REFUNDED
    assert after["stock"] == [("A", 5, 0)]
    assert await heard.said() == ["refunded"]  # the order's new status says it
    with pytest.raises(Exception, match="refunded"):
        await shop.payments.settlement.refund(order.id)


async def test_an_unpaid_order_cannot_be_refunded(shop: Shop) -> None:
    order = await pending_order(shop)
    with pytest.raises(Exception, match="cannot go from pending_payment to refunded"):
        await shop.payments.settlement.refund(order.id)


async def test_a_payment_link_lasts_at_least_as_long_as_the_order_holds_its_goods(
    sqlite_url: str, clock: FakeClock
) -> None:
    settings = Settings(database_url=sqlite_url, payment_link_minutes=5, stock_hold_minutes=45)
    shop = build_shop(settings, clock=clock)
    try:
        await upgrade(shop.db)
        order = await pending_order(shop, channel=Channel.WHATSAPP)

        start = await shop.payments.start(order.id)

        assert order.reserved_until == clock.now + timedelta(minutes=45)
        assert start.expires_at == order.reserved_until
        clock.advance(minutes=44)
        assert (await shop.payments.pages.page(start.url.rsplit("/", 1)[1])).payable  # type: ignore[union-attr]
    finally:
        await shop.db.dispose()
