"""My orders and what the shop pushes unasked: status changes with the timeline, refunds."""

from __future__ import annotations

import pytest

from bot.flows.orders import delivery_name
from bot.flows.types import Press
from bot.services import Shop
from payments.interface import EventType, ProviderEvent
from payments.sandbox import SANDBOX
from shop.i18n import LOCALES, Language
from shop.models import Channel, OrderStatus
from shop.pricing import EXAMPLE_OPTIONS, NO_DELIVERY, DeliveryOption, DeliveryRules
from tests.conftest import FakeClock
from tests.flow_support import Chat, Pushed, chat, engine


async def _ordered(
    customer: Chat,
    *,
    add: str = "Add to cart",
    checkout: str = "Checkout",
    pickup: str = "Pickup",
    name: str = "Ann",
) -> int:
    """Buy two black teas with pickup, pressing buttons labelled so; return the order id."""
    await customer.command("start", "p-TEA-2")
    await customer.tap("+")
    await customer.tap(add)
    await customer.command("cart")
    await customer.answer_checkout(checkout=checkout, name=name)
    await customer.tap(pickup)
    return customer.payment.start.order_id


async def test_paid_shipped_delivered_are_pushed_with_the_timeline(
    stocked: Shop, clock: FakeClock
) -> None:
    conversations = engine(stocked)
    pushed = Pushed(stocked, conversations, Channel.WHATSAPP)
    ann = chat(stocked, conversations, Channel.WHATSAPP, "+15550100")
    order_id = await _ordered(ann)
    assert await pushed.texts() == []  # placing the order is answered in the chat, not pushed

    clock.advance(minutes=3)
    await stocked.orders.confirm_payment(order_id)
    clock.advance(days=1)
    await stocked.orders.transition(order_id, OrderStatus.PACKED)
    await stocked.orders.transition(
        order_id, OrderStatus.SHIPPED, carrier="DHL", tracking_number="JD0146"
    )

    paid, packed, shipped = await pushed.texts()
    assert paid.splitlines() == [
        f"Payment received, thank you! Order #{order_id} is paid.",
        "",
        "Timeline:",
        "Nov 26, 2026, 12:00 UTC — Waiting for payment",
        "Nov 26, 2026, 12:03 UTC — Paid",
    ]
    assert packed.startswith(f"Order #{order_id}: Packed.")
    assert shipped.splitlines()[:2] == [
        f"Order #{order_id}: Shipped.",
        "DHL, tracking number JD0146",
    ]
    assert (
        shipped.splitlines()[-1]
        == "Nov 27, 2026, 12:03 UTC — Shipped (DHL, tracking number JD0146)"
    )
    address, _ = pushed.messages[0]
    assert address == "+15550100"


async def test_pushes_speak_the_customer_s_language(stocked: Shop) -> None:
    conversations = engine(stocked)
    pushed = Pushed(stocked, conversations, Channel.TELEGRAM)
    olga = chat(stocked, conversations, user="2002", language_code="ru")
    order_id = await _ordered(
        olga, add="В корзину", checkout="Оформить заказ", pickup="Самовывоз", name="Ольга"
    )
    assert "Заказ №1: 2 товара, итого 25,00\xa0$." in olga.payment.text
    await stocked.orders.confirm_payment(order_id)
    (paid,) = await pushed.texts()
    assert paid.startswith(f"Оплата получена, спасибо! Заказ №{order_id} оплачен.")
    assert "26 нояб. 2026\u202fг., 12:00 UTC — Ожидает оплаты" in paid


async def test_a_cancelled_order_is_said_unpaid_in_time_only_when_its_hold_ran_out(
    stocked: Shop, clock: FakeClock
) -> None:
    conversations = engine(stocked)
    pushed = Pushed(stocked, conversations, Channel.WHATSAPP)
    ann = chat(stocked, conversations, Channel.WHATSAPP, "+15550100")
    lapsed = await _ordered(ann)
    clock.advance(minutes=31)  # past the 30 minutes an unpaid order holds its goods
    assert await stocked.orders.expire_holds() == [lapsed]
    bob = chat(stocked, conversations, Channel.WHATSAPP, "+15550199", name="Bob")
    cancelled = await _ordered(bob, name="Bob")
    await stocked.orders.transition(cancelled, OrderStatus.CANCELLED, actor="staff:cli")

    lapsed_told, cancelled_told = await pushed.texts()

    assert lapsed_told.startswith(f"Order #{lapsed} is cancelled: it wasn't paid in time.")
    assert cancelled_told.startswith(f"Order #{cancelled}: Cancelled.")  # no reason made up


async def test_my_orders_lists_them_and_shows_each_timeline(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    order_id = await _ordered(ann)
    await stocked.orders.confirm_payment(order_id)
    await ann.command("orders")
    assert ann.text == "Your orders:"
    assert ann.labels[0] == f"#{order_id} · Paid · $25.00"
    await ann.tap(f"#{order_id}")
    assert ann.text.splitlines()[:6] == [
        f"Order #{order_id} — Paid",
        "",
        "• Black tea × 2 — $25.00",
        "Delivery: Pickup from the shop — free",
        "Total: $25.00",
        "",
    ]
    assert ann.text.splitlines()[-2:] == [
        "Nov 26, 2026, 12:00 UTC — Waiting for payment",
        "Nov 26, 2026, 12:00 UTC — Paid",
    ]
    assert not any(label.split()[-1] == "Pay" for label in ann.labels)


async def test_another_customer_s_order_is_never_shown(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    order_id = await _ordered(ann)
    eve = chat(stocked, engine(stocked), user="666", name="Eve")
    await eve.send(Press("order", str(order_id)))
    assert eve.text == "Sorry, I can't find that any more. It may have been removed."
    await eve.send(Press("pay", str(order_id)))
    assert "Black tea" not in eve.text
    assert "Ann" not in eve.text
    await eve.command("orders")
    assert eve.text == "You have no orders yet."


async def test_money_that_cannot_be_kept_is_announced_as_returned(stocked: Shop) -> None:
    conversations = engine(stocked)
    pushed = Pushed(stocked, conversations, Channel.WHATSAPP)
    ann = chat(stocked, conversations, Channel.WHATSAPP, "+15550100")
    await _ordered(ann)
    start = ann.payment.start
    payment = await stocked.payments.payment(start.payment_id)
    assert payment is not None
    assert payment.external_id is not None
    wrong = ProviderEvent(
        provider=SANDBOX,
        type=EventType.PAID,
        external_id=payment.external_id,
        order_id=start.order_id,
        amount=1,
        currency="USD",
        payment_id=payment.id,
    )
    await stocked.payments.settlement.confirm(wrong)
    assert await pushed.texts() == [
        f"Your payment of $25.00 for order #{start.order_id} has been returned to you."
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_delivery_option_has_a_name_in_each_language(locale: str) -> None:
    # The same names show in the chat and in Telegram's payment form.
    lang = Language(locale)
    rules = DeliveryRules(EXAMPLE_OPTIONS)
    for option in (*rules.options, NO_DELIVERY):
        assert delivery_name(lang, rules, option.id) != option.id


def test_delivery_options_are_named_in_the_customers_language() -> None:
    drone = DeliveryOption("drone", 900, needs_address=True, names={"en": "Drone", "ru": "Дрон"})
    rules = DeliveryRules((*EXAMPLE_OPTIONS, drone, DeliveryOption("boat", 100, True)))
    assert delivery_name(Language("en"), rules, "pickup") == "Pickup from the shop"
    assert delivery_name(Language("ru"), rules, "courier") == "Курьер"
    assert delivery_name(Language("ru"), rules, "drone") == "Дрон"  # the owner's own name
    assert delivery_name(Language("en"), rules, "drone") == "Drone"
    assert delivery_name(Language("ru"), rules, "boat") == "boat"  # an option without a name yet


async def test_a_customer_cancels_an_unpaid_order_and_its_goods_are_back_on_sale_at_once(
    stocked: Shop,
) -> None:
    ann = chat(stocked, engine(stocked), Channel.WHATSAPP, "+15550100")
    order_id = await _ordered(ann)
    assert (await stocked.catalog.product_by_sku("TEA-2")).stock == 28  # type: ignore[union-attr]
    await ann.command("orders")
    await ann.tap(f"#{order_id}")
    pay = ann.button("Pay").press()

    await ann.tap("Cancel order")
    assert ann.text == f"Cancel order #{order_id}? Its goods go back on sale."
    await ann.tap("Yes, cancel it")

    assert ann.text == f"Order #{order_id} is cancelled."
    details = await stocked.orders.get(order_id)
    assert (details.order.status, details.order.reservation) == ("cancelled", "released")
    assert details.events[-1].actor == "customer"
    assert (await stocked.catalog.product_by_sku("TEA-2")).stock == 30  # type: ignore[union-attr]
    await ann.send(pay)  # the old Pay button
    assert ann.text == f"Order #{order_id} doesn't wait for payment."


async def test_someone_elses_order_cannot_be_cancelled(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked), Channel.WHATSAPP, "+15550100")
    order_id = await _ordered(ann)
    bob = chat(stocked, engine(stocked), Channel.WHATSAPP, "+15550199", name="Bob")

    await bob.send(Press("ocx", f"{order_id}:1"))

    assert (await stocked.orders.get(order_id)).order.status == "pending_payment"
