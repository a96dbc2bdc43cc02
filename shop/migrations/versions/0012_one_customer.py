"""One customer across channels: identities that proved one phone number are one person.

`customer.person_id` points a younger identity at the person's oldest one (a CHECK
keeps it pointing only at older ids, so no links come round in a cycle);
`customer.phone` is the number a channel proved theirs; `customer.locale_at` says
when the language was chosen, for merging two persons' choices. WhatsApp
identities that are phone numbers have proved them already: they are filled in.

Columns are added in place (ALTER TABLE on both databases), as in 0008: SQLite's
batch mode would rebuild the table, which the foreign keys to it refuse.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 15:00:00.000000
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NUMBER = re.compile(r"[1-9]\d{6,14}")  # a WhatsApp id that is its E.164 number's digits


def upgrade() -> None:
    op.execute(
        "ALTER TABLE customer ADD COLUMN person_id INTEGER "
        "CONSTRAINT ck_customer_person_older CHECK (person_id < id)"
    )
    op.add_column("customer", sa.Column("phone", sa.String(length=15), nullable=True))
    op.add_column(
        "customer",
        sa.Column("locale_at", shop.types.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index(op.f("ix_customer_person_id"), "customer", ["person_id"], unique=False)
    op.create_index(op.f("ix_customer_phone"), "customer", ["phone"], unique=False)
    conn = op.get_bind()
    customer = sa.table("customer", sa.column("id"), sa.column("external_id"), sa.column("phone"))
    rows = conn.execute(sa.text("SELECT id, external_id FROM customer WHERE channel = 'whatsapp'"))
    proved = [{"key": id_, "phone": ext} for id_, ext in rows if _NUMBER.fullmatch(ext)]
    if proved:
        conn.execute(
            customer.update()
            .where(customer.c.id == sa.bindparam("key"))
            .values(phone=sa.bindparam("phone")),
            proved,
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_customer_phone"), table_name="customer")
    op.drop_index(op.f("ix_customer_person_id"), table_name="customer")
    for column in ("locale_at", "phone", "person_id"):
        op.execute(f"ALTER TABLE customer DROP COLUMN {column}")
