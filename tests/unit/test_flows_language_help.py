"""Language (the messenger's until the customer picks one) and help (a question to staff and back)."""

from __future__ import annotations

from bot.flows.engine import Who
from bot.services import Shop
from shop.models import Channel
from tests.flow_support import Pushed, StaffInbox, chat, engine


async def test_the_messenger_s_language_is_used_until_the_customer_picks_one(
    stocked: Shop,
) -> None:
    conversations = engine(stocked)
    olga = chat(stocked, conversations, user="2002", language_code="ru-RU")
    await olga.command("start")
    assert "Что вы хотите сделать?" in olga.text
    assert await conversations.locale_of(olga.who) == "ru"
    await olga.tap("Язык")
    assert olga.labels[:2] == ["English", "Русский"]
    await olga.tap("English")
    assert olga.text.startswith("Done: I'll speak English from now on.")
    await olga.command("cart")
    assert olga.text == "Your cart is empty."
    assert await conversations.locale_of(olga.who) == "en"
    await olga.tap("Menu")
    await olga.tap("Language")
    await olga.tap("Русский")
    assert olga.text.startswith("Готово: теперь я говорю по-русски.")


async def test_an_unknown_messenger_language_falls_back_to_the_shop_s(stocked: Shop) -> None:
    conversations = engine(stocked)
    hans = chat(stocked, conversations, user="3003", language_code="de")
    await hans.command("start")
    assert "What would you like to do?" in hans.text
    assert await conversations.locale_of(Who(Channel.TELEGRAM, "nobody-yet")) == "en"


async def test_a_question_goes_to_staff_and_their_answer_comes_back_in_the_chat(
    stocked: Shop,
) -> None:
    staff = StaffInbox()
    conversations = engine(stocked, staff=staff)
    pushed = Pushed(stocked, conversations, Channel.WHATSAPP)
    ann = chat(stocked, conversations, Channel.WHATSAPP, "+15550100")
    await ann.command("start")
    await ann.tap("Help")
    assert "Write your question in one message" in ann.text
    await ann.say("Do you deliver on Sundays?")
    assert "Your question is with our team" in ann.text
    (question,) = staff.questions
    assert (question.text, question.channel, question.locale) == (
        "Do you deliver on Sundays?",
        Channel.WHATSAPP,
        "en",
    )
    ticket = await stocked.tickets.open(
        question.customer_id, channel="whatsapp", name="Ann", locale="en", text=question.text
    )
    await stocked.tickets.answer(ticket.id, by="staff:test", text="Yes, from 10 to 16.")
    assert await pushed.texts() == ["Answer from our team:\n\nYes, from 10 to 16."]
    # The next thing typed is a search again, not another question.
    await ann.say("green")
    assert len(staff.questions) == 1


async def test_help_without_a_staff_desk_says_so(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("help")
    assert "our team can't take questions here right now" in ann.text
