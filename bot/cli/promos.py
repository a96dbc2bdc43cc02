"""`chatshop promos ...`: staff create, list and switch off promo codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import CommandError, iso, out, print_json, shown, with_shop
from bot.services import Shop
from bot.settings import Settings
from shop.models import PromoCode, PromoKind
from shop.money import MoneyError, format_money, parse_major
from shop.promos import normalize_code
from shop.types import utcnow

promos_app = typer.Typer(help="Promo codes: create, list, switch off.", no_args_is_help=True)


@promos_app.command("create")
def create(
    code: Annotated[str, typer.Argument(help="What customers type, e.g. WINTER15.")],
    percent: Annotated[
        int | None, typer.Option(min=1, max=100, help="Percent off the goods.")
    ] = None,
    amount: Annotated[
        str | None, typer.Option(metavar="X", help="Amount off, in SHOP_CURRENCY: 5.00.")
    ] = None,
    min_total: Annotated[
        str | None,
        typer.Option(metavar="X", help="Only for goods worth at least this, in SHOP_CURRENCY."),
    ] = None,
    max_uses: Annotated[
        int | None, typer.Option(min=1, help="Uses by everyone together [default: no limit].")
    ] = None,
    per_customer: Annotated[
        int, typer.Option(min=0, help="Uses by one customer; 0: no limit.")
    ] = 1,
    until: Annotated[
        str | None,
        typer.Option(metavar="YYYY-MM-DD", help="The last day it works (UTC), that whole day."),
    ] = None,
) -> None:
    """Create a promo code: a percent or an amount off, with its limits."""
    if (percent is None) == (amount is None):
        raise CommandError("give the discount as --percent N or --amount X, one of them")
    ends_at = None if until is None else _end_of(until)

    async def work(shop: Shop) -> PromoCode:
        currency = shop.settings.shop_currency
        try:
            return await shop.promos.create(
                code,
                PromoKind.PERCENT if percent is not None else PromoKind.FIXED,
                percent if percent is not None else _minor(amount or "", currency, "--amount"),
                currency=None if percent is not None else currency,
                min_total=0 if min_total is None else _minor(min_total, currency, "--min-total"),
                ends_at=ends_at,
                usage_limit=max_uses,
                per_customer=per_customer or None,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None

    promo = with_shop(work)
    out.print(
        f"Created {shown(promo.code)}: {_terms(promo, Settings().shop_currency)}.", soft_wrap=True
    )


@promos_app.command("list")
def list_codes(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array on stdout.")] = False,
) -> None:
    """List every promo code, switched off ones too, with its terms and uses."""

    async def work(shop: Shop) -> list[PromoCode]:
        return await shop.promos.list_codes()

    promos = with_shop(work)
    currency = Settings().shop_currency
    if as_json:
        print_json([_as_dict(promo) for promo in promos])
        return
    if not promos:
        out.print("No promo codes yet: `chatshop promos create` makes one.")
        return
    table = Table(title="Promo codes")
    for column in ("Code", "Terms", "Used", "Active"):
        table.add_column(column, justify="right" if column == "Used" else "left")
    for promo in promos:
        limit = "" if promo.usage_limit is None else f" of {promo.usage_limit}"
        table.add_row(
            shown(promo.code),
            _terms(promo, currency),
            f"{promo.used_count}{limit}",
            "yes" if promo.active else "no",
        )
    out.print(table)


@promos_app.command("deactivate")
def deactivate(code: Annotated[str, typer.Argument(help="The promo code.")]) -> None:
    """Switch a promo code off for new carts and checkouts; orders placed keep their discount."""

    async def work(shop: Shop) -> None:
        await shop.promos.deactivate(code)

    with_shop(work)
    out.print(f"{shown(normalize_code(code))} is switched off; orders placed keep their discount.")


def _end_of(text: str) -> datetime:
    """Return the moment after the day `text` names (UTC): the code works through that day."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"--until {text!r}: give a date like 2026-12-31") from None
    end = datetime.combine(day + timedelta(days=1), time(), UTC)
    if end <= utcnow():
        raise CommandError(f"--until {day.isoformat()} is over already (UTC)")
    return end


def _minor(text: str, currency: str, option: str) -> int:
    """Turn an amount in major units of the shop's currency into minor units."""
    try:
        return parse_major(text, currency)
    except MoneyError as error:
        raise CommandError(f"{option}: {error}") from None


def _terms(promo: PromoCode, shop_currency: str) -> str:
    """Say what a code gives and on what terms, in one line."""
    currency = promo.currency or shop_currency  # a percent code's minimum: the shop's money
    if promo.kind == PromoKind.PERCENT:
        off = f"{promo.value}% off"
    else:
        off = f"{format_money(promo.value, currency)} off"
    if promo.min_total:
        off += f" goods from {format_money(promo.min_total, currency)}"
    terms = [off]
    if promo.usage_limit is not None:
        terms.append(f"{promo.usage_limit} uses in all")
    terms.append(_per_customer(promo.per_customer))
    if promo.ends_at is not None:
        terms.append(f"until {_until(promo.ends_at)}")
    return ", ".join(terms)


def _per_customer(limit: int | None) -> str:
    """Say how often one customer may use a code."""
    if limit is None:
        return "no limit per customer"
    return "once per customer" if limit == 1 else f"{limit} times per customer"


def _until(ends_at: datetime) -> str:
    """Say when a code stops: its last day when it ends at midnight UTC, else the moment."""
    moment = ends_at.astimezone(UTC)
    if moment.time() == time():
        return (moment - timedelta(days=1)).date().isoformat()
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _as_dict(promo: PromoCode) -> dict[str, object]:
    """Return a promo code for JSON: amounts in minor units, times in ISO 8601 UTC."""
    return {
        "code": promo.code,
        "kind": promo.kind,
        "value": promo.value,
        "currency": promo.currency,
        "min_total": promo.min_total,
        "max_uses": promo.usage_limit,
        "used": promo.used_count,
        "per_customer": promo.per_customer,
        "starts_at": iso(promo.starts_at),
        "ends_at": iso(promo.ends_at),
        "active": promo.active,
    }
