"""Languages: the gettext catalogs in locales/, compiled in memory at start, and locale formats.

The catalogs are `locales/<locale>/LC_MESSAGES/chatshop.po`, extracted and updated
with Babel (see locales/README.md). They are compiled once per process, in memory,
so no `.mo` file is ever built or committed. Money and dates follow the locale
through Babel; times are shown in UTC, which is how the shop keeps them.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files
from io import BytesIO

from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from shop.money import format_money

LOCALES = ("en", "ru")
DEFAULT_LOCALE = "en"
DOMAIN = "chatshop"


def N_(message: str) -> str:
    """Mark `message` for extraction; it is translated later, where the locale is known."""
    return message


def catalog_text(locale: str) -> bytes:
    """Return the `.po` catalog of `locale` as shipped (the `locales` package data)."""
    return files("locales").joinpath(locale, "LC_MESSAGES", f"{DOMAIN}.po").read_bytes()


@cache
def translations(locale: str) -> gettext.GNUTranslations:
    """Return the compiled catalog of `locale` (one of LOCALES), built once per process."""
    if locale not in LOCALES:
        raise ValueError(f"no catalog for locale {locale!r}")
    catalog = read_po(BytesIO(catalog_text(locale)), locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def short_phrases(locale: str) -> list[tuple[str, str]]:
    """Return the catalog's phrases of up to three words (button labels) in `locale`, with their msgids."""
    catalog = read_po(BytesIO(catalog_text(locale)), locale=locale, domain=DOMAIN)
    return [
        (message.string, message.id)
        for message in catalog
        if isinstance(message.id, str)
        and isinstance(message.string, str)
        and message.string
        and "{" not in message.id
        and len(message.string.split()) <= 3
    ]


def pick_locale(*hints: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Return the first of `hints` the shop speaks ("ru-RU" or "ru;q=0.9" counts as "ru"), else `default`."""
    for hint in hints:
        tag = (hint or "").split(";")[0].strip().lower().replace("_", "-").split("-")[0]
        if tag in LOCALES:
            return tag
    return default


@dataclass(frozen=True, slots=True)
class Language:
    """Speaks to one customer: their translations, money and dates in their locale."""

    locale: str

    @classmethod
    def of(cls, hint: str | None) -> Language:
        """Return the language a locale hint names ("ru-RU" is Russian), else the default."""
        return cls(pick_locale(hint))

    def _(self, message: str) -> str:
        """Return `message` translated."""
        return translations(self.locale).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Return the form of a message for `n` (Russian has three: 1 товар, 3 товара, 5 товаров)."""
        return translations(self.locale).ngettext(singular, plural, n)

    def money(self, amount: int, currency: str) -> str:
        """Format minor units the customer's way ("$1,299.90", "1 299,90 $")."""
        return format_money(amount, currency, self.locale)

    def when(self, at: datetime) -> str:
        """Format a moment the customer's way ("Nov 26, 2026, 12:05 UTC")."""
        at = at.astimezone(UTC)
        day = format_skeleton("yMMMd", at, tzinfo=UTC, locale=self.locale)
        time = format_skeleton("Hm", at, tzinfo=UTC, locale=self.locale)
        return f"{day}, {time} UTC"
