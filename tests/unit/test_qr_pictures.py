"""QR pictures, links and posters: sized for print, and read back by an independent decoder."""

from __future__ import annotations

import http.server
import io
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from qr import codes
from qr.errors import QrError
from qr.links import ChannelLinks, bot_username, telegram_link, whatsapp_link, whatsapp_number
from qr.photos import PhotoLoader
from qr.posters import Paper, Poster, PosterCode, render
from qr.typeface import BOLD, REGULAR, font
from shop.deeplink import TargetKind
from shop.models import Channel
from tests.qr_support import decode, render_svg

TELEGRAM = "https://t.me/chatshop_test_bot?start=p-TEA-1_poster_cuBn"
WHATSAPP = "https://wa.me/14155238886?text=Hi!%20I'd%20like%20p-TEA-1_poster_cuBn"


def test_a_png_code_has_the_size_asked_whole_pixel_modules_and_a_quiet_zone() -> None:
    for size in (codes.Size(600), codes.Size(40, "mm")):
        picture = codes.draw(TELEGRAM, size.pixels(300))
        side = 600 if size.unit == "px" else round(40 / 25.4 * 300)
        assert picture.size == (side, side)
        assert decode(picture) == [TELEGRAM]
        module = side // codes.modules_across(TELEGRAM)
        border = (side - module * (codes.modules_across(TELEGRAM) - 8)) // 2
        assert border >= 4 * module  # the quiet zone: four modules of white at least
        inner = picture.crop((border, border, side - border, side - border))
        assert picture.getextrema() == (0, 255)
        assert inner.getbbox() is not None
        blank = Image.new("L", picture.size, 255)
        blank.paste(inner, (border, border))
        assert blank.tobytes() == picture.tobytes()  # nothing outside the symbol but white


def test_a_png_prints_at_its_dpi() -> None:
    data = codes.png(codes.draw(TELEGRAM, codes.Size(30, "mm").pixels(600)), 600)
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.info["dpi"] == pytest.approx((600, 600), abs=0.01)
        assert picture.width / 600 * 25.4 == pytest.approx(30, abs=0.05)


def test_a_code_too_small_to_scan_is_refused() -> None:
    with pytest.raises(QrError, match="too small"):
        codes.draw(TELEGRAM, 60)


@pytest.mark.parametrize(
    ("text", "size"),
    [("600", codes.Size(600)), ("40mm", codes.Size(40, "mm")), ("4 cm", codes.Size(40, "mm"))],
)
def test_sizes_read_in_pixels_or_lengths(text: str, size: codes.Size) -> None:
    assert codes.parse_size(text) == size
    assert codes.parse_size("1in").pixels(300) == 300


@pytest.mark.parametrize("text", ["", "big", "-5mm", "0", "40 furlongs"])
def test_a_size_that_is_no_size_is_refused(text: str) -> None:
    with pytest.raises(QrError):
        codes.parse_size(text)


def test_an_svg_code_rendered_by_resvg_reads_back(tmp_path: Path) -> None:
    for labelled in (
        [codes.Labelled(TELEGRAM, "")],
        [codes.Labelled(TELEGRAM, "Telegram"), codes.Labelled(WHATSAPP, "WhatsApp")],
    ):
        path = tmp_path / "code.svg"
        path.write_text(codes.svg(labelled, codes.Size(40, "mm")), encoding="utf-8")
        assert 'width="' + f"{40 * len(labelled)}mm" + '"' in path.read_text("utf-8")
        assert decode(render_svg(path, 150)) == sorted(code.data for code in labelled)


def test_links_follow_each_messengers_format() -> None:
    assert telegram_link("@chatshop_test_bot", "p-TEA-1_poster_cuBn") == TELEGRAM
    assert whatsapp_link("whatsapp:+1 415-523-8886", "Hi! I'd like p-TEA-1_poster_cuBn") == WHATSAPP
    assert bot_username("https://t.me/ShopBot") == "ShopBot"
    assert whatsapp_number("whatsapp:+79161234567") == "79161234567"
    with pytest.raises(QrError, match="TELEGRAM_BOT_USERNAME"):
        bot_username("my shop")
    with pytest.raises(QrError, match="TWILIO_WHATSAPP_FROM"):
        whatsapp_number("whatsapp:+0123")
    with pytest.raises(QrError, match="A-Za-z0-9_-"):
        telegram_link("chatshop_bot", "has space")


async def test_the_bot_username_comes_from_settings_or_from_get_me() -> None:
    async def get_me() -> str:
        return "asked_bot"

    from_settings = await ChannelLinks.create(
        telegram_username="@set_bot", whatsapp_from=None, lookup=get_me
    )
    asked = await ChannelLinks.create(telegram_username=None, whatsapp_from=None, lookup=get_me)
    nothing = await ChannelLinks.create(telegram_username=None, whatsapp_from=None)

    assert from_settings.configured() == [Channel.TELEGRAM]
    assert from_settings.link(Channel.TELEGRAM, TargetKind.SHOP, "s_uRTh", "en").startswith(
        "https://t.me/set_bot?start="
    )
    assert asked.handle(Channel.TELEGRAM) == "t.me/asked_bot"
    assert nothing.configured() == []
    with pytest.raises(QrError, match="TWILIO_WHATSAPP_FROM"):
        nothing.link(Channel.WHATSAPP, TargetKind.SHOP, "s_uRTh", "en")


def test_the_shipped_font_draws_cyrillic_without_system_fonts() -> None:
    assert REGULAR.is_file()
    assert BOLD.is_file()
    assert (REGULAR.parent / "LICENSE").is_file()
    missing = _glyph("\ue000")  # a private-use character: the font's "no glyph" box
    for letter in "ЖщЁ₽":
        drawn = _glyph(letter)
        assert drawn.getbbox() is not None
        assert drawn.tobytes() != missing.tobytes()


def _glyph(letter: str) -> Image.Image:
    picture = Image.new("L", (96, 96))
    ImageDraw.Draw(picture).text((16, 8), letter, font=font(64, bold=True), fill=255)
    return picture


def _poster(photo: Image.Image | None, *, codes_: int = 2) -> Poster:
    links = [
        PosterCode(Channel.TELEGRAM, TELEGRAM, "Scan to buy in Telegram", "t.me/chatshop_test_bot"),
        PosterCode(Channel.WHATSAPP, WHATSAPP, "Scan to buy in WhatsApp", "+14155238886"),
    ][:codes_]
    return Poster(
        shop_name="Чайная лавка",
        headline="Эрл Грей 100 г",
        codes=links,
        price="4,50 $",
        photo=photo,
        wants_photo=True,
    )


@pytest.mark.parametrize(
    ("paper", "dpi", "size"), [(Paper.A4, 300, (2480, 3508)), (Paper.A6, 150, (620, 874))]
)
def test_a_poster_fills_its_paper_and_its_codes_read_back(
    paper: Paper, dpi: int, size: tuple[int, int]
) -> None:
    picture = render(_poster(None), paper, dpi)
    assert picture.size == size
    assert decode(picture) == sorted([TELEGRAM, WHATSAPP])
    assert decode(render(_poster(None, codes_=1), paper, dpi)) == [TELEGRAM]


def test_a_poster_shows_the_photo_when_there_is_one() -> None:
    orange = (230, 120, 20)
    with_photo = render(_poster(Image.new("RGB", (400, 300), orange)), Paper.A6, 150)
    placeholder = render(_poster(None), Paper.A6, 150)
    assert orange in {colour for _, colour in with_photo.getcolors(1 << 20) or []}
    assert orange not in {colour for _, colour in placeholder.getcolors(1 << 20) or []}


@pytest.fixture
def photo_server(tmp_path: Path) -> Iterator[str]:
    """A web server on loopback serving one photo and one file that is not an image."""
    (tmp_path / "tea.png").write_bytes(_png(Image.new("RGB", (40, 30), (0, 128, 0))))
    (tmp_path / "broken.jpg").write_bytes(b"not a picture")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def test_photos_load_from_files_and_urls_and_fail_gracefully(
    tmp_path: Path, photo_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "local.png").write_bytes(_png(Image.new("RGBA", (10, 10), (255, 0, 0, 255))))
    loader = PhotoLoader(timeout=2, base=tmp_path)

    local = loader.load("local.png")
    remote = loader.load(f"{photo_server}/tea.png")
    assert local is not None
    assert local.mode == "RGB"
    assert remote is not None
    assert remote.size == (40, 30)
    assert loader.load(None) is None
    assert loader.load("missing.jpg") is None
    assert loader.load(f"{photo_server}/broken.jpg") is None
    assert loader.load(f"{photo_server}/nothing-here.jpg") is None
    assert re.search(r"nothing-here\.jpg: HTTP Error 404", caplog.text)
    assert loader.load(f"{photo_server}/tea.png?again") is not None  # a 404 is no dead host


def test_a_dead_host_is_asked_once_per_run(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on: refused at once
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    loader = PhotoLoader(timeout=2)
    assert loader.load(f"{url}/a.jpg") is None
    assert loader.load(f"{url}/b.jpg") is None
    assert caplog.text.count("a placeholder takes its place") == 1
