"""Button presses: navigation edits in place, and a stale, forged or foreign button reveals nothing.

Also Telegram's flood control: a reply refused with retry_after is sent again after
the wait it asks for, however often, and one that could not reach Telegram a few times.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.flows import actions
from bot.flows.types import Button
from bot.handlers.telegram.callbacks import ButtonSigner
from shop.models import Channel
from tests.conftest import FakeClock, our_log_lines, row
from tests.telegram_support import (
    USER_ID,
    Harness,
    Sent,
    last_message,
    message_json,
    pressing,
    telegram_shop,
    update,
)

STALE = "This button no longer works. Send /start to open the menu."
PICTURE = "https://img.example/camera.jpg"


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    camera = row("CAM-1", title="Instant camera", image_url=PICTURE, category="Cameras")
    async with telegram_shop(sqlite_url, clock, rows=[camera]) as harness:
        yield harness


def methods(sent: list[Sent]) -> list[str]:
    return [s.method for s in sent]


async def test_navigation_edits_the_pressed_message_instead_of_sending_more(tg: Harness) -> None:
    menu = await tg.say("/start")
    message_id = menu.answer["result"]["message_id"]

    sent = await tg.press(menu, "cats")

    assert methods(sent) == ["answerCallbackQuery", "editMessageText"]
    assert sent[0].get("text") is None  # the spinner stops; no toast
    edited = sent[1]
    assert edited["message_id"] == str(message_id)
    assert "Choose a category" in edited["text"]


async def test_presses_faster_than_the_edits_go_out_are_answered_at_once_and_only_the_latest_shows(
    tg: Harness,
) -> None:
    menu = await tg.say("/start")
    slow = tg.session.hold("editMessageText")  # the first edit takes its time to Telegram
    before = len(tg.session.sent)

    async def press(action: str) -> None:
        event = update(tg.bot, callback_query=pressing(menu, action))
        await tg.channel.dispatcher.feed_update(tg.bot, event)

    await press("cats")
    await slow.reached.wait()
    await press("cart")  # while the catalog is still on its way
    await press("orders")
    answered = methods(tg.session.sent[before:])
    assert answered == ["answerCallbackQuery"] * 3  # every press at once, none behind the edit

    slow.release()
    await tg.channel.outgoing.drained()
    edits = [s for s in tg.session.sent[before:] if s.method == "editMessageText"]
    assert len(edits) == 2  # the cart, stale before it could go, is skipped
    assert "Choose a category" in edits[0]["text"]
    assert "You have no orders yet." in edits[1]["text"]  # the message shows the latest press
    assert not any("Your cart is empty." in s.words for s in tg.session.sent[before:])


async def test_a_photo_card_changes_its_caption_in_place(tg: Harness) -> None:
    card = await tg.say("/start p-CAM-1")
    assert card.method == "sendPhoto"
    assert card["photo"] == PICTURE

    plus = next(b for b in card.buttons if b["text"] == "+")
    sent = await tg.press(card, "prod", data=plus["callback_data"])

    assert methods(sent) == ["answerCallbackQuery", "editMessageCaption"]
    assert "2" in [b["text"] for b in sent[1].buttons]  # the quantity


async def test_a_photo_the_bot_does_not_remember_gets_its_media_replaced(tg: Harness) -> None:
    card = await tg.say("/start p-CAM-1")
    plus = next(b for b in card.buttons if b["text"] == "+")
    # The same card, as it would be after a restart: the bot no longer knows its picture.
    old = Sent(
        card.method,
        card.fields,
        card.request,
        {"ok": True, "result": message_json(message_id=555, photo=True, from_bot=True)},
    )

    sent = await tg.press(old, "prod", data=plus["callback_data"])

    assert methods(sent) == ["answerCallbackQuery", "editMessageMedia"]
    media = sent[1]["media"]
    assert (media["type"], media["media"]) == ("photo", PICTURE)


async def test_text_and_photos_never_turn_into_each_other_so_a_new_message_is_sent(
    tg: Harness,
) -> None:
    found = await tg.say("instant camera")
    product = next(b for b in found.buttons if b["text"].startswith("Instant camera"))

    opened = await tg.press(found, "prod", data=product["callback_data"])
    assert methods(opened) == ["answerCallbackQuery", "sendPhoto"]  # text cannot become a photo

    back = await tg.press(opened[-1], "ls")  # Back to the results it was found among
    assert methods(back) == ["answerCallbackQuery", "sendMessage"]  # a photo cannot become text
    assert "Found for «instant camera»" in back[-1].words


async def test_an_edit_that_changes_nothing_sends_nothing_more(tg: Harness) -> None:
    menu = await tg.say("/start")
    tg.session.add_result_for(
        "editMessageText",
        ok=False,
        error_code=400,
        description="Bad Request: message is not modified: specified new message content "
        "and reply markup are exactly the same as a current content",
    )

    sent = await tg.press(menu, "cats")

    assert methods(sent) == ["answerCallbackQuery", "editMessageText"]


async def test_a_message_that_cannot_be_edited_gets_a_fresh_one(tg: Harness) -> None:
    menu = await tg.say("/start")
    tg.session.add_result_for(
        "editMessageText",
        ok=False,
        error_code=400,
        description="Bad Request: message can't be edited",
    )

    sent = await tg.press(menu, "cats")

    assert methods(sent) == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    assert "Choose a category" in sent[-1]["text"]


async def refused(tg: Harness, menu: Sent, data: str, *, user: int = USER_ID) -> None:
    """Press made-up data; assert only a polite alert came back and nothing changed."""
    store_before = await tg.shop.customers.find(Channel.TELEGRAM, str(user))
    sent = await tg.press(menu, "", data=data, user=user)
    assert methods(sent) == ["answerCallbackQuery"]
    assert sent[0]["text"] == STALE
    assert sent[0]["show_alert"] == "true"
    assert await tg.shop.customers.find(Channel.TELEGRAM, str(user)) == store_before


async def test_forged_stale_and_foreign_buttons_get_a_polite_word_and_nothing_else(
    tg: Harness,
) -> None:
    menu = await tg.say("/start")
    cart = menu.button("cart")["callback_data"]
    action, arg, signature = cart.split("|")[1:]

    # Forged: another action or argument under a signature made for something else.
    await refused(tg, menu, f"a|orders|{arg}|{signature}")
    await refused(tg, menu, f"a|{action}|1|{signature}")
    await refused(tg, menu, f"a|{action}|{arg}|AAAAAAAA")
    # Stale: a form of callback data this bot no longer makes, or none at all.
    await refused(tg, menu, "cart")
    await refused(tg, menu, "a|cart")
    await refused(tg, menu, "x|cart||" + signature)
    await refused(tg, menu, "")


@pytest.mark.parametrize("signature", ["ключключ", "AAAAAAA²", "€"])
async def test_a_forged_signature_of_non_ascii_characters_gets_the_same_polite_word(
    tg: Harness, caplog: pytest.LogCaptureFixture, signature: str
) -> None:
    menu = await tg.say("/start")
    action, arg, _ = menu.button("cart")["callback_data"].split("|")[1:]

    await refused(tg, menu, f"a|{action}|{arg}|{signature}")

    assert our_log_lines(caplog) == []


async def test_another_customers_button_is_refused_and_reveals_nothing(tg: Harness) -> None:
    menu = await tg.say("/start")
    # The button of Ann's order 1, as the bot made it for her; Bob (2002) presses a copy.
    anns = tg.channel.renderer.keyboard(USER_ID, [[Button("Order #1", "order", "1")]])
    assert anns is not None
    data = str(anns.inline_keyboard[0][0].callback_data)

    await refused(tg, menu, data, user=2002)


async def test_a_genuine_but_outdated_button_is_answered_by_the_flows(tg: Harness) -> None:
    menu = await tg.say("/start")
    # A checkout step's button, signed for this customer, pressed when no checkout runs.
    made = tg.channel.renderer.keyboard(USER_ID, [[Button("Yes", "cosame")]])
    assert made is not None

    sent = await tg.press(menu, "", data=str(made.inline_keyboard[0][0].callback_data))

    assert methods(sent)[0] == "answerCallbackQuery"
    assert [s.method for s in sent[1:]] in (["sendMessage"], ["editMessageText"])


def test_every_button_the_flows_make_fits_in_64_bytes() -> None:
    signer = ButtonSigner(b"k" * 32)
    biggest_user = 2**52
    longest = "я" * (actions.MAX_ARG_BYTES // 2)  # 48 bytes of two-byte letters
    assert len(signer.pack(biggest_user, actions.SEARCH, longest).encode()) <= 64
    for name in dir(actions):
        value = getattr(actions, name)
        if name.isupper() and isinstance(value, str):
            packed = signer.pack(biggest_user, value, "99999999:99:99")
            assert len(packed.encode()) <= 64, value
            assert signer.unpack(biggest_user, packed) is not None
            assert signer.unpack(biggest_user + 1, packed) is None


async def test_flood_control_waits_as_asked_then_sends(tg: Harness) -> None:
    tg.session.clear()
    tg.session.add_result_for(
        "sendMessage",
        ok=False,
        error_code=429,
        description="Too Many Requests: retry after 3",
        retry_after=3,
    )

    menu = await tg.say("/start")

    assert tg.waits == [3]
    assert methods(tg.session.sent) == ["sendMessage", "sendMessage"]
    assert "Welcome" in menu["text"]


async def test_a_reply_under_flood_control_is_delayed_as_long_as_asked_never_dropped(
    tg: Harness,
) -> None:
    for _ in range(3):
        tg.session.add_result_for("sendMessage", ok=False, error_code=429, retry_after=2)
    tg.session.add_result_for("sendMessage", ok=False, error_code=429, retry_after=3600)
    sent = await tg.feed(message=message_json(text="/start"))

    assert tg.waits == [2, 2, 2, 3600]  # even an hour's ban: the customer gets the answer
    assert methods(sent) == ["sendMessage"] * 5
    assert "Welcome" in last_message(sent)["text"]
    assert "try again" not in " ".join(s.words for s in sent)


async def test_a_reply_that_could_not_reach_telegram_goes_once_it_can(tg: Harness) -> None:
    for _ in range(2):  # the proxy before the Bot API is down for a moment
        tg.session.add_raw_result_for("sendMessage", "<html>502 Bad Gateway</html>")
    sent = await tg.feed(message=message_json(text="/start"))

    assert tg.waits == [0.5, 1.0]
    assert "Welcome" in last_message(sent)["text"]
