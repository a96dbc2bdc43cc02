"""WhatsApp: customers' messages kept until handled, and the platform's ids of what the shop sent.

`inbound_message` holds each webhook's message from before it is answered until it
is handled and its replies have gone (a process that dies in between leaves it to
the next), unique by the platform's id so that a repeated delivery is handled once. `outbound_ref` ties the
platform's ids of a sent message to it, for the status callbacks that follow.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", shop.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_message")),
        sa.UniqueConstraint("channel", "ref", name="uq_inbound_ref"),
    )
    op.create_index(
        "ix_inbound_waiting", "inbound_message", ["status", "lease_until"], unique=False
    )
    op.create_table(
        "outbound_ref",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("outbound_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("updated_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbound_id"],
            ["outbound_message.id"],
            name=op.f("fk_outbound_ref_outbound_id_outbound_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel", "ref", name=op.f("pk_outbound_ref")),
    )
    op.create_index(
        op.f("ix_outbound_ref_outbound_id"), "outbound_ref", ["outbound_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_outbound_ref_outbound_id"), table_name="outbound_ref")
    op.drop_table("outbound_ref")
    op.drop_index("ix_inbound_waiting", table_name="inbound_message")
    op.drop_table("inbound_message")
