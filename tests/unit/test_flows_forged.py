"""Forged, stale and garbage input: a polite answer, no change, never a stack trace."""

from __future__ import annotations

import random
from typing import get_args

import pytest

from bot.flows import actions as a
from bot.flows.types import Command, Event, Message, Press, Reply, SharedContact
from bot.services import Shop
from bot.stores import DatabaseStore
from shop.models import Channel
from tests.flow_support import chat, engine

ACTIONS = [value for name, value in vars(a).items() if name.isupper() and isinstance(value, str)]


async def test_an_unknown_button_gets_a_polite_word_and_the_menu(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.send(Press("self-destruct", "now"))
    assert ann.text == "Sorry, that button is out of date. Here is the menu."
    assert any("Menu" in label for label in ann.labels)


@pytest.mark.parametrize(
    ("action", "arg"),
    [
        (a.PRODUCT, "x"),
        (a.PRODUCT, "1:2:3:4"),
        (a.PRODUCT, "-1"),
        (a.PRODUCT, "99999999999999999999"),
        (a.CATEGORY, "424242:1"),
        (a.ADD, "424242:1:1"),
        (a.CART_SET, "1:5"),  # not in the cart
        (a.ORDER, "1"),  # no such order
        (a.SET_LANGUAGE, "klingon"),
        (a.PAY, ""),
    ],
)
async def test_forged_button_arguments_change_nothing(stocked: Shop, action: str, arg: str) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start", "p-TEA-2")
    await ann.tap("Add to cart")
    customer = await ann.customer()
    store = DatabaseStore(stocked.db)
    before = await store.load(customer.id or 0)
    replies = await ann.send(Press(action, arg))
    assert replies
    assert ann.text.startswith("Sorry")
    assert await store.load(customer.id or 0) == before
    await ann.command("cart")
    assert "Black tea × 1" in ann.text


async def test_a_product_taken_off_sale_after_its_card_was_shown(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start", "p-TEA-2")
    add = ann.button("Add to cart").press()
    await stocked.catalog.set_active("TEA-2", False)
    await ann.send(add)
    assert ann.text == "Sorry, that button is out of date. Here is the menu."
    await ann.command("cart")
    assert ann.text == "Your cart is empty."


async def test_a_button_out_of_its_step_is_refused_and_the_question_stays(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start", "p-TEA-2")
    await ann.tap("Add to cart")
    await ann.command("cart")
    await ann.tap("Checkout")
    await ann.send(Press(a.DELIVERY, "teleport"))
    assert ann.text == "Sorry, that button is out of date. Here is the menu."
    await ann.say("+1 555 0100 000")  # still waiting for the phone
    assert ann.text == "And your name, for the order?"


async def test_a_contact_nobody_asked_for_is_thanked_and_ignored(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.share_phone("+15550100", "Ann")
    assert ann.text == "Thank you, but I don't need a phone number right now."
    assert (await ann.customer()).contact_phone is None


async def test_an_unknown_command_opens_the_menu(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("hack")
    assert ann.text.startswith("Sorry, I don't know that command. Here is the menu.")


async def test_a_storm_of_random_input_never_breaks_the_conversation(stocked: Shop) -> None:
    """Whatever arrives, in whatever step, the answer is our own replies, never an error."""
    rng = random.Random(20261126)
    conversations = engine(stocked)
    customers = [
        chat(stocked, conversations, Channel.TELEGRAM, "1"),
        chat(stocked, conversations, Channel.WHATSAPP, "+15550100", language_code="ru"),
    ]
    words = ["", " ", "tea", "чай", "+1 555 0100 000", "Ann", "1 Main St", "🙂" * 50, "x" * 5000]
    args = ["", "0", "1", "2:3", "1:1:1", "999999999", "-5", "a:b", "pickup", "ru", "1:0"]
    for _ in range(400):
        customer = rng.choice(customers)
        pick = rng.random()
        event: Event
        if pick < 0.45:
            event = Press(rng.choice([*ACTIONS, "bogus"]), rng.choice(args))
        elif pick < 0.75:
            event = Message(rng.choice(words))
        elif pick < 0.9:
            event = Command(rng.choice([*a.COMMANDS, "nope"]), rng.choice(words + args))
        else:
            event = SharedContact(rng.choice(["+15550100", "garbage", ""]), rng.choice(words))
        replies = await customer.send(event)
        for reply in replies:
            assert isinstance(reply, get_args(Reply))
        assert "Traceback" not in customer.text
        assert "went wrong on our side" not in customer.text
