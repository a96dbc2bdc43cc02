"""Help on Telegram: a customer's question becomes a ticket in every staff chat; a reply answers it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shop.tickets import TicketView
from tests.conftest import FakeClock
from tests.telegram_support import USER_ID, Harness, Sent, last_message, message_json, telegram_shop

STAFF = 9_001
OTHER_STAFF = 9_002


@pytest.fixture
async def tg(sqlite_url: str, clock: FakeClock) -> AsyncIterator[Harness]:
    async with telegram_shop(sqlite_url, clock, staff_ids=(STAFF, OTHER_STAFF)) as harness:
        yield harness


def to(sent: list[Sent], chat: int) -> list[Sent]:
    return [s for s in sent if s.method == "sendMessage" and s["chat_id"] == str(chat)]


def replying(chat: int, text: str, to_message: Sent) -> dict[str, object]:
    return message_json(chat_id=chat, text=text, reply_to_message=to_message.answer["result"])


async def ask(tg: Harness, question: str) -> list[Sent]:
    """Ask the staff a question; return the answer and the copies the delivery worker showed staff."""
    await tg.say("/help")
    asked = await tg.feed(message=message_json(text=question))
    return asked + await tg.delivered()


async def stored(tg: Harness, copy: Sent) -> TicketView:
    ticket = await tg.shop.tickets.shown_at(
        int(copy["chat_id"]), copy.answer["result"]["message_id"]
    )
    assert ticket is not None
    return ticket


async def test_a_question_becomes_a_ticket_and_a_staff_reply_answers_the_customer(
    tg: Harness,
) -> None:
    sent = await ask(tg, "Do you ship to Riga?")

    assert "with our team" in to(sent, USER_ID)[0]["text"]
    (copy,) = to(sent, STAFF)
    (other_copy,) = to(sent, OTHER_STAFF)
    assert copy["text"] == other_copy["text"]
    assert copy["text"].startswith("Ticket #1 from Ann Lee (telegram, en):")
    assert "Do you ship to Riga?" in copy["text"]

    answered = await tg.feed(message=replying(STAFF, "Yes, in 3 days.", copy))
    assert to(answered, STAFF)[0]["text"] == "Sent to Ann Lee (ticket #1)."

    (told,) = to(await tg.delivered(), USER_ID)  # by the delivery worker, once
    assert "Answer from our team" in told["text"]
    assert "Yes, in 3 days." in told["text"]
    ticket = await stored(tg, other_copy)
    assert (ticket.text, ticket.answer, ticket.answered_by) == (
        "Do you ship to Riga?",
        "Yes, in 3 days.",
        f"staff:tg:{STAFF}",
    )


async def test_a_second_answer_is_not_sent_and_its_author_sees_the_first(tg: Harness) -> None:
    sent = await ask(tg, "Is the camera waterproof?")
    await tg.feed(message=replying(STAFF, "No, sorry.", to(sent, STAFF)[0]))

    late = await tg.feed(message=replying(OTHER_STAFF, "Yes!", to(sent, OTHER_STAFF)[0]))

    assert to(late, USER_ID) == []
    (refused,) = to(late, OTHER_STAFF)
    assert refused["text"].startswith(f"Ticket #1 was already answered by staff:tg:{STAFF} on")
    assert "No, sorry." in refused["text"]
    assert refused["text"].endswith("Your reply was not sent.")
    assert (await stored(tg, to(sent, STAFF)[0])).answer == "No, sorry."


async def test_only_staff_replies_to_the_tickets_themselves_answer_customers(tg: Harness) -> None:
    sent = await ask(tg, "Where is my parcel?")
    copy = to(sent, STAFF)[0]

    # A customer replying to a copy of the ticket is just a customer typing.
    intruder = await tg.feed(message=replying(4004, "pwned", copy))
    searched = last_message(intruder)
    assert searched["chat_id"] == "4004"
    assert to(intruder, USER_ID) == []

    # A bot message that merely reads like a ticket is no ticket: the words are never trusted.
    lookalike = message_json(chat_id=STAFF, text=copy["text"], from_bot=True)
    plain = message_json(chat_id=STAFF, text="kofe", reply_to_message=lookalike)
    shopping = await tg.feed(message=plain)
    assert "Found for" in last_message(shopping)["text"]
    assert to(shopping, USER_ID) == []
    assert (await stored(tg, copy)).answered_at is None


async def test_a_question_asked_while_telegram_fails_reaches_every_staff_chat_later(
    tg: Harness, clock: FakeClock
) -> None:
    await tg.say("/help")
    told = await tg.feed(message=message_json(text="Can I pay on delivery?"))
    assert "with our team" in to(told, USER_ID)[0]["text"]
    tg.session.add_result_for(
        "sendMessage", ok=False, error_code=500, description="Internal Server Error"
    )

    first = await tg.delivered()
    clock.advance(minutes=1)  # past the backoff
    later = await tg.delivered()

    def shown(chat: int) -> list[Sent]:
        return [copy for copy in to(first + later, chat) if copy.answer.get("ok")]

    assert len(to(first, STAFF)) + len(to(first, OTHER_STAFF)) == 2  # one refused, one shown
    assert [len(shown(chat)) for chat in (STAFF, OTHER_STAFF)] == [1, 1]
    assert "Can I pay on delivery?" in shown(STAFF)[0]["text"]
    answered = await tg.feed(message=replying(STAFF, "Yes, cash or card.", shown(STAFF)[0]))
    assert to(answered, STAFF)[0]["text"].startswith("Sent to Ann Lee (ticket #1)")
