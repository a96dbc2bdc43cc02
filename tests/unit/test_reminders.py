"""Abandoned carts: who is reminded, after how long, and that a cart is reminded of once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from bot.services import Shop
from bot.settings import Settings
from shop import tables as t
from shop.models import Channel
from shop.orders import Contact
from shop.outbox import Kind
from shop.reminders import FRESH_FOR, UNSETTLED, CartReminderService
from tests.conftest import FakeClock
from tests.flow_support import Pushed, buttons_of, engine

AFTER = timedelta(hours=3)  # the default CART_REMINDER_AFTER


async def customer(shop: Shop, user: str = "1001", *, consent: bool = True) -> int:
    """Return a new Telegram customer's id, who may receive marketing when `consent`."""
    found = await shop.customers.touch(Channel.TELEGRAM, user, display_name="Ann")
    await shop.customers.set_marketing_consent(found.id, consent)
    return found.id


async def product_id(shop: Shop, sku: str) -> int:
    found = await shop.catalog.product_by_sku(sku)
    assert found is not None
    return found.id


async def reminders(shop: Shop) -> list[int]:
    """Return the customers a cart reminder was queued for, one entry per reminder."""
    o = t.outbound_message.c
    query = select(o.customer_id).where(o.kind == Kind.CART_REMINDER.value).order_by(o.id)
    return list(await shop.db.read(lambda conn: conn.execute(query).scalars().all()))


async def left_a_cart(shop: Shop, clock: FakeClock, customer_id: int) -> None:
    """Put two teas in the cart, then leave it alone until the delay has run out."""
    await shop.carts.add(customer_id, await product_id(shop, "TEA-1"), 2)
    clock.advance(seconds=AFTER.total_seconds())


async def test_a_cart_left_alone_for_the_delay_is_reminded_once(
    stocked: Shop, clock: FakeClock
) -> None:
    ann = await customer(stocked)
    await stocked.carts.add(ann, await product_id(stocked, "TEA-1"), 2)

    clock.advance(hours=2, minutes=59)
    due = await stocked.reminders.remind()
    assert await reminders(stocked) == []
    assert due == clock.now + timedelta(minutes=1)  # the scan comes back when it is due

    clock.advance(minutes=1)
    assert await stocked.reminders.remind() is None  # nothing else waits
    clock.advance(days=1)
    await stocked.reminders.remind()
    assert await reminders(stocked) == [ann]


@pytest.mark.parametrize("locale", ["en", "ru"])
async def test_the_reminder_lists_the_cart_in_the_customers_language_with_the_way_back(
    stocked: Shop, clock: FakeClock, locale: str
) -> None:
    ann = await customer(stocked)
    await stocked.customers.set_locale(ann, locale)
    await left_a_cart(stocked, clock, ann)
    await stocked.reminders.remind()

    pushed = Pushed(stocked, engine(stocked), Channel.TELEGRAM)
    (told,) = await pushed.texts()
    ((_, replies),) = pushed.messages
    labels = [b.label for b in buttons_of(replies)]
    if locale == "ru":
        assert told.startswith("В вашей корзине остались товары:")
        assert "• Зелёный чай × 2 — 20,00\xa0$" in told
        assert "Итого: 20,00\xa0$" in told
        assert labels == ["🛒 Открыть корзину", "✅ Оформить заказ"]
    else:
        assert told.startswith("You left something in your cart:")
        assert "• Green tea × 2 — $20.00" in told
        assert "Total: $20.00" in told
        assert labels == ["🛒 Open the cart", "✅ Checkout"]


async def test_no_reminder_for_an_emptied_cart(stocked: Shop, clock: FakeClock) -> None:
    ann = await customer(stocked)
    await stocked.carts.add(ann, await product_id(stocked, "TEA-1"))
    await stocked.carts.clear(ann)
    clock.advance(hours=3)
    await stocked.reminders.remind()
    assert await reminders(stocked) == []


async def test_no_reminder_once_the_customer_ordered_since(stocked: Shop, clock: FakeClock) -> None:
    ann = await customer(stocked)
    await stocked.carts.add(ann, await product_id(stocked, "TEA-1"))
    await stocked.carts.add(ann, await product_id(stocked, "CUP"))
    clock.advance(minutes=5)
    # "Buy now" orders one product and leaves the cart as it was.
    tea = await product_id(stocked, "TEA-2")
    await stocked.orders.checkout(
        ann,
        channel="telegram",
        contact=Contact("Ann", "+15550100"),
        delivery="pickup",
        only=(tea, 1),
    )
    clock.advance(hours=3)
    await stocked.reminders.remind()
    assert await reminders(stocked) == []


async def test_no_reminder_once_the_same_person_ordered_on_another_channel(
    stocked: Shop, clock: FakeClock
) -> None:
    ann = await customer(stocked)
    await stocked.carts.add(ann, await product_id(stocked, "TEA-1"))
    clock.advance(minutes=5)
    number = "447700900123"
    whatsapp = await stocked.customers.touch(Channel.WHATSAPP, number, phone=number)
    await stocked.customers.prove_phone(ann, "+" + number)  # Ann shares her own contact
    tea = await product_id(stocked, "TEA-2")
    await stocked.orders.checkout(
        whatsapp.id,
        channel="whatsapp",
        contact=Contact("Ann", "+" + number),
        delivery="pickup",
        only=(tea, 1),
    )
    clock.advance(hours=3)
    await stocked.reminders.remind()
    assert await reminders(stocked) == []


async def test_no_reminder_without_consent_to_marketing(stocked: Shop, clock: FakeClock) -> None:
    ann = await customer(stocked, consent=False)
    await left_a_cart(stocked, clock, ann)
    await stocked.reminders.remind()
    assert await reminders(stocked) == []


async def test_no_reminder_to_a_customer_who_blocked_the_bot(
    stocked: Shop, clock: FakeClock
) -> None:
    ann = await customer(stocked)
    await stocked.db.write(
        lambda conn: conn.execute(
            update(t.customer).where(t.customer.c.id == ann).values(unreachable_at=clock.now)
        )
    )
    await left_a_cart(stocked, clock, ann)
    await stocked.reminders.remind()
    assert await reminders(stocked) == []


async def test_no_reminder_of_a_cart_long_forgotten(stocked: Shop, clock: FakeClock) -> None:
    ann = await customer(stocked)
    await left_a_cart(stocked, clock, ann)
    clock.advance(seconds=FRESH_FOR.total_seconds() + 1)  # the shop was down, or reminders off
    await stocked.reminders.remind()
    assert await reminders(stocked) == []


async def test_a_cart_changed_after_its_reminder_is_a_new_cart(
    stocked: Shop, clock: FakeClock
) -> None:
    ann = await customer(stocked)
    await left_a_cart(stocked, clock, ann)
    await stocked.reminders.remind()

    await stocked.carts.add(ann, await product_id(stocked, "CUP"))  # back, and left again
    clock.advance(hours=1)
    await stocked.reminders.remind()
    assert await reminders(stocked) == [ann]
    clock.advance(hours=2)
    await stocked.reminders.remind()
    assert await reminders(stocked) == [ann, ann]


async def test_a_cart_settled_without_a_reminder_stays_settled_until_it_changes(
    stocked: Shop, clock: FakeClock
) -> None:
    ann = await customer(stocked, consent=False)
    await left_a_cart(stocked, clock, ann)
    await stocked.reminders.remind()

    await stocked.customers.set_marketing_consent(ann, True)  # consent comes after the delay
    clock.advance(hours=5)
    await stocked.reminders.remind()
    assert await reminders(stocked) == []


async def test_reminders_are_off_when_the_owner_sets_no_delay(
    stocked: Shop, clock: FakeClock
) -> None:
    off = Settings(cart_reminder_after="0")
    assert off.cart_reminder_after is None
    # The same shop's carts, scanned by a process told to remind no one.
    ann = await customer(stocked)
    await left_a_cart(stocked, clock, ann)
    assert await CartReminderService(stocked.db, None, clock).remind() is None
    assert await reminders(stocked) == []


@pytest.mark.parametrize(
    ("setting", "delay"),
    [
        ("3h", timedelta(hours=3)),
        ("90m", timedelta(minutes=90)),
        ("1d", timedelta(days=1)),
        ("45s", timedelta(seconds=45)),
        ("PT2H", timedelta(hours=2)),
        ("", None),
        ("0", None),
    ],
)
def test_the_delay_is_read_as_owners_write_it(setting: str, delay: timedelta | None) -> None:
    assert Settings(cart_reminder_after=setting).cart_reminder_after == delay


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="CART_REMINDER_AFTER"):
        Settings(cart_reminder_after="-PT1H")


async def test_the_scan_reads_only_carts_still_to_settle(stocked: Shop) -> None:
    """The scan's query goes through the partial index, whatever number of carts were settled."""
    c = t.cart.c
    query = select(c.customer_id).where(UNSETTLED, c.updated_at <= text("'2030-01-01'"))

    def plan(conn: object) -> str:
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()  # type: ignore[attr-defined]
        return " ".join(str(r[-1]) for r in rows)

    assert "ix_cart_unsettled" in await stocked.db.read(plan)
