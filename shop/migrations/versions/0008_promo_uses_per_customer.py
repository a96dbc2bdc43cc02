"""Promo codes: up to N uses per customer instead of once or without limit.

`promo_code.once_per_customer` becomes `per_customer` (1 where it was true, no
limit where it was false). The uses are counted under the code's row lock
(shop/promos.py), so `promo_redemption.once_key` and its unique constraint go,
and an index serves the count.

promo_code changes in place (ALTER TABLE on both databases): SQLite's batch mode
would drop and recreate it, which the foreign keys of its redemptions refuse, and
foreign keys cannot be switched off inside the migration's transaction.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE promo_code ADD COLUMN per_customer INTEGER "
        "CONSTRAINT ck_promo_code_per_customer_positive CHECK (per_customer > 0)"
    )
    op.execute(
        "UPDATE promo_code SET per_customer = CASE WHEN once_per_customer THEN 1 ELSE NULL END"
    )
    op.execute("ALTER TABLE promo_code DROP COLUMN once_per_customer")
    with op.batch_alter_table("promo_redemption") as batch:
        batch.drop_constraint("uq_promo_once", type_="unique")
        batch.drop_column("once_key")
        batch.create_index("ix_promo_redemption_customer", ["code", "customer_id"])


def downgrade() -> None:
    with op.batch_alter_table("promo_redemption") as batch:
        batch.drop_index("ix_promo_redemption_customer")
        batch.add_column(sa.Column("once_key", sa.Integer(), nullable=True))
    # A code of several uses per customer goes back to no limit: "once" would refuse
    # customers who used it within its limit.
    op.execute("ALTER TABLE promo_code ADD COLUMN once_per_customer BOOLEAN NOT NULL DEFAULT TRUE")
    op.execute(
        "UPDATE promo_code SET once_per_customer = "
        "CASE WHEN per_customer = 1 THEN TRUE ELSE FALSE END"
    )
    op.execute(
        "UPDATE promo_redemption SET once_key = customer_id WHERE code IN "
        "(SELECT code FROM promo_code WHERE per_customer = 1)"
    )
    op.execute("ALTER TABLE promo_code DROP COLUMN per_customer")
    if op.get_context().dialect.name != "sqlite":  # SQLite keeps the default: no ALTER for it
        op.alter_column("promo_code", "once_per_customer", server_default=None)
    with op.batch_alter_table("promo_redemption") as batch:
        batch.create_unique_constraint("uq_promo_once", ["code", "once_key"])
