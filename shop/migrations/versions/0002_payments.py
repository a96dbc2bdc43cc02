"""Payments: one row per attempt to pay an order, and the server's own secret keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:42:12.453927
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_secret",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secret")),
    )
    op.create_table(
        "payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("return_url", sa.String(), nullable=True),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("refund_id", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("claim_order_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_at", shop.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", shop.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["shop_order.id"], name=op.f("fk_payment_order_id_shop_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment")),
        sa.UniqueConstraint("claim_order_id", name=op.f("uq_payment_claim_order_id")),
        sa.UniqueConstraint("provider", "external_id", name="uq_payment_external"),
        sa.UniqueConstraint("token", name=op.f("uq_payment_token")),
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index("ix_payment_order", ["order_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_status"))
        batch_op.drop_index("ix_payment_order")

    op.drop_table("payment")
    op.drop_table("server_secret")
