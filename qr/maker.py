"""Making a code or poster: check what it opens, register its payload, draw it, write the file."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PIL import Image

from qr import codes
from qr.errors import QrError
from qr.links import ChannelLinks, channel_name
from qr.photos import PhotoLoader
from qr.posters import Paper, compose, render
from shop.attribution import AttributionService, Destination
from shop.deeplink import Target
from shop.models import Channel

FORMATS = (".png", ".svg", ".pdf")
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


@dataclass(frozen=True, slots=True)
class Look:
    """What every poster of the shop shows alike: its name, currency and language."""

    shop_name: str
    currency: str
    locale: str  # unless a job names its own


class Maker:
    """Makes codes and posters with one shop, one set of channel links and one photo cache.

    Its methods raise QrError, PayloadError, ShopError or OSError, each with a
    message fit for one line.
    """

    def __init__(
        self,
        attribution: AttributionService,
        links: ChannelLinks,
        photos: PhotoLoader,
        look: Look,
    ) -> None:
        self._attribution = attribution
        self._links = links
        self._photos = photos
        self._look = look

    async def plan(self, job: CodeJob) -> Plan:
        """Check what the job opens, register its payload if needed, and build its links."""
        locale = job.lang or self._look.locale
        destination = await self._attribution.destination(job.target)
        payload = await self._attribution.code_for(destination.target, job.source)
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
            product = plan.destination.product
            poster = compose(
                plan.destination,
                [
                    (channel, link, self._links.handle(channel))
                    for channel, link in plan.links.items()
                ],
                shop_name=self._look.shop_name,
                locale=plan.locale,
                currency=self._look.currency,
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
