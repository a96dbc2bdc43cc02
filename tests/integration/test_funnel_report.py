"""`chatshop report funnel|sales`: scripted customers on Telegram and WhatsApp, counted by hand.

The customers go through the flows with each channel's own capabilities, on a
clock the test moves; the reports are read through the command line on SQLite
and on PostgreSQL and must equal the figures worked out below by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.handlers.whatsapp.channel import WHATSAPP
from bot.services import Shop
from shop.analytics import rebuild_reach
from shop.models import Channel
from tests.broadcast_support import queue_broadcast
from tests.cli_support import chatshop
from tests.conftest import FakeClock
from tests.flow_support import Chat, Pushed, chat, engine, stock_the_shop
from tests.payment_support import paid_through_sandbox

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def telegram(shop: Shop, user: str, name: str) -> Chat:
    return chat(shop, engine(shop), Channel.TELEGRAM, user, name=name)


def whatsapp(shop: Shop, number: str, name: str) -> Chat:
    return chat(shop, engine(shop), Channel.WHATSAPP, number, name=name, can=WHATSAPP)


async def pay(shop: Shop, customer: Chat) -> None:
    order = (await shop.orders.get(customer.payment.start.order_id)).order
    await paid_through_sandbox(shop, order)


async def journeys(shop: Shop, clock: FakeClock) -> None:
    """Ten days before the period: Oleg opens the shop. The period begins an hour before day 1."""
    await stock_the_shop(shop)
    oleg = telegram(shop, "501", "Oleg")
    await oleg.command("start")
    clock.advance(days=10, hours=-2)
    gus = telegram(shop, "502", "Gus")
    await gus.command("start")  # his visit: before the period
    clock.advance(hours=2)  # day 1, 2026-12-06 12:00 UTC

    # Gus opens a product an hour into the period, within his visit: no new visit for him.
    await gus.say("green tea")
    await gus.tap("Green tea")
    # Ann scans the window poster, adds the tea, checks out and pays $10.00.
    ann = telegram(shop, "503", "Ann")
    await ann.command("start", "p-TEA-1_s-window")
    await ann.tap("Add to cart")
    await ann.command("cart")
    await ann.answer_checkout()
    await ann.tap("Pickup")
    await pay(shop, ann)
    # Bob never sends /start: his first message, a search, is his visit; he opens a product.
    bob = telegram(shop, "504", "Bob")
    await bob.say("green tea")
    await bob.tap("Green tea")
    # Cyd sends /start and nothing more.
    await telegram(shop, "505", "Cyd").command("start")
    # Oleg is back after ten days, typing a search: a new visit; he puts a cup in his cart.
    await oleg.say("cup")
    await oleg.tap("Cup")
    await oleg.tap("Add to cart")
    # On WhatsApp, Dan greets the shop, finds black tea, and places an order he never pays.
    dan = whatsapp(shop, "15550100", "Dan")
    await dan.command("start")  # "hi" (the channel reads a greeting as /start)
    await dan.say("black tea")
    await dan.tap("Black tea")
    await dan.tap("Add to cart")
    await dan.command("cart")
    await dan.tap("Checkout")
    await dan.tap("Pickup")
    # Fay's first message is a search, and her last.
    await whatsapp(shop, "15550101", "Fay").say("tea")

    clock.advance(days=1)  # day 2
    # Ann comes back from the poster for black tea and buys it at once ($12.50).
    await ann.command("start", "p-TEA-2_s-window")
    await ann.tap("Buy now")
    await ann.tap("Yes, use these")
    await ann.tap("Pickup")
    await pay(shop, ann)
    # Eve's prefilled WhatsApp message carries the flyer's code; she buys the gift card ($25.00).
    eve = whatsapp(shop, "15550102", "Eve")
    await eve.command("start", "p-GIFT_s-flyer")
    await eve.tap("Buy now")
    await pay(shop, eve)


def steps(*customers: int, conversions: tuple[float | None, ...]) -> list[dict[str, object]]:
    """The steps as the report writes them; conversions and drop-offs from the step before."""
    names = ("visit", "view", "cart", "checkout", "paid")
    rows: list[dict[str, object]] = [
        {"step": "visit", "customers": customers[0], "conversion": None, "drop_off": None}
    ]
    for n in range(1, 5):
        rows.append(
            {
                "step": names[n],
                "customers": customers[n],
                "conversion": conversions[n - 1],
                "drop_off": customers[n - 1] - customers[n],
            }
        )
    return rows


# Counted by hand from the journeys. In the period: Ann (Telegram, window) and Eve (WhatsApp,
# flyer) go all the way; Dan (WhatsApp) stops at checkout, Oleg (Telegram) at the cart, Bob
# (Telegram) at a view, Cyd (Telegram) and Fay (WhatsApp) at the visit. Gus opened a product
# but his visit was before the period: the funnel is closed, so he is not counted at all.
SINCE = "2026-12-06T11:00:00+00:00"
FUNNEL = {
    "since": SINCE,
    "channel": None,
    "source": None,
    "steps": steps(7, 5, 4, 3, 2, conversions=(0.7143, 0.8, 0.75, 0.6667)),
    "by_channel": [
        {
            "channel": "telegram",
            "steps": steps(4, 3, 2, 1, 1, conversions=(0.75, 0.6667, 0.5, 1.0)),
        },
        {"channel": "whatsapp", "steps": steps(3, 2, 2, 2, 1, conversions=(0.6667, 1.0, 1.0, 0.5))},
    ],
    "by_source": [
        {"source": None, "steps": steps(5, 3, 2, 1, 0, conversions=(0.6, 0.6667, 0.5, 0.0))},
        {"source": "flyer", "steps": steps(1, 1, 1, 1, 1, conversions=(1.0, 1.0, 1.0, 1.0))},
        {"source": "window", "steps": steps(1, 1, 1, 1, 1, conversions=(1.0, 1.0, 1.0, 1.0))},
    ],
    # $10.00 + $12.50 (Ann) + $25.00 (Eve): 3 orders, 2 buyers, Ann bought twice.
    "orders": 3,
    "buyers": 2,
    "repeat_buyers": 1,
    "repeat_rate": 0.5,
    "revenue": {"USD": 4750},
    "refunded": {},
    "average_order": {"USD": 1583},  # 4750 / 3 = 1583.33
    "revenue_per_buyer": {"USD": 2375},
}
SALES = {
    "since": SINCE,
    "total": [
        {"currency": "USD", "orders": 3, "revenue": 4750, "average_order": 1583},
    ],
    "by_day": [
        {
            "day": "2026-12-06",
            "currency": "USD",
            "orders": 1,
            "revenue": 1000,
            "average_order": 1000,
        },
        {
            "day": "2026-12-07",
            "currency": "USD",
            "orders": 2,
            "revenue": 3750,
            "average_order": 1875,
        },
    ],
    "by_category": [
        {
            "category": "Gift",
            "currency": "USD",
            "orders": 1,
            "revenue": 2500,
            "average_order": 2500,
        },
        {"category": "Tea", "currency": "USD", "orders": 2, "revenue": 2250, "average_order": 1125},
    ],
    "by_source": [
        {"source": "flyer", "currency": "USD", "orders": 1, "revenue": 2500, "average_order": 2500},
        {
            "source": "window",
            "currency": "USD",
            "orders": 2,
            "revenue": 2250,
            "average_order": 1125,
        },
    ],
}


def report(tmp_path: Path, url: str, *args: str) -> dict[str, object]:
    result = chatshop(tmp_path, "report", *args, "--json", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000  # bars, labels and numbers, not an empty canvas


async def test_the_funnel_and_sales_of_scripted_customers_on_both_channels(
    any_shop: Shop, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    await journeys(any_shop, clock)

    funnel = report(tmp_path, database_url, "funnel", "--since", SINCE, "--png", "funnel.png")
    assert funnel == FUNNEL
    assert_png(tmp_path / "funnel.png")
    sales = report(tmp_path, database_url, "sales", "--since", SINCE, "--png", "sales.png")
    assert sales == SALES
    assert_png(tmp_path / "sales.png")


async def test_the_funnel_of_one_channel_or_source_and_of_all_time(
    shop: Shop, sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    await journeys(shop, clock)
    whatsapp_only = report(
        tmp_path, sqlite_url, "funnel", "--since", SINCE, "--channel", "whatsapp"
    )
    assert whatsapp_only["steps"] == steps(3, 2, 2, 2, 1, conversions=(0.6667, 1.0, 1.0, 0.5))
    assert whatsapp_only["revenue"] == {"USD": 2500}
    window = report(tmp_path, sqlite_url, "funnel", "--since", SINCE, "--source", "window")
    assert window["by_source"] == [FUNNEL["by_source"][2]]  # type: ignore[index]
    # All time: Oleg's and Gus's visits before the period count; Gus stops at a view.
    always = report(tmp_path, sqlite_url, "funnel", "--since", "all")
    assert always["steps"] == steps(8, 6, 4, 3, 2, conversions=(0.75, 0.6667, 0.75, 0.6667))
    # What each funnel event kept equals what the events say when added up afresh.
    await shop.db.write(rebuild_reach)
    assert report(tmp_path, sqlite_url, "funnel", "--since", SINCE) == FUNNEL
    wrong = chatshop(tmp_path, "report", "funnel", "--channel", "fax")
    assert wrong.returncode == 1
    assert wrong.stderr == "error: --channel 'fax': use one of telegram, whatsapp, console\n"
    assert not (tmp_path / "funnel.png").exists()


async def test_a_person_on_two_channels_is_one_customer_of_the_funnel(
    shop: Shop, sqlite_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    await stock_the_shop(shop)
    # Kim finds black tea on WhatsApp, then on Telegram puts it in her cart and pays,
    # after sharing her own contact there: the number she writes from on WhatsApp.
    kim_whatsapp = whatsapp(shop, "15550199", "Kim")
    await kim_whatsapp.say("black tea")
    await kim_whatsapp.tap("Black tea")
    kim = telegram(shop, "601", "Kim")
    await kim.say("black tea")
    await kim.tap("Black tea")
    await kim.tap("Add to cart")
    telegram_kim = await shop.customers.find(Channel.TELEGRAM, "601")
    assert telegram_kim is not None
    await shop.customers.prove_phone(telegram_kim.id, "+15550199")
    await kim.command("cart")
    await kim.answer_checkout()
    await kim.tap("Pickup")
    await pay(shop, kim)

    funnel = report(tmp_path, sqlite_url, "funnel", "--since", "all")
    assert funnel["steps"] == steps(1, 1, 1, 1, 1, conversions=(1.0, 1.0, 1.0, 1.0))
    await shop.db.write(rebuild_reach)  # the events, added up afresh, say the same
    assert report(tmp_path, sqlite_url, "funnel", "--since", "all")["steps"] == funnel["steps"]


async def test_a_broadcast_is_credited_with_the_visits_it_brings_back_within_a_day(
    any_shop: Shop, database_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    shop = any_shop
    await stock_the_shop(shop)
    ann, bob = telegram(shop, "701", "Ann"), telegram(shop, "702", "Bob")
    cat = whatsapp(shop, "15550170", "Cat")
    for customer in (ann, bob, cat):
        await customer.command("start")  # their visits, credited to no one; they may be told news
    clock.advance(seconds=10)
    await ann.say("tea")  # browsing: the process keeps her in memory as just seen
    clock.advance(seconds=10)
    broadcast = await queue_broadcast(shop, "Tea week: 10% off")
    by_telegram = Pushed(shop, engine(shop), Channel.TELEGRAM)
    assert await by_telegram.texts() == ["Tea week: 10% off"] * 2
    assert await Pushed(shop, engine(shop), Channel.WHATSAPP).texts() == ["Tea week: 10% off"]
    credited = f"broadcast-{broadcast.id}"

    # Ann writes ten seconds later (the process that sent it reads her afresh): her new
    # visit is the broadcast's, and so are her view, cart, checkout and payment ($10.00).
    clock.advance(seconds=10)
    await ann.say("green tea")
    await ann.tap("Green tea")
    await ann.tap("Add to cart")
    await ann.command("cart")
    await ann.answer_checkout()
    await ann.tap("Pickup")
    await pay(shop, ann)
    # Cat comes back two hours later by the window poster's code: the poster's, not the broadcast's.
    clock.advance(hours=2)
    await cat.command("start", "p-TEA-2_s-window")
    await cat.tap("Add to cart")
    # Bob writes a day and an hour after it reached him: a visit of his own (quiet for 12 hours).
    clock.advance(hours=23)
    await bob.say("cup")
    await bob.tap("Cup")

    # Counted by hand: no source: the three first visits, and Bob's view; the broadcast: Ann
    # all the way; the window: Cat to the cart.
    by_source = [
        {"source": None, "steps": steps(3, 1, 0, 0, 0, conversions=(0.3333, 0.0, None, None))},
        {"source": credited, "steps": steps(1, 1, 1, 1, 1, conversions=(1.0, 1.0, 1.0, 1.0))},
        {"source": "window", "steps": steps(1, 1, 1, 0, 0, conversions=(1.0, 1.0, 0.0, None))},
    ]
    funnel = report(tmp_path, database_url, "funnel", "--since", "all")
    assert funnel["steps"] == steps(3, 3, 2, 1, 1, conversions=(1.0, 0.6667, 0.5, 1.0))
    assert funnel["by_source"] == by_source
    assert funnel["by_channel"] == [
        {"channel": "telegram", "steps": steps(2, 2, 1, 1, 1, conversions=(1.0, 0.5, 1.0, 1.0))},
        {"channel": "whatsapp", "steps": steps(1, 1, 1, 0, 0, conversions=(1.0, 1.0, 0.0, None))},
    ]
    only = report(tmp_path, database_url, "funnel", "--since", "all", "--source", credited)
    assert only["by_source"] == [by_source[1]]
    assert (only["orders"], only["revenue"]) == (1, {"USD": 1000})
