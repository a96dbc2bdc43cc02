"""`chatshop run` as a subprocess, selling on WhatsApp through a fake Twilio on loopback.

The shop is configured by the environment as an owner configures it (Twilio's
account, sender and templates, the sandbox checkout, staff on Telegram through a fake
Bot API). The test plays Twilio: each customer's message is a signed form posted to
the shop's webhook over HTTP, and what the shop says arrives at the fake Twilio REST
API. Staff make posters and move orders with the command line, answer questions on
Telegram, a customer pays on the checkout page as a browser does, and a kill -9 hits
the shop between taking a message and answering it. Nothing waits a fixed time:
tests/whatsapp_e2e_support.py says how a test knows that a message has been answered
in full.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from shop import tables as t
from tests.fake_telegram import Call, fake_bot_api
from tests.fake_twilio import AUTH_TOKEN, SENDER, Sent, signature
from tests.qr_support import decode_file
from tests.telegram_support import message_json
from tests.whatsapp_e2e_support import (
    IPHONE,
    STAFF,
    TEMPLATES,
    TRACKING_URLS,
    Customer,
    WhatsAppShop,
    choose,
    cyrillic_share,
    link_in,
    only,
    options,
    pay_in_browser,
    post_form,
    prefilled,
    whatsapp_shop,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TRACKING = "1Z999AA10123456784"
EMPTY_TWIML = re.compile(r"<Response>\s*</Response>")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shop(
    demo_database: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WhatsAppShop]:
    """One `chatshop run` for the tests that do not kill it (each has customers of its own).

    Its staff are on Telegram, as a shop that sells only on WhatsApp may still have them.
    """
    tmp = tmp_path_factory.mktemp("whatsapp")
    async with fake_bot_api() as staff_api, whatsapp_shop(demo_database, tmp, staff_api) as running:
        yield running


async def poster_text(shop: WhatsAppShop, sku: str, source: str, *more: str) -> str:
    """Make a poster for `sku` with `chatshop qr make`; return the message its code prefills."""
    png = shop.tmp / f"{source}.png"
    await shop.staff(
        "qr", "make", "--product", sku, "--source", source, "--channel", "whatsapp",
        "--poster", "a6", "-o", str(png), *more,
    )  # fmt: skip
    [link] = decode_file(png)  # read back from the pixels, as a phone's camera reads it
    number, text = prefilled(link)
    assert f"whatsapp:+{number}" == SENDER  # the chat opens with the shop's WhatsApp sender
    return text


async def title_of(shop: WhatsAppShop, sku: str, locale: str = "en") -> str:
    """Return a product's title as the catalog holds it, in `locale` where translated."""
    p = t.product
    [(title, titles)] = await shop.read(select(p.c.title, p.c.title_i18n).where(p.c.sku == sku))
    return str((titles or {}).get(locale, title))


def numbered(order: int) -> tuple[str, ...]:
    """Return how an order's number is written: "#12" in English, "№12" in Russian."""
    return f"#{order}", f"№{order}", f"№ {order}"


async def set_status(shop: WhatsAppShop, customer: Customer, order: int, *args: str) -> Sent:
    """Move an order on from the command line; return what its customer is sent about it."""
    since = customer.mark()
    await shop.staff("orders", "set-status", str(order), *args)
    return await customer.push(since, *numbered(order))


async def test_from_a_poster_to_a_delivered_order_in_english(shop: WhatsAppShop) -> None:
    text = await poster_text(shop, IPHONE, "window-en")
    ann = Customer(shop, "447700900101", name="Ann Smith")

    # The poster's prefilled text is her first message: the product's card, in one message.
    card = only(await ann.say(text))
    assert card.body.startswith(await title_of(shop, IPHONE))
    delivery = only(await ann.say(choose(card, "Buy now")))
    offer = only(await ann.say(choose(delivery, "Pickup")))
    link = link_in(offer, shop.base)
    print(f"\nmessages from the poster's prefilled text to the payment link: {ann.said}")
    assert ann.said <= 4  # the text, Buy now, how to deliver: the link (3 today)
    # The phone is never asked: it is the number she writes from.
    assert not [m for m in (delivery, offer) if re.search(r"\bphone\b", m.words, re.I)]

    [order] = await shop.orders_of(ann.number)
    number = order["id"]
    assert f"#{number}" in offer.body
    details = await shop.staff_json("orders", "show", str(number))
    assert (details["channel"], details["status"]) == ("whatsapp", "pending_payment")
    assert details["source"] == "window-en"  # the poster is credited with the sale
    # The name is her WhatsApp profile's, the phone her WhatsApp number.
    assert details["contact"] == {"name": ann.name, "phone": f"+{ann.number}"}
    assert [line["sku"] for line in details["lines"]] == [IPHONE]
    units, cents = divmod(details["total"], 100)
    assert f"{units:,}.{cents:02d}" in offer.body  # the total staff see is the one asked

    since = ann.mark()
    page = await pay_in_browser(link)
    assert page.status == 200
    assert "Payment received" in page.text
    assert not page.buttons  # nothing more to pay
    confirmation = await ann.push(since, "Payment received")
    assert f"#{number}" in confirmation.words
    assert confirmation.content_sid is None  # she wrote minutes ago: free text
    # The delivery worker asked Twilio for news of it; Twilio's news is taken.
    assert confirmation.status_callback == shop.webhook
    assert await shop.twilio.report(confirmation, "delivered") == 200
    assert await shop.twilio.report(confirmation, "read") == 200
    r = t.outbound_ref
    news = await shop.read(select(r.c.status).where(r.c.ref == confirmation.sid))
    assert news == [("read",)]

    # She comes back, searches with a typo, chooses by number and checks her cart out.
    found = only(await ann.say("iphnoe 16"))
    line = choose(found, "iPhone 16 128GB Black")
    other = only(await ann.say(line))
    title = other.body.splitlines()[0]
    assert options(found)[line].startswith(title)  # the card of the line she chose
    added = only(await ann.say(choose(other, "Add to cart")))
    cart = only(await ann.say(choose(added, "Cart (1)")))
    assert f"{title} × 1" in cart.body
    checkout = only(await ann.say(choose(cart, "Checkout")))
    # Bought before: her details are offered again (the ones WhatsApp gave).
    assert ann.name in checkout.body
    assert f"+{ann.number}" in checkout.body
    delivery = only(await ann.say(choose(checkout, "Yes, use these")))
    again = only(await ann.say(choose(delivery, "Pickup")))
    assert link_in(again, shop.base) != link  # a second order (below as staff see it)

    # Staff pack and ship the paid order: she is told, with the carrier's tracking link.
    packed = await set_status(shop, ann, number, "packed")
    assert "Packed" in packed.words
    shipped = await set_status(
        shop, ann, number, "shipped", "--tracking", TRACKING, "--carrier", "DHL"
    )
    assert shipped.content_sid is None  # within 24 hours of her last message: free text
    assert "DHL" in shipped.body
    assert TRACKING_URLS["DHL"].format(number=TRACKING) in shipped.body

    # 25 hours of silence close WhatsApp's window. The shop's clock runs in its own
    # process, out of the test's reach, so the test moves her last message 25 hours back
    # in the database instead: to the window rule (customer.last_inbound_at) that is
    # exactly what 25 hours of silence are.
    await shop.silence(ann.number, hours=25)
    delivered = await set_status(shop, ann, number, "delivered")
    assert delivered.content_sid == TEMPLATES["order_status"]  # the approved template
    assert delivered.body == ""
    assert list(delivered.variables) == ["1"]  # the notice as the template's {{1}}
    assert "Delivered" in delivered.variables["1"]
    assert delivered.status_callback == shop.webhook
    assert await shop.twilio.report(delivered, "delivered") == 200

    first, second = await shop.orders_of(ann.number)
    assert [step["status"] for step in first["timeline"]] == [
        "pending_payment", "paid", "packed", "shipped", "delivered",
    ]  # fmt: skip
    assert second["status"] == "pending_payment"
    assert f"#{second['id']}" in again.body
    # Each status change went out once, and nothing else was pushed to her.
    await shop.all_sent()
    pushed = [m for m in shop.twilio.sent if m.to == ann.address and m.status_callback]
    assert pushed == [confirmation, packed, shipped, delivered]


def russian(message: Sent) -> Sent:
    """Return a message, having checked it is in Russian (mostly Cyrillic: product names are not)."""
    assert cyrillic_share(message.words) > 0.5, message.words
    return message


async def test_a_russian_customer_buys_from_a_russian_poster_in_russian(
    shop: WhatsAppShop,
) -> None:
    text = await poster_text(shop, IPHONE, "window-ru", "--lang", "ru")
    assert re.search("[а-яё]", text, re.I)  # the prefilled text is Russian
    boris = Customer(shop, "79161234567", name="Борис")
    card = russian(only(await boris.say(text)))
    assert card.body.startswith(await title_of(shop, IPHONE, "ru"))
    # A search typed in the Russian keyboard layout ("iphone 16" on its keys).
    found = russian(only(await boris.say("шзрщту 16")))
    chosen = russian(only(await boris.say(choose(found, "iPhone 16 Pro 128"))))
    delivery = russian(only(await boris.say(choose(chosen, "Купить сейчас"))))
    offer = russian(only(await boris.say(choose(delivery, "Самовывоз"))))
    [order] = await shop.orders_of(boris.number)
    number = order["id"]
    details = await shop.staff_json("orders", "show", str(number))
    assert details["source"] == "window-ru"
    assert details["contact"] == {"name": boris.name, "phone": f"+{boris.number}"}

    since = boris.mark()
    page = await pay_in_browser(link_in(offer, shop.base), language="ru-RU,ru;q=0.9")
    assert page.status == 200
    assert not page.buttons
    confirmation = russian(await boris.push(since, *numbered(number)))
    assert confirmation.content_sid is None
    await set_status(shop, boris, number, "packed")
    shipped = russian(
        await set_status(shop, boris, number, "shipped", "--tracking", TRACKING, "--carrier", "DHL")
    )
    assert TRACKING_URLS["DHL"].format(number=TRACKING) in shipped.body


async def test_a_message_taken_when_the_shop_is_killed_is_answered_once_after_a_restart(
    demo_database: Path, tmp_path: Path
) -> None:
    async with whatsapp_shop(demo_database, tmp_path) as shop:
        bob = Customer(shop, "447700900303", name="Bob")

        # Taken but surely not handled: the reply to Bob's "hi" is held on its way to
        # Twilio, so his next message, taken and answered 200, waits its turn behind it.
        # The reply in flight at the kill is kept with its message, to be sent again.
        held = shop.twilio.hold()
        since = bob.mark()
        assert (await bob.post(bob.form("hi")))[0] == 200
        async with asyncio.timeout(30):
            await held.wait()
        status, twiml = await bob.post(bob.form("iphnoe 16"))
        assert (status, bool(EMPTY_TWIML.search(twiml))) == (200, True)
        await shop.kill()
        shop.twilio.release()
        kept = sorted(status for _, status in await shop.pending_messages())
        assert kept == ["answered", "pending"]  # the menu not yet sent; the search not handled
        # A minute passes before another process takes a dead one's messages (its lease,
        # HANDLING, a constant in bot/handlers/whatsapp/channel.py): the test ends the
        # lease in the database instead, which is what that minute is to the rule.
        await shop.lapse_leases()
        await shop.start()
        await shop.twilio.until(lambda: len(bob.replies(since)) >= 2)
        menu, found = await bob.answered(since)  # each once, in the order they were asked
        assert "Welcome" in menu.body
        assert "iphnoe 16" in found.body
        assert options(found)  # the numbered results
        await shop.all_handled()  # nothing left in hand, nothing to be sent again

        # Killed the moment the 200 arrives, as it happens: handled by then or not, its
        # replies sent or not, the message is answered once.
        since = bob.mark()
        assert (await bob.post(bob.form("iphnoe 15")))[0] == 200
        await shop.kill()
        await shop.lapse_leases()
        await shop.start()
        await shop.twilio.until(lambda: bool(bob.replies(since)))
        answer = only(await bob.answered(since))
        assert "iphnoe 15" in answer.body


async def test_replies_a_killed_shop_was_sending_go_once_each_after_a_restart(
    demo_database: Path, tmp_path: Path
) -> None:
    async with whatsapp_shop(demo_database, tmp_path) as shop:
        eve = Customer(shop, "447700900505", name="Eve")
        found = only(await eve.say("sony wh-1000xm5 silver"))
        card = only(await eve.say(choose(found, "WH-1000XM5")))
        all_photos = re.search(r"(\d+)\. 🖼 All photos \((\d+)\)", card.body)
        assert all_photos is not None, card.body
        number, photos = all_photos[1], int(all_photos[2])

        # The album's first photo reaches Twilio; the second is in flight when the shop
        # dies, so its message was handled and its replies partly sent.
        since = eve.mark()
        held = shop.twilio.hold(after=1)
        assert (await eve.post(eve.form(number)))[0] == 200
        async with asyncio.timeout(30):
            await held.wait()
        await shop.kill()
        shop.twilio.release()
        assert [status for _, status in await shop.pending_messages()] == ["answered"]
        await shop.lapse_leases()
        await shop.start()

        album = await eve.answered(since)

        assert len(album) == photos  # the first photo not sent again, the rest once each
        assert len({tuple(m.media) for m in album}) == photos
        assert await shop.pending_messages() == []


async def test_a_repeated_delivery_is_answered_once_and_forged_requests_are_refused(
    shop: WhatsAppShop,
) -> None:
    cat = Customer(shop, "447700900404", name="Cat")

    # Twilio delivers the same message again (its sid the same), twice at once and later.
    since = cat.mark()
    hello = cat.form("hi")
    answered = [*await asyncio.gather(cat.post(hello), cat.post(hello)), await cat.post(hello)]
    assert [status for status, _ in answered] == [200, 200, 200]
    assert all(EMPTY_TWIML.search(body) for _, body in answered)
    menu = only(await cat.answered(since))
    assert options(menu)

    # Refused, and nothing said: no signature, a body changed after signing, the wrong
    # auth token, a signature for another address.
    since = cat.mark()
    search = cat.form("iphnoe 16")
    changed = {**search, "Body": "iphnoe 17"}
    other_url = "https://shop.example.com/whatsapp/webhook"
    refused = [
        await post_form(shop.webhook, search, {}),
        await cat.post(changed, signed_form=search),
        await post_form(
            shop.webhook,
            search,
            {"X-Twilio-Signature": signature(shop.webhook, search, "not-the-auth-token")},
        ),
        await post_form(
            shop.webhook, search, {"X-Twilio-Signature": signature(other_url, search, AUTH_TOKEN)}
        ),
    ]
    assert [status for status, _ in refused] == [403, 403, 403, 403]
    assert await cat.answered(since) == []

    # The refused requests kept nothing: the genuine message, with the same sid, is answered.
    since = cat.mark()
    assert (await cat.post(search))[0] == 200
    found = only(await cat.answered(since))
    assert "iphnoe 16" in found.body


async def test_a_message_waiting_behind_a_slow_reply_is_answered_once(shop: WhatsAppShop) -> None:
    dan = Customer(shop, "447700900505", name="Dan")
    held = shop.twilio.hold(every=True)  # Twilio is slow to take messages for a while
    assert (await dan.post(dan.form("hi")))[0] == 200
    async with asyncio.timeout(30):
        await held.wait()  # the menu is on its way, retried while Twilio says nothing
    since = dan.mark()
    search = dan.form("iphnoe 16")
    assert (await dan.post(search))[0] == 200  # taken; it waits for the menu to go first

    # The minute of the lease passes meanwhile: a slow Twilio (a reply is tried for about
    # a minute, bot/handlers/whatsapp/api.py) takes that long. The test ends the lease in
    # the database instead, and waits until the running shop takes the message up again
    # (a fix that never takes up a message still in hand would leave nothing to wait for).
    await shop.lapse_leases()
    await shop.taken_again(search["MessageSid"])
    shop.twilio.release()

    answers = [m for m in await dan.answered(since) if "iphnoe 16" in m.body]
    assert len(answers) == 1, [m.body for m in answers]


async def test_a_customers_question_reaches_staff_on_telegram_and_their_reply_comes_back(
    shop: WhatsAppShop,
) -> None:
    staff_api = shop.staff_api
    assert staff_api is not None
    customer = Customer(shop, "447700900321", name="Dora")
    await customer.say("hi")
    since = staff_api.mark()

    await customer.say("/help")
    [thanks] = await customer.say("Do you deliver to Riga on Sundays?")
    assert "with our team" in thanks.words

    def to_staff(words: str) -> Callable[[Call], bool]:
        return lambda c: (
            c.method == "sendMessage" and int(c["chat_id"]) == STAFF and words in c.words
        )

    ticket = await staff_api.wait_for(to_staff("Riga on Sundays"), since=since)
    assert "Dora (whatsapp, en)" in ticket.words
    pushed_since, replied_since = customer.mark(), staff_api.mark()
    reply = message_json(chat_id=STAFF, text="Yes, on Sundays too.", reply_to_message=ticket.result)
    await staff_api.push(message=reply)

    answer = await customer.push(pushed_since, "Yes, on Sundays too.")
    assert "Answer from our team" in answer.words
    await staff_api.wait_for(to_staff("Sent to Dora"), since=replied_since)
