"""The catalog file a shop owner uploads or downloads: CSV or JSON in, rows out, and back.

Pure code, no database: `parse_catalog` turns the bytes of a file into `CatalogRow`s or raises
`CatalogFileError` listing every problem with its line (CSV) or item (JSON) number, in words a
shop owner understands; `write_catalog` turns rows back into a file that parses to the same rows.
The columns are listed in README.md ("Catalog file"); a file without the optional ones (more
photos, attributes, order, arrival) reads as it always did.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import TYPE_CHECKING, Final, Literal

from shop.money import MoneyError, check_currency, parse_major, to_major
from shop.plaintext import CONTROL, control_in

if TYPE_CHECKING:
    from _csv import Reader

CatalogFormat = Literal["csv", "json"]

BASE_COLUMNS: Final = (
    "sku",
    "title",
    "description",
    "price",
    "currency",
    "stock",
    "category",
    "image_url",
)
"""The columns every catalog CSV header must have, in the order `write_catalog` writes them."""

TRANSLATED_COLUMNS: Final = ("title", "description", "category")
"""Columns that may be translated as `<column>_<locale>`, e.g. `title_ru`."""

FLAG_COLUMNS: Final = ("digital", "active")
"""Optional true/false columns: a digital good (default false), on sale (default true)."""

OPTIONAL_COLUMNS: Final = ("image_urls", "sort_order", "created")
"""Optional columns: more photos, the owner's order on a shelf, when the product came to the shop."""

ATTR_PREFIX: Final = "attr_"
"""A free attribute's column is `attr_<name>`, e.g. `attr_brand`: customers filter by them."""

MAX_PHOTOS: Final = 10  # a Telegram album holds ten, and a gallery of more tires anyone
MAX_ATTR_NAME: Final = 32
MAX_ATTR_VALUE: Final = 64

MAX_SKU_LENGTH: Final = 64
MAX_PROBLEMS: Final = 50
"""How many problems `CatalogFileError.problems` keeps; the rest are only counted."""

PROGRESS_EVERY: Final = 1000
"""`parse_catalog` reports progress after this many rows (or items)."""

_SHOWN_PROBLEMS: Final = 10
_MAX_PRICE_MINOR: Final = 2**63 - 1  # a BIGINT column
_PLAIN_PRICE: Final = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_STOCK: Final = 2**31 - 1  # an INTEGER column
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})
_MAX_SORT_ORDER: Final = 2**31 - 1  # an INTEGER column
_WHOLE: Final = re.compile(r"-?[0-9]+")
_ATTR_NAME: Final = re.compile(r"[a-z0-9_]+")
_KNOWN_COLUMNS: Final = frozenset({*BASE_COLUMNS, *FLAG_COLUMNS, *OPTIONAL_COLUMNS})
_CONTROL_NAMES: Final = {"U+000A": "a line break", "U+000D": "a line break", "U+0009": "a tab"}
_EXCEL_HINT: Final = "in Excel: File → Save As → 'CSV UTF-8 (Comma delimited)'"


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One product as the catalog file describes it, checked and normalized."""

    line: int  # CSV: line where the record starts (header is line 1); JSON: 1-based item index
    sku: str
    title: str
    description: str
    price: int  # minor units
    currency: str  # ISO 4217, upper case
    stock: int
    category: str
    image_url: str | None  # None when empty
    digital: bool
    titles: dict[str, str]  # locale -> title, from title_<locale> (only non-empty ones)
    descriptions: dict[str, str]  # locale -> description
    categories: dict[str, str]  # locale -> category name
    active: bool = True  # False: imported (or kept) off sale
    image_urls: tuple[str, ...] = ()  # every photo, the main one first; empty without photos
    attrs: dict[str, str] = field(default_factory=dict)  # attr_<name> -> value (non-empty)
    sort_order: int | None = None
    created: datetime | None = None  # None: when first imported


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a catalog file: where it is and what is wrong."""

    line: int  # 0: the file as a whole
    message: str
    unit: Literal["line", "item"] = "line"  # "item" for a JSON array element

    def __str__(self) -> str:
        if self.line <= 0:
            return self.message
        return f"{self.unit} {self.line}: {self.message}"


class CatalogFileError(ValueError):
    """The catalog file cannot be imported; `problems` says where and why, `more` how many else."""

    def __init__(self, problems: list[Problem], more: int = 0) -> None:
        super().__init__(problems, more)
        self.problems = problems
        self.more = more

    @property
    def total(self) -> int:
        """Return how many problems were found, including those not kept in `problems`."""
        return len(self.problems) + self.more

    def __str__(self) -> str:
        shown = [str(problem) for problem in self.problems[:_SHOWN_PROBLEMS]]
        hidden = self.total - len(shown)
        if hidden:
            shown.append(f"... and {hidden} more problem{'s' if hidden > 1 else ''}")
        return "\n".join(shown)


def detect_format(filename: str) -> CatalogFormat:
    """Tell the catalog format from the file name: `.csv` or `.json`, in any letter case."""
    suffix = PurePath(filename).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        return "json"
    message = f"cannot read {filename!r}: a catalog must be a .csv or .json file"
    if suffix in {".xlsx", ".xls", ".ods", ".numbers"}:
        message += f" (save the spreadsheet as CSV — {_EXCEL_HINT})"
    raise CatalogFileError([Problem(0, message)])


def parse_catalog(
    data: bytes,
    fmt: CatalogFormat,
    *,
    currency: str,
    allow_free: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[CatalogRow]:
    """Read a whole catalog file, or raise CatalogFileError naming every problem found.

    Every price must be in `currency` (the shop's, SHOP_CURRENCY) and, unless
    `allow_free`, more than zero. `progress(n)` is called now and then (every
    `PROGRESS_EVERY` rows, and once at the end) with the bytes (CSV) or items (JSON)
    consumed so far.
    """
    if fmt not in ("csv", "json"):
        raise CatalogFileError([Problem(0, f"unknown catalog format {fmt!r}: use 'csv' or 'json'")])
    with _gc_paused():
        if fmt == "csv":
            return _parse_csv(data, _RowChecker(_Report("line"), currency, allow_free), progress)
        return _parse_json(data, _RowChecker(_Report("item"), currency, allow_free), progress)


def write_catalog(rows: Iterable[CatalogRow], fmt: CatalogFormat) -> bytes:
    """Write rows as a UTF-8 catalog file that `parse_catalog` reads back to the same rows."""
    rows = list(rows)
    if fmt == "csv":
        return _write_csv(rows)
    if fmt == "json":
        return _write_json(rows)
    raise ValueError(f"unknown catalog format {fmt!r}: use 'csv' or 'json'")


# --- reading -------------------------------------------------------------------------------


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building rows, which contain no cycles.

    Creating 100,000 rows would otherwise run it hundreds of times, over an ever longer list,
    for a third of the parse time; reference counting still frees everything as usual.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Report:
    """Collects problems, keeping the first MAX_PROBLEMS and counting all of them."""

    __slots__ = ("count", "problems", "unit")

    def __init__(self, unit: Literal["line", "item"]) -> None:
        self.unit: Literal["line", "item"] = unit
        self.problems: list[Problem] = []
        self.count = 0

    def add(self, line: int, message: str) -> None:
        self.add_problem(Problem(line, message, self.unit))

    def add_problem(self, problem: Problem) -> None:
        self.count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def raise_if_any(self) -> None:
        if self.count:
            raise CatalogFileError(self.problems, self.count - len(self.problems))


def _decode(data: bytes) -> str:
    """Decode UTF-8 (skipping a BOM), or raise naming the line with the bad bytes."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = (
            "this line has characters that are not UTF-8 text; "
            f"save the file as UTF-8 ({_EXCEL_HINT})"
        )
        raise CatalogFileError([Problem(line, message)]) from None


def _show(text: str, limit: int = 40) -> str:
    """Quote a value for a message, shortening it if it is long."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _is_locale(code: str) -> bool:
    """Tell whether `code` looks like `ru` or `pt_BR`."""
    if not code.isascii():
        return False
    if len(code) == 2:
        return code.isalpha() and code.islower()
    return (
        len(code) == 5
        and code[2] == "_"
        and code[:2].isalpha()
        and code[:2].islower()
        and code[3:].isalpha()
        and code[3:].isupper()
    )


def _column_spec(name: str) -> tuple[str, str] | None:
    """Return (column, locale) for a known column name (locale "" if untranslated), else None.

    An attribute's column `attr_<name>` is ("attr", name).
    """
    if name in _KNOWN_COLUMNS:
        return name, ""
    if name.startswith(ATTR_PREFIX):
        attr = name[len(ATTR_PREFIX) :]
        if len(attr) <= MAX_ATTR_NAME and _ATTR_NAME.fullmatch(attr):
            return "attr", attr
        return None
    column, sep, locale = name.partition("_")
    if sep and column in TRANSLATED_COLUMNS and _is_locale(locale):
        return column, locale
    return None


def _unknown_column(name: str, kind: str, where: str = "") -> str:
    """Explain why a column (CSV) or field (JSON) name is not one the catalog knows."""
    unknown = f"unknown {kind} {_show(name)}{where}"
    if _column_spec(name.lower()) is not None:
        return f"{unknown}: did you mean {name.lower()!r}? names are lower case"
    if name.startswith(ATTR_PREFIX):
        return (
            f"{unknown}: after '{ATTR_PREFIX}' put a name of at most {MAX_ATTR_NAME} "
            "lower-case letters, digits and underscores, such as 'attr_brand'"
        )
    column, sep, _ = name.partition("_")
    if sep and column in TRANSLATED_COLUMNS:
        return (
            f"{unknown}: after '{column}_' put a 2-letter language code "
            f"such as '{column}_ru' or '{column}_pt_BR'"
        )
    known = ", ".join([*BASE_COLUMNS, *FLAG_COLUMNS, *OPTIONAL_COLUMNS])
    return (
        f"{unknown}; the {kind}s are {known}, "
        "title_xx, description_xx, category_xx for a language xx, and attr_name for an attribute"
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each column of a checked CSV header is."""

    width: int
    index: dict[str, int]  # base, flag or optional column -> position
    translations: tuple[tuple[int, str, str], ...]  # (position, column, locale)
    attrs: tuple[tuple[int, str], ...] = ()  # (position, attribute name)


def _read_header(record: list[str], line: int, report: _Report) -> _Layout | None:
    """Check the header row; report what is wrong with it and return None if anything is."""
    names = [name.strip() for name in record]
    specs = [_column_spec(name) for name in names]
    if all(spec is None for spec in specs):
        found = ",".join(names)
        if len(names) == 1 and (";" in found or "\t" in found):
            separator = "';'" if ";" in found else "tabs"
            report.add(
                line,
                f"the columns are separated by {separator}, not commas; "
                f"save the file as CSV with commas ({_EXCEL_HINT})",
            )
        else:
            report.add(
                line,
                f"the first line must be the header {','.join(BASE_COLUMNS)} "
                f"but it is {_show(found, 60)}",
            )
        return None
    seen: dict[str, int] = {}
    index: dict[str, int] = {}
    translations: list[tuple[int, str, str]] = []
    attrs: list[tuple[int, str]] = []
    for position, (name, spec) in enumerate(zip(names, specs, strict=True)):
        if not name:
            report.add(line, f"column {position + 1} of the header has no name")
            continue
        if spec is None:
            report.add(line, _unknown_column(name, "column", f" (column {position + 1})"))
            continue
        if name in seen:
            report.add(
                line,
                f"column {name!r} appears twice in the header "
                f"(columns {seen[name] + 1} and {position + 1})",
            )
            continue
        seen[name] = position
        column, locale = spec
        if column == "attr":
            attrs.append((position, locale))
        elif locale:
            translations.append((position, column, locale))
        else:
            index[column] = position
    missing = [column for column in BASE_COLUMNS if column not in index]
    if missing:
        listed = ", ".join(repr(column) for column in missing)
        plural = "s" if len(missing) > 1 else ""
        report.add(line, f"the header is missing the column{plural} {listed}")
    if report.count:
        return None
    return _Layout(len(names), index, tuple(translations), tuple(attrs))


class _RowChecker:
    """Checks the values of one product at a time, remembering SKUs to find duplicates."""

    __slots__ = ("allow_free", "currencies", "currency", "report", "skus", "where")

    def __init__(self, report: _Report, currency: str, allow_free: bool) -> None:
        self.report = report
        self.currency = currency  # the shop's: every price must be in it
        self.allow_free = allow_free
        self.skus: dict[str, int] = {}
        self.currencies: dict[str, str | None] = {}
        self.where = "on line" if report.unit == "line" else "in item"

    def check(
        self,
        line: int,
        *,
        sku: str | None,
        title: str | None,
        description: str | None,
        price: str,
        currency: str | None,
        stock: str | int,
        category: str | None,
        image_url: str | None,
        digital: str | bool,
        active: str | bool,
        titles: dict[str, str],
        descriptions: dict[str, str],
        categories: dict[str, str],
        image_urls: Sequence[str],
        attrs: dict[str, str],
        sort_order: str | int,
        created: str | None,
    ) -> CatalogRow | None:
        """Return the row if every value is right; otherwise report each wrong one.

        A text value of None was already reported as wrong (a JSON number where text belongs)
        and is not checked again.
        """
        report = self.report
        before = report.count
        garbled = self._controls(
            line,
            (
                ("sku", sku),
                ("title", title),
                ("description", description),
                ("category", category),
                ("image_url", image_url),
                ("image_urls", " ".join(image_urls)),
                ("created", created),
            ),
            {"title": titles, "description": descriptions, "category": categories, "attr": attrs},
        )
        if "sku" not in garbled:
            self._sku(line, sku)
        if title == "":
            report.add(line, "title is missing")
        if category == "":
            report.add(line, "category is missing")
        code = self._currency(line, currency)
        amount = self._price(line, price, code)
        count = self._stock(line, stock)
        is_digital = self._flag(line, "digital", digital, default=False)
        is_active = self._flag(line, "active", active, default=True)
        url = image_url or None if "image_url" in garbled else self._image_url(line, image_url)
        photos = self._photos(line, url, () if "image_urls" in garbled else image_urls)
        self._attrs(line, attrs)
        order = self._sort_order(line, sort_order)
        arrived = None if "created" in garbled else self._created(line, created)
        if report.count != before or sku is None or title is None or category is None:
            return None
        assert code is not None  # an unknown currency is a problem
        return CatalogRow(
            line=line,
            sku=sku,
            title=title,
            description=description or "",
            price=amount,
            currency=code,
            stock=count,
            category=category,
            image_url=photos[0] if photos else None,
            digital=is_digital,
            titles=titles,
            descriptions=descriptions,
            categories=categories,
            active=is_active,
            image_urls=photos,
            attrs=attrs,
            sort_order=order,
            created=arrived,
        )

    def _controls(
        self,
        line: int,
        texts: tuple[tuple[str, str | None], ...],
        translated: dict[str, dict[str, str]],
    ) -> set[str]:
        """Report every text holding a control character; return the columns reported.

        Escape codes and bidi overrides would garble the screens of customers and staff
        (see shop.plaintext). Only descriptions may span lines. One search over the
        whole row finds most rows clean, so a big file pays little for this.
        """
        values = [value or "" for _, value in texts]
        for by_locale in translated.values():
            values.extend(by_locale.values())
        if CONTROL.search("".join(values)) is None:
            return set()
        columns = [*texts]
        for column, by_locale in translated.items():
            columns.extend((f"{column}_{locale}", text) for locale, text in by_locale.items())
        garbled = set()
        for column, value in columns:
            found = value and control_in(value, multiline=column.startswith("description"))
            if found:
                what = _CONTROL_NAMES.get(found, f"the control character {found}")
                self.report.add(line, f"{column} {_show(value or '')} contains {what}")
                garbled.add(column)
        return garbled

    def _sku(self, line: int, sku: str | None) -> None:
        if sku is None:
            return
        if not sku:
            self.report.add(line, "sku is missing")
        elif len(sku) > MAX_SKU_LENGTH:
            self.report.add(line, f"sku {_show(sku)} is longer than {MAX_SKU_LENGTH} characters")
        elif len(sku.split()) > 1:
            self.report.add(line, f"sku {sku!r} contains a space; an sku must be one word")
        else:
            first = self.skus.setdefault(sku, line)
            if first != line:
                self.report.add(line, f"sku {sku!r} is already {self.where} {first}")

    def _currency(self, line: int, currency: str | None) -> str | None:
        if currency is None:
            return None
        code = self.currencies.get(currency)
        if code is None:
            if currency not in self.currencies:
                try:
                    code = check_currency(currency) if currency else None
                except MoneyError:
                    code = None
                self.currencies[currency] = code
            if not currency:
                self.report.add(line, "currency is missing")
            elif code is None:
                self.report.add(
                    line, f"unknown currency {_show(currency)}: use a code such as USD, EUR or RUB"
                )
            if code is None:
                return None
        if code != self.currency:
            # Orders, delivery prices and payments are all in the shop's one currency.
            self.report.add(
                line,
                f"currency {_show(currency)} is not the shop's: "
                f"it sells in {self.currency} (SHOP_CURRENCY)",
            )
        return code

    def _price(self, line: int, price: str, currency: str | None) -> int:
        if not price:
            self.report.add(line, "price is missing")
            return 0
        try:
            amount = parse_price(price, currency)
        except MoneyError as exc:
            self.report.add(line, str(exc))
            return 0
        if amount == 0 and currency is not None and not self.allow_free:
            self.report.add(
                line,
                f"price {_show(price)} would give the product away; "
                "import with --allow-free if it is free on purpose",
            )
        return amount

    def _stock(self, line: int, stock: str | int) -> int:
        if isinstance(stock, int):
            count = stock
        elif not stock:
            self.report.add(line, "stock is missing (write 0 if there is none)")
            return 0
        else:
            try:
                count = int(stock)
            except ValueError:
                self.report.add(line, f"stock {_show(stock)} is not a whole number")
                return 0
        if count < 0:
            self.report.add(line, f"stock {_show(str(stock))} is negative")
        elif count > _MAX_STOCK:
            self.report.add(line, f"stock {_show(str(stock))} is too large")
        return count

    def _flag(self, line: int, column: str, value: str | bool, *, default: bool) -> bool:
        if isinstance(value, bool):
            return value
        flag = value.lower()
        if not flag:
            return default
        if flag in _TRUE:
            return True
        if flag not in _FALSE:
            self.report.add(line, f"{column} {_show(value)} must be true or false (or yes/no, 1/0)")
        return False

    def _image_url(self, line: int, url: str | None) -> str | None:
        if not url:
            return None
        if self._web_address(line, "image_url", url) and len(url.split()) > 1:
            self.report.add(line, f"image_url {_show(url)} contains a space; write it as %20")
        return url

    def _web_address(self, line: int, column: str, url: str) -> bool:
        """Report a URL that is not http(s); tell whether it is one."""
        scheme = url[:8].lower()
        if (scheme.startswith("http://") and len(url) > 7) or (
            scheme == "https://" and len(url) > 8
        ):
            return True
        self.report.add(line, f"{column} {_show(url)} must start with http:// or https://")
        return False

    def _photos(self, line: int, main: str | None, more: Sequence[str]) -> tuple[str, ...]:
        """Return every photo, the main one first (else the first of `more`), each once."""
        for url in more:
            self._web_address(line, "image_urls", url)
        photos = tuple(dict.fromkeys([main, *more] if main else more))
        if len(photos) > MAX_PHOTOS:
            self.report.add(
                line, f"a product has at most {MAX_PHOTOS} photos, this one {len(photos)}"
            )
        return photos

    def _attrs(self, line: int, attrs: dict[str, str]) -> None:
        for name, value in attrs.items():
            if len(value) > MAX_ATTR_VALUE:
                self.report.add(
                    line,
                    f"{ATTR_PREFIX}{name} {_show(value)} is longer than "
                    f"{MAX_ATTR_VALUE} characters",
                )

    def _sort_order(self, line: int, value: str | int) -> int | None:
        if value == "":
            return None
        if isinstance(value, str):
            if not _WHOLE.fullmatch(value):
                self.report.add(line, f"sort_order {_show(value)} is not a whole number")
                return None
            if len(value) > 12:  # int() of thousands of digits is refused, and slow
                self.report.add(line, f"sort_order {_show(value)} is too large")
                return None
            value = int(value)
        if abs(value) > _MAX_SORT_ORDER:
            self.report.add(line, f"sort_order {value} is too large")
            return None
        return value

    def _created(self, line: int, text: str | None) -> datetime | None:
        """Read when the product came to the shop: an ISO 8601 date or time, UTC unless it says."""
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                return moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):  # overflow: year 1 with an offset east of UTC
            self.report.add(
                line,
                f"created {_show(text)} is not a date: write it as 2026-12-01 "
                "or 2026-12-01T09:30:00 (UTC unless an offset such as +03:00 follows)",
            )
            return None


def parse_price(text: str, currency: str | None) -> int:
    """Parse a plain major-unit price to minor units; with no known currency, only check it."""
    if len(text) > 40:
        raise MoneyError(f"price {_show(text)} is not a number")
    if not _PLAIN_PRICE.fullmatch(text):
        try:
            Decimal(text)
        except InvalidOperation:
            raise MoneyError(_not_a_number(text)) from None
        # 1e3, inf, 1_000, +5, ٣: numbers to Python, but not how a price list writes a price.
        raise MoneyError(
            f"price {text!r} is not a plain number; write it with digits and a dot, like 1299.90"
        )
    if currency is None:
        if text.startswith("-"):
            raise MoneyError(f"price {text!r} is negative")
        return 0
    amount = parse_major(text, currency)
    if amount > _MAX_PRICE_MINOR:
        raise MoneyError(f"price {text!r} is too large")
    return amount


def _not_a_number(text: str) -> str:
    """Say a price is not a number, with a hint when it looks like "1 299,90"."""
    message = f"price {text!r} is not a number"
    if "," in text or " " in text:
        message += "; write it with a dot and no spaces, like 1299.90"
    return message


def _csv_problem(exc: csv.Error, start: int, line: int) -> Problem:
    """Explain an error of the csv module in shop-owner words."""
    if "field larger than field limit" in str(exc):
        return Problem(
            start,
            'a text starting on this line never ends; is a closing double quote (") missing?',
        )
    if "NUL" in str(exc):
        return Problem(line, "this line contains a NUL character; is this really a CSV file?")
    return Problem(line, f"this line cannot be read as CSV ({exc})")


class _Records:
    """Iterates over CSV records together with the line each one starts on."""

    __slots__ = ("previous", "reader")

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.previous = 0  # reader.line_num after the last record: the next one starts below it

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = self.reader
        for record in reader:
            start = self.previous + 1
            self.previous = reader.line_num
            yield start, record


def _parse_csv(
    data: bytes, checker: _RowChecker, progress: Callable[[int], None] | None
) -> list[CatalogRow]:
    """Parse a catalog CSV file (see parse_catalog)."""
    text = _decode(data)
    report = checker.report
    stream = io.StringIO(text, newline="")
    records = _Records(csv.reader(stream))
    rows: list[CatalogRow] = []
    try:
        layout = None
        for header_line, record in records:
            if any(field.strip() for field in record):  # skip blank lines before the header
                layout = _read_header(record, header_line, report)
                break
        else:
            report.add(
                0,
                f"the file is empty; it needs the header {','.join(BASE_COLUMNS)} "
                "and then one product per line",
            )
        if layout is not None:
            tracker = None if progress is None else _ByteProgress(data, stream, progress)
            rows = _csv_rows(records, layout=layout, checker=checker, progress=tracker)
            if not rows and not report.count:
                report.add(header_line, "the file has a header but no products below it")
    except csv.Error as exc:
        report.add_problem(_csv_problem(exc, records.previous + 1, records.reader.line_num))
    report.raise_if_any()
    if progress is not None:
        progress(len(data))
    return rows


class _ByteProgress:
    """Turns the CSV reader's position in the text into bytes of the file for `progress`."""

    __slots__ = ("callback", "chars", "consumed", "stream", "text")

    def __init__(self, data: bytes, stream: io.StringIO, callback: Callable[[int], None]) -> None:
        self.text = stream.getvalue()
        self.stream = stream
        self.callback = callback
        self.chars = 0
        self.consumed = len(data) - len(self.text.encode())  # a BOM, if any

    def update(self) -> None:
        position = self.stream.tell()
        self.consumed += len(self.text[self.chars : position].encode())
        self.chars = position
        self.callback(self.consumed)


def _csv_rows(
    records: _Records, *, layout: _Layout, checker: _RowChecker, progress: _ByteProgress | None
) -> list[CatalogRow]:
    """Check every record after the header; return the good rows."""
    report = checker.report
    check = checker.check
    width = layout.width
    i_sku, i_title, i_description, i_price, i_currency, i_stock, i_category, i_image = (
        layout.index[column] for column in BASE_COLUMNS
    )
    i_digital, i_active = (layout.index.get(column) for column in FLAG_COLUMNS)
    i_photos, i_order, i_created = (layout.index.get(column) for column in OPTIONAL_COLUMNS)
    translations = layout.translations
    attr_columns = layout.attrs
    rows: list[CatalogRow] = []
    reader = records.reader
    previous = records.previous
    count = 0
    for record in reader:
        start = previous + 1
        previous = records.previous = reader.line_num
        count += 1
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress.update()
        if len(record) != width:
            _wrong_width(start, record, width, previous, report)
            continue
        fields = list(map(str.strip, record))
        if not any(fields):
            continue  # a row of empty cells
        titles: dict[str, str] = {}
        descriptions: dict[str, str] = {}
        categories: dict[str, str] = {}
        for position, column, locale in translations:
            if fields[position]:
                if column == "title":
                    titles[locale] = fields[position]
                elif column == "description":
                    descriptions[locale] = fields[position]
                else:
                    categories[locale] = fields[position]
        row = check(
            start,
            sku=fields[i_sku],
            title=fields[i_title],
            description=fields[i_description],
            price=fields[i_price],
            currency=fields[i_currency],
            stock=fields[i_stock],
            category=fields[i_category],
            image_url=fields[i_image],
            digital=fields[i_digital] if i_digital is not None else "",
            active=fields[i_active] if i_active is not None else "",
            titles=titles,
            descriptions=descriptions,
            categories=categories,
            # Whitespace parts the photos: a URL never holds it unescaped.
            image_urls=fields[i_photos].split() if i_photos is not None else (),
            attrs={name: fields[position] for position, name in attr_columns if fields[position]},
            sort_order=fields[i_order] if i_order is not None else "",
            created=fields[i_created] if i_created is not None else "",
        )
        if row is not None:
            rows.append(row)
    return rows


def _wrong_width(start: int, record: list[str], width: int, end: int, report: _Report) -> None:
    """Report a record with too many or too few fields, unless it is blank."""
    if not any(field.strip() for field in record):
        return  # a blank line, or a row of empty cells
    message = f"this row has {len(record)} fields but the header has {width} columns"
    if end > start:
        message += f" (the row runs on to line {end}: is a closing double quote missing?)"
    elif len(record) > width:
        message += "; put text that contains commas in double quotes"
    report.add(start, message)


class _JsonObject(dict[str, object]):
    """A JSON object that remembers keys given more than once."""

    duplicates: tuple[str, ...] = ()


def _json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """Build a JSON object, noting duplicated keys (json keeps only the last one)."""
    obj = _JsonObject(pairs)
    if len(obj) != len(pairs):
        keys = [key for key, _ in pairs]
        obj.duplicates = tuple(sorted({key for key in keys if keys.count(key) > 1}))
    return obj


def _json_kind(value: object) -> str:
    """Name a JSON value's type the way a person would."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "text"


def _json_text(value: object) -> str:
    """Render a JSON value for a message, as it was written in the file."""
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _parse_json(
    data: bytes, checker: _RowChecker, progress: Callable[[int], None] | None
) -> list[CatalogRow]:
    """Parse a catalog JSON file (see parse_catalog)."""
    text = _decode(data)
    if not text.strip():
        raise CatalogFileError(
            [Problem(0, 'the file is empty; it needs a JSON array of products: [{"sku": ...}]')]
        )
    try:
        items = json.loads(
            text, parse_float=Decimal, parse_constant=Decimal, object_pairs_hook=_json_object
        )
    except json.JSONDecodeError as exc:
        message = f"this is not valid JSON: {exc.msg} (column {exc.colno})"
        raise CatalogFileError([Problem(exc.lineno, message)]) from None
    except RecursionError:
        raise CatalogFileError([Problem(0, "the JSON is nested too deeply")]) from None
    except ValueError:  # json refuses a number of over 4300 digits
        raise CatalogFileError([Problem(0, "the JSON has a number far too long")]) from None
    if not isinstance(items, list):
        message = (
            'the file must be a JSON array of products: [{"sku": ...}, ...], '
            f"not {_json_kind(items)}"
        )
        raise CatalogFileError([Problem(0, message)])
    if not items:
        raise CatalogFileError([Problem(0, "the file has no products: the JSON array is empty")])

    report = checker.report
    specs: dict[str, tuple[str, str]] = {}
    rows: list[CatalogRow] = []
    for number, item in enumerate(items, start=1):
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number)
        if not isinstance(item, dict):
            report.add(number, f'must be an object like {{"sku": ...}}, not {_json_kind(item)}')
            continue
        row = _json_row(number, item, checker, specs)
        if row is not None:
            rows.append(row)
    report.raise_if_any()
    if progress is not None:
        progress(len(items))
    return rows


_UNKNOWN: Final = ("", "")  # the spec of a JSON key that is no catalog column


def _json_row(
    number: int,
    item: dict[str, object],
    checker: _RowChecker,
    specs: dict[str, tuple[str, str]],
) -> CatalogRow | None:
    """Check one JSON item; report its problems and return the row if it has none."""
    report = checker.report
    before = report.count
    for key in getattr(item, "duplicates", ()):
        report.add(number, f"field {key!r} appears twice")
    texts: dict[str, str | None] = {}  # column -> stripped text; None: not text, reported
    translated: dict[str, dict[str, str]] = {}  # column (or "attr") -> locale (or name) -> text
    scalars: dict[str, object] = {}  # price, stock, sort_order or a flag given as not a string
    photos: list[str] = []
    for key, value in item.items():
        spec = specs.get(key)
        if spec is None:
            spec = specs[key] = _column_spec(key) or _UNKNOWN
        column, locale = spec
        if not column:
            report.add(number, _unknown_column(key, "field"))
        elif value is None:
            pass  # null is the same as an empty cell
        elif isinstance(value, str):
            if not locale:
                texts[column] = value.strip()
            elif value.strip():
                translated.setdefault(column, {})[locale] = value.strip()
        elif column in {"price", "stock", "sort_order", *FLAG_COLUMNS}:
            scalars[column] = value
        elif column == "image_urls" and isinstance(value, list):
            photos = _json_photos(number, value, report)
        else:
            report.add(number, f"{key} must be text in double quotes, not {_json_kind(value)}")
            if not locale:
                texts[column] = None
    row = checker.check(
        number,
        sku=texts.get("sku", ""),
        title=texts.get("title", ""),
        description=texts.get("description", ""),
        price=_json_price(scalars["price"]) if "price" in scalars else texts.get("price") or "",
        currency=texts.get("currency", ""),
        stock=_json_whole(scalars["stock"]) if "stock" in scalars else texts.get("stock") or "",
        category=texts.get("category", ""),
        image_url=texts.get("image_url", ""),
        digital=_json_flag(scalars["digital"])
        if "digital" in scalars
        else texts.get("digital") or "",
        active=_json_flag(scalars["active"]) if "active" in scalars else texts.get("active") or "",
        titles=translated.get("title", {}),
        descriptions=translated.get("description", {}),
        categories=translated.get("category", {}),
        image_urls=photos or (texts.get("image_urls") or "").split(),
        attrs=translated.get("attr", {}),
        sort_order=_json_whole(scalars["sort_order"])
        if "sort_order" in scalars
        else texts.get("sort_order") or "",
        created=texts.get("created", ""),
    )
    return row if report.count == before else None


def _json_photos(number: int, value: list[object], report: _Report) -> list[str]:
    """Take a JSON list of photo URLs, reporting anything in it that is not text."""
    photos = []
    for url in value:
        if isinstance(url, str):
            photos.extend(url.split())
        else:
            report.add(number, f"image_urls must list URLs in double quotes, not {_json_kind(url)}")
    return photos


# A price, stock or flag value that is not a JSON string: take it if it is the right type,
# else quote it as written so that the checker says what is wrong ("stock 'true' is not ...").


def _json_price(value: object) -> str:
    """Take a JSON price: a number (1299.9 is read as an exact Decimal)."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return _json_text(value)


def _json_whole(value: object) -> str | int:
    """Take a JSON whole number (stock, sort_order): 5, or 5.0."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value.adjusted() < 20  # int() of 1e999999999 would take forever
        and value == value.to_integral_value()
    ):
        return int(value)
    return _json_text(value)


def _json_flag(value: object) -> str | bool:
    """Take a JSON flag (digital, active): true or false (1 and 0 work too, as in CSV)."""
    if isinstance(value, bool):
        return value
    return _json_text(value)


# --- writing -------------------------------------------------------------------------------


def _locales(rows: list[CatalogRow]) -> list[str]:
    """Return every locale any row has a translation for, sorted."""
    found: set[str] = set()
    for row in rows:
        found.update(row.titles, row.descriptions, row.categories)
    return sorted(found)


def _more_photos(row: CatalogRow) -> list[str]:
    """Return the photos beyond the main one: what the `image_urls` column holds."""
    return [url for url in row.image_urls if url != row.image_url]


def _iso(moment: datetime) -> str:
    """Write a moment as ISO 8601 in UTC, e.g. 2026-12-01T09:30:00Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _optional(rows: list[CatalogRow]) -> list[str]:
    """Return the optional columns some row has a value for, in `OPTIONAL_COLUMNS` order."""
    used = {
        "image_urls": any(_more_photos(row) for row in rows),
        "sort_order": any(row.sort_order is not None for row in rows),
        "created": any(row.created is not None for row in rows),
    }
    return [column for column in OPTIONAL_COLUMNS if used[column]]


def csv_header(
    locales: Iterable[str],
    *,
    active: bool = False,
    optional: Iterable[str] = (),
    attrs: Iterable[str] = (),
) -> list[str]:
    """Return the CSV header `write_catalog` uses: base columns, flags, then what rows use."""
    return [
        *BASE_COLUMNS,
        "digital",
        *(["active"] if active else []),
        *optional,
        *(ATTR_PREFIX + name for name in sorted(attrs)),
        *(f"{column}_{locale}" for locale in sorted(locales) for column in TRANSLATED_COLUMNS),
    ]


def _write_csv(rows: list[CatalogRow]) -> bytes:
    """Write rows as CSV (see write_catalog)."""
    locales = _locales(rows)
    # Products are on sale unless the file says otherwise: the column only where one is not.
    # So with the optional columns: a file without them reads the same.
    with_active = not all(row.active for row in rows)
    optional = _optional(rows)
    attrs = sorted({name for row in rows for name in row.attrs})
    buffer = io.StringIO()
    # "\r\n" also makes the writer quote a bare "\r" inside a value, which "\n" would not.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_header(locales, active=with_active, optional=optional, attrs=attrs))
    for row in rows:
        flags = (row.digital, row.active) if with_active else (row.digital,)
        extras = {
            "image_urls": " ".join(_more_photos(row)),
            "sort_order": "" if row.sort_order is None else str(row.sort_order),
            "created": "" if row.created is None else _iso(row.created),
        }
        writer.writerow(
            [
                row.sku,
                row.title,
                row.description,
                to_major(row.price, row.currency),
                row.currency,
                str(row.stock),
                row.category,
                row.image_url or "",
                *("true" if flag else "false" for flag in flags),
                *(extras[column] for column in optional),
                *(row.attrs.get(name, "") for name in attrs),
                *(
                    translated.get(locale, "")
                    for locale in locales
                    for translated in (row.titles, row.descriptions, row.categories)
                ),
            ]
        )
    return buffer.getvalue().encode("utf-8")


def _write_json(rows: list[CatalogRow]) -> bytes:
    """Write rows as a pretty JSON array (see write_catalog)."""
    items: list[dict[str, object]] = []
    for row in rows:
        item: dict[str, object] = {
            "sku": row.sku,
            "title": row.title,
            "description": row.description,
            "price": to_major(row.price, row.currency),
            "currency": row.currency,
            "stock": row.stock,
            "category": row.category,
            "image_url": row.image_url,
            "digital": row.digital,
        }
        if not row.active:
            item["active"] = False
        if _more_photos(row):
            item["image_urls"] = _more_photos(row)
        if row.sort_order is not None:
            item["sort_order"] = row.sort_order
        if row.created is not None:
            item["created"] = _iso(row.created)
        for name in sorted(row.attrs):
            item[ATTR_PREFIX + name] = row.attrs[name]
        for locale in sorted({*row.titles, *row.descriptions, *row.categories}):
            for column, translated in zip(
                TRANSLATED_COLUMNS, (row.titles, row.descriptions, row.categories), strict=True
            ):
                if locale in translated:
                    item[f"{column}_{locale}"] = translated[locale]
        items.append(item)
    return (json.dumps(items, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
