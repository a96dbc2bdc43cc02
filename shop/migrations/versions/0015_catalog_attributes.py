"""The catalog grows: several photos, free attributes, and the owner's and arrival order.

`image_urls` holds every photo (the main one, still in `image_url`, first); `attrs`
the catalog's `attr_<name>` columns (brand, colour…) that customers filter by;
`sort_order` the owner's order on a shelf; `created_at` when a product came to the
shop, for "newest first". Products already in the shop arrived when last changed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("product") as batch:
        batch.add_column(sa.Column("image_urls", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("attrs", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("sort_order", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("created_at", shop.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE product SET created_at = updated_at")
    with op.batch_alter_table("product") as batch:
        batch.alter_column("created_at", nullable=False)
        batch.alter_column("image_urls", server_default=None)
        batch.alter_column("attrs", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("product") as batch:
        batch.drop_column("created_at")
        batch.drop_column("sort_order")
        batch.drop_column("attrs")
        batch.drop_column("image_urls")
