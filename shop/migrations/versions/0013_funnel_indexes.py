"""Funnel: when each customer last reached each step, per channel and source, for the report.

`ix_analytics_kind_at` gives way to `ix_analytics_kind_at_covering`, which begins
the same and holds all that the money and sales reports read of a paid or
refunded event, so that they never look the event rows up.

`funnel_reach` holds, for each customer, four rows (their channel and source,
their channel and any source "*", any channel and their source, and any of both)
with the last time each step (visit, view, cart, checkout, paid) was reached.
Every funnel event moves them on (shop/analytics.py), so `chatshop report funnel`
reads a few rows per customer instead of every event. The rows are computed here
from the events already recorded.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS = {
    "visit": "'start', 'visit'",
    "view": "'view'",
    "cart": "'add_to_cart', 'buy_now'",
    "checkout": "'checkout'",
    "paid": "'paid'",
}


def upgrade() -> None:
    with op.batch_alter_table("analytics_event", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_kind_at")
        batch_op.create_index(
            "ix_analytics_kind_at_covering",
            ["kind", "at", "customer_id", "order_id", "value", "source", "channel"],
            unique=False,
        )
    op.create_table(
        "funnel_reach",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        *(
            sa.Column(f"{step}_at", shop.types.UTCDateTime(timezone=True), nullable=True)
            for step in STEPS
        ),
        sa.PrimaryKeyConstraint("channel", "source", "customer_id", name=op.f("pk_funnel_reach")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_funnel_reach_steps",
        "funnel_reach",
        ["channel", "source", *(f"{step}_at" for step in STEPS)],
        unique=False,
    )
    kinds = ", ".join(STEPS.values())
    steps = ", ".join(f"max(CASE WHEN kind IN ({k}) THEN at END)" for k in STEPS.values())
    columns = ", ".join(f"{step}_at" for step in STEPS)
    for channel, source in (
        ("coalesce(channel, '')", "coalesce(source, '')"),
        ("coalesce(channel, '')", "'*'"),
        ("'*'", "coalesce(source, '')"),
        ("'*'", "'*'"),
    ):
        grouped = ", ".join(k for k in ("customer_id", channel, source) if k != "'*'")
        op.execute(
            f"INSERT INTO funnel_reach (channel, source, customer_id, {columns}) "
            f"SELECT {channel}, {source}, customer_id, {steps} FROM analytics_event "
            f"WHERE customer_id IS NOT NULL AND kind IN ({kinds}) GROUP BY {grouped}"
        )


def downgrade() -> None:
    op.drop_index("ix_funnel_reach_steps", table_name="funnel_reach")
    op.drop_table("funnel_reach")
    with op.batch_alter_table("analytics_event", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_kind_at_covering")
        batch_op.create_index("ix_analytics_kind_at", ["kind", "at"], unique=False)
