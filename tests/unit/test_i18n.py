"""Languages: every customer-facing string is in both catalogs, translated; plurals, money and dates."""

from __future__ import annotations

import re
from configparser import RawConfigParser
from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.flows.orders import DELIVERY_NAMES
from bot.handlers.telegram.commands import COMMANDS
from payments import interface, telegram_checkout
from shop.i18n import DOMAIN, LOCALES, Language, catalog_text, pick_locale

ROOT = Path(__file__).resolve().parents[2]
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


@cache
def _extracted() -> dict[str, tuple[str, ...]]:
    """Return every message the code marks for translation (by babel.cfg), by its id."""
    config = RawConfigParser()
    config.read(ROOT / "babel.cfg")
    method_map = [
        (pattern.strip(), method.strip())
        for method, _, pattern in (section.partition(":") for section in config.sections())
    ]
    messages: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map):
        forms = (message,) if isinstance(message, str) else tuple(message)
        messages[forms[0]] = forms
    return messages


def _catalog(locale: str) -> Catalog:
    return read_po(BytesIO(catalog_text(locale)), locale=locale, domain=DOMAIN)


def test_the_code_marks_messages_in_every_flow() -> None:
    extracted = _extracted()
    assert len(extracted) > 100
    assert "Your cart is empty." in extracted
    assert extracted["{n} item"] == ("{n} item", "{n} items")


@pytest.mark.parametrize(
    "message",
    [
        "Payment link not found",  # payments/pages.py
        "Order #{order}",  # payments/telegram.py, payments/stripe_checkout.py
        "This button no longer works. Send /start to open the menu.",  # bot/handlers/telegram
        "Scan to buy in {channel}",  # qr/posters.py
        "Hi! I'd like {code}",  # qr/links.py
    ],
)
def test_messages_outside_the_flows_are_extracted_too(message: str) -> None:
    assert message in _extracted()


def test_messages_picked_at_run_time_are_marked_for_extraction() -> None:
    picked = [
        *COMMANDS.values(),
        *DELIVERY_NAMES.values(),
        telegram_checkout.INVALID_INVOICE,
        interface.ALREADY_PAID,
        interface.NOT_PAYABLE,
        telegram_checkout.SOLD_OUT,
        telegram_checkout.AMOUNT_CHANGED,
        telegram_checkout.CANNOT_SHIP,
    ]
    assert [message for message in picked if message not in _extracted()] == []


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_in_each_language(locale: str) -> None:
    catalog = _catalog(locale)
    problems = []
    for msgid, forms in _extracted().items():
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = catalog.num_plurals if len(forms) > 1 else 1
        if len(strings) != wanted or not all(strings):
            problems.append(f"untranslated: {msgid!r}")
            continue
        expected = {name for form in forms for name in _PLACEHOLDER.findall(form)}
        for string in strings:
            if set(_PLACEHOLDER.findall(str(string))) != expected:
                problems.append(f"placeholders differ: {msgid!r} → {string!r}")
    unused = {
        entry.id if isinstance(entry.id, str) else entry.id[0] for entry in catalog if entry.id
    }
    unused -= set(_extracted())
    problems.extend(f"no longer used (run pybabel update): {msgid!r}" for msgid in sorted(unused))
    assert problems == [], f"{DOMAIN} catalog {locale}: see locales/README.md"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "1 товар"),
        (3, "3 товара"),
        (5, "5 товаров"),
        (11, "11 товаров"),
        (21, "21 товар"),
        (24, "24 товара"),
    ],
)
def test_russian_plurals_follow_the_number(n: int, expected: str) -> None:
    assert Language("ru").ngettext("{n} item", "{n} items", n).format(n=n) == expected


def test_english_plurals_follow_the_number() -> None:
    english = Language("en")
    assert [english.ngettext("{n} item", "{n} items", n).format(n=n) for n in (1, 2)] == [
        "1 item",
        "2 items",
    ]


def test_the_locale_is_the_first_hint_the_shop_speaks() -> None:
    assert pick_locale("ru-RU") == "ru"
    assert pick_locale("pt_BR", "ru") == "ru"
    assert pick_locale("de", None) == "en"
    assert pick_locale(None, default="ru") == "ru"
    # A browser's Accept-Language header, split at its commas.
    assert pick_locale("fr-FR", "ru;q=0.9", "en;q=0.8") == "ru"
    assert pick_locale(" en-GB ", " ru") == "en"
    # What a payment or a poster is given: whatever the customer's app said, or nothing.
    assert Language.of("ru-RU")._("Delivery") == "Доставка"
    assert Language.of("pt").locale == Language.of(None).locale == "en"


def test_money_and_dates_follow_the_locale() -> None:
    at = datetime(2026, 11, 26, 9, 5, tzinfo=UTC)
    assert Language("en").money(129_990, "USD") == "$1,299.90"
    assert Language("ru").money(129_990, "RUB") == "1\xa0299,90\xa0₽"
    assert Language("en").when(at) == "Nov 26, 2026, 09:05 UTC"
    assert Language("ru").when(at) == "26 нояб. 2026\u202fг., 09:05 UTC"
