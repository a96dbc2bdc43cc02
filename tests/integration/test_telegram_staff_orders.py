"""Staff move orders on Telegram: /admin, an order's card, its buttons; nobody else can.

Real updates through the dispatcher; what staff and customers see is read from
the requests the bot makes, what changed from the shop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.handlers.telegram.staff.buttons import Move
from bot.services import Shop
from shop.models import OrderStatus
from shop.views import OrderView
from tests.conftest import FakeClock
from tests.payment_support import paid_through_sandbox, pending_order
from tests.telegram_support import USER_ID, Harness, Sent, last_message, message_json, telegram_shop

S = OrderStatus
STAFF = 9_001
STOCK = 20
STALE = "This button no longer works. Send /start to open the menu."


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    async with telegram_shop(sqlite_url, clock, staff_ids=(STAFF,), sandbox=True) as harness:
        yield harness


async def waiting_order(shop: Shop) -> OrderView:
    """An order of the customer USER_ID: 2 × $25.00, waiting for payment."""
    return await pending_order(shop, customer=str(USER_ID), stock=STOCK)


async def paid_order(shop: Shop) -> OrderView:
    """An order of the customer USER_ID, paid through the sandbox."""
    return await paid_through_sandbox(shop, await waiting_order(shop))


def labels(sent: Sent) -> list[str]:
    return [button["text"] for button in sent.buttons]


def by_label(sent: Sent, label: str) -> str:
    """The callback data of the button whose label starts with `label`."""
    found = [b["callback_data"] for b in sent.buttons if b["text"].startswith(label)]
    assert found, f"no {label!r} button among {labels(sent)}"
    return str(found[0])


async def press(tg: Harness, on: Sent, label: str, *, user: int = STAFF) -> list[Sent]:
    return await tg.press(on, "", user=user, data=by_label(on, label))


async def open_card(tg: Harness, order: OrderView) -> Sent:
    listed = await tg.say("/admin", user=STAFF)
    return last_message(await press(tg, listed, f"#{order.id} "))


def toast(sent: list[Sent]) -> Sent:
    (answer,) = [s for s in sent if s.method == "answerCallbackQuery"]
    return answer


def to(sent: list[Sent], chat: int) -> list[Sent]:
    return [s for s in sent if s.method == "sendMessage" and s["chat_id"] == str(chat)]


async def told(tg: Harness) -> list[str]:
    """What the customer is pushed of what is queued by now, as the delivery worker sends it."""
    return [sent["text"] for sent in to(await tg.delivered(), USER_ID)]


async def timeline(shop: Shop, order: OrderView) -> list[tuple[str, str]]:
    return [(e.status, e.actor) for e in (await shop.orders.get(order.id)).events]


async def test_admin_lists_the_orders_to_move_on_first_and_opens_a_card(
    tg: Harness, clock: FakeClock
) -> None:
    waiting = await waiting_order(tg.shop)
    packed = await paid_order(tg.shop)
    await tg.shop.orders.transition(packed.id, S.PACKED)
    cancelled = await waiting_order(tg.shop)
    await tg.shop.orders.transition(cancelled.id, S.CANCELLED)
    older_paid = await paid_order(tg.shop)
    newer_paid = await paid_order(tg.shop)

    listed = await tg.say("/admin", user=STAFF)

    assert listed["text"].startswith("Orders: paid, packed and shipped first")
    assert [label.split(" · ")[:2] for label in labels(listed)] == [
        [f"#{newer_paid.id}", "Paid"],
        [f"#{older_paid.id}", "Paid"],
        [f"#{packed.id}", "Packed"],
        [f"#{waiting.id}", "Waiting for payment"],
        [f"#{cancelled.id}", "Cancelled"],
    ]

    opened = await press(tg, listed, f"#{newer_paid.id} ")

    assert [s.method for s in opened] == ["answerCallbackQuery", "editMessageText"]
    card = opened[1]
    assert card["message_id"] == str(listed.answer["result"]["message_id"])  # in place
    assert card["text"].splitlines()[:2] == [
        f"Order #{newer_paid.id} — Paid",
        f"Customer #{newer_paid.customer_id}: Ann (telegram)",
    ]
    assert "• Product A × 2 — $50.00" in card["text"]
    assert "Total: $50.00" in card["text"]
    assert "Paid · payment:sandbox" in card["text"]  # the timeline says who did what
    assert labels(card) == ["📦 Packed", "↩ Refund…", "« Orders", "🔄 Refresh"]

    back = await press(tg, card, "« Orders")
    assert last_message(back)["text"] == listed["text"]


async def test_admin_with_a_number_opens_that_card_and_an_empty_shop_says_so(tg: Harness) -> None:
    assert (await tg.say("/admin", user=STAFF))["text"] == "No orders yet."
    assert (await tg.say("/admin 7", user=STAFF))["text"] == "There is no order #7."

    order = await waiting_order(tg.shop)
    card = await tg.say(f"/admin #{order.id}", user=STAFF)

    assert card["text"].startswith(f"Order #{order.id} — Waiting for payment")
    assert labels(card) == ["✕ Cancel", "« Orders", "🔄 Refresh"]  # paid is never set by hand


async def test_staff_pack_a_paid_order_and_the_card_changes_in_place(tg: Harness) -> None:
    order = await paid_order(tg.shop)
    card = await open_card(tg, order)
    await told(tg)  # the payment's own news

    sent = await press(tg, card, "📦 Packed")

    assert toast(sent)["text"] == f"Order #{order.id}: Packed."
    edited = last_message(sent)
    assert edited.method == "editMessageText"
    assert edited["message_id"] == card["message_id"]
    assert edited["text"].startswith(f"Order #{order.id} — Packed")
    assert labels(edited) == ["🚚 Shipped…", "↩ Refund…", "« Orders", "🔄 Refresh"]
    (packed,) = await told(tg)  # the customer is told, once
    assert packed.startswith(f"Order #{order.id}: Packed.")
    assert (await timeline(tg.shop, order))[-1] == ("packed", f"staff:tg:{STAFF}")


async def test_an_unpaid_order_is_cancelled_and_its_stock_is_back(tg: Harness) -> None:
    order = await waiting_order(tg.shop)
    card = await open_card(tg, order)

    sent = await press(tg, card, "✕ Cancel")

    assert toast(sent)["text"] == f"Order #{order.id}: Cancelled."
    assert labels(last_message(sent)) == ["« Orders", "🔄 Refresh"]  # nothing follows
    (cancelled,) = await told(tg)
    assert cancelled.startswith(f"Order #{order.id}: Cancelled.")  # not "unpaid in time"
    product = await tg.shop.catalog.product_by_sku("A")
    assert product is not None
    assert product.stock == STOCK


async def test_a_refund_asks_first_and_gives_the_money_back(tg: Harness) -> None:
    order = await paid_order(tg.shop)
    card = await open_card(tg, order)
    await told(tg)  # the payment's own news

    asked = last_message(await press(tg, card, "↩ Refund…"))
    assert asked["message_id"] == card["message_id"]
    assert asked["text"] == f"Refund $50.00 to the customer? (order #{order.id}, Paid)"
    assert labels(asked) == ["↩ Yes, refund", "No"]

    kept = last_message(await press(tg, asked, "No"))
    assert kept["text"].startswith(f"Order #{order.id} — Paid")
    assert (await tg.shop.orders.get(order.id)).order.status == "paid"
    assert await told(tg) == []  # asking and saying no changed nothing to tell

    asked = last_message(await press(tg, kept, "↩ Refund…"))
    sent = await press(tg, asked, "↩ Yes, refund")

    assert to(sent, STAFF)[0]["text"] == (
        f"Order #{order.id} is refunded: $50.00 back through sandbox."
    )
    (refunded,) = await told(tg)
    assert refunded.startswith(f"Order #{order.id}: Refunded.")
    card = last_message(sent)
    assert card["text"].startswith(f"Order #{order.id} — Refunded")
    assert labels(card) == ["« Orders", "🔄 Refresh"]
    assert (await timeline(tg.shop, order))[-1] == ("refunded", f"staff:tg:{STAFF}")


async def test_a_press_on_a_card_the_order_has_moved_past_says_so_and_redraws_it(
    tg: Harness,
) -> None:
    order = await paid_order(tg.shop)
    card = await open_card(tg, order)
    await tg.shop.orders.transition(order.id, S.PACKED, actor="staff:cli")  # elsewhere, meanwhile

    sent = await press(tg, card, "📦 Packed")

    answer = toast(sent)
    assert answer["show_alert"] == "true"
    assert answer["text"].startswith(f"Order #{order.id} moved meanwhile: it is Packed now.")
    redrawn = last_message(sent)
    assert redrawn["message_id"] == card["message_id"]
    assert labels(redrawn)[:2] == ["🚚 Shipped…", "↩ Refund…"]

    # Refund is legal from packed too; a press from the paid card still refunds nothing.
    await tg.shop.orders.transition(order.id, S.SHIPPED)
    late = await press(tg, card, "↩ Refund…")
    assert "it is Shipped now" in toast(late)["text"]
    assert await timeline(tg.shop, order) == [
        ("pending_payment", "customer"),
        ("paid", "payment:sandbox"),
        ("packed", "staff:cli"),
        ("shipped", "staff"),
    ]


def group_message(text: str, user: int) -> dict[str, Any]:
    message = message_json(chat_id=-100_200, user_id=user, text=text)
    message["chat"] = {"id": -100_200, "type": "group", "title": "Team"}
    return message


async def test_customers_get_nothing_staff_ish_and_change_nothing(tg: Harness) -> None:
    order = await paid_order(tg.shop)
    card = await open_card(tg, order)
    before = await timeline(tg.shop, order)

    admin = await tg.say("/admin")
    unknown = await tg.say("/nosuch")
    assert admin["text"] == unknown["text"]
    assert "Sorry, I don't know that command" in admin["text"]

    replayed = await tg.press(card, "", data=by_label(card, "📦 Packed"))  # a staff button
    forged = await tg.press(card, "", data=Move(order=order.id, seen=S.PAID, to=S.REFUNDED).pack())
    for sent in (replayed, forged):
        assert [s.method for s in sent] == ["answerCallbackQuery"]
        assert (sent[0]["text"], sent[0]["show_alert"]) == (STALE, "true")

    # Staff too, in a group: the orders are never shown where others read.
    assert await tg.feed(message=group_message("/admin", STAFF)) == []
    assert await timeline(tg.shop, order) == before


# Shipped: the carrier and the tracking number asked, in a conversation kept in the database


async def test_staff_take_a_paid_order_all_the_way_to_delivered(tg: Harness) -> None:
    order = await paid_order(tg.shop)
    card = await open_card(tg, order)
    await told(tg)  # the payment's own news
    card = last_message(await press(tg, card, "📦 Packed"))
    (packed,) = await told(tg)
    assert packed.startswith(f"Order #{order.id}: Packed.")

    asked = await press(tg, card, "🚚 Shipped…")
    carrier = last_message(asked)
    assert carrier["text"].startswith(f"Shipping order #{order.id}. Carrier?")
    assert labels(carrier) == ["No carrier", "✕ Cancel"]
    tracking = await tg.say("DHL Express", user=STAFF)
    assert tracking["text"].startswith(f"Order #{order.id}, DHL Express. Tracking number?")
    assert (await tg.shop.orders.get(order.id)).order.status == "packed"  # not yet
    assert await told(tg) == []  # nor is the customer told anything yet

    sent = await tg.feed(message=message_json(chat_id=STAFF, text="1Z999AA1"))

    assert to(sent, STAFF)[0]["text"] == (
        f"Order #{order.id} is shipped: DHL Express, tracking number 1Z999AA1."
    )
    (on_its_way,) = await told(tg)
    assert on_its_way.splitlines()[:2] == [
        f"Order #{order.id}: Shipped.",
        "DHL Express, tracking number 1Z999AA1",
    ]
    shipped = last_message(sent)
    assert (shipped.method, shipped["message_id"]) == ("editMessageText", card["message_id"])
    card = shipped
    assert card["text"].startswith(f"Order #{order.id} — Shipped")
    assert "Shipped · staff:tg:9001 (DHL Express, tracking number 1Z999AA1)" in card["text"]
    assert labels(card) == ["✅ Delivered", "↩ Refund…", "« Orders", "🔄 Refresh"]

    delivered = await press(tg, card, "✅ Delivered")

    assert toast(delivered)["text"] == f"Order #{order.id}: Delivered."
    (arrived,) = await told(tg)
    assert arrived.startswith(f"Order #{order.id}: Delivered.")
    assert labels(last_message(delivered)) == ["↩ Refund…", "« Orders", "🔄 Refresh"]
    stored = (await tg.shop.orders.get(order.id)).order
    assert (stored.status, stored.carrier, stored.tracking_number) == (
        "delivered",
        "DHL Express",
        "1Z999AA1",
    )
    assert [status for status, _ in await timeline(tg.shop, order)] == [
        "pending_payment",
        "paid",
        "packed",
        "shipped",
        "delivered",
    ]


async def packed_card(tg: Harness) -> tuple[OrderView, Sent]:
    order = await paid_order(tg.shop)
    await tg.shop.orders.transition(order.id, S.PACKED)
    return order, await open_card(tg, order)


async def test_an_order_ships_without_carrier_or_tracking_by_the_buttons(tg: Harness) -> None:
    order, card = await packed_card(tg)
    carrier = last_message(await press(tg, card, "🚚 Shipped…"))

    tracking = last_message(await press(tg, carrier, "No carrier"))
    assert tracking["text"].startswith(f"Order #{order.id}, no carrier. Tracking number?")
    sent = await press(tg, tracking, "No tracking number")

    assert to(sent, STAFF)[0]["text"] == f"Order #{order.id} is shipped."
    assert (await tg.shop.orders.get(order.id)).order.status == "shipped"

    again = await press(tg, carrier, "No carrier")  # an answered question's button
    assert toast(again)["text"].startswith("This question is closed.")
    assert [s.method for s in again] == ["answerCallbackQuery"]


async def test_cancel_or_any_command_leaves_the_questions_and_the_order_as_it_was(
    tg: Harness,
) -> None:
    order, card = await packed_card(tg)
    await press(tg, card, "🚚 Shipped…")

    left = await tg.say("/cancel", user=STAFF)
    assert left["text"] == f"Left: order #{order.id} is not shipped."
    searched = await tg.say("kofe", user=STAFF)  # no longer taken for a carrier
    assert "Found for" in searched["text"]

    carrier = last_message(await press(tg, card, "🚚 Shipped…"))
    listed = await tg.say("/admin", user=STAFF)  # another command: left, and answered as ever
    assert listed["text"].startswith("Orders:")
    assert "Found for" in (await tg.say("kofe", user=STAFF))["text"]
    closed = await press(tg, carrier, "✕ Cancel")
    assert toast(closed)["text"].startswith("This question is closed.")
    assert (await tg.shop.orders.get(order.id)).order.status == "packed"


async def test_an_order_refunded_while_its_tracking_number_is_asked_is_not_shipped(
    tg: Harness,
) -> None:
    order, card = await packed_card(tg)
    await press(tg, card, "🚚 Shipped…")
    await tg.say("DHL", user=STAFF)
    await tg.shop.payments.settlement.refund(order.id, actor="staff:cli")  # meanwhile

    sent = await tg.feed(message=message_json(chat_id=STAFF, text="1Z1"))

    assert to(sent, STAFF)[0]["text"].startswith(
        f"Order #{order.id} cannot go from Refunded to Shipped: "
    )
    assert last_message(sent)["text"].startswith(f"Order #{order.id} — Refunded")
    assert (await tg.shop.orders.get(order.id)).order.status == "refunded"


async def test_the_shipping_questions_survive_a_restart(sqlite_url: str, clock: FakeClock) -> None:
    async with telegram_shop(sqlite_url, clock, staff_ids=(STAFF,), sandbox=True) as before:
        order, card = await packed_card(before)
        await press(before, card, "🚚 Shipped…")
        await before.say("UPS", user=STAFF)

    async with telegram_shop(sqlite_url, clock, staff_ids=(STAFF,), sandbox=True) as after:
        sent = await after.feed(message=message_json(chat_id=STAFF, text="1Z42"))

        assert to(sent, STAFF)[0]["text"] == (
            f"Order #{order.id} is shipped: UPS, tracking number 1Z42."
        )
        redrawn = last_message(sent)
        assert (redrawn.method, redrawn["message_id"]) == ("editMessageText", card["message_id"])
        stored = (await after.shop.orders.get(order.id)).order
        assert (stored.status, stored.carrier, stored.tracking_number) == ("shipped", "UPS", "1Z42")
