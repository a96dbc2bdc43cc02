"""The Telegram channel's own strings exist in every language the shop speaks."""

from __future__ import annotations

import pytest

from bot.handlers.telegram.texts import LOCALES, delivery_label, keys, text, variants
from shop.delivery import NO_DELIVERY, DeliveryRules


@pytest.mark.parametrize("key", keys())
def test_every_string_is_in_english_and_russian(key: str) -> None:
    found = variants(key)
    assert set(found) == set(LOCALES), key
    assert all(value.strip() for value in found.values())


def test_a_missing_language_falls_back_to_english() -> None:
    assert text("cmd_cart", "de") == "Your cart"
    assert text("cmd_cart", None) == "Your cart"
    assert text("cmd_cart", "ru") == "Корзина"


def test_every_delivery_option_has_a_name_in_the_payment_form() -> None:
    for option in (*DeliveryRules().options, NO_DELIVERY):
        for locale in LOCALES:
            assert delivery_label(option.id, locale) != option.id
