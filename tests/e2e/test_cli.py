"""The `chatshop` command line as a subprocess, the way staff run it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import subprocess
import time
import unicodedata
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import shop.demo
from bot.app import build_shop
from bot.settings import Settings
from shop.analytics import EventKind, Visit
from shop.migrate import upgrade
from shop.models import Channel
from tests.cli_support import CHATSHOP, GOOD, HEADER, chatshop, write
from tests.conftest import row
from tests.payment_support import free_socket


def test_import_then_export_round_trips(tmp_path: Path) -> None:
    imported = chatshop(tmp_path, "catalog", "import", str(write(tmp_path, "in.csv", GOOD)))
    assert imported.returncode == 0, imported.stderr
    assert "Imported 2 products from in.csv: 2 new, 0 updated, in 2 categories." in imported.stdout

    exported = chatshop(tmp_path, "catalog", "export", "-o", "out.csv")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8"))))
    assert [(r["sku"], r["price"], r["title_ru"], r["category_ru"]) for r in rows] == [
        ("TEA-1", "4.50", "Эрл Грей 100 г", "Чай"),
        ("CUP-1", "7.00", "Кружка 300 мл", "Кухня"),
    ]

    # Each export is a catalog file: importing it into a fresh shop gives the same export.
    chatshop(tmp_path, "catalog", "export", "-o", "first.json")
    for source, db in (("out.csv", "from-csv.db"), ("first.json", "from-json.db")):
        again = chatshop(tmp_path, "catalog", "import", source, db=db)
        assert again.returncode == 0, again.stderr
        chatshop(tmp_path, "catalog", "export", "-o", f"{db}.json", db=db)
        assert (tmp_path / f"{db}.json").read_bytes() == (tmp_path / "first.json").read_bytes()


def test_photos_attributes_order_and_arrival_round_trip_and_old_files_still_import(
    tmp_path: Path,
) -> None:
    rich = (
        "sku,title,description,price,currency,stock,category,image_url,"
        "image_urls,sort_order,created,attr_brand\n"
        "TEA-1,Earl Grey,,4.50,USD,20,Tea,https://example.com/t1.jpg,"
        '"https://example.com/t2.jpg https://example.com/t1.jpg",2,2026-11-01,Ahmad\n'
        "TEA-2,Assam,,5.00,USD,3,Tea,,,,,\n"
    )
    imported = chatshop(tmp_path, "catalog", "import", str(write(tmp_path, "in.csv", rich)))
    assert imported.returncode == 0, imported.stderr
    chatshop(tmp_path, "catalog", "export", "-o", "out.csv")
    chatshop(tmp_path, "catalog", "export", "-o", "first.json")

    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8"))))
    assert [
        (r["image_url"], r["image_urls"], r["sort_order"], r["created"][:11], r["attr_brand"])
        for r in rows
    ] == [
        ("https://example.com/t1.jpg", "https://example.com/t2.jpg", "2", "2026-11-01T", "Ahmad"),
        ("", "", "", rows[1]["created"][:11], ""),
    ]
    item = json.loads((tmp_path / "first.json").read_text("utf-8"))[0]
    assert (item["image_urls"], item["attr_brand"]) == (["https://example.com/t2.jpg"], "Ahmad")
    for source, db in (("out.csv", "from-csv.db"), ("first.json", "from-json.db")):
        assert chatshop(tmp_path, "catalog", "import", source, db=db).returncode == 0
        chatshop(tmp_path, "catalog", "export", "-o", f"{db}.json", db=db)
        assert (tmp_path / f"{db}.json").read_bytes() == (tmp_path / "first.json").read_bytes()

    # A file of the old columns is the whole truth of a product, but for when it came.
    old = chatshop(tmp_path, "catalog", "import", str(write(tmp_path, "old.csv", GOOD)))
    assert old.returncode == 0, old.stderr
    again = list(csv.DictReader(io.StringIO(chatshop(tmp_path, "catalog", "export").stdout)))
    assert [(r["sku"], r["image_url"], r["created"][:10]) for r in again[:1]] == [
        ("TEA-1", "", "2026-11-01")
    ]
    assert "image_urls" not in again[0]
    assert "attr_brand" not in again[0]


def test_reimport_updates_by_sku(tmp_path: Path) -> None:
    chatshop(tmp_path, "catalog", "import", str(write(tmp_path, "in.csv", GOOD)))
    changed = GOOD.replace("4.50,USD,20", "5.10,USD,7")
    result = chatshop(tmp_path, "catalog", "import", str(write(tmp_path, "in2.csv", changed)))
    assert "0 new, 2 updated" in result.stdout
    out = chatshop(tmp_path, "catalog", "export").stdout
    assert 'TEA-1,Earl Grey 100 g,"Black tea, bergamot",5.10,USD,7' in out


BAD_ROWS = [
    (",No sku,,1.00,USD,1,Tea,,,", "line 4"),
    ("TEA-1,Duplicate,,1.00,USD,1,Tea,,,", "already on line 2"),
    ("X-1,Negative,,-1.00,USD,1,Tea,,,", "negative"),
    ("X-2,Not a price,,abc,USD,1,Tea,,,", "not a number"),
    ("X-3,Odd currency,,1.00,XYZ,1,Tea,,,", "XYZ"),
    ("X-4,Negative stock,,1.00,USD,-3,Tea,,,", "stock"),
    ("X-5,Euro,,1.00,EUR,1,Tea,,,", "currency 'EUR' is not the shop's: it sells in USD"),
    ("X-6,Exponent,,1e3,USD,1,Tea,,,", "price '1e3' is not a plain number"),
    ("X-7,Free,,0.00,USD,1,Tea,,,", "import with --allow-free if it is free on purpose"),
    ("X-8,Escape \x1b[2J,,1.00,USD,1,Tea,,,", "control character U+001B"),
]


def test_a_bad_row_is_reported_by_line_and_nothing_is_written(tmp_path: Path) -> None:
    # The rules are the parser's (tests/unit/test_catalog_file.py); here, what staff see.
    chatshop(tmp_path, "catalog", "import", str(write(tmp_path, "in.csv", GOOD)))
    before = chatshop(tmp_path, "catalog", "export").stdout

    for bad_line, message in BAD_ROWS:
        file = write(tmp_path, "bad.csv", GOOD.replace("4.50", "9.99") + bad_line + "\n")
        result = chatshop(tmp_path, "catalog", "import", str(file))

        assert result.returncode == 1, bad_line
        assert result.stderr.startswith("error: ")
        assert result.stderr.count("\n") == 1
        assert "line 4" in result.stderr
        assert message in result.stderr
    assert chatshop(tmp_path, "catalog", "export").stdout == before


def test_free_products_are_imported_when_the_owner_says_so(tmp_path: Path) -> None:
    file = write(tmp_path, "in.csv", GOOD + "GUIDE-1,Tea guide,PDF,0,USD,0,Tea,,,\n")

    refused = chatshop(tmp_path, "catalog", "import", str(file))
    imported = chatshop(tmp_path, "catalog", "import", "--allow-free", str(file))

    assert refused.returncode == 1
    assert "line 4: price '0' would give the product away" in refused.stderr
    assert imported.returncode == 0, imported.stderr
    assert "GUIDE-1,Tea guide,PDF,0.00,USD,0" in chatshop(tmp_path, "catalog", "export").stdout


def test_the_shop_s_currency_decides_what_a_catalog_may_be_priced_in(tmp_path: Path) -> None:
    euros = write(tmp_path, "eur.csv", GOOD.replace("USD", "EUR"))

    in_dollars = chatshop(tmp_path, "catalog", "import", str(euros))
    in_euros = chatshop(tmp_path, "catalog", "import", str(euros), env={"SHOP_CURRENCY": "EUR"})

    assert in_dollars.returncode == 1
    assert "line 2: currency 'EUR' is not the shop's: it sells in USD" in in_dollars.stderr
    assert in_euros.returncode == 0, in_euros.stderr


def test_wrong_header_and_broken_utf8_are_refused(tmp_path: Path) -> None:
    wrong = chatshop(
        tmp_path, "catalog", "import", str(write(tmp_path, "h.csv", "sku,name\nA,B\n"))
    )
    assert wrong.returncode == 1
    assert "line 1" in wrong.stderr
    broken = tmp_path / "b.csv"
    broken.write_bytes(GOOD.encode() + b"BAD-1,Caf\xe9,,1.00,USD,1,Tea,,,\n")
    result = chatshop(tmp_path, "catalog", "import", str(broken))
    assert result.returncode == 1
    assert "line 4" in result.stderr
    assert "UTF-8" in result.stderr


def test_a_hundred_thousand_rows_with_one_bad_row_leave_the_database_untouched(
    tmp_path: Path,
) -> None:
    lines = [HEADER] + [
        f"SKU-{n:06d},Product {n} 256GB,Description {n},{n % 997 + 1}.99,USD,{n % 50},"
        f"Category {n % 9},,Товар {n},Категория {n % 9}\n"
        for n in range(100_000)
    ]
    big = write(tmp_path, "big.csv", "".join(lines))
    imported = chatshop(tmp_path, "catalog", "import", str(big))
    assert imported.returncode == 0, imported.stderr
    assert "100000 new" in imported.stdout

    lines[99_990] = lines[99_990].replace(".99,USD", ".9x,USD")
    lines[5] = lines[5].replace("Product 4", "Changed")
    result = chatshop(
        tmp_path, "catalog", "import", str(write(tmp_path, "bad.csv", "".join(lines)))
    )

    assert result.returncode == 1
    assert "line 99991" in result.stderr  # lines[0] is the header, line 1
    exported = chatshop(tmp_path, "catalog", "export").stdout
    assert "Changed" not in exported
    assert exported.count("\n") == 100_001


def run_until_healthy_then_stop(tmp_path: Path, name: str) -> str:
    """Start `chatshop run` (no channel set), wait for /healthz, SIGTERM it; return its output."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
        HTTP_PORT=str(port),
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*CHATSHOP, "run"], stdout=out, stderr=out, env=env, cwd=tmp_path
        )
    try:
        deadline = time.monotonic() + 120
        while not healthy(port):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "chatshop run never answered /healthz"
            time.sleep(0.05)  # the next look at an observable condition
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert json.load(answer) == {"ok": True}
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    output = log.read_text()
    assert code == 0, output
    assert "Traceback" not in output
    return output


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def test_run_serves_loads_the_demo_catalog_once_and_stops_cleanly(tmp_path: Path) -> None:
    first = run_until_healthy_then_stop(tmp_path, "first")
    assert "Loaded the demo catalog: 310 products." in first
    assert "Smartphones" in first
    assert "TELEGRAM_BOT_TOKEN" in first
    assert "chatshop demo" in first
    assert "Stopped." in first
    second = run_until_healthy_then_stop(tmp_path, "second")
    assert "Loaded the demo catalog" not in second
    assert "Smartphones" in second


def test_catalog_demo_loads_into_an_empty_shop_and_adds_to_a_stocked_one_only_when_forced(
    tmp_path: Path,
) -> None:
    loaded = chatshop(tmp_path, "catalog", "demo")
    again = chatshop(tmp_path, "catalog", "demo")
    chatshop(tmp_path, "catalog", "import", str(write(tmp_path, "in.csv", GOOD)), db="own.db")
    into_own = chatshop(tmp_path, "catalog", "demo", db="own.db")
    forced = chatshop(tmp_path, "catalog", "demo", "--force", db="own.db")
    in_euros = chatshop(tmp_path, "catalog", "demo", db="eur.db", env={"SHOP_CURRENCY": "EUR"})

    assert loaded.returncode == 0, loaded.stderr
    assert "Loaded the demo catalog: 310 products." in loaded.stdout
    assert again.returncode == into_own.returncode == 1
    assert again.stderr.startswith("error: the catalog already has 310 products;")
    assert into_own.stderr.startswith("error: the catalog already has 2 products;")
    assert "--force" in into_own.stderr
    assert forced.returncode == 0, forced.stderr
    exported = chatshop(tmp_path, "catalog", "export", db="own.db").stdout
    assert exported.count("\n") == 1 + 2 + 310
    assert in_euros.returncode == 1
    assert in_euros.stderr.startswith("error: the demo catalog is priced in USD")
    assert in_euros.stderr.count("\n") == 1


def test_errors_are_one_line_never_a_traceback(tmp_path: Path) -> None:
    missing = chatshop(tmp_path, "catalog", "import", "nowhere.csv")
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0
    assert "nowhere.csv" in missing.stderr
    odd = chatshop(tmp_path, "catalog", "import", str(write(tmp_path, "x.txt", "hi")))
    assert odd.returncode == 1
    assert "Traceback" not in odd.stderr
    env = {**os.environ, "SHOP_CURRENCY": "DOLLARS"}
    bad_setting = subprocess.run(
        [*CHATSHOP, "db", "upgrade"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert bad_setting.returncode == 2
    assert "SHOP_CURRENCY" in bad_setting.stderr
    assert "Traceback" not in bad_setting.stderr


def test_run_on_a_port_another_program_holds_says_so_in_one_line(tmp_path: Path) -> None:
    with free_socket() as taken:
        taken.listen()
        port = taken.getsockname()[1]
        result = chatshop(tmp_path, "run", env={"HTTP_PORT": str(port)})

    assert result.returncode == 1
    assert result.stderr == (
        f"error: cannot serve the web routes: 127.0.0.1:{port} is already in use "
        "(set HTTP_PORT to a free port)\n"
    )


def test_orders_refund_refuses_what_cannot_be_refunded_in_one_line(tmp_path: Path) -> None:
    missing = chatshop(tmp_path, "orders", "refund", "7")
    assert (missing.returncode, missing.stderr) == (1, "error: order 7 not found\n")


@pytest.mark.parametrize("command", [("db", "upgrade"), ("catalog", "export"), ("search", "tea")])
def test_a_sqlite_file_in_a_missing_folder_is_named_in_one_line_at_once(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # A hang (the writer thread once swallowed the connect error) fails here by the timeout.
    result = chatshop(tmp_path, *command, db="nope/x/shop.db", timeout=60)

    assert result.returncode == 2
    assert result.stderr == (
        f"error: DATABASE_URL: the folder {tmp_path / 'nope' / 'x'} of the SQLite database "
        "does not exist; create it, or set DATABASE_URL to a file in a folder that does\n"
    )


def test_a_sqlite_file_that_cannot_be_opened_fails_in_one_line_at_once(tmp_path: Path) -> None:
    (tmp_path / "a-folder").mkdir()  # a folder where the database file should be

    result = chatshop(tmp_path, "db", "upgrade", db="a-folder", timeout=60)

    assert result.returncode == 1
    assert result.stderr.startswith("error: database: ")
    assert "unable to open database file" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_postgresql_url_as_hosts_hand_it_out_just_works(
    tmp_path: Path, postgres_url: str, scheme: str
) -> None:
    url = make_url(postgres_url).set(drivername=scheme).update_query_dict({"sslmode": "prefer"})
    env = {"DATABASE_URL": url.render_as_string(hide_password=False)}

    upgraded = chatshop(tmp_path, "db", "upgrade", env=env)
    imported = chatshop(
        tmp_path, "catalog", "import", str(write(tmp_path, "in.csv", GOOD)), env=env
    )

    assert upgraded.returncode == 0, upgraded.stderr
    assert imported.returncode == 0, imported.stderr
    assert "Imported 2 products" in imported.stdout


@pytest.mark.parametrize(
    "url", ["mysql://shop:secret@db/shop", "postgresql+psycopg2://shop:secret@db/shop", "nonsense"]
)
def test_a_database_chatshop_cannot_speak_to_is_named_in_one_line(tmp_path: Path, url: str) -> None:
    result = chatshop(tmp_path, "db", "upgrade", env={"DATABASE_URL": url})

    assert result.returncode == 2
    assert result.stderr.startswith("error: DATABASE_URL: ")
    assert "postgresql+asyncpg://" in result.stderr
    assert "secret" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_search_shows_what_customers_would_find(tmp_path: Path) -> None:
    demo = Path(shop.demo.__file__).parent / "catalog.csv"
    assert chatshop(tmp_path, "catalog", "import", str(demo)).returncode == 0
    result = chatshop(tmp_path, "search", "iphnoe", "шзрщту 256", "kofe", "", "--json", "-n", "3")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["iphnoe", "шзрщту 256", "kofe", ""]
    assert all(len(line["hits"]) == 3 for line in lines[:3])
    assert all("iPhone" in hit["title"] for hit in lines[0]["hits"])
    assert all("256" in hit["title"] and "iPhone" in hit["title"] for hit in lines[1]["hits"])
    assert all("coffee" in hit["title"].lower() for hit in lines[2]["hits"])
    assert lines[3]["hits"] == []
    assert all(isinstance(line["ms"], float) and line["ms"] >= 0 for line in lines)

    readable = chatshop(tmp_path, "search", "наушники sony", "--locale", "ru", "-n", "2")
    assert readable.returncode == 0, readable.stderr
    assert "Наушники Sony" in readable.stdout


HOSTILE = "\x1b[2J\x07\x9b\u202e\u2066"


def controls(text: str) -> list[str]:
    """Return the raw control characters and bidi overrides in `text`, line breaks aside."""
    return [
        f"U+{ord(char):04X}"
        for char in text
        if char != "\n"
        and (
            unicodedata.category(char) == "Cc"
            or "\u202a" <= char <= "\u202e"
            or "\u2066" <= char <= "\u2069"
        )
    ]


def test_staff_output_shows_control_characters_escaped_never_raw(tmp_path: Path) -> None:
    """A catalog or source stored before the rule, or a hostile file name, never reaches the terminal raw."""

    async def stored_before_the_rule() -> None:
        shop = build_shop(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"))
        await upgrade(shop.db)
        await shop.catalog.import_rows([row(f"TEA{HOSTILE}", title=f"Tea {HOSTILE}tea", price=450)])
        customer = await shop.customers.touch(Channel.TELEGRAM, "1")
        await shop.analytics.record(
            EventKind.SOURCE, Visit(customer.id, "telegram", f"poster{HOSTILE}")
        )
        await shop.db.dispose()

    asyncio.run(stored_before_the_rule())

    search = chatshop(tmp_path, "search", "tea")
    as_json = chatshop(tmp_path, "search", "tea", "--json")
    report = chatshop(tmp_path, "report", "qr", "--since", "all")
    report_json = chatshop(tmp_path, "report", "qr", "--since", "all", "--json")
    error = chatshop(tmp_path, "catalog", "import", f"{HOSTILE}.csv")

    for result in (search, as_json, report, report_json, error):
        assert controls(result.stdout + result.stderr) == []
    assert "Tea \\u001b[2J" in search.stdout
    assert json.loads(as_json.stdout)["hits"][0]["title"] == f"Tea {HOSTILE}tea"
    assert "poster\\u001b[2J" in report.stdout
    assert json.loads(report_json.stdout)[0]["source"] == f"poster{HOSTILE}"
    assert error.returncode == 1
    assert error.stderr.startswith("error: cannot read \\u001b[2J")


def test_search_narrows_sorts_and_pages_as_customers_do(tmp_path: Path) -> None:
    async def stock() -> None:
        shop = build_shop(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"))
        await upgrade(shop.db)
        await shop.catalog.import_rows(
            [
                row(
                    "C1",
                    title="Coffee Illy 250 g",
                    price=1_199,
                    stock=4,
                    category="Coffee",
                    attrs={"brand": "Illy"},
                    line=2,
                ),
                row(
                    "C2",
                    title="Coffee Lavazza 250 g",
                    price=899,
                    stock=0,
                    category="Coffee",
                    attrs={"brand": "Lavazza"},
                    line=3,
                ),
                row(
                    "C3",
                    title="Coffee Lavazza 1 kg",
                    price=2_499,
                    stock=2,
                    category="Coffee",
                    attrs={"brand": "Lavazza"},
                    line=4,
                ),
                row(
                    "C4",
                    title="Coffee Jacobs 100 g",
                    price=450,
                    stock=9,
                    category="Coffee",
                    categories={"ru": "Кофе"},
                    attrs={"brand": "Jacobs"},
                    line=5,
                ),
                row("T1", title="Green tea", price=500, category="Tea", line=6),
            ]
        )
        await shop.db.dispose()

    asyncio.run(stock())

    def skus(*args: str) -> list[list[str]]:
        result = chatshop(tmp_path, "search", *args, "--json")
        assert result.returncode == 0, result.stderr
        return [
            [hit["sku"] for hit in json.loads(line)["hits"]] for line in result.stdout.splitlines()
        ]

    assert skus("coffee", "--max-price", "12", "--in-stock", "--sort", "price") == [["C4", "C1"]]
    assert skus("coffee", "--min-price", "9", "--sort=-price") == [["C3", "C1"]]
    assert skus("coffee", "--brand", "Lavazza", "--sort", "price") == [["C2", "C3"]]
    assert skus("coffee", "--attr", "brand=Lavazza", "--in-stock") == [["C3"]]
    assert skus("--category", "кофе", "--sort", "price", "-n", "2", "--page", "2") == [["C1", "C3"]]
    assert skus("--category", "Tea") == [["T1"]]
    listed = json.loads(chatshop(tmp_path, "search", "coffee", "--json", "-n", "1").stdout)
    assert (listed["total"], listed["page"], len(listed["hits"])) == (4, 1, 1)
    assert {"price", "currency", "in_stock"} <= listed["hits"][0].keys()

    readable = chatshop(tmp_path, "search", "coffee", "--max-price", "10", "--sort", "newest")
    assert readable.returncode == 0, readable.stderr
    assert "C4" in readable.stdout
    assert "$4.50" in readable.stdout
    assert "C3" not in readable.stdout


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("tea", "--max-price", "ten"), "--max-price"),
        (("tea", "--min-price", "-1"), "--min-price"),
        (("tea", "--max-price", "1.005"), "--max-price"),
        (("tea", "--attr", "brand"), "--attr"),
        (("tea", "--sort", "cheap"), "--sort"),
        (("tea", "--page", "0"), "--page"),
        (("--category", "Nowhere"), "--category"),
        ((), "QUERIES"),
    ],
)
def test_search_refuses_a_bad_filter_with_exit_status_2(
    tmp_path: Path, args: tuple[str, ...], complaint: str
) -> None:
    result = chatshop(tmp_path, "search", *args)

    assert result.returncode == 2
    assert complaint in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
