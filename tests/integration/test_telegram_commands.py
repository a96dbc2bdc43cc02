"""Commands, typed text and shared contacts through aiogram's Dispatcher, on the real flows.

Each test feeds real Update objects to the dispatcher `build_telegram` composed and
reads what the bot put on the wire (a recording session encodes every request
exactly as aiogram's HTTP session would).
"""

from __future__ import annotations

import pytest

from shop.deeplink import Target
from shop.models import Channel
from tests.conftest import FakeClock
from tests.telegram_support import (
    BOT_USERNAME,
    USER_ID,
    Harness,
    Sent,
    last_message,
    message_json,
    telegram_shop,
)


def actions(sent: Sent) -> list[str]:
    return [str(b["callback_data"]).split("|")[1] for b in sent.buttons if "callback_data" in b]


async def test_start_shows_the_menu_with_signed_buttons_and_a_search_button(tg: Harness) -> None:
    menu = await tg.say("/start")

    assert menu.method == "sendMessage"
    assert menu["chat_id"] == str(USER_ID)
    assert "Welcome" in menu["text"]
    assert {"cats", "cart", "orders", "lang", "help"} <= set(actions(menu))
    for button in menu.buttons:
        if "callback_data" in button:
            data = str(button["callback_data"])
            assert len(data.encode()) <= 64
            assert data.startswith("a|")
            assert len(data.rsplit("|", 1)[1]) == 8  # the signature
    # The "Search" button opens inline mode in this very chat.
    assert any(b.get("switch_inline_query_current_chat") == "" for b in menu.buttons)


async def test_a_posters_deep_link_opens_its_product(tg: Harness) -> None:
    code = await tg.shop.attribution.code_for(Target.product("APL-IP16P-128-BTI"), "poster-7")

    card = await tg.say(f"/start {code}")

    assert "iPhone 16 Pro 128GB" in card.words
    assert {"add", "buy"} <= set(actions(card))
    customer = await tg.shop.customers.find(Channel.TELEGRAM, str(USER_ID))
    assert customer is not None
    assert customer.first_source == "poster-7"


async def test_a_damaged_deep_link_opens_the_menu_with_a_friendly_word(tg: Harness) -> None:
    menu = await tg.say("/start garbage")
    assert "couldn't read that code" in menu["text"]
    assert "cats" in actions(menu)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/search", "What are you looking for?"),
        ("/search kofe", "Found for «kofe»"),
        ("/cart", "Your cart is empty."),
        ("/orders", "You have no orders yet."),
        ("/language", "Choose your language"),
        ("/menu", "What would you like to do?"),
        ("/catalog", "Choose a category"),
        ("/nosuchthing", "I don't know that command"),
        (f"/cart@{BOT_USERNAME}", "Your cart is empty."),
    ],
)
async def test_each_command_reaches_its_flow(tg: Harness, command: str, expected: str) -> None:
    answer = await tg.say(command)
    assert expected in answer["text"]


async def test_help_is_answered(tg: Harness) -> None:
    answer = await tg.say("/help")
    assert answer.method == "sendMessage"
    assert answer["text"]


async def test_typed_text_is_a_search_that_forgives_typos(tg: Harness) -> None:
    found = await tg.say("iphnoe")
    titles = [
        b["text"] for b in found.buttons if str(b.get("callback_data", "")).startswith("a|prod|")
    ]
    assert titles
    assert all("iPhone" in title for title in titles)


async def test_russian_customers_are_answered_in_russian(tg: Harness) -> None:
    menu = await tg.say("/start", language="ru")
    assert "Добро пожаловать" in menu["text"] or "Здравствуйте" in menu["text"]


async def test_messages_in_groups_are_left_alone(tg: Harness) -> None:
    group = message_json(text="/start", chat={"id": -100, "type": "group", "title": "Friends"})
    sent = await tg.feed(message=group)
    assert sent == []


async def test_the_commands_are_listed_in_both_languages(tg: Harness) -> None:
    await tg.channel.start()

    listed = tg.session.of("setMyCommands")
    assert len(listed) == 2
    by_language = {s.get("language_code"): s["commands"] for s in listed}
    assert [c["command"] for c in by_language[None]] == [
        "start",
        "search",
        "cart",
        "orders",
        "language",
        "help",
        "stop",
    ]
    assert by_language[None][2]["description"] == "Your cart"
    assert by_language["ru"][2]["description"] == "Корзина"
    assert tg.session.last("deleteWebhook")  # polling: no webhook stands in the way


async def test_webhook_mode_sets_the_webhook_with_its_secret(
    sqlite_url: str, clock: FakeClock
) -> None:
    async with telegram_shop(sqlite_url, clock) as tg:
        tg.channel.webhook_url = "https://shop.example/telegram/webhook"
        await tg.channel.start()
        hook = tg.session.last("setWebhook")
        assert hook["url"] == "https://shop.example/telegram/webhook"
        assert hook["secret_token"] == tg.channel.webhook_secret.get_secret_value()
        assert {"message", "callback_query", "inline_query", "pre_checkout_query"} <= set(
            hook["allowed_updates"]
        )


async def checkout_until_the_phone_question(tg: Harness) -> Sent:
    """Put a product in the cart and check out with new details: the bot asks for a phone."""
    card = await tg.say("/start p-APL-IP16P-128-BTI")
    await tg.press(card, "add")
    cart = await tg.say("/cart")
    asked = last_message(await tg.press(cart, "co"))
    if "cosame" in actions(asked):  # details remembered from an earlier order
        asked = last_message(await tg.press(asked, "conew"))
    return asked


async def test_the_phone_is_asked_with_telegrams_share_button_and_taken(tg: Harness) -> None:
    asked = await checkout_until_the_phone_question(tg)
    keyboard = asked["reply_markup"]["keyboard"]
    assert keyboard[0][0]["request_contact"] is True
    assert asked["reply_markup"]["one_time_keyboard"] is True

    shared = message_json(
        contact={"phone_number": "+15550001234", "first_name": "Ann", "user_id": USER_ID}
    )
    answer = last_message(await tg.feed(message=shared))

    assert "How should we deliver your order?" in answer["text"]  # the name came with it


async def test_someone_elses_contact_card_is_not_taken_for_the_customers(tg: Harness) -> None:
    asked = await checkout_until_the_phone_question(tg)
    assert "request_contact" in str(asked["reply_markup"])

    forwarded = message_json(
        contact={"phone_number": "+15559999999", "first_name": "Bob", "user_id": 777}
    )
    answer = last_message(await tg.feed(message=forwarded))

    assert answer["text"] == "Please share your own number with the button below."
    # The question stands: the customer's own number is still taken afterwards.
    own = message_json(
        contact={"phone_number": "+15550001234", "first_name": "Ann", "user_id": USER_ID}
    )
    assert "How should we deliver" in last_message(await tg.feed(message=own))["text"]
