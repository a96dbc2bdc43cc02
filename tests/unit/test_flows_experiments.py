"""A/B experiments as customers meet them: the product card and the cart follow each one's variant."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import build_shop
from bot.handlers.whatsapp.channel import WHATSAPP
from bot.services import Shop
from bot.settings import Settings
from shop import tables as t
from shop.analytics import EventKind
from shop.experiment_report import experiment_report
from shop.experiments import REFRESH, ExperimentView, Thing, unit_of
from shop.models import Channel, PromoKind
from tests.conftest import FakeClock
from tests.flow_support import Chat, chat, engine
from tests.payment_support import paid_through_sandbox

WORDINGS = {
    "en": {"get_it_now": "🛒 Get it now", "take_it": "🛒 I'll take it"},
    "ru": {"get_it_now": "🛒 Хочу сейчас", "take_it": "🛒 Беру!"},
}
BUY_NOW = {"en": "⚡ Buy now", "ru": "⚡ Купить сейчас"}
CUSTOMERS = 8  # enough that both variants of an even split turn up (the hash is fixed)


async def _customers(
    shop: Shop, experiment: ExperimentView, channel: Channel, locale: str, count: int = CUSTOMERS
) -> list[tuple[Chat, str]]:
    """Return customers who opened the chat, each with the variant the experiment gives them."""
    conversations = engine(shop)
    found = []
    for n in range(count):
        can = WHATSAPP if channel == Channel.WHATSAPP else None
        customer = chat(
            shop, conversations, channel, f"+1555000{n:04}", language_code=locale, can=can
        )
        await customer.command("start")
        found.append((customer, experiment.variant_for(unit_of(await customer.customer()))))
    assert {variant for _, variant in found} == set(experiment.variants)
    return found


async def _exposures(shop: Shop) -> list[tuple[int | None, dict[str, object]]]:
    e = t.analytics_event.c
    query = select(e.customer_id, e.data).where(e.kind == EventKind.EXPOSURE.value).order_by(e.id)
    return [(c, dict(d)) for c, d in await shop.db.read(lambda conn: conn.execute(query).all())]


@pytest.mark.parametrize(
    ("channel", "locale"),
    [
        (Channel.TELEGRAM, "en"),
        (Channel.TELEGRAM, "ru"),
        (Channel.WHATSAPP, "en"),
        (Channel.WHATSAPP, "ru"),
    ],
)
async def test_the_add_to_cart_wording_is_the_customers_variant(
    stocked: Shop, channel: Channel, locale: str
) -> None:
    experiment = await stocked.experiments.create("cta-1", Thing.CTA, ["get_it_now", "take_it"])
    for customer, variant in await _customers(stocked, experiment, channel, locale):
        await customer.command("start", "p-TEA-2")
        ours = WORDINGS[locale][variant]
        theirs = {wording for wording in WORDINGS[locale].values() if wording != ours}
        assert ours in customer.labels
        assert not theirs & set(customer.labels)
        assert BUY_NOW[locale] in customer.labels
        await customer.tap(ours)  # the button still adds to the cart
        assert any(label.endswith("(1)") for label in customer.labels)


@pytest.mark.parametrize(
    ("channel", "locale"), [(Channel.TELEGRAM, "en"), (Channel.WHATSAPP, "ru")]
)
async def test_buy_now_is_shown_or_not_by_the_customers_variant(
    stocked: Shop, channel: Channel, locale: str
) -> None:
    experiment = await stocked.experiments.create("buy-now", Thing.BUY_NOW)
    for customer, variant in await _customers(stocked, experiment, channel, locale):
        await customer.command("start", "p-TEA-1")
        assert (BUY_NOW[locale] in customer.labels) == (variant == "shown")
        assert any(label.startswith("🛒 ") for label in customer.labels)  # add to cart stays


@pytest.mark.parametrize(
    ("channel", "locale"), [(Channel.TELEGRAM, "ru"), (Channel.WHATSAPP, "en")]
)
async def test_the_cart_offers_the_promo_code_to_its_variant_and_its_button_applies_it(
    stocked: Shop, channel: Channel, locale: str
) -> None:
    await stocked.promos.create("gift10", PromoKind.PERCENT, 10)
    experiment = await stocked.experiments.create("gift", Thing.CART_PROMO, promo_code="gift10")
    gift = {"en": "A gift for you: promo code GIFT10.", "ru": "Подарок для вас: промокод GIFT10."}
    use = {"en": "🎁 Use GIFT10", "ru": "🎁 Применить GIFT10"}
    applied = {"en": "Promo code GIFT10 applied.", "ru": "Промокод GIFT10 применён."}
    for customer, variant in await _customers(stocked, experiment, channel, locale):
        await customer.command("cart")
        assert gift[locale] not in customer.text  # nothing to discount yet: no offer
        await customer.command("start", "p-TEA-2")
        await customer.tap("🛒")
        await customer.command("cart")
        assert (gift[locale] in customer.text) == (variant == "offer")
        assert (use[locale] in customer.labels) == (variant == "offer")
        if variant == "offer":
            await customer.tap(use[locale])
            assert applied[locale] in customer.text
            assert gift[locale] not in customer.text  # applied: offered no more


async def test_a_customer_keeps_the_variant_and_is_exposed_once_whichever_process_shows_it(
    stocked: Shop, sqlite_url: str, clock: FakeClock
) -> None:
    experiment = await stocked.experiments.create("cta-1", Thing.CTA, ["get_it_now", "take_it"])
    [(ann, variant)] = [
        found
        for found in await _customers(stocked, experiment, Channel.TELEGRAM, "en")
        if found[1] == "take_it"
    ][:1]
    for _ in range(3):
        await ann.command("start", "p-TEA-2")
        assert WORDINGS["en"][variant] in ann.labels
    # Another process on the same database (a second worker, a restart): same variant, no new exposure.
    other = build_shop(Settings(database_url=sqlite_url), clock=clock)
    try:
        again = Chat(other, engine(other), ann.who)
        await again.command("start", "p-TEA-2")
        assert WORDINGS["en"][variant] in again.labels
    finally:
        await other.db.dispose()
    customer = await ann.customer()
    # The other customers only opened the chat: they never saw the card, so they are not exposed.
    assert await _exposures(stocked) == [
        (customer.id, {"experiment": "cta-1", "variant": "take_it"})
    ]


async def test_without_a_running_experiment_the_card_is_the_shops_own_and_nobody_is_exposed(
    stocked: Shop, clock: FakeClock
) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start", "p-TEA-2")
    assert {"🛒 Add to cart", "⚡ Buy now"} <= set(ann.labels)
    assert await _exposures(stocked) == []
    # Started by a staff command in another process: this one sees it within REFRESH.
    await build_shop(stocked.settings, clock=clock).experiments.create(
        "hide", Thing.BUY_NOW, ["hidden", "shown"], [99, 1]
    )
    clock.advance(seconds=REFRESH.total_seconds())
    await ann.command("start", "p-TEA-2")
    assert "⚡ Buy now" not in ann.labels  # 99 % of customers, this one among them
    await stocked.experiments.stop("hide")
    await ann.command("start", "p-TEA-2")
    assert "⚡ Buy now" in ann.labels


async def test_the_report_counts_what_scripted_customers_did_after_they_saw_it(
    stocked: Shop, clock: FakeClock
) -> None:
    early = chat(stocked, engine(stocked), user="early")
    await early.command("start", "p-TEA-1")
    await early.tap("Add to cart")  # before the experiment: never a conversion of it
    clock.advance(minutes=1)
    experiment = await stocked.experiments.create("buy-now", Thing.BUY_NOW)
    found = await _customers(stocked, experiment, Channel.TELEGRAM, "en", count=12)
    shown = [c for c, v in found if v == "shown"][:3]
    hidden = [c for c, v in found if v == "hidden"][:3]
    early_variant = experiment.variant_for(unit_of(await early.customer()))

    async def journey(customer: Chat, *, cart: bool, order: bool, pay: bool) -> None:
        clock.advance(seconds=10)
        await customer.command("start", "p-TEA-2")  # exposed here
        if cart:
            await customer.tap("Add to cart")
        if order:
            placed = await stocked.orders.checkout(
                (await customer.customer()).id, channel=customer.who.channel.value
            )
            if pay:
                await paid_through_sandbox(stocked, placed)

    await journey(shown[0], cart=True, order=True, pay=True)
    await journey(shown[1], cart=True, order=False, pay=False)
    await journey(shown[2], cart=False, order=False, pay=False)
    await journey(hidden[0], cart=True, order=True, pay=True)
    await journey(hidden[1], cart=False, order=False, pay=False)
    await journey(hidden[2], cart=True, order=True, pay=False)
    await journey(early, cart=False, order=False, pay=False)
    clock.advance(minutes=1)
    await stocked.experiments.stop("buy-now")
    clock.advance(minutes=1)
    await journey(shown[2], cart=True, order=False, pay=False)  # after the stop: not counted

    report = await experiment_report(stocked.experiments, "BUY-NOW")
    figures = {f.variant: (f.exposed, f.cart.converted, f.paid.converted) for f in report.figures}
    early_extra = {"shown": (1, 0, 0), "hidden": (0, 0, 0)}
    if early_variant == "hidden":
        early_extra = {"shown": (0, 0, 0), "hidden": (1, 0, 0)}
    expected = {"shown": (3, 2, 1), "hidden": (3, 2, 1)}
    assert figures == {
        v: tuple(a + b for a, b in zip(expected[v], early_extra[v], strict=True)) for v in expected
    }
    assert [c.variant for c in report.comparisons] == ["hidden"]
    assert len(report.warnings) == 2  # to cart and to paid: far too few customers
    assert report.sample_ratio_p is None
    assert not report.mismatch
