"""The Telegram channel's own words: the command menu and the payment form, in each language."""

from __future__ import annotations

import pytest

from bot.handlers.telegram.commands import COMMANDS, menu
from bot.handlers.telegram.payments import delivery_label
from shop.delivery import NO_DELIVERY, DeliveryRules
from shop.i18n import LOCALES, Language


def test_the_command_menu_speaks_each_language() -> None:
    english = [(command.command, command.description) for command in menu("en")]
    russian = [command.description for command in menu("ru")]

    assert english == [
        ("start", "Main menu"),
        ("search", "Search the catalog"),
        ("cart", "Your cart"),
        ("orders", "Your orders"),
        ("language", "Change the language"),
        ("help", "Ask us a question"),
    ]
    assert [command.command for command in menu("ru")] == list(COMMANDS)
    assert russian == [
        "Главное меню",
        "Поиск по каталогу",
        "Корзина",
        "Мои заказы",
        "Сменить язык",
        "Задать вопрос",
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_delivery_option_has_a_name_in_the_payment_form(locale: str) -> None:
    lang = Language(locale)
    for option in (*DeliveryRules().options, NO_DELIVERY):
        assert delivery_label(lang, option.id) != option.id


def test_delivery_options_are_named_in_the_customers_language() -> None:
    assert delivery_label(Language("en"), "pickup") == "Pickup in store"
    assert delivery_label(Language("ru"), "pickup") == "Самовывоз из магазина"
    assert delivery_label(Language("ru"), "courier") == "Курьер"
    assert delivery_label(Language("ru"), "drone") == "drone"  # an option without a name yet
