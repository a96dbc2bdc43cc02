"""Every customer-facing string of qr/ (posters, WhatsApp greetings), in English and Russian.

(The gettext catalogs in locales/ take these over later.)
"""

from __future__ import annotations

LOCALES = ("en", "ru")

_TEXTS: dict[str, dict[str, str]] = {
    # Captions under a code; {channel} is "Telegram" or "WhatsApp".
    "scan_product": {
        "en": "Scan to buy in {channel}",
        "ru": "Сканируйте, чтобы купить в {channel}",
    },
    "scan_promo": {
        "en": "Scan to get the discount in {channel}",
        "ru": "Сканируйте, чтобы получить скидку в {channel}",
    },
    "scan_open": {
        "en": "Scan to shop in {channel}",
        "ru": "Сканируйте, чтобы купить в {channel}",
    },
    "category_note": {
        "en": "The whole shelf is in our chat",
        "ru": "Весь раздел — в нашем чате",
    },
    "shop_headline": {"en": "Shop with us in chat", "ru": "Покупайте в чате"},
    "shop_note": {
        "en": "Find, order, pay and track your order without leaving the messenger",
        "ru": "Найдите, закажите, оплатите и отследите заказ, не выходя из мессенджера",
    },
    "promo_code": {"en": "Promo code {code}", "ru": "Промокод {code}"},
    "promo_minimum": {"en": "on orders from {amount}", "ru": "при заказе от {amount}"},
    # The prefilled WhatsApp message; {code} is the payload the shop reads back.
    "wa_product": {"en": "Hi! I'd like {code}", "ru": "Привет! Хочу {code}"},
    "wa_category": {"en": "Hi! Show me {code}", "ru": "Привет! Покажите {code}"},
    "wa_promo": {"en": "Hi! My promo code: {code}", "ru": "Привет! Мой промокод: {code}"},
    "wa_shop": {"en": "Hi! I'm from your poster: {code}", "ru": "Привет! Я по плакату: {code}"},
}


def text(key: str, locale: str | None, **values: object) -> str:
    """Return the string `key` in `locale` (English when missing), filled with `values`."""
    variants = _TEXTS[key]
    return variants.get(locale or "en", variants["en"]).format(**values)
