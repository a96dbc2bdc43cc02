"""Schema migrations with alembic, applied through our own database handle."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from shop.db import Database


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an alembic config that finds the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", "shop:migrations")
    config.attributes["connection"] = connection
    return config


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema up to `revision` (the newest by default)."""

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    await db.write(run, bulk=True)
