"""`chatshop qr` and `chatshop report qr` as a subprocess: every file they write reads back to its link."""

from __future__ import annotations

import asyncio
import csv
import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from bot.app import build_shop
from bot.services import Shop
from bot.settings import Settings
from shop.analytics import EventKind
from shop.deeplink import Scan, Target
from shop.migrate import upgrade
from shop.models import Channel, PromoKind
from tests.cli_support import chatshop
from tests.conftest import row
from tests.flow_support import scan
from tests.qr_support import decode, decode_file, render_pdf

BOT = "chatshop_test_bot"
NUMBER = "14155238886"
LONG_SKU = "TEA-EARL-GREY-SMOKY-LAPSANG-BLEND-LOOSE-LEAF-250G-2026-HARVEST"
GREETINGS = {
    ("product", "en"): "Hi! I'd like ",
    ("product", "ru"): "Привет! Хочу ",
    ("category", "en"): "Hi! Show me ",
    ("category", "ru"): "Привет! Покажите ",
    ("promo", "en"): "Hi! My promo code: ",
    ("shop", "en"): "Hi! I'm from your poster: ",
}


@dataclass(frozen=True)
class Place:
    """A folder with a shop database the commands run against."""

    folder: Path
    url: str

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        settings = {
            "DATABASE_URL": self.url,
            "TELEGRAM_BOT_USERNAME": BOT,
            "TWILIO_WHATSAPP_FROM": f"whatsapp:+{NUMBER}",
            "SHOP_NAME": "Чайная лавка",
        }
        return chatshop(self.folder, *args, env={**settings, **env})

    def shop(self) -> Shop:
        return build_shop(Settings(database_url=self.url))


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Place:
    """A shop with teas (one with a photo, one whose photo host is down), a category and a promo."""
    folder = tmp_path_factory.mktemp("qr")
    (folder / "photos").mkdir()
    Image.new("RGB", (600, 400), (20, 110, 60)).save(folder / "photos" / "tea.png")
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/tea.jpg"
    place = Place(folder, f"sqlite+aiosqlite:///{folder / 'shop.db'}")

    async def prepare() -> None:
        shop = place.shop()
        await upgrade(shop.db)
        await shop.catalog.import_rows(
            [
                row("TEA-1", title="Earl Grey 100 g", titles={"ru": "Эрл Грей 100 г"},
                    price=450, category="Tea", categories={"ru": "Чай"},
                    image_url=str(folder / "photos" / "tea.png")),
                row(LONG_SKU, title="Lapsang Souchong 250 g", price=1290, category="Tea",
                    image_url=dead),
            ]
        )  # fmt: skip
        await shop.promos.create("WINTER15", PromoKind.PERCENT, 15, min_total=5000)
        await shop.db.dispose()

    asyncio.run(prepare())
    return place


def intended(place: Place, target: Target, source: str, kind: str, lang: str) -> list[str]:
    """Return the links a code for `target` and `source` must hold, built here from their formats.

    The payload is the shop's (inline or registered); it must read back to the target and source.
    """

    async def payload() -> str:
        shop = place.shop()
        try:
            code = await shop.attribution.code_for(target, source)
            assert await shop.attribution.decode(code) == Scan(target, source)
            return code
        finally:
            await shop.db.dispose()

    code = asyncio.run(payload())
    text = quote(GREETINGS[kind, lang] + code, safe="!'():")
    return [f"https://t.me/{BOT}?start={code}", f"https://wa.me/{NUMBER}?text={text}"]


def test_make_writes_png_svg_and_pdf_that_read_back_to_exactly_the_links(place: Place) -> None:
    made = place.run(
        "qr", "make", "--product", "TEA-1", "--source", "poster-a", "--channel", "telegram",
        "-o", "tea.png",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    literal = f"https://t.me/{BOT}?start=p-TEA-1_poster-a_KflA"
    assert decode_file(place.folder / "tea.png") == [literal]
    assert literal in made.stdout
    with Image.open(place.folder / "tea.png") as picture:
        assert picture.size == (591, 591)  # 50 mm at 300 dpi
        assert picture.info["dpi"] == pytest.approx((300, 300), abs=0.01)

    svg = place.run("qr", "make", "--category", "чай", "--source", "витрина", "-o", "tea.svg")
    assert svg.returncode == 0, svg.stderr
    links = intended(place, Target.category("Tea"), "витрина", "category", "en")
    assert links[0].split("start=")[1].startswith("r-")  # Cyrillic source: a registered code
    assert decode_file(place.folder / "tea.svg", dpi=150) == sorted(links)

    poster = place.run(
        "qr", "make", "--promo", "winter15", "--source", "flyer", "--poster", "a6", "--dpi", "150",
        "-o", "promo.pdf",
    )  # fmt: skip
    assert poster.returncode == 0, poster.stderr
    page, (width, height) = render_pdf(place.folder / "promo.pdf", 150)
    assert (round(width), round(height)) == (105, 148)
    assert decode(page) == sorted(intended(place, Target.promo("WINTER15"), "flyer", "promo", "en"))


BATCH = """kind,value,source,channel,poster,lang,dpi,file
product,TEA-1,poster-a,both,a4,,,tea-a4.png
product,TEA-1,poster-a,,a6,ru,150,tea-a6.png
product,TEA-1,poster-a,,a6,,150,tea-a6.pdf
category,Чай,витрина,,,ru,,
product,NOPE,poster-a,,,,,
gizmo,X,poster-a,,,,,
product,TEA-1,,,,,,
shop,,entrance,both,,,,shop.svg
product,{long},poster-b,,a6,,150,long.png
promo,WINTER15,flyer,telegram,a4,,,promo.svg
product,TEA-1,poster-a,,,,,tea-a4.png
"""


@pytest.fixture(scope="module")
def batch(place: Place) -> tuple[subprocess.CompletedProcess[str], Path]:
    (place.folder / "codes.csv").write_text(BATCH.format(long=LONG_SKU), encoding="utf-8")
    result = place.run("qr", "batch", "codes.csv", "-o", "out")
    return result, place.folder / "out"


def test_batch_reports_each_bad_row_by_line_and_makes_the_others(
    batch: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, folder = batch
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: line 6: product 'NOPE' not found",
        "error: line 7: kind 'gizmo': use product, category, promo or shop",
        "error: line 8: a source is needed: where the code hangs",
        "error: line 11: promo.svg: a poster is a .png or .pdf file",
        "error: line 12: tea-a4.png is already made by line 2",
    ]
    assert "Traceback" not in result.stderr
    assert "Made 6 of 11 codes in out" in result.stdout
    made = sorted(path.name for path in folder.iterdir())
    assert len(made) == 7  # six codes and index.csv
    assert "index.csv" in made


def test_every_file_the_batch_makes_reads_back_to_exactly_the_intended_links(
    place: Place, batch: tuple[subprocess.CompletedProcess[str], Path]
) -> None:
    _, folder = batch
    tea = intended(place, Target.product("TEA-1"), "poster-a", "product", "en")
    tea_ru = intended(place, Target.product("TEA-1"), "poster-a", "product", "ru")
    expected = {
        "tea-a4.png": tea,
        "tea-a6.png": tea_ru,
        "tea-a6.pdf": tea,
        "shop.svg": intended(place, Target.shop(), "entrance", "shop", "en"),
        "long.png": intended(place, Target.product(LONG_SKU), "poster-b", "product", "en"),
    }
    category = intended(place, Target.category("Tea"), "витрина", "category", "ru")
    expected[f"{category[0].split('start=')[1]}-ru.png"] = category
    assert tea[0] == f"https://t.me/{BOT}?start=p-TEA-1_poster-a_KflA"

    for name, links in expected.items():
        dpi = 150 if "a6" in name or name == "long.png" else 300
        assert decode_file(folder / name, dpi) == sorted(links), name
    with Image.open(folder / "tea-a6.png") as a6:
        assert a6.size == (620, 874)  # A6 at 150 dpi
    with (folder / "index.csv").open(encoding="utf-8") as index:
        listed = {
            entry["file"]: [entry["telegram"], entry["whatsapp"]] for entry in csv.DictReader(index)
        }
    assert listed == expected


def test_a_poster_shows_the_products_photo_and_survives_a_dead_photo_host(
    batch: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, folder = batch
    green = (20, 110, 60)
    with Image.open(folder / "tea-a4.png") as poster:
        assert green in {colour for _, colour in poster.getcolors(1 << 22) or []}
    with Image.open(folder / "long.png") as poster:
        assert green not in {colour for _, colour in poster.getcolors(1 << 22) or []}
    assert "a placeholder takes its place" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--shop", "--product", "TEA-1", "--source", "x", "-o", "x.png"], {}, "choose what"),
        (["--product", "NOPE", "--source", "x", "-o", "x.png"], {}, "product 'NOPE' not found"),
        (["--shop", "--source", "x", "-o", "x.gif"], {}, "name a .png, .svg or .pdf file"),
        (["--shop", "--source", "x", "--size", "2px", "-o", "x.png"], {}, "too small"),
        (
            ["--shop", "--source", "x", "--channel", "telegram", "-o", "x.png"],
            {"TELEGRAM_BOT_USERNAME": ""},
            "set TELEGRAM_BOT_USERNAME",
        ),
        (["--shop", "--source", "x" * 65, "-o", "x.png"], {}, "longer than 64"),
    ],
)
def test_make_explains_a_mistake_in_one_line(
    place: Place, args: list[str], env: dict[str, str], message: str
) -> None:
    result = place.run("qr", "make", *args, **env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (place.folder / "x.png").exists()


def test_report_lists_each_source_from_the_events(tmp_path: Path) -> None:
    place = Place(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")

    async def visits() -> None:
        shop = place.shop()
        await upgrade(shop.db)
        await shop.catalog.import_rows([row("TEA-1", price=450)])
        tea = await shop.catalog.product_by_sku("TEA-1")
        assert tea is not None
        code = await shop.attribution.code_for(Target.product("TEA-1"), "poster-a")
        for who in ("ann", "bob"):
            visit, _ = await scan(shop, Channel.TELEGRAM, who, code)
            customer = visit.customer_id
            assert customer is not None
            await shop.carts.add(customer, tea.id, 2)
            await shop.analytics.record(EventKind.ADD_TO_CART, visit, product_id=tea.id)
            if who == "ann":
                order = await shop.orders.checkout(customer, channel="telegram", source="poster-a")
                await shop.orders.confirm_payment(order.id)
        await shop.db.dispose()

    asyncio.run(visits())

    as_json = place.run("report", "qr", "--since", "all", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [
        {
            "source": "poster-a",
            "scans": 2,
            "customers": 2,
            "carts": 2,
            "orders": 1,
            "buyers": 1,
            "revenue": {"USD": 900},
            "conversion": 0.5,
        }
    ]
    table = place.run("report", "qr", "--since", "30d")
    assert table.returncode == 0, table.stderr
    line = next(line for line in table.stdout.splitlines() if "poster-a" in line)
    cells = [cell.strip() for cell in line.split("│")[1:-1]]
    assert cells == ["poster-a", "2", "2", "2", "1", "$9.00", "50.0%"]
    wrong = place.run("report", "qr", "--since", "yesterday")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: --since 'yesterday'")


@pytest.fixture(autouse=True)
def _no_stray_files(place: Place) -> Iterator[None]:
    yield
    (place.folder / "x.png").unlink(missing_ok=True)
