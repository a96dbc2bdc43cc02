"""Where a staff member is in a staff conversation: kept in the database, never in this process."""

from __future__ import annotations

from bot.flows.store import ConversationStore
from bot.stores import DatabaseStore
from shop import tables as t
from shop.db import Database


def staff_steps(db: Database) -> ConversationStore:
    """Return the store of staff conversations, keyed by the staff member's Telegram id.

    The database, read afresh on every message (nothing kept in memory): a restart
    loses nothing, and every worker on the database sees where a staff member is,
    whichever of them their next message reaches. The version check refuses a
    stale save. A few staff messages a day need no Redis.
    """
    return DatabaseStore(db, kept=0, table=t.staff_conversation)
