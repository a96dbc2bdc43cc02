"""Experiments as the owner defines them, and how customers are split among the variants."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from scipy.stats import binom

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop.analytics import Visit
from shop.errors import NotFoundError
from shop.experiments import REFRESH, ExperimentError, Thing, bucket
from shop.migrate import upgrade
from shop.models import Channel, PromoKind
from tests.conftest import FakeClock, row


def test_a_units_variant_is_stable_and_follows_the_split() -> None:
    units = np.arange(1, 20_001)
    picks = np.array([bucket("cta-dec", int(u), (70, 30)) for u in units])
    again = np.array([bucket("cta-dec", int(u), (70, 30)) for u in units])
    assert (picks == again).all()
    share = int((picks == 0).sum())
    assert binom.ppf(0.0005, len(units), 0.7) <= share <= binom.ppf(0.9995, len(units), 0.7)
    # Another experiment splits the same customers independently of this one.
    other = np.array([bucket("buy-dec", int(u), (50, 50)) for u in units])
    both = int(((picks == 0) & (other == 0)).sum())
    expected = 0.7 * 0.5
    assert (
        binom.ppf(0.0005, len(units), expected) <= both <= binom.ppf(0.9995, len(units), expected)
    )


@pytest.mark.parametrize(
    ("thing", "variants", "weights", "promo", "said"),
    [
        (Thing.CTA, None, None, None, "--variants: name two or more wordings of"),
        (Thing.CTA, ["add_to_cart", "shout"], None, None, "'shout' is not a variant of cta"),
        (Thing.CTA, ["take_it", "take_it"], None, None, "two or more different variants"),
        (Thing.BUY_NOW, None, [50, 30, 20], None, "--split: 3 shares for 2 variants"),
        (Thing.BUY_NOW, None, [60, 60], None, "add up to 100"),
        (Thing.BUY_NOW, None, None, "GIFT", "--promo CODE goes with --on cart_promo"),
        (Thing.CART_PROMO, None, None, None, "--promo CODE goes with --on cart_promo"),
        (Thing.CART_PROMO, None, None, "NOPE", "--promo NOPE: no active promo code"),
    ],
)
async def test_a_bad_experiment_is_refused_in_one_line_and_nothing_starts(
    shop: Shop,
    thing: Thing,
    variants: list[str] | None,
    weights: list[int] | None,
    promo: str | None,
    said: str,
) -> None:
    with pytest.raises(ExperimentError) as refused:
        await shop.experiments.create("x", thing, variants, weights, promo_code=promo)
    assert said in str(refused.value)
    assert "\n" not in str(refused.value)
    assert await shop.experiments.list_all() == []


async def test_a_switched_off_promo_is_not_offered_and_its_experiment_pauses(
    shop: Shop, clock: FakeClock
) -> None:
    await shop.promos.create("old", PromoKind.PERCENT, 10)
    await shop.promos.deactivate("old")
    with pytest.raises(ExperimentError, match="--promo OLD: no active promo code"):
        await shop.experiments.create("gift", Thing.CART_PROMO, promo_code="old")
    await shop.promos.create("gift", PromoKind.PERCENT, 10)
    await shop.experiments.create("gift", Thing.CART_PROMO, promo_code="gift")
    customer = await shop.customers.touch(Channel.TELEGRAM, "ann")
    visit = Visit(customer.id, Channel.TELEGRAM.value)
    assert await shop.experiments.expose(Thing.CART_PROMO, customer, visit) is not None
    await shop.promos.deactivate("gift")
    clock.advance(seconds=REFRESH.total_seconds())
    assert await shop.experiments.expose(Thing.CART_PROMO, customer, visit) is None


async def test_one_experiment_at_a_time_per_thing_and_names_are_never_reused(
    any_shop: Shop,
) -> None:
    shop = any_shop
    await shop.experiments.create("cta-1", Thing.CTA, ["add_to_cart", "want_it"])
    await shop.experiments.create("buy-1", Thing.BUY_NOW)  # another thing: fine
    with pytest.raises(ExperimentError, match=r"an experiment on cta is running already \(cta-1\)"):
        await shop.experiments.create("cta-2", Thing.CTA, ["add_to_cart", "take_it"])
    await shop.experiments.stop("CTA-1")
    with pytest.raises(ExperimentError, match="cta-1 is stopped already"):
        await shop.experiments.stop("cta-1")
    with pytest.raises(NotFoundError):
        await shop.experiments.stop("nope")
    with pytest.raises(ExperimentError, match="cta-1 exists already"):
        await shop.experiments.create("cta-1", Thing.CTA, ["add_to_cart", "want_it"])
    await shop.experiments.create("cta-2", Thing.CTA, ["add_to_cart", "take_it"], [80, 20])
    listed = [(e.name, e.running) for e in await shop.experiments.list_all()]
    assert listed == [("cta-2", True), ("buy-1", True), ("cta-1", False)]


@pytest.mark.postgres
async def test_two_owners_starting_experiments_on_one_thing_at_once_get_one(
    postgres_url: str,
) -> None:
    shops = [build_shop(Settings(database_url=postgres_url)) for _ in range(4)]
    await upgrade(shops[0].db)
    try:
        results = await asyncio.gather(
            *(s.experiments.create(f"buy-{n}", Thing.BUY_NOW) for n, s in enumerate(shops)),
            return_exceptions=True,
        )
    finally:
        for s in shops:
            await s.db.dispose()
    started = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(started) == 1
    assert all(isinstance(r, ExperimentError) for r in refused), refused


async def test_counts_follow_each_unit_from_its_exposure_on_both_databases(
    any_shop: Shop, clock: FakeClock
) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("TEA", price=1_000)])
    tea = await shop.catalog.product_by_sku("TEA")
    assert tea is not None
    experiment = await shop.experiments.create("buy", Thing.BUY_NOW, weights=[50, 50])
    seen: dict[str, list[int]] = {"shown": [0, 0], "hidden": [0, 0]}
    for n in range(6):
        customer = await shop.customers.touch(Channel.WHATSAPP, f"+1555{n:07}")
        visit = Visit(customer.id, Channel.WHATSAPP.value)
        if n % 2:  # a cart before the exposure counts for nothing
            await shop.carts.add(customer.id, tea.id, 1, visit=visit)
        clock.advance(seconds=1)
        exposure = await shop.experiments.expose(Thing.BUY_NOW, customer, visit)
        assert exposure is not None
        seen[exposure.variant][0] += 1
        if n % 3 == 0:
            await shop.carts.add(customer.id, tea.id, 1, visit=visit)
            seen[exposure.variant][1] += 1
    counts = await shop.experiments.counts(experiment)
    assert [(c.variant, c.weight, [c.exposed, c.to_cart], c.to_paid) for c in counts] == [
        ("shown", 50, seen["shown"], 0),
        ("hidden", 50, seen["hidden"], 0),
    ]


async def test_one_person_on_two_channels_keeps_one_variant_and_is_exposed_once(
    shop: Shop,
) -> None:
    experiment = await shop.experiments.create("cta", Thing.CTA, ["add_to_cart", "take_it"])
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001")
    first = await shop.experiments.expose(
        Thing.CTA, telegram, Visit(telegram.id, Channel.TELEGRAM.value)
    )
    whatsapp = await shop.customers.touch(Channel.WHATSAPP, "447700900123", phone="447700900123")
    await shop.customers.prove_phone(telegram.id, "+44 7700 900123")
    whatsapp = await shop.customers.get(whatsapp.id)
    second = await shop.experiments.expose(
        Thing.CTA, whatsapp, Visit(whatsapp.id, Channel.WHATSAPP.value)
    )

    assert first is not None
    assert second is not None
    assert second.variant == first.variant
    counts = await shop.experiments.counts(experiment)
    assert sum(c.exposed for c in counts) == 1
