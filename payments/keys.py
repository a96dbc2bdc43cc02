"""The server's secret keys, and the signatures made with them.

One master secret (PAYMENTS_SECRET, or a random one made on first use and kept
in the database so every process shares it) gives a separate key per purpose.
Webhook signatures use Stripe's scheme, ``t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>">``, checked in constant time and only within a time tolerance, so
an old request cannot be replayed later.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from payments.interface import WebhookError
from shop import tables as t
from shop.db import Database
from shop.sql import insert_for
from shop.types import utcnow

SECRET_NAME = "payments"
TOLERANCE_SECONDS = 300


class KeyRing:
    """Hands out a key per purpose, derived from one master secret."""

    def __init__(
        self, db: Database, secret: str | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._db = db
        self._master = secret.encode() if secret else None
        self._clock = clock
        self._lock = asyncio.Lock()

    async def key(self, purpose: str) -> bytes:
        """Return the key for `purpose` (e.g. "sandbox-webhook"); the same in every process."""
        return derive(await self._load(), purpose)

    async def _load(self) -> bytes:
        if self._master is None:
            async with self._lock:
                if self._master is None:
                    self._master = await self._db.write(self._persisted(secrets.token_hex(32)))
        return self._master

    def _persisted(self, fresh: str) -> Callable[[Connection], bytes]:
        """Return a transaction keeping `fresh` unless a secret was kept before, and reading it."""
        now = self._clock()

        def work(conn: Connection) -> bytes:
            conn.execute(
                insert_for(conn, t.server_secret)
                .values(name=SECRET_NAME, value=fresh, created_at=now)
                .on_conflict_do_nothing()
            )
            value = conn.execute(
                select(t.server_secret.c.value).where(t.server_secret.c.name == SECRET_NAME)
            ).scalar_one()
            return str(value).encode()

        return work


def derive(master: bytes, purpose: str) -> bytes:
    """Return a key for one purpose, so that no two purposes share a key."""
    return hmac.new(master, f"chatshop:{purpose}".encode(), hashlib.sha256).digest()


def sign_webhook(key: bytes | str, body: bytes, timestamp: int) -> str:
    """Return the signature header for `body` sent at `timestamp`, as Stripe makes it."""
    return f"t={timestamp},v1={_mac(key, timestamp, body)}"


def verify_webhook(
    key: bytes | str,
    body: bytes,
    header: str | None,
    now: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> None:
    """Check a signature header made by `sign_webhook`; raise WebhookError if it does not hold."""
    if not header:
        raise WebhookError("the request is not signed")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookError("the signature header is malformed")
    expected = _mac(key, timestamp, body)
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise WebhookError("the signature does not match")
    if abs(now - timestamp) > tolerance:
        raise WebhookError("the signature is too old (a replay?)")


def _mac(key: bytes | str, timestamp: int, body: bytes) -> str:
    raw = key.encode() if isinstance(key, str) else key
    return hmac.new(raw, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
