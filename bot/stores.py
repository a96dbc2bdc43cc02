"""Conversation state stores: in the database (the default) and in Redis (when REDIS_URL is set).

Both refuse a save from a writer that did not see the latest state (a version
check). The Redis store also locks a customer across worker processes with a
fair lock (see `RedisLock`), so one customer's events are handled one at a time,
in the order they reached Redis, however many workers share the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import Connection

from bot.flows.store import ConversationStore, StaleStateError
from bot.flows.types import ConversationState
from bot.settings import Settings
from shop import tables as t
from shop.db import Database
from shop.recent import Recent
from shop.sql import insert_for
from shop.types import utcnow

log = logging.getLogger(__name__)


KEPT_STATES = 50_000  # customers whose state the database store keeps in memory


class DatabaseStore(ConversationStore):
    """Keeps state in the `conversation_state` table, beside the carts and orders it refers to.

    (Or in another table of its shape: staff conversations keep theirs apart.)

    Locking is the engine's own (one process). Several processes on one database
    need the Redis store for their locks; the version check here still refuses a
    stale save rather than overwrite a newer state.

    Being the one process that writes these rows, it also keeps the states of
    recent customers in memory, written through: a customer's next message
    costs no read. A restart starts from the table, which always holds the same.
    """

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime] = utcnow,
        *,
        kept: int = KEPT_STATES,
        table: Table = t.conversation_state,
    ) -> None:
        self._db = db
        self._clock = clock
        # Any table of this shape, keyed by its one primary key column (staff keep theirs apart).
        self._table = table
        (self._key,) = table.primary_key.columns
        # Built once: it runs for every inbound message (shop/db.py says why).
        self._load = select(table.c.step, table.c.data, table.c.version).where(
            self._key == bindparam("key")
        )
        # customer id -> step, data as JSON text (each load gets its own copy), version
        self._recent: Recent[int, tuple[str, str, int]] = Recent(kept)

    async def load(self, customer_id: int) -> ConversationState:
        """Return the customer's saved state, or a fresh one."""
        known = self._recent.get(customer_id)
        if known is not None:
            step, data, version = known
            return ConversationState(step, json.loads(data), version)

        def work(conn: Connection) -> ConversationState:
            row = conn.execute(self._load, {"key": customer_id}).first()
            if row is None:
                return ConversationState()
            return ConversationState(step=row.step, data=dict(row.data), version=row.version)

        state = await self._db.read(work)
        self._remember(customer_id, state)
        return state

    def _remember(self, customer_id: int, state: ConversationState) -> None:
        """Keep a copy of the state as stored now, forgetting the least recent beyond `kept`."""
        self._recent.put(customer_id, (state.step, json.dumps(state.data), state.version))

    async def save(self, customer_id: int, state: ConversationState) -> None:
        """Save the state if its version is still the stored one; bump the version."""
        table, key = self._table, self._key
        values = {"step": state.step, "data": state.data, "updated_at": self._clock()}
        seen = state.version

        def work(conn: Connection) -> bool:
            changed = conn.execute(
                update(table)
                .where(key == customer_id, table.c.version == seen)
                .values(**values, version=seen + 1)
            ).rowcount
            if changed or seen != 0:
                return bool(changed)
            inserted = conn.execute(
                insert_for(conn, table)
                .values({key.name: customer_id, "version": 1, **values})
                .on_conflict_do_nothing(index_elements=[key.name])
            ).rowcount
            return bool(inserted)

        if not await self._db.write(work):
            self._recent.pop(customer_id)  # someone else wrote it: read it anew
            raise StaleStateError(f"conversation of customer {customer_id}: version {seen} is old")
        state.version = seen + 1
        self._remember(customer_id, state)


# --- Redis ----------------------------------------------------------------------------

# Save if the stored version is the one the writer loaded: KEYS state; ARGV seen, next, json, ttl.
_SAVE = """
local stored = redis.call('HGET', KEYS[1], 'version') or '0'
if stored ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'state', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""

# Take the lock if it is free and nobody queued before us; else queue (once) and renew
# our place. Waiters at the head that stopped renewing (their process died) are dropped.
# KEYS lock, queue, waiting; ARGV token, lease ms, patience ms.
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
while true do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head then break end
  local deadline = redis.call('ZSCORE', KEYS[3], head)
  if deadline and tonumber(deadline) >= now then break end
  redis.call('LPOP', KEYS[2])
  redis.call('ZREM', KEYS[3], head)
end
local head = redis.call('LINDEX', KEYS[2], 0)
if redis.call('EXISTS', KEYS[1]) == 0 and ((not head) or head == ARGV[1]) then
  if head then
    redis.call('LPOP', KEYS[2])
    redis.call('ZREM', KEYS[3], ARGV[1])
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  redis.call('RPUSH', KEYS[2], ARGV[1])
end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], 2 * tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[3], 2 * tonumber(ARGV[3]))
return 0
"""

# Release only our own lock (compare and delete), and wake the first in the queue.
# KEYS lock, queue; ARGV token, wake key prefix, wake ttl ms.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local head = redis.call('LINDEX', KEYS[2], 0)
if head then
  local wake = ARGV[2] .. head
  redis.call('RPUSH', wake, '1')
  redis.call('PEXPIRE', wake, ARGV[3])
end
return 1
"""

# Extend our lock's lease while the event is still being handled. KEYS lock; ARGV token, lease ms.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


@dataclass(frozen=True, slots=True)
class LockTimings:
    """How the Redis lock behaves in time."""

    lease_ms: int = 30_000  # a holder that dies frees the lock after this; renewed while alive
    patience_ms: int = 5_000  # a waiter that stops asking for this long loses its place
    poll_seconds: float = 1.0  # a waiter asks again at least this often (or when woken)
    wait_seconds: float = 120.0  # give up waiting after this


class LockTimeoutError(Exception):
    """The customer's lock stayed taken longer than a customer would wait."""


class RedisLock:
    """One hold of a customer's lock in Redis: fair (first queued, first served) and leased.

    A holder's lease is renewed while it works and released by compare-and-delete
    (only the holder's own token frees it). Waiters queue in the order their first
    attempt reached Redis; releasing wakes the next one at once.
    """

    def __init__(self, store: RedisStore, key: str) -> None:
        self._store = store
        self._keys = [store.key("lock", key), store.key("queue", key), store.key("waiting", key)]
        self.token = secrets.token_hex(16)
        self.queued = asyncio.Event()  # set once this hold waits in the queue
        self._renewing: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()

    async def acquire(self) -> None:
        """Wait for the lock, in turn.

        Raises:
            LockTimeoutError: it stayed taken for `LockTimings.wait_seconds`.
        """
        store, timing = self._store, self._store.timings
        wake = store.key("wake", self.token)
        args: list[str | int] = [self.token, timing.lease_ms, timing.patience_ms]
        try:
            async with asyncio.timeout(timing.wait_seconds):
                while not await store.scripts.acquire(keys=self._keys, args=args):
                    self.queued.set()
                    await store.redis.blpop([wake], timeout=timing.poll_seconds)
        except TimeoutError:
            raise LockTimeoutError(f"{self._keys[0]} stayed taken") from None
        finally:
            await store.redis.delete(wake)
        self._renewing = asyncio.create_task(self._renew())

    async def release(self) -> None:
        """Free the lock (if still ours) and wake the next waiter."""
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        store = self._store
        args: list[str | int] = [self.token, store.key("wake", ""), store.timings.patience_ms]
        await store.scripts.release(keys=self._keys[:2], args=args)

    async def _renew(self) -> None:
        """Keep extending the lease while the event is handled."""
        lease = self._store.timings.lease_ms
        while True:
            await asyncio.sleep(lease / 3000)
            if not await self._store.scripts.renew(keys=self._keys[:1], args=[self.token, lease]):
                log.warning("lost the lock %s while handling an event", self._keys[0])
                return


class _Scripts:
    """The Lua scripts, registered once per client."""

    def __init__(self, redis: Redis) -> None:
        self.save = redis.register_script(_SAVE)
        self.acquire = redis.register_script(_ACQUIRE)
        self.release = redis.register_script(_RELEASE)
        self.renew = redis.register_script(_RENEW)


class RedisStore(ConversationStore):
    """Keeps state in Redis (a hash per customer) and locks customers across workers."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "chatshop:",
        ttl_days: int = 30,
        timings: LockTimings | None = None,
    ) -> None:
        self.redis = redis
        self.scripts = _Scripts(redis)
        self.timings = timings or LockTimings()
        self._prefix = prefix
        self._ttl_ms = ttl_days * 86_400_000

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        """Connect to the Redis at `url` (redis://host:port/db)."""
        return cls(Redis.from_url(url), **options)

    def key(self, kind: str, name: object) -> str:
        """Return the Redis key of one thing this store keeps."""
        return f"{self._prefix}{kind}:{name}"

    async def load(self, customer_id: int) -> ConversationState:
        """Return the customer's saved state, or a fresh one."""
        version, saved = await self.redis.hmget(
            self.key("state", customer_id), ["version", "state"]
        )
        if saved is None:
            return ConversationState()
        value = json.loads(saved)
        return ConversationState(
            step=str(value.get("step", "")),
            data=dict(value.get("data", {})),
            version=int(version or 0),
        )

    async def save(self, customer_id: int, state: ConversationState) -> None:
        """Save the state if its version is still the stored one; bump the version."""
        body = json.dumps({"step": state.step, "data": state.data}, ensure_ascii=False)
        seen = state.version
        saved = await self.scripts.save(
            keys=[self.key("state", customer_id)], args=[seen, seen + 1, body, self._ttl_ms]
        )
        if not saved:
            raise StaleStateError(f"conversation of customer {customer_id}: version {seen} is old")
        state.version = seen + 1

    def lock(self, key: str) -> RedisLock:
        """Return a hold of the customer's lock across every worker sharing this Redis."""
        return RedisLock(self, key)

    async def close(self) -> None:
        """Close the connections."""
        await self.redis.aclose()


def store_for(db: Database, settings: Settings) -> ConversationStore:
    """Return the store the settings pick: Redis when REDIS_URL is set, else the database."""
    if settings.redis_url:
        return RedisStore.from_url(settings.redis_url)
    return DatabaseStore(db)
