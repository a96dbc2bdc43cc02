"""The few customer-facing strings of the Telegram channel itself, in English and Russian.

Everything a conversation says comes from the flows; these are Telegram's own:
the command menu, inline results, a button that no longer works, delivery
options in Telegram's payment form.
"""

from __future__ import annotations

_TEXTS: dict[str, dict[str, str]] = {
    "cmd_start": {"en": "Main menu", "ru": "Главное меню"},
    "cmd_search": {"en": "Search the catalog", "ru": "Поиск по каталогу"},
    "cmd_cart": {"en": "Your cart", "ru": "Корзина"},
    "cmd_orders": {"en": "Your orders", "ru": "Мои заказы"},
    "cmd_language": {"en": "Change the language", "ru": "Сменить язык"},
    "cmd_help": {"en": "Ask us a question", "ru": "Задать вопрос"},
    "stale_button": {
        "en": "This button no longer works. Send /start to open the menu.",
        "ru": "Эта кнопка больше не работает. Отправьте /start, чтобы открыть меню.",
    },
    "own_contact": {
        "en": "Please share your own number with the button below.",
        "ru": "Пожалуйста, поделитесь своим номером кнопкой ниже.",
    },
    "try_again": {
        "en": "Sorry, something went wrong. Please try again in a minute.",
        "ru": "Извините, что-то пошло не так. Попробуйте ещё раз через минуту.",
    },
    "in_stock": {"en": "in stock", "ru": "в наличии"},
    "out_of_stock": {"en": "out of stock", "ru": "нет в наличии"},
    "open_in_shop": {"en": "Open in the shop", "ru": "Открыть в магазине"},
    "open_shop": {"en": "Open the shop", "ru": "Открыть магазин"},
    "nothing_found": {
        "en": "Nothing found: open the shop",
        "ru": "Ничего не нашлось: открыть магазин",
    },
    "delivery_pickup": {"en": "Pickup in store", "ru": "Самовывоз из магазина"},
    "delivery_courier": {"en": "Courier", "ru": "Курьер"},
    "delivery_post": {"en": "Post", "ru": "Почта"},
    "delivery_none": {"en": "No delivery", "ru": "Без доставки"},
}

LOCALES = ("en", "ru")


def text(key: str, locale: str | None, **values: object) -> str:
    """Return the string `key` in `locale` (English where missing), filled with `values`."""
    variants = _TEXTS[key]
    template = variants.get(locale or "en", variants["en"])
    return template.format(**values) if values else template


def delivery_label(option_id: str, locale: str | None) -> str:
    """Return the name of a delivery option for Telegram's payment form."""
    key = f"delivery_{option_id}"
    return text(key, locale) if key in _TEXTS else option_id


def keys() -> list[str]:
    """Return every string's key (for the test that both languages have each)."""
    return list(_TEXTS)


def variants(key: str) -> dict[str, str]:
    """Return one string in every language it has."""
    return dict(_TEXTS[key])
