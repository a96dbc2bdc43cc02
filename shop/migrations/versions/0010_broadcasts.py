"""Broadcasts: a message to a segment of consenting customers, each recipient's copy written once.

`broadcast` holds what staff sent and how far its audience has been written;
`outbound_message.broadcast_id` ties each recipient's message to it, unique per
customer, so that writing the audience again after a crash queues no second copy.
`customer.last_broadcast_id` and `last_broadcast_at` say which broadcast last reached
the customer and when, to credit the visit it brings (shop/broadcasts.py). They are
added in place (ALTER TABLE on both databases), as in 0008: SQLite's batch mode would
rebuild the table, which the foreign keys to it refuse; for the same reason the id has
no foreign key (SQLite could not drop the column again).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("segment", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("audience_upto", sa.Integer(), nullable=False),
        sa.Column("written_upto", sa.Integer(), nullable=False),
        sa.Column("created_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast")),
    )
    with op.batch_alter_table("outbound_message") as batch:
        batch.add_column(sa.Column("broadcast_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_outbound_message_broadcast_id_broadcast"),
            "broadcast",
            ["broadcast_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint("uq_outbound_broadcast", ["broadcast_id", "customer_id"])
    op.add_column("customer", sa.Column("last_broadcast_id", sa.Integer(), nullable=True))
    op.add_column(
        "customer",
        sa.Column("last_broadcast_at", shop.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for column in ("last_broadcast_at", "last_broadcast_id"):
        op.execute(f"ALTER TABLE customer DROP COLUMN {column}")
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_constraint("uq_outbound_broadcast", type_="unique")
        batch.drop_constraint(
            op.f("fk_outbound_message_broadcast_id_broadcast"), type_="foreignkey"
        )
        batch.drop_column("broadcast_id")
    op.drop_table("broadcast")
