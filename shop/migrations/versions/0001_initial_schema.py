"""Initial schema: catalog, customers, carts, promo codes, orders, analytics.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 11:17:18.199688
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_event")),
    )
    with op.batch_alter_table("analytics_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_analytics_event_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index("ix_analytics_kind_at", ["kind", "at"], unique=False)
        batch_op.create_index("ix_analytics_source_at", ["source", "at"], unique=False)

    catalog_revision = op.create_table(
        "catalog_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_revision")),
    )
    # The one counter row that every catalog change advances.
    op.bulk_insert(catalog_revision, [{"id": 1, "value": 0}])
    op.create_table(
        "category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_i18n", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category")),
        sa.UniqueConstraint("name", name=op.f("uq_category_name")),
    )
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=True),
        sa.Column("marketing_consent", sa.Boolean(), nullable=False),
        sa.Column("consent_at", shop.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_source", sa.String(length=64), nullable=True),
        sa.Column("contact_name", sa.String(), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("delivery_address", sa.String(), nullable=True),
        sa.Column("first_seen_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_inbound_at", shop.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("channel", "external_id", name="uq_customer_identity"),
    )
    op.create_table(
        "promo_code",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("min_total", sa.Integer(), nullable=False),
        sa.Column("starts_at", shop.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", shop.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("used_count", sa.Integer(), nullable=False),
        sa.Column("once_per_customer", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("value > 0", name=op.f("ck_promo_code_value_positive")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_promo_code")),
    )
    op.create_table(
        "cart",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("promo_code", sa.String(length=32), nullable=True),
        sa.Column("updated_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_cart_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_cart")),
    )
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("title_i18n", sa.JSON(), nullable=False),
        sa.Column("description_i18n", sa.JSON(), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("sold", sa.Integer(), nullable=False),
        sa.Column("image_url", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("digital", sa.Boolean(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_product_price_not_negative")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_product_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["category.id"],
            name=op.f("fk_product_category_id_category"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("sku", name=op.f("uq_product_sku")),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index("ix_product_category_active", ["category_id", "active"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_revision"), ["revision"], unique=False)

    op.create_table(
        "shop_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal", sa.Integer(), nullable=False),
        sa.Column("discount", sa.Integer(), nullable=False),
        sa.Column("delivery_price", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("promo_code", sa.String(length=32), nullable=True),
        sa.Column("contact_name", sa.String(), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("delivery_method", sa.String(length=32), nullable=False),
        sa.Column("delivery_address", sa.String(), nullable=True),
        sa.Column("digital", sa.Boolean(), nullable=False),
        sa.Column("reservation", sa.String(length=16), nullable=False),
        sa.Column("reserved_until", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("carrier", sa.String(), nullable=True),
        sa.Column("tracking_number", sa.String(), nullable=True),
        sa.Column("created_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_shop_order_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_order")),
    )
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.create_index("ix_order_customer", ["customer_id", "id"], unique=False)
        batch_op.create_index(
            "ix_order_hold_expiry", ["reservation", "reserved_until"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_shop_order_status"), ["status"], unique=False)

    op.create_table(
        "cart_item",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("added_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_cart_item_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_cart_item_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_cart_item_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "product_id", name=op.f("pk_cart_item")),
    )
    op.create_table(
        "order_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("carrier", sa.String(), nullable=True),
        sa.Column("tracking_number", sa.String(), nullable=True),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["shop_order.id"],
            name=op.f("fk_order_event_order_id_shop_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_event")),
    )
    with op.batch_alter_table("order_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_event_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("title_i18n", sa.JSON(), nullable=False),
        sa.Column("unit_price", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("digital", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["shop_order.id"],
            name=op.f("fk_order_line_order_id_shop_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_order_line_product_id_product"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line")),
    )
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_line_order_id"), ["order_id"], unique=False)

    op.create_table(
        "promo_redemption",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("once_key", sa.Integer(), nullable=True),
        sa.Column("at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["code"], ["promo_code.code"], name=op.f("fk_promo_redemption_code_promo_code")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_promo_redemption_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["shop_order.id"],
            name=op.f("fk_promo_redemption_order_id_shop_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_redemption")),
        sa.UniqueConstraint("code", "once_key", name="uq_promo_once"),
    )
    with op.batch_alter_table("promo_redemption", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promo_redemption_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("promo_redemption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promo_redemption_order_id"))

    op.drop_table("promo_redemption")
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_line_order_id"))

    op.drop_table("order_line")
    with op.batch_alter_table("order_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_event_order_id"))

    op.drop_table("order_event")
    op.drop_table("cart_item")
    with op.batch_alter_table("shop_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_order_status"))
        batch_op.drop_index("ix_order_hold_expiry")
        batch_op.drop_index("ix_order_customer")

    op.drop_table("shop_order")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_revision"))
        batch_op.drop_index("ix_product_category_active")

    op.drop_table("product")
    op.drop_table("cart")
    op.drop_table("promo_code")
    op.drop_table("customer")
    op.drop_table("category")
    op.drop_table("catalog_revision")
    with op.batch_alter_table("analytics_event", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_source_at")
        batch_op.drop_index("ix_analytics_kind_at")
        batch_op.drop_index(batch_op.f("ix_analytics_event_customer_id"))

    op.drop_table("analytics_event")
