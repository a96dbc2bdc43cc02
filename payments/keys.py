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
import re
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
# A time in seconds as digits a plain int() reads: str.isdigit() also passes "²" and 5,000 digits.
_UNIX_TIME = re.compile(r"[0-9]{1,12}")


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
    timestamp, signatures = _parse(header)
    expected = _mac(key, timestamp, body)
    if not any(same(expected, signature) for signature in signatures):
        raise WebhookError("the signature does not match")
    _check_age(timestamp, now, tolerance)


def check_fresh(header: str | None, now: int, tolerance: int = TOLERANCE_SECONDS) -> None:
    """Refuse a signature header that is missing, malformed or stale: what a body cannot mend.

    Cheap enough to run on every request before its body is read; `verify_webhook`
    then proves the body.

    Raises:
        WebhookError: why the header cannot belong to a genuine webhook sent now.
    """
    timestamp, _ = _parse(header)
    _check_age(timestamp, now, tolerance)


def same(expected: str, given: str) -> bool:
    """Compare a secret with what a request gave, in constant time; non-ASCII never matches."""
    # compare_digest refuses str with non-ASCII characters (TypeError) instead of answering.
    return given.isascii() and hmac.compare_digest(expected, given)


def _parse(header: str | None) -> tuple[int, list[str]]:
    """Return the time and the signatures a header ``t=<unix>,v1=<hex>`` carries."""
    if not header:
        raise WebhookError("the request is not signed")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and _UNIX_TIME.fullmatch(value):
            timestamp = int(value)
        elif name == "v1" and value.isascii():  # a hex digest; anything else proves nothing
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookError("the signature header is malformed")
    return timestamp, signatures


def _check_age(timestamp: int, now: int, tolerance: int) -> None:
    if abs(now - timestamp) > tolerance:
        raise WebhookError("the signature is too old (a replay?)")


def _mac(key: bytes | str, timestamp: int, body: bytes) -> str:
    raw = key.encode() if isinstance(key, str) else key
    return hmac.new(raw, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
