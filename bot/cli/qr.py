"""`chatshop qr make|batch`: codes and posters that open the chat (made by `qr.maker`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from bot.cli.common import CommandError, err, out, progress, shown, with_shop
from bot.services import Shop
from qr import codes
from qr.batch import COLUMNS, INDEX, Batch, Defaults, make_all, read_rows, write_index
from qr.errors import file_problem
from qr.links import ChannelLinks
from qr.maker import DEFAULT_SIZE, FORMATS, ChannelChoice, CodeJob, Lang, Look, Made, Maker
from qr.photos import PhotoLoader
from qr.posters import Paper
from shop.deeplink import Target
from shop.plaintext import visible

qr_app = typer.Typer(
    help="QR codes and posters that open the chat on a product, category, promo or the shop.",
    no_args_is_help=True,
)

T = TypeVar("T")


def _with_maker(work: Callable[[Maker], Awaitable[T]]) -> T:
    """Run `work` with a Maker for the shop, its channel links and a photo cache."""

    async def made(shop: Shop) -> T:
        settings = shop.settings
        links = await ChannelLinks.create(
            telegram_username=settings.telegram.bot_username,
            whatsapp_from=settings.twilio.whatsapp_from,
        )
        look = Look(settings.shop_name, settings.shop_currency, settings.default_locale)
        try:
            return await work(Maker(shop.attribution, links, PhotoLoader(), look))
        except OSError as error:
            raise CommandError(file_problem(error)) from None

    return with_shop(made)


def _target(product: str | None, category: str | None, promo: str | None, shop: bool) -> Target:
    """Return the one target the options name."""
    named = [product is not None, category is not None, promo is not None, shop]
    if named.count(True) != 1:
        raise CommandError(
            "choose what the code opens: one of --product, --category, --promo or --shop"
        )
    if product is not None:
        return Target.product(product)
    if category is not None:
        return Target.category(category)
    if promo is not None:
        return Target.promo(promo)
    return Target.shop()


@qr_app.command("make")
def make(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Where to write: a .png, .svg or .pdf file.")
    ],
    source: Annotated[
        str, typer.Option(help="Where the code hangs: a poster, store or campaign name.")
    ],
    product: Annotated[
        str | None, typer.Option(metavar="SKU", help="Open a product by its sku.")
    ] = None,
    category: Annotated[
        str | None, typer.Option(metavar="NAME", help="Open a category by name.")
    ] = None,
    promo: Annotated[str | None, typer.Option(metavar="CODE", help="Apply a promo code.")] = None,
    shop: Annotated[bool, typer.Option("--shop", help="Open the shop's main menu.")] = False,
    channel: Annotated[
        ChannelChoice | None,
        typer.Option(help="The chat to open [default: every one whose settings are present]."),
    ] = None,
    poster: Annotated[
        Paper | None, typer.Option(help="Make a printable poster on this paper.")
    ] = None,
    lang: Annotated[
        Lang | None, typer.Option(help="Poster and greeting language [default: DEFAULT_LOCALE].")
    ] = None,
    size: Annotated[
        str | None, typer.Option(help="A bare code's size: 600px, 40mm, 1.5in [default: 50mm].")
    ] = None,
    dpi: Annotated[int, typer.Option(min=72, max=1200, help="Print resolution.")] = 300,
) -> None:
    """Make a QR code (PNG, SVG or PDF) or a printable poster that opens the chat."""
    job = CodeJob(
        target=_target(product, category, promo, shop),
        source=source,
        channel=channel,
        paper=poster,
        lang=lang.value if lang else None,
        size=codes.parse_size(size) if size is not None else None,
        dpi=dpi,
    )

    async def work(maker: Maker) -> Made:
        return maker.write(await maker.plan(job), output)

    made = _with_maker(work)
    what = f"an {poster.value.upper()} poster" if poster else "a QR code"
    out.print(f"Wrote {shown(str(made.output))}: {what} at {dpi} dpi.", soft_wrap=True)
    for chat, link in made.links.items():
        out.print(f"  {chat.value}: {shown(link)}", soft_wrap=True)


@qr_app.command("batch")
def batch(
    file: Annotated[Path, typer.Argument(help=f"A CSV file with the columns {','.join(COLUMNS)}.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The folder to write into.")],
    fmt: Annotated[
        str, typer.Option("--format", help="png, svg or pdf, for rows without a file name.")
    ] = "png",
    dpi: Annotated[
        int, typer.Option(min=72, max=1200, help="Print resolution, for rows without a dpi.")
    ] = 300,
    size: Annotated[
        str, typer.Option(help="The size of bare codes: 600px, 40mm, 1.5in.")
    ] = DEFAULT_SIZE,
) -> None:
    """Make one code or poster per CSV row; a bad row is reported by line and the others made.

    Columns: kind (product, category, promo, shop), value (sku, name, code), source,
    and optionally channel (telegram, whatsapp, both), poster (a4, a6), lang (en, ru),
    dpi (else --dpi) and file (a name in the folder; by default the payload and the format).
    The folder also gets index.csv: each file with its links.
    """
    if f".{fmt.lower()}" not in FORMATS:
        raise CommandError(f"--format {fmt!r}: use png, svg or pdf")
    defaults = Defaults(fmt.lower(), dpi, codes.parse_size(size))
    try:
        rows = read_rows(file)
    except OSError as error:
        raise CommandError(file_problem(error)) from None

    async def work(maker: Maker) -> Batch:
        with progress() as bar:
            task = bar.add_task("Making codes", total=len(rows))
            done = await make_all(maker, rows, output, defaults, lambda: bar.advance(task))
        if done.made:
            write_index(output, done.made)
        return done

    done = _with_maker(work)
    for failure in done.failures:
        err.print(f"error: {visible(failure)}", highlight=False, markup=False, soft_wrap=True)
    summary = f"Made {len(done.made)} of {len(rows)} codes in {output}"
    out.print(shown(summary + (f" ({INDEX} lists their links)." if done.made else ".")))
    if done.failures:
        raise typer.Exit(1)
