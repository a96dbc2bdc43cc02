"""The migrated schema is exactly what the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import shop.models  # noqa: F401  (registers the tables)
from bot.services import Shop
from shop.migrate import alembic_config, upgrade
from shop.models import Channel, PromoKind
from shop.types import UTCDateTime
from tests.conftest import FakeClock, row


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrations_build_the_schema_the_models_describe(any_shop: Shop) -> None:
    assert await any_shop.db.read(_diff) == []


async def test_migrations_are_idempotent_and_seed_the_revision(any_shop: Shop) -> None:
    await upgrade(any_shop.db)  # a second run changes nothing
    assert await any_shop.catalog.revision() == 0

    def tables(conn: Connection) -> set[str]:
        return set(inspect(conn).get_table_names())

    assert {"product", "shop_order", "order_event", "analytics_event"} <= await any_shop.db.read(
        tables
    )


async def test_promo_limits_per_customer_survive_a_downgrade_and_an_upgrade(
    any_shop: Shop,
) -> None:
    shop = any_shop
    await shop.catalog.import_rows([row("A", price=1_000)])
    product = await shop.catalog.product_by_sku("A")
    assert product is not None
    ann = await shop.customers.touch(Channel.TELEGRAM, "ann")
    for code, per_customer in (("ONCE", 1), ("THRICE", 3), ("ALWAYS", None)):
        await shop.promos.create(code, PromoKind.PERCENT, 10, per_customer=per_customer)
        await shop.carts.apply_promo(ann.id, code)
        await shop.orders.checkout(ann.id, channel="telegram", only=(product.id, 1))

    await _migrate(shop, "downgrade", "0007")
    before = await shop.db.read(
        lambda conn: conn.execute(
            text(
                "SELECT p.code, p.once_per_customer, r.once_key FROM promo_code p "
                "JOIN promo_redemption r ON r.code = p.code ORDER BY p.code"
            )
        ).all()
    )
    await _migrate(shop, "upgrade", "head")

    # "Once" is kept as it was; several uses a customer go back to no limit, not to once.
    assert [(code, bool(once), key) for code, once, key in before] == [
        ("ALWAYS", False, None),
        ("ONCE", True, ann.id),
        ("THRICE", False, None),
    ]
    assert {p.code: p.per_customer for p in await shop.promos.list_codes()} == {
        "ALWAYS": None,
        "ONCE": 1,
        "THRICE": None,
    }
    assert await shop.db.read(_diff) == []


async def test_whatsapp_numbers_known_before_count_as_proved_after_the_upgrade(
    any_shop: Shop, clock: FakeClock
) -> None:
    shop = any_shop
    await _migrate(shop, "downgrade", "0009")
    await shop.db.write(
        lambda conn: conn.execute(
            text(
                "INSERT INTO customer (channel, external_id, display_name, marketing_consent, "
                "first_seen_at) VALUES ('whatsapp', '447700900123', '', false, :now), "
                "('whatsapp', 'BSUID.abc', '', false, :now), ('telegram', '1001', '', false, :now)"
            ).bindparams(bindparam("now", type_=UTCDateTime())),
            {"now": clock.now},
        )
    )
    await _migrate(shop, "upgrade", "head")

    people = await shop.customers.all_people()
    assert [(p.oldest.external_id, p.oldest.phone) for p in people] == [
        ("447700900123", "447700900123"),
        ("BSUID.abc", None),  # a business-scoped id is no number
        ("1001", None),
    ]
    telegram = await shop.customers.touch(Channel.TELEGRAM, "1001")
    await shop.customers.prove_phone(telegram.id, "+447700900123")
    assert await shop.customers.person_of(telegram.id) == people[0].id


async def _migrate(shop: Shop, direction: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        getattr(command, direction)(alembic_config(connection), revision)

    await shop.db.write(run, bulk=True)
