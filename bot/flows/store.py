"""Where conversation state lives between events: the interface every store implements.

Implementations (bot/stores.py): in the database (the default), and in Redis
when REDIS_URL is set, which also gives the lock that keeps one customer's
events one at a time across several worker processes.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

from bot.flows.types import ConversationState


class StaleStateError(Exception):
    """A save from a writer that did not see the latest state (its version is behind)."""


class ConversationStore(ABC):
    """Loads and saves each customer's conversation state; optionally locks across processes."""

    @abstractmethod
    async def load(self, customer_id: int) -> ConversationState:
        """Return the customer's state (a fresh one if none was saved)."""

    @abstractmethod
    async def save(self, customer_id: int, state: ConversationState) -> None:
        """Save `state` if nobody saved since it was loaded, and bump `state.version`.

        Raises:
            StaleStateError: another writer saved a newer state meanwhile.
        """

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold `key` (one customer) against other processes while an event is handled.

        The engine always locks within its own process; a store shared by several
        processes locks across them here. By default there is nothing more to do.
        """
        return _no_lock()

    async def close(self) -> None:  # noqa: B027  (most stores hold nothing to release)
        """Release connections."""


@contextlib.asynccontextmanager
async def _no_lock() -> AsyncIterator[None]:
    yield
