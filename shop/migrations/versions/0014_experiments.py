"""A/B experiments: what the owner tests, and who saw which variant first.

`experiment` holds each test of something the flows vary; a partial unique index
lets at most one run per thing. `experiment_exposure` keeps one row per unit (a
customer) and experiment: the variant they saw and when they first saw it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("thing", sa.String(length=16), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("promo_code", sa.String(length=32), nullable=True),
        sa.Column("started_at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", shop.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["promo_code"],
            ["promo_code.code"],
            name=op.f("fk_experiment_promo_code_promo_code"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment")),
        sa.UniqueConstraint("name", name=op.f("uq_experiment_name")),
    )
    op.create_index(
        "uq_experiment_running",
        "experiment",
        ["thing"],
        unique=True,
        sqlite_where=sa.text("stopped_at IS NULL"),
        postgresql_where=sa.text("stopped_at IS NULL"),
    )
    op.create_table(
        "experiment_exposure",
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("variant", sa.String(length=32), nullable=False),
        sa.Column("at", shop.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiment.id"],
            name=op.f("fk_experiment_exposure_experiment_id_experiment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "unit_id", name=op.f("pk_experiment_exposure")),
    )


def downgrade() -> None:
    op.drop_table("experiment_exposure")
    op.drop_index("uq_experiment_running", table_name="experiment")
    op.drop_table("experiment")
