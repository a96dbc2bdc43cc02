"""One customer across channels: who is joined to whom, and whose language and consent they keep."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.flows.context import Capabilities
from bot.services import Shop
from shop.customer_file import write_customers
from shop.errors import NotFoundError, PromoRejectedError
from shop.models import Channel, PromoKind
from shop.persons import phone_key
from tests.conftest import FakeClock
from tests.flow_support import chat, engine
from tests.payment_support import pending_order

NUMBER = "447700900123"  # as WhatsApp gives it (WaId)
SHARED = "+44 7700 900123"  # as Telegram's contact gives the same number
WHATSAPP = Capabilities(knows_phone=True, numbered_options=True)


@pytest.mark.parametrize(
    ("number", "key"),
    [
        ("+44 7700 900123", NUMBER),
        (NUMBER, NUMBER),
        ("+7 (916) 123-45-67", "79161234567"),
        ("8 916 123 45 67", "89161234567"),  # a Russian trunk 8 is not taken for +7
        ("0044 7700 900123", None),  # no country code begins with 0
        ("+44 7700", None),
        ("+1234567890123456", None),  # longer than E.164 allows
        ("call me", None),
    ],
)
def test_numbers_are_compared_as_their_e164_digits_with_nothing_guessed(
    number: str, key: str | None
) -> None:
    assert phone_key(number) == key


async def test_whatsapp_first_then_telegrams_own_contact_make_one_person(shop: Shop) -> None:
    whatsapp = await shop.customers.touch(Channel.WHATSAPP, NUMBER, phone=NUMBER)
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001")
    assert await shop.customers.person_of(telegram.id) == telegram.id  # not yet

    joined = await shop.customers.prove_phone(telegram.id, SHARED)

    assert joined.person == whatsapp.id  # the older identity survives
    assert await shop.customers.person_of(telegram.id) == whatsapp.id
    assert await shop.customers.person_of(whatsapp.id) == whatsapp.id
    person = await shop.customers.person(telegram.id)
    assert [c.channel for c in person.identities] == ["whatsapp", "telegram"]


async def test_telegram_first_then_the_same_number_on_whatsapp_make_one_person(
    shop: Shop,
) -> None:
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001")
    await shop.customers.prove_phone(telegram.id, SHARED)

    whatsapp = await shop.customers.touch(Channel.WHATSAPP, NUMBER, phone=NUMBER)

    assert whatsapp.person == telegram.id
    assert await shop.customers.person_of(whatsapp.id) == telegram.id


async def test_a_number_that_proves_nothing_links_nobody(shop: Shop) -> None:
    whatsapp = await shop.customers.touch(Channel.WHATSAPP, NUMBER, phone=NUMBER)
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001")
    # A number typed at checkout is remembered for the order, and proves nothing.
    await shop.customers.save_contact(telegram.id, name="Ann", phone=SHARED, address=None)
    await shop.customers.prove_phone(telegram.id, "8 7700 900123")  # not this E.164 number
    other = await shop.customers.touch(Channel.WHATSAPP, "447700900999", phone="447700900999")

    assert await shop.customers.person_of(telegram.id) == telegram.id
    assert await shop.customers.person_of(whatsapp.id) == whatsapp.id
    assert await shop.customers.person_of(other.id) == other.id
    with pytest.raises(NotFoundError):
        await shop.customers.prove_phone(999, SHARED)


async def test_the_latest_language_and_consent_decision_win_and_contact_details_are_kept(
    shop: Shop, clock: FakeClock
) -> None:
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001")
    whatsapp = await shop.customers.touch(Channel.WHATSAPP, NUMBER)  # no number proved yet
    await shop.customers.set_marketing_consent(telegram.id, False)
    await shop.customers.set_locale(whatsapp.id, "en")
    await shop.customers.save_contact(telegram.id, name="Ann", phone="+4477", address="1 Main St")
    clock.advance(minutes=5)
    await shop.customers.set_locale(telegram.id, "ru")
    await shop.customers.set_marketing_consent(whatsapp.id, True)
    clock.advance(minutes=5)

    await shop.customers.prove_phone(telegram.id, SHARED)
    await shop.customers.touch(Channel.WHATSAPP, NUMBER, phone=NUMBER)

    for customer in [await shop.customers.get(c.id) for c in (telegram, whatsapp)]:
        assert customer.locale == "ru"  # chosen last, on Telegram
        assert customer.marketing_consent is True  # decided last, on WhatsApp
        assert customer.consent_at == clock.now - timedelta(minutes=5)
        assert (customer.contact_name, customer.delivery_address) == ("Ann", "1 Main St")


async def test_on_a_tie_the_refusal_wins_and_later_choices_reach_every_channel(
    shop: Shop, clock: FakeClock
) -> None:
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001")
    whatsapp = await shop.customers.touch(Channel.WHATSAPP, NUMBER)
    await shop.customers.set_marketing_consent(telegram.id, True)
    await shop.customers.set_marketing_consent(whatsapp.id, False)  # at the same moment
    await shop.customers.prove_phone(telegram.id, SHARED)
    await shop.customers.prove_phone(whatsapp.id, NUMBER)
    assert (await shop.customers.get(telegram.id)).marketing_consent is False

    clock.advance(minutes=1)
    await shop.customers.set_marketing_consent(whatsapp.id, True)
    await shop.customers.set_locale(whatsapp.id, "ru")

    seen = await shop.customers.touch(Channel.TELEGRAM, "1001")  # as kept in memory, too
    assert (seen.locale, seen.marketing_consent, seen.consent_at) == ("ru", True, clock.now)


async def test_my_orders_are_the_persons_and_no_one_elses(shop: Shop) -> None:
    on_telegram = await pending_order(shop, customer="1001", quantity=1)
    on_whatsapp = await pending_order(shop, channel=Channel.WHATSAPP, customer=NUMBER, quantity=1)
    stranger = await pending_order(shop, customer="2002", quantity=1)
    telegram, whatsapp = on_telegram.customer_id, on_whatsapp.customer_id
    await shop.customers.prove_phone(telegram, SHARED)
    await shop.customers.prove_phone(whatsapp, NUMBER)

    for customer in (telegram, whatsapp):
        listed = await shop.orders.list_for_customer(customer)
        assert [o.id for o in listed] == [on_whatsapp.id, on_telegram.id]
        assert (await shop.orders.get(on_telegram.id, customer_id=customer)).order.channel == (
            "telegram"
        )
        with pytest.raises(NotFoundError):
            await shop.orders.get(stranger.id, customer_id=customer)
    with pytest.raises(NotFoundError):
        await shop.orders.get(on_whatsapp.id, customer_id=stranger.customer_id)


async def test_a_promo_once_per_customer_is_once_per_person(shop: Shop) -> None:
    await shop.promos.create("ONCE", PromoKind.PERCENT, 10, per_customer=1)
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001")
    await shop.customers.prove_phone(telegram.id, SHARED)
    whatsapp = await shop.customers.touch(Channel.WHATSAPP, NUMBER, phone=NUMBER)
    await shop.carts.apply_promo(telegram.id, "ONCE")
    await pending_order(shop, customer="1001")

    with pytest.raises(PromoRejectedError):
        await shop.carts.apply_promo(whatsapp.id, "ONCE")


async def test_a_number_typed_at_checkout_joins_no_one_where_a_shared_one_does(
    stocked: Shop,
) -> None:
    conversations = engine(stocked)
    owner = chat(stocked, conversations, Channel.WHATSAPP, NUMBER, can=WHATSAPP)
    await owner.command("start")
    ann = chat(stocked, conversations)  # on Telegram
    await ann.command("start", "p-TEA-2")
    await ann.tap("Add to cart")
    await ann.command("cart")

    await ann.answer_checkout(phone=SHARED)  # typed: anyone can type anyone's number
    assert "How should we deliver your order?" in ann.text
    telegram, whatsapp = await ann.customer(), await owner.customer()
    assert await stocked.customers.person_of(telegram.id) == telegram.id

    await ann.share_phone(SHARED, "Ann")  # Telegram vouches it is her own
    assert await stocked.customers.person_of(telegram.id) == whatsapp.id


async def test_the_export_has_one_row_for_a_person_on_two_channels(shop: Shop) -> None:
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001", display_name="Ann")
    await shop.customers.touch(Channel.TELEGRAM, "2002", display_name="Bob")
    await shop.customers.prove_phone(telegram.id, SHARED)
    await shop.customers.touch(Channel.WHATSAPP, NUMBER, display_name="Annie", phone=NUMBER)

    data = write_customers(await shop.customers.all_people()).decode("utf-8-sig")

    rows = list(csv.DictReader(io.StringIO(data, newline="")))
    assert [
        (r["id"], r["display_name"], r["telegram_address"], r["whatsapp_address"]) for r in rows
    ] == [(str(telegram.id), "Ann", "1001", NUMBER), ("2", "Bob", "2002", "")]
    assert rows[0]["verified_phone"] == f"'+{NUMBER}"
