"""The Telegram channel's own words: the command menu, in each language."""

from __future__ import annotations

from bot.handlers.telegram.commands import COMMANDS, menu


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
        ("stop", "Stop news and offers"),
    ]
    assert [command.command for command in menu("ru")] == list(COMMANDS)
    assert russian == [
        "Главное меню",
        "Поиск по каталогу",
        "Корзина",
        "Мои заказы",
        "Сменить язык",
        "Задать вопрос",
        "Отписаться от новостей",
    ]
