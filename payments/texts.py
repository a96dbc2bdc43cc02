"""Every customer-facing string of payments/, in English and Russian, in one place.

(The gettext catalogs in locales/ take these over later.)
"""

from __future__ import annotations

_TEXTS: dict[str, dict[str, str]] = {
    "order_title": {"en": "Order #{order}", "ru": "Заказ №{order}"},
    "discount": {"en": "Discount", "ru": "Скидка"},
    "delivery": {"en": "Delivery", "ru": "Доставка"},
    "total": {"en": "Total", "ru": "Итого"},
    "pay": {"en": "Pay {amount}", "ru": "Оплатить {amount}"},
    "cancel": {"en": "Cancel", "ru": "Отменить"},
    "sandbox_note": {
        "en": "Test checkout: no real money is charged.",
        "ru": "Тестовая оплата: настоящие деньги не списываются.",
    },
    "paid": {
        "en": "Payment received. Thank you! You can go back to the chat.",
        "ru": "Оплата получена. Спасибо! Можно вернуться в чат.",
    },
    "cancelled": {
        "en": "Payment cancelled. The order is not paid.",
        "ru": "Оплата отменена. Заказ не оплачен.",
    },
    "waiting": {
        "en": "Waiting for the payment to be confirmed…",
        "ru": "Ждём подтверждения оплаты…",
    },
    "refunded": {
        "en": "This payment was not kept: the money goes back to you.",
        "ru": "Этот платёж не принят: деньги вернутся к вам.",
    },
    "failed": {
        "en": "The payment could not be confirmed. Please try again.",
        "ru": "Не удалось подтвердить оплату. Попробуйте ещё раз.",
    },
    "back_to_chat": {"en": "Back to the chat", "ru": "Вернуться в чат"},
    "not_found_title": {"en": "Payment link not found", "ru": "Ссылка на оплату не найдена"},
    "not_found": {
        "en": "This payment link does not exist. Ask for a new one in the chat.",
        "ru": "Такой ссылки на оплату нет. Попросите новую в чате.",
    },
    "expired_title": {"en": "Payment link expired", "ru": "Срок ссылки на оплату истёк"},
    "expired": {
        "en": "This payment link has expired. Ask for a new one in the chat.",
        "ru": "Срок действия ссылки истёк. Попросите новую в чате.",
    },
    "already_paid": {
        "en": "This order is already paid.",
        "ru": "Этот заказ уже оплачен.",
    },
    "not_payable": {
        "en": "This order can no longer be paid. Please place it again.",
        "ru": "Этот заказ больше нельзя оплатить. Оформите его заново.",
    },
    "sold_out": {
        "en": "Sorry, the goods of this order have sold out while it waited for payment.",
        "ru": "К сожалению, товары этого заказа закончились, пока он ждал оплаты.",
    },
    "amount_changed": {
        "en": "The amount no longer matches the order. Please ask for a new invoice.",
        "ru": "Сумма не совпадает с заказом. Попросите новый счёт.",
    },
    "cannot_ship": {
        "en": "We cannot deliver this order that way. Please choose another delivery option.",
        "ru": "Так этот заказ доставить нельзя. Выберите другой способ доставки.",
    },
    "invalid_invoice": {
        "en": "This invoice is not valid. Please ask for a new one.",
        "ru": "Этот счёт недействителен. Попросите новый.",
    },
}


def text(key: str, locale: str | None, **values: object) -> str:
    """Return the string `key` in `locale` (English where missing), filled with `values`."""
    variants = _TEXTS[key]
    template = variants.get(locale or "en", variants["en"])
    return template.format(**values) if values else template


def pick_locale(accept_language: str | None, default: str = "en") -> str:
    """Return ``ru`` or ``en`` from an Accept-Language header, or `default`."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in ("en", "ru"):
            return tag
    return default
