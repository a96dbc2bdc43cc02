"""Tickets: a question kept as asked, found by where staff saw it, answered once."""

from __future__ import annotations

import asyncio

import pytest

from bot.services import Shop
from shop.errors import NotFoundError
from shop.models import Channel
from shop.tickets import TicketAnsweredError, TicketView
from tests.conftest import FakeClock

STAFF_CHAT = 5_000_000_001  # Telegram ids outgrow 32 bits


async def _asked(shop: Shop, text: str = "Do you ship to Riga?") -> TicketView:
    customer = await shop.customers.touch(Channel.WHATSAPP, "+37120000000", display_name="Ann")
    return await shop.tickets.open(
        customer.id, channel="whatsapp", name="Ann", locale="ru", text=text
    )


async def test_a_ticket_is_found_by_each_message_that_showed_it_and_by_no_other(
    any_shop: Shop,
) -> None:
    ticket = await _asked(any_shop)
    other = await _asked(any_shop, "And to Tallinn?")
    await any_shop.tickets.shown(ticket.id, [(STAFF_CHAT, 10), (7, 10)])
    await any_shop.tickets.shown(other.id, [(STAFF_CHAT, 11)])

    assert await any_shop.tickets.shown_at(STAFF_CHAT, 10) == ticket
    assert await any_shop.tickets.shown_at(7, 10) == ticket
    assert await any_shop.tickets.shown_at(STAFF_CHAT, 11) == other
    assert await any_shop.tickets.shown_at(7, 11) is None
    assert (ticket.channel, ticket.locale, ticket.answered_at) == ("whatsapp", "ru", None)


async def test_the_first_answer_stands_and_a_second_is_refused_with_the_first(
    any_shop: Shop, clock: FakeClock
) -> None:
    ticket = await _asked(any_shop)

    answered = await any_shop.tickets.answer(ticket.id, by="staff:tg:1", text="Yes, in 3 days.")
    clock.advance(minutes=1)
    with pytest.raises(TicketAnsweredError) as refused:
        await any_shop.tickets.answer(ticket.id, by="staff:tg:2", text="No.")

    assert (answered.answer, answered.answered_by) == ("Yes, in 3 days.", "staff:tg:1")
    assert answered.answered_at == clock.now.replace(minute=0)
    assert refused.value.ticket == answered


async def test_of_two_answers_at_once_exactly_one_is_recorded(any_shop: Shop) -> None:
    ticket = await _asked(any_shop)

    results = await asyncio.gather(
        *(any_shop.tickets.answer(ticket.id, by=f"staff:tg:{n}", text=f"#{n}") for n in range(5)),
        return_exceptions=True,
    )

    (won,) = [r for r in results if isinstance(r, TicketView)]
    refused = [r for r in results if isinstance(r, TicketAnsweredError)]
    assert [r.ticket for r in refused] == [won] * 4


async def test_an_answer_is_kept_without_control_characters(shop: Shop) -> None:
    ticket = await _asked(shop)
    answered = await shop.tickets.answer(ticket.id, by="staff:tg:1", text="Yes\x1b[31m\nsoon")
    assert answered.answer == "Yes[31m\nsoon"


async def test_an_unknown_ticket_cannot_be_answered(shop: Shop) -> None:
    with pytest.raises(NotFoundError):
        await shop.tickets.answer(404, by="staff:tg:1", text="?")
