"""WhatsApp through Twilio over real HTTP on loopback: signed webhooks in, the REST API out.

Customers' messages are posted to `POST /whatsapp/webhook` signed as Twilio signs
them; replies and pushes are read from the fake Twilio REST server they reached.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from twilio.request_validator import RequestValidator

from bot.flows.types import Button, Text
from bot.handlers.whatsapp.channel import HANDLING
from bot.handlers.whatsapp.render import TEXT_LIMIT, Renderer
from bot.handlers.whatsapp.wire import Incoming
from qr.links import whatsapp_text
from shop import tables as t
from shop.deeplink import Target, TargetKind
from shop.models import Channel, OrderStatus
from shop.outbox import Kind
from tests.cli_support import chatshop
from tests.conftest import FakeClock, row
from tests.fake_twilio import FakeTwilio, Sent, customer_form, fake_twilio, new_sid, signature
from tests.whatsapp_support import NUMBER, WhatsApp, whatsapp_shop

ADDRESS = f"whatsapp:+{NUMBER}"


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with fake_twilio() as fake:
        yield fake


@pytest.fixture
async def wa(sqlite_url: str, clock: FakeClock, twilio: FakeTwilio) -> AsyncIterator[WhatsApp]:
    async with whatsapp_shop(sqlite_url, clock, twilio) as running:
        yield running


def option(message: Sent, words: str) -> str:
    """Return the number the message shows before the option whose label holds `words`."""
    for line in message.words.splitlines():
        for number, label in re.findall(r"(\d+)\. ([^\d]+?)(?=\s{3}\d+\. |$)", line):
            if words in label:
                return str(number)
    raise AssertionError(f"no option {words!r} in {message.words!r}")


async def count(wa: WhatsApp, table: str) -> int:
    def work(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(getattr(t, table))).scalar_one())

    return await wa.shop.db.read(work)


async def poster_text(wa: WhatsApp, sku: str, source: str, locale: str = "en") -> str:
    """The prefilled message of a poster's wa.me link for a product."""
    code = await wa.shop.attribution.code_for(Target.product(sku), source)
    return whatsapp_text(TargetKind.PRODUCT, code, locale)


async def to_payment_link(wa: WhatsApp, *, locale: str = "en") -> tuple[list[Sent], int]:
    """Go from a poster to the payment link; return every reply and the messages the customer sent."""
    sku = "APL-IP16P-128-BTI"
    said = 0
    replies: list[Sent] = []

    async def say(text: str) -> list[Sent]:
        nonlocal said
        said += 1
        answer = await wa.say(text, name="Anna Smith")
        replies.extend(answer)
        return answer

    [card] = await say(await poster_text(wa, sku, "window-poster", locale))
    buy = "Купить сейчас" if locale == "ru" else "Buy now"
    answer = await say(option(card, buy))
    pickup = "Самовывоз" if locale == "ru" else "Pickup"
    while not any("/pay/" in message.body for message in answer):
        assert said < 6, [m.words for m in replies]
        last = answer[-1]
        choice = pickup if pickup in last.words else ("✅" if "✅" in last.words else None)
        assert choice is not None, last.words
        answer = await say(option(last, choice))
    return replies, said


async def test_a_poster_opens_the_product_and_is_credited_as_the_source(wa: WhatsApp) -> None:
    [card] = await wa.say(await poster_text(wa, "APL-IP16P-128-BTI", "window-poster"))

    assert card.words.startswith("Apple iPhone 16 Pro 128GB Black Titanium")
    customer = await wa.shop.customers.find(Channel.WHATSAPP, NUMBER)
    assert customer is not None
    assert customer.first_source == "window-poster"
    assert customer.display_name == "Ann"


async def test_from_a_poster_to_a_payment_link_in_four_messages_without_being_asked_the_number(
    wa: WhatsApp,
) -> None:
    replies, said = await to_payment_link(wa)

    assert said <= 4
    words = "\n".join(message.words for message in replies)
    assert "phone number" not in words.lower()
    assert "your name" not in words.lower()
    [order] = await wa.shop.orders.list_orders(limit=1)
    assert order.contact_phone == f"+{NUMBER}"
    assert order.contact_name == "Anna Smith"
    assert order.source == "window-poster"


async def test_paying_the_link_is_confirmed_on_whatsapp_and_twilio_reports_reach_the_message(
    wa: WhatsApp, twilio: FakeTwilio
) -> None:
    replies, _ = await to_payment_link(wa)
    link = next(m.body for m in replies if "/pay/" in m.body)
    token = re.search(r"/pay/([\w-]+)", link)
    assert token is not None
    await wa.shop.payments.pages.sandbox_act(token[1], "pay")

    [confirmation] = await wa.pushed()

    assert confirmation.to == ADDRESS
    assert "paid" in confirmation.body.lower()
    assert "•" not in confirmation.body  # no options it could not be answered by
    assert confirmation.status_callback == wa.url
    assert await twilio.report(confirmation, "delivered") == 200
    assert await twilio.report(confirmation, "read") == 200
    assert await twilio.report(confirmation, "delivered") == 200  # late news changes nothing

    def refs(conn: Connection) -> list[tuple[str, str]]:
        r = t.outbound_ref.c
        return [(x.ref, x.status) for x in conn.execute(select(r.ref, r.status))]

    assert await wa.shop.db.read(refs) == [(confirmation.sid, "read")]


async def test_a_message_twilio_delivers_twice_is_handled_once(wa: WhatsApp) -> None:
    form = customer_form(NUMBER, "hi", sid=new_sid())

    assert await wa.post(form) == 200
    assert await wa.post(form) == 200
    await wa.channel.drained()

    assert len(wa.twilio.sent) == 1
    assert await count(wa, "inbound_message") == 1


@pytest.mark.parametrize(
    "how",
    [
        {"token": "not-the-auth-token"},
        {"sign_as": "https://elsewhere.example/whatsapp/webhook"},
        {"headers": {"X-Twilio-Webhooks-Signature-Settings": "key=k1,algorithm=HMAC_SHA256"}},
    ],
    ids=["wrong-token", "another-url", "sha256-without-a-key"],
)
async def test_requests_twilio_did_not_sign_are_refused_and_change_nothing(
    wa: WhatsApp, how: dict[str, object]
) -> None:
    status = await wa.post(customer_form(NUMBER, "hi"), **how)

    assert status == 403
    assert await wa.shop.customers.find(Channel.WHATSAPP, NUMBER) is None
    assert await count(wa, "inbound_message") == 0
    assert wa.twilio.sent == []


async def test_a_tampered_or_unsigned_request_is_refused(wa: WhatsApp) -> None:
    form = customer_form(NUMBER, "hi")
    signed = signature(wa.url, form)
    tampered = {**form, "Body": "iphone"}
    async with aiohttp.ClientSession() as http:
        for data, headers in ((tampered, {"X-Twilio-Signature": signed}), (form, {})):
            async with http.post(wa.url, data=data, headers=headers) as answer:
                assert answer.status == 403
    assert await count(wa, "inbound_message") == 0
    assert wa.twilio.sent == []


async def test_a_shared_key_signature_is_taken_when_its_secret_is_set(
    sqlite_url: str, clock: FakeClock, twilio: FakeTwilio
) -> None:
    key = {"webhook_key": "whk-secret"}
    async with whatsapp_shop(sqlite_url, clock, twilio, whatsapp=key) as wa:
        header = {"X-Twilio-Webhooks-Signature-Settings": "key=k1,algorithm=HMAC_SHA256"}
        form = customer_form(NUMBER, "hi")
        sha256 = RequestValidator("whk-secret").compute_signature(wa.url, form, "HMAC_SHA256")
        async with (
            aiohttp.ClientSession() as http,
            http.post(wa.url, data=form, headers={**header, "X-Twilio-Signature": sha256}) as ok,
        ):
            assert ok.status == 200
        await wa.channel.drained()
        assert len(twilio.sent) == 1
        # The Auth Token's signature does not stand in for the shared key's.
        assert await wa.post(customer_form(NUMBER, "hi"), headers=header) == 403


async def test_a_message_whose_process_died_is_handled_once_its_lease_runs_out(
    wa: WhatsApp, clock: FakeClock
) -> None:
    # What a process that answered Twilio and died before handling leaves behind.
    kept = await wa.shop.inbox.receive(
        Channel.WHATSAPP, new_sid(), NUMBER, _incoming("hi"), lease=HANDLING
    )
    assert kept is not None

    assert await wa.channel.recover() == 0  # another process may still be at it
    clock.advance(seconds=HANDLING.total_seconds() + 1)
    assert await wa.channel.recover() == 1
    await wa.channel.drained()
    assert await wa.channel.recover() == 0

    [menu] = wa.twilio.sent
    assert "Welcome" in menu.words


def _incoming(body: str) -> dict[str, object]:
    return Incoming(sid=new_sid(), sender=NUMBER, profile_name="Ann", body=body).to_json()


async def test_numbers_mean_what_the_customer_saw_and_others_are_answered_as_such(
    wa: WhatsApp,
) -> None:
    [found] = await wa.say("iphnoe 16 pro")  # a typo
    first = found.words.splitlines()[1]
    assert first.startswith("1. Apple iPhone 16 Pro")

    [card] = await wa.say("1")
    assert card.words.startswith(first.removeprefix("1. ").split(" · ")[0].rstrip("…"))
    [nothing] = await wa.say("42")
    assert "There is no option 42" in nothing.words


async def test_a_product_photo_goes_as_media_with_its_card_as_the_caption(
    sqlite_url: str, clock: FakeClock, twilio: FakeTwilio
) -> None:
    rows = [row("PIC", title="Pictured thing", image_url="https://cdn.example/pic.jpg")]
    async with whatsapp_shop(sqlite_url, clock, twilio, rows=rows) as wa:
        [card] = await wa.say(await poster_text(wa, "PIC", "shelf"))

    assert card.media == ["https://cdn.example/pic.jpg"]
    assert card.body.startswith("Pictured thing")
    assert "Add to cart" in card.body


async def test_a_gallery_pages_on_the_card_and_sends_every_photo_as_a_media_message(
    sqlite_url: str, clock: FakeClock, twilio: FakeTwilio
) -> None:
    photos = tuple(f"https://cdn.example/pic-{n}.jpg" for n in range(1, 4))
    rows = [row("PIC", title="Pictured thing", image_url=photos[0], image_urls=photos)]
    async with whatsapp_shop(sqlite_url, clock, twilio, rows=rows) as wa:
        [card] = await wa.say(await poster_text(wa, "PIC", "shelf"))
        assert card.media == [photos[0]]
        assert "(1/3)" in card.body
        [swiped] = await wa.say(option(card, "›"))
        everything = re.search(r"(\d+)\. 🖼 All photos \(3\)", swiped.body)
        assert everything is not None, swiped.body
        album = await wa.say(everything[1])

    assert swiped.media == [photos[1]]
    assert "(2/3)" in swiped.body
    assert [message.media for message in album] == [[url] for url in photos]
    assert [message.body for message in album] == ["Pictured thing", "", ""]


async def test_twilio_asking_to_slow_down_delays_a_reply_and_loses_none(
    wa: WhatsApp, twilio: FakeTwilio
) -> None:
    twilio.too_many = 2

    [menu] = await wa.say("hi")

    assert "Welcome" in menu.words
    assert twilio.requests == 3


async def test_outside_the_24_hour_window_a_status_change_goes_as_its_template_or_fails_named(
    sqlite_url: str, clock: FakeClock, twilio: FakeTwilio
) -> None:
    templates = {"order_status": "HX0000000000000000000000000000status"}
    async with whatsapp_shop(sqlite_url, clock, twilio, whatsapp={"templates": templates}) as wa:
        await to_payment_link(wa)
        [order] = await wa.shop.orders.list_orders(limit=1)
        await wa.shop.orders.confirm_payment(order.id)
        await wa.shop.orders.transition(order.id, OrderStatus.PACKED)
        paid, packed = await wa.pushed()
        assert paid.content_sid is None  # within the window: free text
        assert packed.content_sid is None

        clock.advance(hours=25)
        await wa.shop.orders.transition(
            order.id, OrderStatus.SHIPPED, carrier="DHL", tracking_number="JD0142"
        )
        [shipped] = await wa.pushed()
        assert shipped.content_sid == templates["order_status"]
        assert "JD0142" in shipped.variables["1"]

        # No template for an answer of the staff's: recorded as not sent, with the reason.
        customer = await wa.shop.customers.find(Channel.WHATSAPP, NUMBER)
        assert customer is not None
        ticket = await wa.shop.tickets.open(
            customer.id, channel="whatsapp", name="Ann", locale="en", text="Where is it?"
        )
        await wa.shop.tickets.answer(ticket.id, by="staff:tg:1", text="On its way!")
        assert await wa.pushed() == []

        def failed(conn: Connection) -> list[tuple[str, str]]:
            o = t.outbound_message.c
            rows = conn.execute(select(o.kind, o.error).where(o.status == "failed"))
            return [(x.kind, x.error) for x in rows]

        [(kind, error)] = await wa.shop.db.read(failed)
        assert kind == Kind.STAFF_ANSWER
        assert error.startswith("63016")


async def test_a_staff_answer_within_the_window_reaches_the_whatsapp_customer(
    wa: WhatsApp,
) -> None:
    await wa.say("hi")
    customer = await wa.shop.customers.find(Channel.WHATSAPP, NUMBER)
    assert customer is not None
    ticket = await wa.shop.tickets.open(
        customer.id, channel="whatsapp", name="Ann", locale="en", text="Is it waterproof?"
    )
    await wa.shop.tickets.answer(ticket.id, by="staff:tg:1", text="Yes, to 6 metres.")

    [answer] = await wa.pushed()

    assert answer.to == ADDRESS
    assert "Yes, to 6 metres." in answer.body


async def test_a_failed_delivery_twilio_reports_is_recorded_with_its_reason(
    wa: WhatsApp, twilio: FakeTwilio
) -> None:
    await to_payment_link(wa)
    [order] = await wa.shop.orders.list_orders(limit=1)
    await wa.shop.orders.confirm_payment(order.id)
    [paid] = await wa.pushed()

    assert await twilio.report(paid, "undelivered", error=63024) == 200

    def fate(conn: Connection) -> tuple[str, str]:
        o = t.outbound_message.c
        found = conn.execute(select(o.status, o.error).where(o.kind == Kind.ORDER_STATUS)).one()
        return found.status, found.error

    status, error = await wa.shop.db.read(fate)
    assert status == "failed"
    assert error.startswith("63024")


async def test_a_photo_without_words_is_answered_with_what_the_shop_can_read(
    wa: WhatsApp,
) -> None:
    fields = {"NumMedia": "1", "MediaContentType0": "image/jpeg", "MediaUrl0": "https://x/y"}

    [answer] = await wa.say("", **fields)

    assert "only read text" in answer.words


async def test_a_customer_who_writes_in_russian_is_answered_in_russian_from_then_on(
    wa: WhatsApp,
) -> None:
    [menu] = await wa.say("Привет")
    assert "Каталог" in menu.words

    [catalog] = await wa.say(option(menu, "Каталог"))  # a number tells no language

    assert "Выберите категорию" in catalog.words


async def test_configured_quick_replies_show_options_as_buttons_that_answer_as_numbers(
    sqlite_url: str, clock: FakeClock, twilio: FakeTwilio
) -> None:
    pickers = {"list_pickers": {6: "HX" + "6" * 32}}
    async with whatsapp_shop(sqlite_url, clock, twilio, whatsapp=pickers) as wa:
        [menu] = await wa.say("hi")
        assert menu.content_sid == "HX" + "6" * 32
        assert menu.variables["1"].startswith("Hello, Ann!")
        titles = list(menu.variables.values())[1:]
        assert len(titles) == 6
        assert all(len(title) <= 24 for title in titles)
        place = next(n for n, title in enumerate(titles, start=1) if "Search" in title)

        [asked] = await wa.say("", ListId=str(place), ListTitle=titles[place - 1])

    assert "What are you looking for?" in asked.words


def test_a_text_over_twilios_limit_is_split_between_lines_never_mid_word() -> None:
    lines = [f"Line {n}:" + " word" * 30 for n in range(40)]

    parts = Renderer().render([Text("\n".join(lines), [[Button("OK", "menu")]])])

    assert len(parts) > 1
    assert all(len(part.body) <= TEXT_LIMIT for part in parts)
    assert "\n".join(part.body for part in parts) == "\n".join([*lines, "1. OK"]).strip()


async def test_a_business_scoped_id_without_a_number_is_asked_for_the_phone(
    wa: WhatsApp,
) -> None:
    scoped = "US.13491208655302741918"  # WhatsApp's user id where it gives no number
    form = customer_form("", await poster_text(wa, "APL-IP16P-128-BTI", "window-poster"))
    form.pop("WaId")
    form["From"] = f"whatsapp:{scoped}"
    assert await wa.post(form) == 200
    await wa.channel.drained()
    [card] = wa.twilio.sent
    assert card.to == f"whatsapp:{scoped}"

    form = customer_form("", option(card, "Buy now"))
    form.pop("WaId")
    form["From"] = f"whatsapp:{scoped}"
    await wa.post(form)
    await wa.channel.drained()

    assert "phone number" in wa.twilio.sent[-1].words


async def test_deliveries_of_one_message_racing_each_other_are_handled_once(
    database_url: str, clock: FakeClock, twilio: FakeTwilio
) -> None:
    form = customer_form(NUMBER, "hi", sid=new_sid())
    async with whatsapp_shop(database_url, clock, twilio) as wa, aiohttp.ClientSession() as http:
        statuses = await asyncio.gather(*(wa.post(form, session=http) for _ in range(12)))
        await wa.channel.drained()

        assert statuses == [200] * 12
        assert len(twilio.sent) == 1
        assert await count(wa, "inbound_message") == 1


async def test_news_that_could_not_go_out_is_shown_to_staff_with_the_order(
    tmp_path: Path, sqlite_url: str, clock: FakeClock, twilio: FakeTwilio
) -> None:
    async with whatsapp_shop(sqlite_url, clock, twilio) as wa:
        await to_payment_link(wa)
        [order] = await wa.shop.orders.list_orders(limit=1)
        await wa.shop.orders.confirm_payment(order.id)
        await wa.pushed()
        clock.advance(hours=25)  # the customer has been silent since: no template is set
        await wa.shop.orders.transition(order.id, OrderStatus.PACKED)
        await wa.pushed()

    shown = chatshop(tmp_path, "orders", "show", str(order.id))

    assert shown.returncode == 0, shown.stderr
    told = shown.stdout.split("Messages to the customer:")[1]
    paid, packed = told.strip().splitlines()
    assert "paid" in paid
    assert "sent" in paid
    assert "packed" in packed
    assert "failed: 63016" in packed


async def test_a_message_another_process_took_up_is_left_to_it(
    wa: WhatsApp, clock: FakeClock
) -> None:
    mine = await wa.shop.inbox.receive(
        Channel.WHATSAPP, new_sid(), NUMBER, _incoming("hi"), lease=HANDLING
    )
    assert mine is not None
    clock.advance(seconds=HANDLING.total_seconds() + 1)  # this process is slow to begin it
    [theirs] = await wa.shop.inbox.lapsed(Channel.WHATSAPP, limit=10, lease=HANDLING)

    assert not await wa.shop.inbox.renew(mine, lease=HANDLING)
    assert await wa.shop.inbox.renew(theirs, lease=HANDLING)


async def test_a_photo_opens_the_24_hour_window_like_any_message(
    wa: WhatsApp, clock: FakeClock
) -> None:
    await wa.say("hi")
    clock.advance(hours=30)
    await wa.say("", NumMedia="1", MediaContentType0="image/jpeg", MediaUrl0="https://x/y")
    customer = await wa.shop.customers.find(Channel.WHATSAPP, NUMBER)
    assert customer is not None
    ticket = await wa.shop.tickets.open(
        customer.id, channel="whatsapp", name="Ann", locale="en", text="Photo of a scratch"
    )
    await wa.shop.tickets.answer(ticket.id, by="staff:tg:1", text="We'll replace it.")

    [answer] = await wa.pushed()

    assert answer.content_sid is None
    assert "We'll replace it." in answer.body


async def test_new_details_on_whatsapp_ask_for_the_name_and_keep_the_number(
    wa: WhatsApp,
) -> None:
    await to_payment_link(wa)  # the first order leaves details to offer again
    [card] = await wa.say(await poster_text(wa, "APL-IP16P-128-BTI", "window-poster"))
    [same] = await wa.say(option(card, "Buy now"))
    [name] = await wa.say(option(same, "new details"))
    assert "your name" in name.words.lower()

    [delivery] = await wa.say("Anna Karenina")
    await wa.say(option(delivery, "Pickup"))

    [order] = await wa.shop.orders.list_orders(limit=1)
    assert order.id == 2
    assert order.contact_name == "Anna Karenina"
    assert order.contact_phone == f"+{NUMBER}"


async def test_a_message_begun_late_is_held_for_its_handling_anew(
    wa: WhatsApp, clock: FakeClock
) -> None:
    kept = await wa.shop.inbox.receive(
        Channel.WHATSAPP, new_sid(), NUMBER, _incoming("hi"), lease=HANDLING
    )
    assert kept is not None
    clock.advance(seconds=HANDLING.total_seconds() * 0.6)  # waited behind earlier messages

    assert await wa.shop.inbox.renew(kept, lease=HANDLING)
    clock.advance(seconds=HANDLING.total_seconds() * 0.6)  # past the first lease, within the new
    assert await wa.shop.inbox.lapsed(Channel.WHATSAPP, limit=10, lease=HANDLING) == []
