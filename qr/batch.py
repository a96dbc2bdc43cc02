"""Many codes at once: a CSV file of jobs in, one file per good row, every bad row told by line."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from qr import codes
from qr.errors import QrError, file_problem
from qr.maker import ChannelChoice, CodeJob, Lang, Made, Maker, Plan
from qr.posters import Paper
from shop.deeplink import PayloadError, Target, TargetKind
from shop.errors import ShopError
from shop.models import Channel

COLUMNS = ("kind", "value", "source", "channel", "poster", "lang", "dpi", "file")
INDEX = "index.csv"

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a row without its own value gets."""

    fmt: str  # png, svg or pdf: the format of a row without a file name
    dpi: int
    size: codes.Size  # of bare codes


@dataclass(frozen=True, slots=True)
class Batch:
    """What a batch made (with each row's line) and what it could not, one line per row."""

    made: list[tuple[int, Made]]
    failures: list[str]


def read_rows(file: Path) -> list[tuple[int, dict[str, str]]]:
    """Return the CSV's non-empty rows with their line numbers; check the header.

    Raises:
        QrError: not UTF-8, or not the columns of a batch.
        OSError: the file cannot be read.
    """
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


async def make_all(
    maker: Maker,
    rows: list[tuple[int, dict[str, str]]],
    folder: Path,
    defaults: Defaults,
    advance: Callable[[], None],
) -> Batch:
    """Make each row's code or poster in `folder`, calling `advance` after each row.

    A bad row is noted by its line and the others are made; two rows may not
    write one file.
    """
    made: list[tuple[int, Made]] = []
    failures: list[str] = []
    taken: dict[Path, int] = {}
    for line, values in rows:
        try:
            plan = await maker.plan(_job(values, defaults))
            path = folder / (values.get("file") or _file_name(plan, defaults.fmt))
            if path in taken:
                raise QrError(f"{path.name} is already made by line {taken[path]}")
            made.append((line, maker.write(plan, path)))
            taken[path] = line
        except (ShopError, PayloadError, QrError) as error:
            failures.append(f"line {line}: {error}")
        except OSError as error:
            failures.append(f"line {line}: {file_problem(error)}")
        advance()
    return Batch(made, failures)


def write_index(folder: Path, made: list[tuple[int, Made]]) -> None:
    """Write index.csv into `folder`: each file made, its payload and its links."""
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
    (folder / INDEX).write_text(buffer.getvalue(), encoding="utf-8")


def _job(values: dict[str, str], defaults: Defaults) -> CodeJob:
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
    dpi = defaults.dpi
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
        size=None if paper else defaults.size,
        dpi=dpi,
    )


def _file_name(plan: Plan, fmt: str) -> str:
    """Name a file after its payload, paper and language: p-TEA-1_poster_cuBn-a4-ru.pdf."""
    job = plan.job
    parts = [plan.payload, job.paper.value if job.paper else "", job.lang or ""]
    return "-".join(part for part in parts if part) + f".{fmt}"


def _choice(enum: type[E], value: str | None, column: str) -> E | None:
    """Read an optional choice column."""
    if not value:
        return None
    try:
        return enum(value.lower())
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise QrError(f"{column} {value!r}: use {choices}") from None
