"""Filters typed in words, in English or Russian: "coffee under $10", "до 500 ₽", "сначала дешёвые".

`read_phrases` splits what a customer typed into the words to search and the
narrowing and order they asked for, as a `Phrases` value: prices in minor units of
the shop's currency, in stock only, attribute values the list holds (a brand, a
colour), and a sort. It is pure: the flows decide what a phrase applies to (a new
search, or the list on screen) and whether the words were a product's name after
all (bot/flows/search.py keeps "In Stock Tee" a search when such a product exists).

Prices need a word that makes them a limit ("under 10", "до 500", "от 100 до 500",
"10-20 $"): a number alone is a product's ("iphone 15"). A currency mark other
than the shop's ("$10" in a shop selling in roubles) leaves the words as typed:
nothing is converted. An amount with more decimals than the currency has
("under 10.505" in dollars) is no price either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from shop.filters import Filters, Sort
from shop.money import minor_digits

MOST_MINOR = 10**15  # past any price: a longer number is not a price limit

# Currency marks by ISO code; a mark of another currency is no price in this shop.
_MARKS: dict[str, tuple[str, ...]] = {
    "USD": ("$", "usd", "dollars", "dollar", "bucks", "долларов", "доллара", "доллар", "долл"),
    "EUR": ("€", "eur", "euros", "euro", "евро"),
    "RUB": ("₽", "руб", "рублей", "рубля", "рубль", "р", "rub", "rubles", "roubles"),
    "GBP": ("£", "gbp", "pounds"),
}
_ANY_MARK = sorted({m for marks in _MARKS.values() for m in marks}, key=len, reverse=True)
_MARK = "(?:" + "|".join(re.escape(m) for m in _ANY_MARK) + r")\.?"
_NUMBER = r"\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?![\d.,])|\d+(?:[.,]\d+)?"
# An amount: an optional mark before, the number, an optional mark after.
_AMOUNT = rf"(?:(?P<@pre>{_MARK})\s*)?(?P<@num>{_NUMBER})(?:\s*(?P<@post>{_MARK}))?"

_AT_MOST = (
    "under|below|less than|cheaper than|up to|upto|at most|no more than|"
    "до|дешевле|не дороже|меньше|ниже|максимум|<=|<|≤"
)
_AT_LEAST = "over|above|more than|at least|from|от|дороже|больше|выше|свыше|минимум|>=|>|≥"
_BETWEEN = "between|от|from"
_AND = "and|to|до|и|-|–|—"


def _amount(prefix: str) -> str:
    return _AMOUNT.replace("@", prefix)


_RANGE = re.compile(
    rf"(?<!\w)(?:(?:{_BETWEEN})\s+)?{_amount('a')}\s*(?:{_AND})\s*{_amount('b')}(?!\w)",
    re.IGNORECASE,
)
_MOST = re.compile(rf"(?<!\w)(?:{_AT_MOST})\s*{_amount('a')}(?!\w)", re.IGNORECASE)
_LEAST = re.compile(rf"(?<!\w)(?:{_AT_LEAST})\s*{_amount('a')}(?!\w)", re.IGNORECASE)

_SORTS: tuple[tuple[Sort, str], ...] = (
    (
        Sort.PRICE_UP,
        "cheapest first|cheap first|cheapest|lowest price first|lowest price|price low to high|"
        "price up|сначала дешёвые|сначала дешевые|сначала дешевле|подешевле|дешевле|"
        "по возрастанию цены|от дешёвых|от дешевых",
    ),
    (
        Sort.PRICE_DOWN,
        "most expensive first|expensive first|most expensive|highest price first|highest price|"
        "price high to low|price down|сначала дорогие|сначала дороже|подороже|дороже|"
        "по убыванию цены|от дорогих",
    ),
    (
        Sort.NEWEST,
        "newest first|newest|new arrivals|latest|new first|сначала новые|новинки|новинка|"
        "новые|самые новые",
    ),
    (Sort.RELEVANCE, "best match|most relevant|relevance|по релевантности|по умолчанию"),
)
_SORT_PATTERNS = [
    (sort, re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)) for sort, words in _SORTS
]
_IN_STOCK = re.compile(
    r"(?<!\w)(?:only in stock|in stock only|in stock|available now|available|"
    r"только в наличии|есть в наличии|в наличии|в наличие|в продаже)(?!\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Phrases:
    """What a typed text asks for: the words to search, and the filters said in words."""

    query: str  # the words left once the phrases are taken out ("" when none)
    min_price: int | None = None
    max_price: int | None = None
    in_stock: bool = False
    attrs: tuple[tuple[str, str], ...] = ()
    sort: Sort | None = None
    said: tuple[str, ...] = ()  # the price, stock and order phrases read, as typed

    @property
    def asks(self) -> bool:
        """Tell whether any filter or order was said."""
        return bool(self.said or self.attrs)

    def applied_to(self, filters: Filters) -> Filters:
        """Return `filters` changed by what was said; what was not said stays."""
        changed = replace(
            filters,
            min_price=self.min_price if self.min_price is not None else filters.min_price,
            max_price=self.max_price if self.max_price is not None else filters.max_price,
            in_stock=filters.in_stock or self.in_stock,
            sort=self.sort if self.sort is not None else filters.sort,
        )
        for name, value in self.attrs:
            changed = changed.with_attr(name, value)
        if (
            self.min_price is not None
            and changed.max_price is not None
            and changed.max_price < self.min_price
        ):
            changed = replace(
                changed, max_price=None
            )  # "from 50" after "under 10": the new word wins
        if (
            self.max_price is not None
            and changed.min_price is not None
            and changed.min_price > self.max_price
        ):
            changed = replace(changed, min_price=None)
        return changed


def read_phrases(
    text: str, currency: str, known: Mapping[str, Iterable[str]] | None = None
) -> Phrases:
    """Split `text` into search words and the filters it says, prices in minor units of `currency`.

    `known` gives the attribute values the customer may name (name -> values, e.g.
    a list's facets): a value typed as a whole word or words ("Bosch") filters by it.
    """
    reading = _Reading(f" {text} ")
    low, high = _prices(reading, currency)
    in_stock = bool(reading.take_all(_IN_STOCK))
    sort = next((sort for sort, pattern in _SORT_PATTERNS if reading.take_all(pattern)), None)
    for _, pattern in _SORT_PATTERNS:  # any other order named goes too: one list, one order
        reading.take_all(pattern)
    attrs = []
    for name, values in (known or {}).items():
        for value in sorted({v for v in values if v.strip()}, key=len, reverse=True):
            found = re.search(rf"(?<!\w){re.escape(value)}(?!\w)", reading.rest, re.IGNORECASE)
            if found:
                attrs.append((name, value))
                reading.take(found, word=False)
                break
    return Phrases(
        query=" ".join(reading.rest.split()),
        min_price=low,
        max_price=high,
        in_stock=in_stock,
        attrs=tuple(attrs),
        sort=sort,
        said=tuple(reading.said),
    )


class _Reading:
    """Typed text as phrases are taken out of it, and the phrases taken."""

    def __init__(self, text: str) -> None:
        self.rest = text
        self.said: list[str] = []

    def take(self, match: re.Match[str], *, word: bool = True) -> None:
        """Take a phrase out of the rest (positions before it stay valid)."""
        if word:
            self.said.append(match[0].strip())
        self.rest = self.rest[: match.start()] + " " + self.rest[match.end() :]

    def take_all(self, pattern: re.Pattern[str]) -> int:
        """Take out every phrase `pattern` finds; return how many."""
        matches = list(pattern.finditer(self.rest))
        for match in reversed(matches):
            self.take(match)
        return len(matches)


def _prices(reading: _Reading, currency: str) -> tuple[int | None, int | None]:
    """Take the price limits out of the text: a range, "under X", "from X"."""
    low = high = None
    for match in reversed(list(_RANGE.finditer(reading.rest))):
        if not _has_limit_word(match) and not (match["apre"] or match["apost"] or match["bpost"]):
            continue  # "iphone 14-15": numbers alone, no price
        first, second = _price(match, "a", currency), _price(match, "b", currency)
        if first is not None and second is not None and first <= second:
            low, high = first, second
            reading.take(match)
    for match in reversed(list(_MOST.finditer(reading.rest))):
        amount = _price(match, "a", currency)
        if amount is not None:
            high = amount
            reading.take(match)
    for match in reversed(list(_LEAST.finditer(reading.rest))):
        amount = _price(match, "a", currency)
        if amount is not None:
            low = amount
            reading.take(match)
    return low, high


def _has_limit_word(match: re.Match[str]) -> bool:
    """Tell whether a range began with "between", "from" or "от" (else it needs a currency mark)."""
    head = match[0].split(maxsplit=1)[0].casefold()
    return head in {"between", "from", "от"}


def _price(match: re.Match[str], prefix: str, currency: str) -> int | None:
    """Return the amount a match names, in minor units of `currency`, or None if it is none."""
    marks = [match[f"{prefix}pre"], match[f"{prefix}post"]]
    if prefix == "a" and "bnum" in match.re.groupindex:  # "$5 - 10 $": a mark at either end
        marks += [match["bpre"], match["bpost"]]
    ours = _MARKS.get(currency, (currency.casefold(),))
    for mark in marks:
        if mark and mark.casefold().rstrip(".") not in ours:
            return None  # another currency: we do not convert
    number = re.sub(r"[\u00a0\u202f ]", "", match[f"{prefix}num"])
    # "1,000" is a thousand; "10,50" is ten and a half, as Russian writes it.
    number = number.replace(",", "" if re.fullmatch(r"\d{1,3},\d{3}", number) else ".")
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    scaled = value.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value() or scaled >= MOST_MINOR:
        return None
    return int(scaled)
