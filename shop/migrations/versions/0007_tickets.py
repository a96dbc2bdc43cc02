"""Staff on Telegram: customers' questions kept as tickets, and where staff are in a conversation.

`ticket_message` records each copy of a ticket sent to a staff chat, so a reply
to that message finds its ticket; `staff_conversation` keeps a half-finished
staff conversation (shipping an order) across restarts and workers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_conversation",
        sa.Column("staff_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_staff_conversation")),
    )
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("created_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", shop.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=32), nullable=True),
        sa.Column("answer", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_ticket_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
    )
    op.create_index(op.f("ix_ticket_customer_id"), "ticket", ["customer_id"], unique=False)
    op.create_table(
        "ticket_message",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_ticket_message_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_ticket_message")),
    )
    op.create_index(
        op.f("ix_ticket_message_ticket_id"), "ticket_message", ["ticket_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_ticket_message_ticket_id"), table_name="ticket_message")
    op.drop_table("ticket_message")
    op.drop_index(op.f("ix_ticket_customer_id"), table_name="ticket")
    op.drop_table("ticket")
    op.drop_table("staff_conversation")
