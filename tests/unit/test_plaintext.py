"""Control characters: what customers type is stored and passed on without them, at every entry point.

Terminal escape codes, the other C0 and C1 controls and the Unicode bidi overrides
and isolates change how a terminal or a chat shows the text around them; none of
them may reach the database, the staff or another customer.
"""

from __future__ import annotations

import unicodedata

import pytest

from bot.services import Shop
from payments.telegram import PreCheckout
from shop.models import PromoKind
from tests.flow_support import Chat, StaffInbox, chat, engine

CLEAR_SCREEN = "\x1b[2J"
HOSTILE = f"{CLEAR_SCREEN}\x07\x9b\u202e\u2066\x00\x7f"


def controls(text: str | None) -> list[str]:
    """Return the control characters and bidi overrides in `text`, line breaks aside."""
    return [
        f"U+{ord(char):04X}"
        for char in text or ""
        if char != "\n"
        and (
            unicodedata.category(char) == "Cc"
            or 0x202A <= ord(char) <= 0x202E
            or 0x2066 <= ord(char) <= 0x2069
        )
    ]


async def test_a_messenger_name_is_stored_and_greeted_without_controls(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked), name=f"Ann{HOSTILE} Lee")

    await ann.command("start")

    assert "Hello, Ann[2J Lee!" in ann.text
    assert controls(ann.text) == []
    assert (await ann.customer()).display_name == "Ann[2J Lee"


async def _cart_with_tea(ann: Chat) -> None:
    await ann.command("start", "p-TEA-2")
    await ann.tap("Add to cart")
    await ann.command("cart")


async def test_typed_checkout_answers_are_stored_without_controls(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await _cart_with_tea(ann)
    await ann.tap("Checkout")
    await ann.say("+1 555 0100 000")
    await ann.say("Ann\u202e\x1b[31m Lee")
    await ann.tap("Courier")
    await ann.say(f"1 Main St,{HOSTILE} Springfield\u2069")

    order = (await stocked.orders.get(ann.payment.start.order_id)).order
    assert order.contact_name == "Ann[31m Lee"
    assert order.delivery_address == "1 Main St,[2J Springfield"
    customer = await ann.customer()
    assert controls(customer.contact_name) == controls(customer.delivery_address) == []


async def test_a_shared_contact_name_is_stored_without_controls(stocked: Shop) -> None:
    ann = chat(stocked, engine(stocked))
    await ann.command("start", "p-TEA-2")
    await ann.tap("Buy now")
    await ann.share_phone("447911123456", f"\u202eAnn{CLEAR_SCREEN}")
    await ann.tap("Pickup")

    order = (await stocked.orders.get(ann.payment.start.order_id)).order
    assert order.contact_name == "Ann[2J"


async def test_a_typed_promo_code_applies_without_its_controls(stocked: Shop) -> None:
    await stocked.promos.create("SPRING10", PromoKind.PERCENT, 10)
    ann = chat(stocked, engine(stocked))
    await _cart_with_tea(ann)
    await ann.tap("Promo code")

    await ann.say("\u202espring\x1b10\x00")

    assert "Promo code SPRING10 applied." in ann.text


@pytest.mark.parametrize("code", [CLEAR_SCREEN, "SPRING\u202e10", "\x9b", "\x07"])
async def test_staff_cannot_create_a_promo_code_with_controls(shop: Shop, code: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        await shop.promos.create(code, PromoKind.PERCENT, 10)


async def test_a_question_reaches_staff_without_controls_but_with_its_lines(
    stocked: Shop,
) -> None:
    staff = StaffInbox()
    ann = chat(stocked, engine(stocked, staff=staff), name=f"Ann{CLEAR_SCREEN}")
    await ann.command("help")

    await ann.say(f"Do you ship{HOSTILE} to Oslo?\nAnd to Bergen?\r\n")

    (question,) = staff.questions
    assert question.text == "Do you ship[2J to Oslo?\nAnd to Bergen?"
    assert question.name == "Ann[2J"


def test_telegram_s_payment_form_answers_are_taken_without_controls() -> None:
    facts = PreCheckout(
        query_id="q1",
        user_id=1,
        currency="USD",
        total_amount=100,
        invoice_payload="x",
        name=f"Ann{HOSTILE}",
        phone="+1555\x1b0100",
        address="US, 10001,\u202e New York",
    )

    assert (facts.name, facts.phone, facts.address) == (
        "Ann[2J",
        "+15550100",
        "US, 10001, New York",
    )
