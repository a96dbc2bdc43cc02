"""Reminders: an abandoned cart's reminder settled once per cart, and "Notify me" on sold-out products.

`cart.reminded_for` holds the cart's `updated_at` whose reminder was settled (sent,
or found not wanted); the partial index `ix_cart_unsettled` holds only carts still
to settle, so the scan reads few rows however many carts the shop keeps.
`stock_request` is a customer's wish to hear when a product is back: one per
customer and product, deleted when they are told.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSETTLED = "reminded_for IS NULL OR reminded_for < updated_at"


def upgrade() -> None:
    with op.batch_alter_table("cart") as batch:
        batch.add_column(
            sa.Column("reminded_for", shop.types.UTCDateTime(timezone=True), nullable=True)
        )
    # Carts left before this version are settled: turning reminders on must not remind
    # everyone who ever left a cart.
    op.execute("UPDATE cart SET reminded_for = updated_at")
    op.create_index(
        "ix_cart_unsettled",
        "cart",
        ["updated_at"],
        unique=False,
        sqlite_where=sa.text(UNSETTLED),
        postgresql_where=sa.text(UNSETTLED),
    )
    op.create_table(
        "stock_request",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("created_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_stock_request_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_stock_request_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "product_id", name=op.f("pk_stock_request")),
    )
    op.create_index(
        op.f("ix_stock_request_product_id"), "stock_request", ["product_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_stock_request_product_id"), table_name="stock_request")
    op.drop_table("stock_request")
    op.drop_index("ix_cart_unsettled", table_name="cart")
    with op.batch_alter_table("cart") as batch:
        batch.drop_column("reminded_for")
