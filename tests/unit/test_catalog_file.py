"""The catalog file a shop owner uploads: what is accepted, what is refused and how it is said."""

from __future__ import annotations

import csv
import dataclasses
import gc
import io
import json
from datetime import UTC, datetime
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.catalog_file import (
    MAX_PHOTOS,
    CatalogFileError,
    CatalogRow,
    Problem,
    detect_format,
    parse_catalog,
    write_catalog,
)

HEADER = "sku,title,description,price,currency,stock,category,image_url,digital"
GOOD = "TEA-1,Green tea,Loose leaf,1299.90,RUB,5,Tea,https://example.com/tea.jpg,false"


def csv_file(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def problems(data: bytes, fmt: Literal["csv", "json"] = "csv") -> list[Problem]:
    with pytest.raises(CatalogFileError) as caught:
        parse_catalog(data, fmt, currency="RUB")
    return caught.value.problems


def without_line(rows: list[CatalogRow]) -> list[CatalogRow]:
    return [dataclasses.replace(row, line=0) for row in rows]


def row(**changes: Any) -> CatalogRow:
    base = CatalogRow(
        line=2,
        sku="TEA-1",
        title="Green tea",
        description="Loose leaf",
        price=129990,
        currency="RUB",
        stock=5,
        category="Tea",
        image_url="https://example.com/tea.jpg",
        digital=False,
        titles={},
        descriptions={},
        categories={},
        image_urls=("https://example.com/tea.jpg",),
    )
    if "image_url" in changes and "image_urls" not in changes:  # the main photo, and no other
        url = changes["image_url"]
        changes["image_urls"] = (url,) if url else ()
    return dataclasses.replace(base, **changes)


# --- good files -----------------------------------------------------------------------------


def test_a_file_with_russian_translations_parses_to_rows() -> None:
    data = csv_file(
        "sku,title,description,price,currency,stock,category,image_url,digital,"
        "title_ru,description_ru,category_ru",
        "TEA-1,Green tea,Loose leaf,1299.90,RUB,5,Tea,https://example.com/tea.jpg,false,"
        "Зелёный чай,Листовой,Чай",
        "  EBOOK-7 , Cookbook ,, 5 , rub , 0 , Books ,, Yes ,Кулинарная книга,,",
    )

    assert parse_catalog(data, "csv", currency="RUB") == [
        row(
            titles={"ru": "Зелёный чай"},
            descriptions={"ru": "Листовой"},
            categories={"ru": "Чай"},
        ),
        CatalogRow(
            line=3,
            sku="EBOOK-7",
            title="Cookbook",
            description="",
            price=500,
            currency="RUB",
            stock=0,
            category="Books",
            image_url=None,
            digital=True,
            titles={"ru": "Кулинарная книга"},
            descriptions={},
            categories={},
        ),
    ]


def test_the_digital_and_translation_columns_are_optional() -> None:
    data = csv_file(
        "sku,title,description,price,currency,stock,category,image_url", GOOD.removesuffix(",false")
    )

    assert parse_catalog(data, "csv", currency="RUB") == [row()]


def test_a_utf8_bom_from_excel_is_skipped() -> None:
    data = b"\xef\xbb\xbf" + csv_file(HEADER, GOOD)

    assert parse_catalog(data, "csv", currency="RUB") == [row()]


def test_windows_line_endings_are_fine() -> None:
    data = f"{HEADER}\r\n{GOOD}\r\n".encode()

    assert parse_catalog(data, "csv", currency="RUB") == [row()]


def test_quoted_multiline_descriptions_keep_line_numbers_right() -> None:
    data = csv_file(
        HEADER,
        'TEA-1,Green tea,"Loose leaf,\nfrom Uzbekistan,\n""best"" in town",1299.90,RUB,5,Tea,,',
        "TEA-2,Black tea,,99,RUB,1,Tea,,",
        "TEA-3,White tea,,abc,RUB,1,Tea,,",
    )

    with pytest.raises(CatalogFileError) as caught:
        parse_catalog(data, "csv", currency="RUB")

    assert [str(problem) for problem in caught.value.problems] == [
        "line 6: price 'abc' is not a number"
    ]
    rows = parse_catalog(data.replace(b"abc", b"7"), "csv", currency="RUB")
    assert [(r.line, r.sku) for r in rows] == [(2, "TEA-1"), (5, "TEA-2"), (6, "TEA-3")]
    assert rows[0].description == 'Loose leaf,\nfrom Uzbekistan,\n"best" in town'


def test_blank_lines_are_skipped_but_counted() -> None:
    data = csv_file(HEADER, "", GOOD, ",,,,,,,,", "", "TEA-2,Black tea,,-1,RUB,1,Tea,,")

    assert problems(data) == [Problem(6, "price '-1' is negative")]


@pytest.mark.parametrize(
    ("text", "digital"),
    [
        *[("true", True), ("TRUE", True), ("Yes", True), ("1", True)],
        *[("false", False), ("No", False), ("0", False), ("", False)],
    ],
)
def test_digital_takes_true_false_yes_no_1_0(text: str, digital: bool) -> None:
    data = csv_file(HEADER, GOOD.removesuffix("false") + text)

    assert parse_catalog(data, "csv", currency="RUB")[0].digital is digital


@pytest.mark.parametrize(
    ("text", "active"),
    [("false", False), ("no", False), ("0", False), ("true", True), ("Yes", True), ("", True)],
)
def test_active_says_whether_a_product_is_on_sale_and_is_by_default(
    text: str, active: bool
) -> None:
    data = csv_file(HEADER + ",active", f"{GOOD},{text}")

    assert parse_catalog(data, "csv", currency="RUB") == [row(active=active)]


def test_active_takes_only_true_or_false() -> None:
    data = csv_file(HEADER + ",active", f"{GOOD},later")

    assert problems(data) == [Problem(2, "active 'later' must be true or false (or yes/no, 1/0)")]


def test_a_json_item_is_taken_off_sale_with_active_false() -> None:
    data = json.dumps([_json_item(active=False), _json_item(sku="T2", active="no")]).encode()

    rows = parse_catalog(data, "json", currency="RUB")

    assert [(r.sku, r.active) for r in rows] == [("TEA-1", False), ("T2", False)]


@pytest.mark.parametrize(
    ("price", "currency", "minor"),
    [("1299.9", "RUB", 129990), ("1500", "JPY", 1500), ("1.234", "KWD", 1234), ("5.", "EUR", 500)],
)
def test_prices_keep_the_currency_minor_units(price: str, currency: str, minor: int) -> None:
    data = csv_file(HEADER, f"A,a,,{price},{currency.lower()},1,c,,")

    [parsed] = parse_catalog(data, "csv", currency=currency)

    assert (parsed.price, parsed.currency) == (minor, currency)


def test_a_price_has_no_more_decimals_than_its_currency() -> None:
    with pytest.raises(CatalogFileError) as caught:
        parse_catalog(csv_file(HEADER, "A,a,,10.5,JPY,1,c,,"), "csv", currency="JPY")

    assert str(caught.value) == "line 2: price '10.5' has more decimals than JPY allows (0)"


def test_a_row_in_another_currency_than_the_shop_s_is_refused() -> None:
    data = csv_file(HEADER, GOOD, GOOD.replace("TEA-1", "TEA-2").replace("RUB", "eur"))

    assert [str(problem) for problem in problems(data)] == [
        "line 3: currency 'eur' is not the shop's: it sells in RUB (SHOP_CURRENCY)"
    ]


@pytest.mark.parametrize(
    ("price", "message"),
    [
        *[(price, "is not a plain number") for price in ("1e3", "1E+3", "inf", "-Infinity")],
        *[(price, "is not a plain number") for price in ("nan", "1_000", "+5", "٣", "１")],
        ("0x10", "is not a number"),
    ],
)
def test_a_price_must_be_plain_digits_and_a_dot(price: str, message: str) -> None:
    [problem] = problems(csv_file(HEADER, GOOD.replace("1299.90", price)))

    assert problem.line == 2
    assert problem.message.startswith(f"price {price!r} {message}")


@pytest.mark.parametrize("price", ["0", "0.00", "-0"])
def test_a_free_product_is_refused_unless_the_owner_allows_it(price: str) -> None:
    data = csv_file(HEADER, GOOD.replace("1299.90", price))

    assert [str(problem) for problem in problems(data)] == [
        f"line 2: price {price!r} would give the product away; "
        "import with --allow-free if it is free on purpose"
    ]
    assert parse_catalog(data, "csv", currency="RUB", allow_free=True)[0].price == 0


# --- bad rows -------------------------------------------------------------------------------

BAD_ROWS = [
    (",Tea,,1,RUB,1,Tea,,", "sku is missing"),
    ("TEA 2,Tea,,1,RUB,1,Tea,,", "sku 'TEA 2' contains a space"),
    ("X" * 65 + ",Tea,,1,RUB,1,Tea,,", "is longer than 64 characters"),
    ("TEA-1,Tea again,,1,RUB,1,Tea,,", "sku 'TEA-1' is already on line 2"),
    ("TEA-2,,,1,RUB,1,Tea,,", "title is missing"),
    ("TEA-2,Tea,,1,RUB,1,,,", "category is missing"),
    ("TEA-2,Tea,,,RUB,1,Tea,,", "price is missing"),
    ("TEA-2,Tea,,abc,RUB,1,Tea,,", "price 'abc' is not a number"),
    ('TEA-2,Tea,,"1 299,90",RUB,1,Tea,,', "price '1 299,90' is not a number"),
    ("TEA-2,Tea,,-5,RUB,1,Tea,,", "price '-5' is negative"),
    ("TEA-2,Tea,,1.234,RUB,1,Tea,,", "price '1.234' has more decimals than RUB allows (2)"),
    ("TEA-2,Tea,,1e999999999,RUB,1,Tea,,", "price '1e999999999' is not a plain number"),
    ("TEA-2,Tea,," + "9" * 20 + ",RUB,1,Tea,,", "is too large"),
    ("TEA-2,Tea,,1,,1,Tea,,", "currency is missing"),
    ("TEA-2,Tea,,1,XYZ,1,Tea,,", "unknown currency 'XYZ'"),
    ("TEA-2,Tea,,1,RUB,,Tea,,", "stock is missing"),
    ("TEA-2,Tea,,1,RUB,-3,Tea,,", "stock '-3' is negative"),
    ("TEA-2,Tea,,1,RUB,2.5,Tea,,", "stock '2.5' is not a whole number"),
    ("TEA-2,Tea,,1,RUB,lots,Tea,,", "stock 'lots' is not a whole number"),
    ("TEA-2,Tea,,1,RUB,1,Tea,,maybe", "digital 'maybe' must be true or false"),
    ("TEA-2,Tea,,1,RUB,1,Tea,ftp://x/a.jpg,", "image_url 'ftp://x/a.jpg' must start with http://"),
    ("TEA-2,Tea,,1,RUB,1,Tea,tea.jpg,", "image_url 'tea.jpg' must start with http://"),
    ("TEA-2,Tea,Big, green,1,RUB,1,Tea,,", "this row has 10 fields but the header has 9 columns"),
    ("TEA-2,Tea,1,RUB", "this row has 4 fields but the header has 9 columns"),
]


@pytest.mark.parametrize(("bad_row", "message"), BAD_ROWS)
def test_a_bad_row_is_refused_naming_its_line_and_the_problem(bad_row: str, message: str) -> None:
    found = problems(csv_file(HEADER, GOOD, bad_row, GOOD.replace("TEA-1", "TEA-9")))

    assert len(found) == 1
    assert found[0].line == 3
    assert message in found[0].message
    assert str(found[0]) == f"line 3: {found[0].message}"


TEXT_COLUMNS = [
    "sku",
    "title",
    "description",
    "category",
    "image_url",
    "title_ru",
    "description_ru",
    "category_ru",
    "image_urls",
    "attr_brand",
    "created",
]


def _csv_with(column: str, value: str) -> bytes:
    """A good file of two products, the second with `value` in `column`."""
    header = [*HEADER.split(","), "title_ru", "description_ru", "category_ru"]
    header += ["image_urls", "attr_brand", "created"]
    good = [*GOOD.split(","), "Зелёный чай", "Листовой", "Чай", "", "Ahmad", ""]
    second = dict(zip(header, good, strict=True)) | {"sku": "TEA-2", column: value}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([header, good, [second[name] for name in header]])
    return buffer.getvalue().encode()


@pytest.mark.parametrize("column", TEXT_COLUMNS)
@pytest.mark.parametrize("char", ["\x1b", "\x07", "\x7f", "\x9b", "\u202e", "\u2066", "\u2069"])
def test_a_control_character_in_any_text_is_refused_naming_line_column_and_character(
    column: str, char: str
) -> None:
    is_url = column.startswith("image_url")
    value = f"https://example.com/t{char}ea.jpg" if is_url else f"Gr{char}een"

    [problem] = problems(_csv_with(column, value))

    assert problem.line == 3
    assert problem.message.startswith(f"{column} ")
    assert problem.message.endswith(f"contains the control character U+{ord(char):04X}")


@pytest.mark.parametrize(
    "column", ["sku", "title", "category", "title_ru", "category_ru", "attr_brand"]
)
@pytest.mark.parametrize(("char", "name"), [("\n", "a line break"), ("\t", "a tab")])
def test_only_descriptions_may_have_line_breaks_and_tabs(column: str, char: str, name: str) -> None:
    value = f"Green{char}tea"
    [problem] = problems(_csv_with(column, value))
    assert (problem.line, problem.message) == (3, f"{column} {value!r} contains {name}")

    for description in ("description", "description_ru"):
        [_, second] = parse_catalog(
            _csv_with(description, "Loose\r\nleaf\tfrom\nhills"), "csv", currency="RUB"
        )
        assert "Loose\r\nleaf\tfrom\nhills" in (second.description, *second.descriptions.values())


def test_a_control_character_in_json_is_refused_naming_its_item() -> None:
    items = [_json_item(), _json_item(sku="TEA-2", category_ru="Ч\u202eай")]

    assert [str(problem) for problem in problems(json.dumps(items).encode(), "json")] == [
        "item 2: category_ru 'Ч\\u202eай' contains the control character U+202E"
    ]


def test_every_problem_of_the_file_is_reported_at_once() -> None:
    data = csv_file(
        HEADER,
        "A,,,abc,RUB,1,Tea,,",
        GOOD,
        "A,Tea,,1,XYZ,-1,Tea,,",
    )

    assert [str(problem) for problem in problems(data)] == [
        "line 2: title is missing",
        "line 2: price 'abc' is not a number",
        "line 4: sku 'A' is already on line 2",
        "line 4: unknown currency 'XYZ': use a code such as USD, EUR or RUB",
        "line 4: stock '-1' is negative",
    ]


def test_a_missing_closing_quote_is_pointed_at() -> None:
    data = csv_file(HEADER, GOOD, 'TEA-2,Tea,"Oops,1,RUB,1,Tea,,', GOOD.replace("TEA-1", "TEA-3"))

    [problem] = problems(data)

    assert problem.line == 3
    assert "quote" in problem.message


def test_many_problems_are_capped_and_counted() -> None:
    data = csv_file(HEADER, *[f"S{n},Tea,,abc,RUB,1,Tea,," for n in range(120)])

    with pytest.raises(CatalogFileError) as caught:
        parse_catalog(data, "csv", currency="RUB")

    error = caught.value
    assert len(error.problems) == 50
    assert error.more == 70
    assert error.problems[-1] == Problem(51, "price 'abc' is not a number")
    lines = str(error).splitlines()
    assert lines[0] == "line 2: price 'abc' is not a number"
    assert lines[-1] == "... and 110 more problems"
    assert len(lines) == 11


# --- bad headers and bad files --------------------------------------------------------------


def test_missing_columns_are_named_and_rows_are_not_checked() -> None:
    data = csv_file("sku,title,description,price,currency,category", ",,,abc,XYZ,")

    assert [str(problem) for problem in problems(data)] == [
        "line 1: the header is missing the columns 'stock', 'image_url'"
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (HEADER + ",colour", "unknown column 'colour' (column 10)"),
        (HEADER + ",title_russian", "unknown column 'title_russian' (column 10)"),
        (HEADER + ",price_ru", "unknown column 'price_ru' (column 10)"),
        (HEADER + ",Title_ru", "did you mean 'title_ru'?"),
        (HEADER + ",title", "column 'title' appears twice in the header (columns 2 and 10)"),
        (HEADER + ",", "column 10 of the header has no name"),
    ],
)
def test_a_wrong_header_is_reported_on_line_1(header: str, message: str) -> None:
    found = problems(csv_file(header, GOOD + ",x"))

    assert len(found) == 1
    assert found[0].line == 1
    assert message in found[0].message


def test_translation_columns_take_a_language_and_an_optional_region() -> None:
    data = csv_file(HEADER + ",title_pt_BR,category_uz", GOOD + ",Chá verde,Choy")

    [parsed] = parse_catalog(data, "csv", currency="RUB")

    assert parsed.titles == {"pt_BR": "Chá verde"}
    assert parsed.categories == {"uz": "Choy"}


def test_a_file_without_a_header_says_the_first_line_must_be_one() -> None:
    [problem] = problems(csv_file(GOOD))

    assert problem.line == 1
    assert "the first line must be the header sku,title," in problem.message


def test_semicolons_from_excel_get_a_hint() -> None:
    [problem] = problems(csv_file(HEADER.replace(",", ";"), GOOD.replace(",", ";")))

    assert problem.line == 1
    assert "separated by ';'" in problem.message


def test_broken_utf8_names_the_line_and_nothing_else() -> None:
    data = csv_file(HEADER, GOOD, "A,b,,1,RUB,1,c,,") + "B,Чай,,x,RUB,1,c,,\n".encode("cp1251")

    [problem] = problems(data)

    assert problem.line == 4
    assert "UTF-8" in problem.message


def test_broken_utf8_after_a_bom_names_the_right_line() -> None:
    data = b"\xef\xbb\xbf" + csv_file(HEADER, GOOD) + b"\xff\n"

    assert [problem.line for problem in problems(data)] == [3]


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(data: bytes) -> None:
    [problem] = problems(data)

    assert "the file is empty" in str(problem)


def test_a_header_without_products_is_refused() -> None:
    assert [str(problem) for problem in problems(csv_file(HEADER, ""))] == [
        "line 1: the file has a header but no products below it"
    ]


# --- progress -------------------------------------------------------------------------------


def test_progress_is_reported_now_and_then_up_to_the_file_size() -> None:
    data = csv_file(HEADER, *[f"S{n},Чай,,1,RUB,1,Tea,," for n in range(2500)])
    seen: list[int] = []

    parse_catalog(data, "csv", currency="RUB", progress=seen.append)

    assert 2 <= len(seen) <= 5
    assert seen == sorted(seen)
    assert seen[-1] == len(data)


def test_json_progress_counts_items() -> None:
    items = [_json_item(sku=f"S{n}") for n in range(2500)]
    seen: list[int] = []

    parse_catalog(json.dumps(items).encode(), "json", currency="RUB", progress=seen.append)

    assert seen == [1000, 2000, 2500]


def test_the_garbage_collector_runs_again_after_a_refused_file() -> None:
    assert gc.isenabled()

    problems(csv_file(HEADER, "A,,,abc,RUB,1,Tea,,"))

    assert gc.isenabled()


# --- file type ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "fmt"),
    [("catalog.csv", "csv"), ("uploads/Каталог.CSV", "csv"), ("catalog.json", "json")],
)
def test_the_format_comes_from_the_file_extension(filename: str, fmt: str) -> None:
    assert detect_format(filename) == fmt


@pytest.mark.parametrize("filename", ["catalog.xlsx", "catalog.txt", "catalog"])
def test_other_files_are_refused_with_a_clear_message(filename: str) -> None:
    with pytest.raises(CatalogFileError) as caught:
        detect_format(filename)

    [problem] = caught.value.problems
    assert problem.line == 0
    assert str(problem).startswith(f"cannot read {filename!r}: a catalog must be a .csv or .json")


# --- photos, attributes, order, arrival ----------------------------------------------------

TEA = "https://example.com/tea.jpg"
CUP = "https://example.com/cup.jpg"
LEAF = "http://example.com/leaf.png"


def test_more_photos_come_after_the_main_one_each_once() -> None:
    data = csv_file(
        HEADER + ",image_urls",
        GOOD + f',"{CUP} {TEA}\n{LEAF}  {CUP}"',
    )

    [parsed] = parse_catalog(data, "csv", currency="RUB")

    assert parsed.image_url == TEA
    assert parsed.image_urls == (TEA, CUP, LEAF)


def test_without_a_main_photo_the_first_of_the_others_is_the_main_one() -> None:
    data = csv_file(HEADER + ",image_urls", GOOD.replace(TEA, "") + f",{CUP} {LEAF}")

    [parsed] = parse_catalog(data, "csv", currency="RUB")

    assert (parsed.image_url, parsed.image_urls) == (CUP, (CUP, LEAF))


@pytest.mark.parametrize(
    ("photos", "message"),
    [
        ("example.com/cup.jpg", "line 2: image_urls 'example.com/cup.jpg' must start with http"),
        (f"{CUP} ftp://example.com/x", "line 2: image_urls 'ftp://example.com/x' must start"),
        (
            " ".join(f"https://example.com/{n}.jpg" for n in range(MAX_PHOTOS)),
            f"line 2: a product has at most {MAX_PHOTOS} photos, this one {MAX_PHOTOS + 1}",
        ),
    ],
)
def test_a_bad_photo_is_refused_naming_its_line(photos: str, message: str) -> None:
    found = problems(csv_file(HEADER + ",image_urls", GOOD + f",{photos}"))

    assert len(found) == 1
    assert str(found[0]).startswith(message)


def test_attribute_columns_give_the_non_empty_values_trimmed() -> None:
    data = csv_file(
        HEADER + ",attr_brand,attr_colour_2,attr_size",
        GOOD + ",  Ahmad Tea ,green,",
    )

    [parsed] = parse_catalog(data, "csv", currency="RUB")

    assert parsed.attrs == {"brand": "Ahmad Tea", "colour_2": "green"}


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("attr_Brand", "did you mean 'attr_brand'?"),
        ("attr_", "after 'attr_' put a name of at most 32 lower-case letters"),
        ("attr_brand-name", "unknown column 'attr_brand-name' (column 10): after 'attr_'"),
        ("attr_" + "x" * 33, "after 'attr_' put a name of at most 32"),
    ],
)
def test_an_attribute_column_needs_a_plain_lower_case_name(column: str, message: str) -> None:
    found = problems(csv_file(HEADER + "," + column, GOOD + ",x"))

    assert len(found) == 1
    assert found[0].line == 1
    assert message in found[0].message


def test_an_attribute_value_has_at_most_64_characters() -> None:
    found = problems(csv_file(HEADER + ",attr_brand", GOOD + "," + "B" * 65))

    assert [str(problem) for problem in found] == [
        f"line 2: attr_brand {'B' * 39 + '…'!r} is longer than 64 characters"
    ]
    assert parse_catalog(
        csv_file(HEADER + ",attr_brand", GOOD + "," + "B" * 64), "csv", currency="RUB"
    )


@pytest.mark.parametrize(
    ("created", "moment"),
    [
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T09:30:00", datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
        ("2026-12-01 09:30", datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
        ("2026-12-01T12:30:00+03:00", datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
        ("2026-12-01T09:30:00Z", datetime(2026, 12, 1, 9, 30, tzinfo=UTC)),
    ],
)
def test_created_is_an_iso_date_or_time_in_utc_unless_it_says(
    created: str, moment: datetime
) -> None:
    data = csv_file(HEADER + ",sort_order,created", GOOD + f",-3,{created}")

    [parsed] = parse_catalog(data, "csv", currency="RUB")

    assert (parsed.sort_order, parsed.created) == (-3, moment)


@pytest.mark.parametrize(
    ("order", "created", "message"),
    [
        ("first", "", "line 2: sort_order 'first' is not a whole number"),
        ("1.5", "", "line 2: sort_order '1.5' is not a whole number"),
        ("9999999999", "", "line 2: sort_order 9999999999 is too large"),
        ("9" * 5000, "", f"line 2: sort_order {'9' * 39 + '…'!r} is too large"),
        ("", "01.12.2026", "line 2: created '01.12.2026' is not a date: write it as 2026-12-01"),
        ("", "yesterday", "line 2: created 'yesterday' is not a date"),
    ],
)
def test_a_bad_order_or_date_is_refused_naming_its_line(
    order: str, created: str, message: str
) -> None:
    found = problems(csv_file(HEADER + ",sort_order,created", GOOD + f",{order},{created}"))

    assert len(found) == 1
    assert str(found[0]).startswith(message)


def test_a_file_without_the_new_columns_reads_as_before() -> None:
    [parsed] = parse_catalog(csv_file(HEADER, GOOD), "csv", currency="RUB")

    assert parsed == row()
    assert (parsed.image_urls, parsed.attrs, parsed.sort_order, parsed.created) == (
        (TEA,),
        {},
        None,
        None,
    )


def test_json_takes_a_list_of_photos_and_the_same_columns() -> None:
    item = _json_item(
        image_urls=[CUP, TEA],
        attr_brand=" Ahmad ",
        attr_size=None,
        sort_order=2,
        created="2026-12-01",
    )

    [parsed] = parse_catalog(json.dumps([item]).encode(), "json", currency="RUB")

    assert (parsed.image_url, parsed.image_urls) == (TEA, (TEA, CUP))
    assert (parsed.attrs, parsed.sort_order) == ({"brand": "Ahmad"}, 2)
    assert parsed.created == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"image_urls": [CUP, 5]},
            "item 1: image_urls must list URLs in double quotes, not the number 5",
        ),
        ({"image_urls": ["cup.jpg"]}, "item 1: image_urls 'cup.jpg' must start with http"),
        ({"sort_order": 1.5}, "item 1: sort_order '1.5' is not a whole number"),
        ({"created": 20261201}, "item 1: created must be text in double quotes"),
        ({"attr_brand": ["A"]}, "item 1: attr_brand must be text in double quotes, not a list"),
    ],
)
def test_a_bad_json_photo_order_date_or_attribute_is_refused(
    changes: dict[str, object], message: str
) -> None:
    found = problems(json.dumps([_json_item(**changes)]).encode(), "json")

    assert len(found) == 1
    assert str(found[0]).startswith(message)


# --- JSON -----------------------------------------------------------------------------------


def _json_item(**changes: object) -> dict[str, object]:
    item: dict[str, object] = {
        "sku": "TEA-1",
        "title": "Green tea",
        "description": "Loose leaf",
        "price": "1299.90",
        "currency": "RUB",
        "stock": 5,
        "category": "Tea",
        "image_url": "https://example.com/tea.jpg",
    }
    item.update(changes)
    return item


def test_json_items_parse_like_csv_rows() -> None:
    data = json.dumps(
        [
            _json_item(title_ru="Зелёный чай"),
            _json_item(
                sku="EBOOK-7",
                price=5,
                currency="rub",
                digital=True,
                image_url=None,
                description=None,
                stock=0,
            ),
            _json_item(sku="T3", digital="yes", stock=3.0),
        ],
        ensure_ascii=False,
    ).encode()

    rows = parse_catalog(data, "json", currency="RUB")

    assert rows[0] == row(line=1, titles={"ru": "Зелёный чай"})
    assert (rows[1].line, rows[1].price, rows[1].currency, rows[1].digital) == (2, 500, "RUB", True)
    assert (rows[1].image_url, rows[1].description) == (None, "")
    assert (rows[2].line, rows[2].digital, rows[2].stock) == (3, True, 3)


def test_a_bom_is_skipped_in_json_too() -> None:
    data = b"\xef\xbb\xbf" + json.dumps([_json_item()]).encode()

    assert parse_catalog(data, "json", currency="RUB") == [row(line=1)]


def test_a_json_number_price_is_read_exactly() -> None:
    data = b'[{"sku": "A", "title": "a", "price": 1299.9, "currency": "RUB", "stock": 1,'
    data += b' "category": "c"}, {"sku": "B", "title": "b", "price": 0.29, "currency": "RUB",'
    data += b' "stock": 1, "category": "c"}]'

    assert [r.price for r in parse_catalog(data, "json", currency="RUB")] == [129990, 29]


def test_a_json_price_with_an_exponent_is_refused() -> None:
    data = b'[{"sku": "A", "title": "a", "price": 1e3, "currency": "RUB", "stock": 1,'
    data += b' "category": "c"}]'

    [problem] = problems(data, "json")

    assert str(problem).startswith("item 1: price '1E+3' is not a plain number")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sku": "TEA-1"}, "sku 'TEA-1' is already in item 1"),
        ({"title": 5}, "title must be text in double quotes, not the number 5"),
        ({"price": -1}, "price '-1' is negative"),
        ({"price": True}, "price 'true' is not a number"),
        ({"price": 0.001}, "price '0.001' has more decimals than RUB allows (2)"),
        ({"price": 0}, "price '0' would give the product away"),
        ({"currency": "USD"}, "currency 'USD' is not the shop's: it sells in RUB"),
        ({"stock": 2.5}, "stock '2.5' is not a whole number"),
        ({"stock": True}, "stock 'true' is not a whole number"),
        ({"stock": None}, "stock is missing"),
        ({"digital": "maybe"}, "digital 'maybe' must be true or false"),
        ({"colour": "green"}, "unknown field 'colour'"),
        ({"currency": "XYZ"}, "unknown currency 'XYZ'"),
        ({"image_url": "www.example.com/a.jpg"}, "must start with http:// or https://"),
    ],
)
def test_a_bad_json_item_is_refused_naming_its_number(
    changes: dict[str, object], message: str
) -> None:
    items = [_json_item(), {**_json_item(sku="TEA-2"), **changes}, _json_item(sku="TEA-3")]

    found = problems(json.dumps(items).encode(), "json")

    assert len(found) == 1
    assert message in found[0].message
    assert str(found[0]) == f"item 2: {found[0].message}"


def test_a_json_item_missing_its_fields_names_each_one() -> None:
    found = problems(b'[{"sku": "A"}]', "json")

    assert [str(problem) for problem in found] == [
        "item 1: title is missing",
        "item 1: category is missing",
        "item 1: currency is missing",
        "item 1: price is missing",
        "item 1: stock is missing (write 0 if there is none)",
    ]


def test_a_json_key_given_twice_is_reported() -> None:
    data = b'[{"sku": "A", "title": "a", "price": "1", "currency": "RUB", "stock": 1,'
    data += b' "category": "c", "price": "2"}]'

    assert [str(problem) for problem in problems(data, "json")] == [
        "item 1: field 'price' appears twice"
    ]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'[\n  {"sku": "A",}\n]', "line 2: this is not valid JSON"),
        (b'{"sku": "A"}', 'the file must be a JSON array of products: [{"sku": ...}, ...]'),
        (b"[]", "the file has no products"),
        (b"", "the file is empty"),
        (b'[{"sku": "A"}, "B"]', 'item 2: must be an object like {"sku": ...}, not text'),
        (b'[1, "\xff"]', "line 1: this line has characters that are not UTF-8 text"),
    ],
)
def test_a_broken_json_file_is_refused(data: bytes, expected: str) -> None:
    found = problems(data, "json")

    assert str(found[-1]).startswith(expected)


# --- writing --------------------------------------------------------------------------------


def test_the_csv_header_lists_the_base_columns_then_every_locale_sorted() -> None:
    rows = [
        row(titles={"ru": "Чай"}),
        row(sku="B", descriptions={"pt_BR": "Chá"}, categories={"en": "Tea"}),
    ]

    header = write_catalog(rows, "csv").decode().splitlines()[0]

    assert header == (
        "sku,title,description,price,currency,stock,category,image_url,digital,"
        "title_en,description_en,category_en,"
        "title_pt_BR,description_pt_BR,category_pt_BR,"
        "title_ru,description_ru,category_ru"
    )


def test_the_csv_has_prices_in_major_units_and_quotes_where_needed() -> None:
    rows = [row(description='Big, "green"', digital=True), row(sku="B", price=5, currency="JPY")]

    lines = write_catalog(rows, "csv").decode().splitlines()

    assert lines[1:] == [
        'TEA-1,Green tea,"Big, ""green""",1299.90,RUB,5,Tea,https://example.com/tea.jpg,true',
        "B,Green tea,Loose leaf,5,JPY,5,Tea,https://example.com/tea.jpg,false",
    ]


def test_the_active_column_is_written_only_when_a_product_is_off_sale() -> None:
    on_sale = write_catalog([row()], "csv").decode().splitlines()
    one_off = write_catalog([row(), row(sku="B", active=False)], "csv").decode().splitlines()
    as_json = json.loads(write_catalog([row(), row(sku="B", active=False)], "json"))

    assert on_sale[0] == HEADER
    assert one_off[0] == HEADER + ",active"
    assert [line.rsplit(",", 2)[1:] for line in one_off[1:]] == [
        ["false", "true"],
        ["false", "false"],
    ]
    assert ["active" in item for item in as_json] == [False, True]
    assert as_json[1]["active"] is False


def test_the_json_is_pretty_keeps_cyrillic_and_writes_prices_as_strings() -> None:
    text = write_catalog([row(titles={"ru": "Чай"}, image_url=None)], "json").decode()

    assert text.startswith('[\n  {\n    "sku": "TEA-1",\n')
    assert '"title_ru": "Чай"' in text
    assert json.loads(text)[0]["price"] == "1299.90"
    assert json.loads(text)[0]["image_url"] is None


def test_the_new_columns_are_written_only_when_a_product_uses_them() -> None:
    plain = write_catalog([row()], "csv").decode().splitlines()
    rich = row(
        sku="B",
        image_urls=(TEA, CUP, LEAF),
        attrs={"brand": "Ahmad", "colour": "green"},
        sort_order=7,
        created=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    )
    both = write_catalog([row(attrs={"weight": "100 g"}), rich], "csv").decode().splitlines()

    assert plain[0] == HEADER
    assert both[0] == HEADER + ",image_urls,sort_order,created,attr_brand,attr_colour,attr_weight"
    assert both[1].endswith("false,,,,,,100 g")
    assert both[2].endswith(f"false,{CUP} {LEAF},7,2026-12-01T09:30:00Z,Ahmad,green,")


def test_the_json_writes_more_photos_as_a_list() -> None:
    rich = row(image_urls=(TEA, CUP), attrs={"brand": "Ahmad"}, sort_order=0)

    [item] = json.loads(write_catalog([rich], "json"))

    assert (item["image_url"], item["image_urls"]) == (TEA, [CUP])
    assert (item["attr_brand"], item["sort_order"]) == ("Ahmad", 0)
    assert "created" not in item


# --- round trip -----------------------------------------------------------------------------

_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_letters = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters=_BIDI)
_tricky = [",", '"', "'", " ", "Ж", "ё", ";"]
_line_breaks = ["\n", "\r", "\r\n", "\t"]


def _text(min_size: int = 0, *, multiline: bool = False) -> st.SearchStrategy[str]:
    """Text as a cell holds it after stripping: commas, quotes, Cyrillic inside (and newlines)."""
    tricky = st.sampled_from(_tricky + _line_breaks if multiline else _tricky)
    return (
        st.lists(st.one_of(_letters, tricky), max_size=20)
        .map(lambda parts: "".join(parts).strip())
        .filter(lambda text: len(text) >= min_size)
    )


_skus = st.text(
    st.one_of(
        st.characters(
            codec="utf-8",
            exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
            exclude_characters=_BIDI,
        ),
        st.sampled_from([",", '"', "Ж"]),
    ),
    min_size=1,
    max_size=64,
)
_locales = st.sampled_from(["ru", "en", "uz", "pt_BR"])
_translations = st.dictionaries(_locales, _text(min_size=1), max_size=3)
_descriptions = st.dictionaries(_locales, _text(min_size=1, multiline=True), max_size=3)


_urls = _text(min_size=1).map(lambda path: "https://example.com/" + "".join(path.split()))
_photos = st.lists(_urls, max_size=MAX_PHOTOS, unique=True).map(tuple)
_attrs = st.dictionaries(st.from_regex(r"[a-z0-9_]{1,32}", fullmatch=True), _text(min_size=1))


def _rows(currency: str) -> st.SearchStrategy[CatalogRow]:
    """Rows of one shop: every price in its currency; the main photo, if any, first of them all."""
    return _photos.flatmap(lambda photos: _row(currency, photos))


def _row(currency: str, photos: tuple[str, ...]) -> st.SearchStrategy[CatalogRow]:
    return st.builds(
        CatalogRow,
        line=st.just(0),
        sku=_skus,
        title=_text(min_size=1),
        description=_text(multiline=True),
        price=st.integers(0, 10**12),
        currency=st.just(currency),
        stock=st.integers(0, 2**31 - 1),
        category=_text(min_size=1),
        image_url=st.just(photos[0] if photos else None),
        digital=st.booleans(),
        titles=_translations,
        descriptions=_descriptions,
        categories=_translations,
        active=st.booleans(),
        image_urls=st.just(photos),
        attrs=_attrs,
        sort_order=st.none() | st.integers(-(2**31) + 1, 2**31 - 1),
        created=st.none() | st.datetimes(timezones=st.just(UTC)),
    )


_catalogs = st.sampled_from(["RUB", "USD", "EUR", "JPY", "KWD", "UZS"]).flatmap(
    lambda currency: st.lists(_rows(currency), min_size=1, max_size=8, unique_by=lambda r: r.sku)
)


@pytest.mark.parametrize("fmt", ["csv", "json"])
@settings(deadline=None)
@given(rows=_catalogs)
def test_written_rows_parse_back_the_same(
    fmt: Literal["csv", "json"], rows: list[CatalogRow]
) -> None:
    data = write_catalog(rows, fmt)
    parsed = parse_catalog(data, fmt, currency=rows[0].currency, allow_free=True)

    assert without_line(parsed) == rows
