"""`chatshop qr make|batch`: codes and posters that open the chat."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from PIL import Image
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from bot.cli.common import err, out, with_shop
from bot.wiring import Shop
from qr import codes
from qr.errors import QrError
from qr.links import ChannelLinks, channel_name
from qr.photos import PhotoLoader
from qr.posters import Paper, compose, render
from shop.attribution import Destination
from shop.deeplink import PayloadError, Target, TargetKind
from shop.errors import ShopError
from shop.models import Channel
from shop.plaintext import visible

qr_app = typer.Typer(
    help="QR codes and posters that open the chat on a product, category, promo or the shop.",
    no_args_is_help=True,
)

T = TypeVar("T")

FORMATS = (".png", ".svg", ".pdf")
COLUMNS = ("kind", "value", "source", "channel", "poster", "lang", "dpi", "file")
DEFAULT_SIZE = "50mm"


class ChannelChoice(StrEnum):
    """Which chat a code opens."""

    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"
    BOTH = "both"


class Lang(StrEnum):
    """The language of a poster and of the WhatsApp greeting."""

    EN = "en"
    RU = "ru"


@dataclass(frozen=True, slots=True)
class CodeJob:
    """One code or poster to make."""

    target: Target
    source: str
    channel: ChannelChoice | None = None  # None: every channel whose settings are present
    paper: Paper | None = None
    lang: str | None = None
    size: codes.Size | None = None  # a bare code's; None: DEFAULT_SIZE
    dpi: int = codes.DEFAULT_DPI


@dataclass(frozen=True, slots=True)
class Plan:
    """A job checked against the shop: what it opens, its payload and its links."""

    job: CodeJob
    destination: Destination
    payload: str
    links: dict[Channel, str]
    locale: str


@dataclass(frozen=True, slots=True)
class Made:
    """A code or poster written to a file, and the links it holds."""

    output: Path
    payload: str
    links: dict[Channel, str]


class Maker:
    """Makes codes and posters with one shop, one set of channel links and one photo cache.

    Its methods raise QrError, PayloadError, ShopError or OSError, each with a
    message fit for one line.
    """

    def __init__(self, shop: Shop, links: ChannelLinks, photos: PhotoLoader) -> None:
        self._shop = shop
        self._links = links
        self._photos = photos

    async def plan(self, job: CodeJob) -> Plan:
        """Check what the job opens, register its payload if needed, and build its links."""
        locale = job.lang or self._shop.settings.default_locale
        destination = await self._shop.attribution.destination(job.target)
        payload = await self._shop.attribution.code_for(destination.target, job.source)
        kind = destination.target.kind
        links = {
            channel: self._links.link(channel, kind, payload, locale)
            for channel in self._channels(job.channel)
        }
        return Plan(job, destination, payload, links, locale)

    def write(self, plan: Plan, output: Path) -> Made:
        """Draw the plan as the file `output` names (.png, .svg or .pdf) and write it."""
        job, suffix = plan.job, output.suffix.lower()
        if suffix not in FORMATS:
            raise QrError(f"{output.name}: name a .png, .svg or .pdf file")
        if job.paper is not None and suffix == ".svg":
            raise QrError(f"{output.name}: a poster is a .png or .pdf file")
        if job.paper is not None and job.size is not None:
            raise QrError("a poster's codes take the size of its paper: leave out the size")
        if job.paper is not None:
            settings, product = self._shop.settings, plan.destination.product
            poster = compose(
                plan.destination,
                [
                    (channel, link, self._links.handle(channel))
                    for channel, link in plan.links.items()
                ],
                shop_name=settings.shop_name,
                locale=plan.locale,
                currency=settings.shop_currency,
                photo=self._photos.load(product.image_url) if product else None,
            )
            data = _encode(render(poster, job.paper, job.dpi), suffix, job.dpi, poster.headline)
        else:
            several = len(plan.links) > 1
            labelled = [
                codes.Labelled(link, channel_name(channel) if several else "")
                for channel, link in plan.links.items()
            ]
            size = job.size or codes.parse_size(DEFAULT_SIZE)
            if suffix == ".svg":
                data = codes.svg(labelled, size).encode("utf-8")
            else:
                picture = codes.sheet(labelled, size.pixels(job.dpi))
                data = _encode(picture, suffix, job.dpi, plan.payload)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
        return Made(output, plan.payload, plan.links)

    def _channels(self, choice: ChannelChoice | None) -> list[Channel]:
        """Return the channels a job links to."""
        if choice is ChannelChoice.BOTH:
            return [Channel.TELEGRAM, Channel.WHATSAPP]
        if choice is not None:
            return [Channel(choice.value)]
        configured = self._links.configured()
        if not configured:
            raise QrError(
                "no chat to link to: set TELEGRAM_BOT_USERNAME and/or TWILIO_WHATSAPP_FROM"
            )
        return configured


def _encode(picture: Image.Image, suffix: str, dpi: int, title: str) -> bytes:
    """Return a picture as PNG or PDF bytes."""
    if suffix == ".pdf":
        return codes.pdf(picture, dpi, title=title)
    return codes.png(picture, dpi)


def _with_maker(work: Callable[[Maker], Awaitable[T]]) -> T:
    """Run `work` with a Maker for the shop, its channel links and a photo cache."""

    async def made(shop: Shop) -> T:
        with _reported():
            links = await ChannelLinks.create(
                telegram_username=shop.settings.telegram.bot_username,
                whatsapp_from=shop.settings.twilio.whatsapp_from,
            )
        return await work(Maker(shop, links, PhotoLoader()))

    return with_shop(made)


@contextmanager
def _reported() -> Iterator[None]:
    """Turn what went wrong making a code into one line on stderr and exit status 1."""
    try:
        yield
    except (QrError, PayloadError) as error:
        _fail(str(error))
    except OSError as error:
        _fail(_os_error(error))


def _fail(message: str) -> NoReturn:
    err.print(f"error: {visible(message)}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _os_error(error: OSError) -> str:
    """Say which file could not be read or written, and why."""
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"


def _target(product: str | None, category: str | None, promo: str | None, shop: bool) -> Target:
    """Return the one target the options name."""
    named = [product is not None, category is not None, promo is not None, shop]
    if named.count(True) != 1:
        _fail("choose what the code opens: one of --product, --category, --promo or --shop")
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
    with _reported():
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
        with _reported():
            return maker.write(await maker.plan(job), output)

    made = _with_maker(work)
    what = f"an {poster.value.upper()} poster" if poster else "a QR code"
    out.print(f"Wrote {escape(visible(str(made.output)))}: {what} at {dpi} dpi.", soft_wrap=True)
    for chat, link in made.links.items():
        out.print(f"  {chat.value}: {escape(link)}", soft_wrap=True, highlight=False)


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
        _fail(f"--format {fmt!r}: use png, svg or pdf")
    with _reported():
        bare = codes.parse_size(size)
        rows = _read_rows(file)

    async def work(maker: Maker) -> tuple[list[tuple[int, Made]], list[str]]:
        made: list[tuple[int, Made]] = []
        failures: list[str] = []
        taken: dict[Path, int] = {}
        with _progress() as progress:
            task = progress.add_task("Making codes", total=len(rows))
            for line, values in rows:
                try:
                    plan = await maker.plan(_job(values, dpi, bare))
                    path = output / (values.get("file") or _file_name(plan, fmt.lower()))
                    if path in taken:
                        raise QrError(f"{path.name} is already made by line {taken[path]}")
                    made.append((line, maker.write(plan, path)))
                    taken[path] = line
                except (ShopError, PayloadError, QrError) as error:
                    failures.append(f"line {line}: {error}")
                except OSError as error:
                    failures.append(f"line {line}: {_os_error(error)}")
                progress.advance(task)
        return made, failures

    made, failures = _with_maker(work)
    if made:
        _write_index(output / "index.csv", made)
    for failure in failures:
        err.print(f"error: {visible(failure)}", highlight=False, markup=False, soft_wrap=True)
    summary = f"Made {len(made)} of {len(rows)} codes in {output}"
    out.print(escape(summary + (" (index.csv lists their links)." if made else ".")))
    if failures:
        raise typer.Exit(1)


def _read_rows(file: Path) -> list[tuple[int, dict[str, str]]]:
    """Return the CSV's non-empty rows with their line numbers; check the header."""
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise QrError(f"{file}: not UTF-8 (byte {error.start})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown or "kind" not in header or "source" not in header:
        raise QrError(
            f"{file}: line 1: the columns are kind,source and optionally "
            f"value,channel,poster,lang,dpi,file (found {','.join(header) or 'nothing'})"
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        values = {key: (value or "").strip() for key, value in row.items() if key is not None}
        if any(values.values()):
            rows.append((reader.line_num, values))
    return rows


def _job(values: dict[str, str], dpi: int, size: codes.Size) -> CodeJob:
    """Turn a CSV row into a job."""
    kind, value = values.get("kind", "").lower(), values.get("value", "")
    makers = {
        TargetKind.PRODUCT.value: Target.product,
        TargetKind.CATEGORY.value: Target.category,
        TargetKind.PROMO.value: Target.promo,
    }
    if kind == TargetKind.SHOP.value:
        target = Target.shop()
    elif kind in makers:
        if not value:
            raise QrError(f"a {kind} needs a value")
        target = makers[kind](value)
    else:
        raise QrError(f"kind {kind!r}: use product, category, promo or shop")
    if not values.get("source"):
        raise QrError("a source is needed: where the code hangs")
    name = values.get("file", "")
    if name and (Path(name).name != name or name.startswith(".")):
        raise QrError(f"file {name!r}: give a plain file name")
    lang = _choice(Lang, values.get("lang"), "lang")
    paper = _choice(Paper, values.get("poster"), "poster")
    if values.get("dpi"):
        text = values["dpi"]
        if not text.isdigit() or not 72 <= int(text) <= 1200:
            raise QrError(f"dpi {text!r}: use a whole number from 72 to 1200")
        dpi = int(text)
    return CodeJob(
        target=target,
        source=values["source"],
        channel=_choice(ChannelChoice, values.get("channel"), "channel"),
        paper=paper,
        lang=lang.value if lang else None,
        size=None if paper else size,
        dpi=dpi,
    )


def _file_name(plan: Plan, fmt: str) -> str:
    """Name a file after its payload, paper and language: p-TEA-1_poster_cuBn-a4-ru.pdf."""
    job = plan.job
    parts = [plan.payload, job.paper.value if job.paper else "", job.lang or ""]
    return "-".join(part for part in parts if part) + f".{fmt}"


E = TypeVar("E", bound=StrEnum)


def _choice(enum: type[E], value: str | None, column: str) -> E | None:
    """Read an optional choice column."""
    if not value:
        return None
    try:
        return enum(value.lower())
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise QrError(f"{column} {value!r}: use {choices}") from None


@contextmanager
def _progress() -> Iterator[Progress]:
    """Show a bar on a terminal (not in logs and pipes) while the rows are made."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        yield progress


def _write_index(path: Path, made: list[tuple[int, Made]]) -> None:
    """Write index.csv: each file made, its payload and its links."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["line", "file", "payload", "telegram", "whatsapp"])
    for line, result in made:
        writer.writerow(
            [
                line,
                result.output.name,
                result.payload,
                result.links.get(Channel.TELEGRAM, ""),
                result.links.get(Channel.WHATSAPP, ""),
            ]
        )
    with _reported():
        path.write_text(buffer.getvalue(), encoding="utf-8")
