"""Help on Telegram: a customer's question reaches the staff's chats; a staff reply answers it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import FakeClock
from tests.telegram_support import USER_ID, Harness, Sent, last_message, message_json, telegram_shop

STAFF = 9_001


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    async with telegram_shop(sqlite_url, clock, staff_ids=(STAFF,)) as harness:
        yield harness


def to(sent: list[Sent], chat: int) -> list[Sent]:
    return [s for s in sent if s.method == "sendMessage" and s["chat_id"] == str(chat)]


async def test_a_question_reaches_the_staff_and_the_reply_reaches_the_customer(
    tg: Harness,
) -> None:
    asked = await tg.say("/help")
    assert "Write your question" in asked["text"]

    sent = await tg.feed(message=message_json(text="Do you ship to Riga?"))

    assert "with our team" in to(sent, USER_ID)[0]["text"]
    question = to(sent, STAFF)[0]
    assert question["text"].startswith("Question from customer #")
    assert "Do you ship to Riga?" in question["text"]

    reply = message_json(
        chat_id=STAFF,
        text="Yes, in 3 days.",
        reply_to_message=question.answer["result"],
    )
    answered = await tg.feed(message=reply)
    assert to(answered, STAFF)[0]["text"].startswith("Sent to customer #")

    told = to(await tg.delivered(), USER_ID)
    assert len(told) == 1
    assert "Answer from our team" in told[0]["text"]
    assert "Yes, in 3 days." in told[0]["text"]


async def test_only_staff_replies_to_the_bots_questions_answer_customers(tg: Harness) -> None:
    await tg.say("/help")
    sent = await tg.feed(message=message_json(text="Where is my parcel?"))
    question = to(sent, STAFF)[0]

    # A customer replying to a copy of the question is just a customer typing.
    intruder = message_json(chat_id=4004, text="pwned", reply_to_message=question.answer["result"])
    searched = last_message(await tg.feed(message=intruder))
    assert searched["chat_id"] == "4004"
    assert "Answer from our team" not in searched["text"]

    # Staff replying to anything but a question is staff shopping like anyone.
    plain = message_json(chat_id=STAFF, text="kofe", reply_to_message=message_json(text="hi"))
    assert "Found for" in last_message(await tg.feed(message=plain))["text"]
