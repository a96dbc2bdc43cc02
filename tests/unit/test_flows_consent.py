"""Consent to broadcasts: given by starting a conversation, withdrawn by /stop or a stop word, given back by /start.

On every channel, in the customer's language; withdrawing it ends any question in
progress and leaves the cart and orders as they are; a broadcast queued before
the customer withdrew it is not sent.
"""

from __future__ import annotations

from bot.services import Shop
from shop.models import Channel
from tests.broadcast_support import queue_broadcast
from tests.conftest import FakeClock
from tests.flow_support import Pushed, chat, engine

STOPPED = "Done: you won't get our news and offers any more."
BACK = "You'll get our news and offers again. To stop them, send /stop."


async def test_a_customer_who_starts_may_get_broadcasts_until_they_stop_and_again_after_start(
    stocked: Shop, clock: FakeClock
) -> None:
    conversations = engine(stocked)
    ann = chat(stocked, conversations)
    await ann.command("start")
    started = await ann.customer()
    assert (started.marketing_consent, started.consent_at) == (True, clock.now)
    await ann.tap("Catalog")
    await ann.tap("Tea")
    await ann.tap("Green tea")
    await ann.tap("Add to cart")

    clock.advance(hours=1)
    await ann.command("stop")
    assert ann.text.startswith(STOPPED)
    assert "Your cart and orders stay as they are. To get them again, send /start." in ann.text
    stopped = await ann.customer()
    assert (stopped.marketing_consent, stopped.consent_at) == (False, clock.now)
    await ann.command("cart")
    assert "Green tea" in ann.text  # the cart is as it was

    await ann.say("Stop!")
    assert ann.text.startswith("You are not subscribed to our news and offers.")

    await ann.command("start")
    assert ann.text.startswith(BACK)
    assert "Welcome to the shop" in ann.text
    assert (await ann.customer()).marketing_consent
    await ann.command("start")
    assert BACK not in ann.text  # told once, when it changed


async def test_a_russian_customer_stops_in_their_words_mid_checkout_on_whatsapp_and_is_told_in_russian(
    stocked: Shop,
) -> None:
    conversations = engine(stocked)
    olga = chat(stocked, conversations, Channel.WHATSAPP, "+79990000001", language_code="ru")
    await olga.say("привет")  # her first message: the conversation is hers
    assert (await olga.customer()).marketing_consent
    await olga.say("чай")
    await olga.tap("Зелёный чай")
    await olga.tap("В корзину")
    await olga.command("cart")
    await olga.tap("Оформить")
    assert "По какому номеру с вами связаться?" in olga.text

    await olga.say("ОТПИСАТЬСЯ")  # not taken as her phone number
    assert olga.text.startswith("Готово: больше не будем присылать вам новости и предложения.")
    assert not (await olga.customer()).marketing_consent
    await olga.say("стоп")
    assert olga.text.startswith("Вы не подписаны на наши новости и предложения.")
    await olga.command("cart")
    assert "Зелёный чай" in olga.text

    await olga.command("start")
    assert olga.text.startswith("Вы снова будете получать наши новости и предложения.")
    assert (await olga.customer()).marketing_consent


async def test_stop_typed_in_the_terminal_withdraws_consent(stocked: Shop) -> None:
    conversations = engine(stocked)
    tom = chat(stocked, conversations, Channel.CONSOLE, "console")
    await tom.say("stop")
    assert tom.text.startswith(STOPPED)
    assert not (await tom.customer()).marketing_consent


async def test_a_broadcast_queued_before_the_customer_stopped_is_not_sent_to_them(
    stocked: Shop,
) -> None:
    conversations = engine(stocked)
    pushed = Pushed(stocked, conversations, Channel.TELEGRAM)
    ann = chat(stocked, conversations, user="1001")
    bob = chat(stocked, conversations, user="1002", language_code="ru")
    await ann.command("start")
    await bob.command("start")
    queued = await queue_broadcast(stocked, "Spring sale: 20% off")
    assert queued.total == 2

    await ann.say("stop")

    assert await pushed.texts() == ["Spring sale: 20% off"]
    assert [address for address, _ in pushed.messages] == ["1002"]
    done = await stocked.broadcasts.status(queued.id)
    assert (done.sent, done.failed, done.pending) == (1, 1, 0)
