"""Often bought together: pair counts of paid orders, and how far they have been counted.

`together_pair` holds, for each two products bought in one paid (and not refunded)
order, how many orders held both, once each way round, so a product's partners are
one range of `ix_together_pair_ranked`; `together_best_seller` a few of each
category's best sellers, for products with too little such history. `together_fold`
is one row: the order_event id up to which paid and refunded steps are counted
(shop/together.py). Orders paid before this version are counted by the first fold.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "together_pair",
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("other_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "other_id", name=op.f("pk_together_pair")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_together_pair_ranked",
        "together_pair",
        ["product_id", "orders", "other_id"],
        unique=False,
    )
    op.create_table(
        "together_best_seller",
        sa.Column("category_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("product_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("category_id", "product_id", name=op.f("pk_together_best_seller")),
        sqlite_with_rowid=False,
    )
    fold = op.create_table(
        "together_fold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folded_upto", sa.Integer(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("horizon_writers", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_together_fold")),
    )
    op.bulk_insert(fold, [{"id": 1, "folded_upto": 0, "horizon": 0, "horizon_writers": []}])


def downgrade() -> None:
    op.drop_table("together_fold")
    op.drop_table("together_best_seller")
    op.drop_index("ix_together_pair_ranked", table_name="together_pair")
    op.drop_table("together_pair")
