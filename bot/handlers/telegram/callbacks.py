"""Callback data of our buttons: the flow's action and argument, signed for one customer.

Telegram hands callback data back verbatim, and a modified client can send any
64 bytes, so a press counts only if its signature proves we made that button
for the customer pressing it. A button from an old deployment, with another
key, for another customer, or made up, is refused alike — the customer gets a
polite word and learns nothing about what the data named.
"""

from __future__ import annotations

import base64
import hashlib

from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData

from bot.flows.types import Press
from payments.keys import same

KEY_PURPOSE = "telegram-buttons"
SIGNATURE_BYTES = 6  # 48 bits: 8 characters of base64
SEPARATOR = "|"


class Act(CallbackData, prefix="a", sep=SEPARATOR):
    """A pressed button: `action` and `arg` of our own `Button`, and its signature."""

    action: str
    arg: str
    sig: str

    @classmethod
    def packed(cls, *values: str) -> str:
        """Return ``a|<action>|<arg>|<sig>`` as `pack` would, without making the model first.

        Raises:
            ValueError: a value holds the separator, or the whole is over 64 bytes.
        """
        if any(SEPARATOR in value for value in values):
            raise ValueError(f"Separator symbol {SEPARATOR!r} can not be used in {values!r}")
        packed = SEPARATOR.join((cls.__prefix__, *values))
        if len(packed.encode()) > MAX_CALLBACK_LENGTH:
            raise ValueError(f"Resulted callback data is too long! len({packed!r}.encode()) > 64")
        return packed


class ButtonSigner:
    """Packs buttons into signed callback data and checks the data that comes back."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def pack(self, user_id: int, action: str, arg: str) -> str:
        """Return the callback data (at most 64 bytes) of a button shown to `user_id`.

        Raises:
            ValueError: the action and argument do not fit, or hold the separator.
        """
        return Act.packed(action, arg, self._sign(user_id, action, arg))

    def unpack(self, user_id: int, data: str | None) -> Press | None:
        """Return the press a callback carries, or None if it is stale, forged or someone else's."""
        if not data or not data.startswith(Act.__prefix__ + SEPARATOR):
            return None
        try:
            act = Act.unpack(data)
        except (TypeError, ValueError):
            return None
        expected = self._sign(user_id, act.action, act.arg)
        if not same(expected, act.sig):
            return None
        return Press(act.action, act.arg)

    def _sign(self, user_id: int, action: str, arg: str) -> str:
        # Keyed BLAKE2 is a MAC by design, and on a few dozen bytes it keeps the GIL,
        # where OpenSSL's HMAC lets go of it and then waits behind the database
        # thread to get it back (0.07-0.18 ms a signature in benchmarks/updates.py).
        message = f"{user_id}{SEPARATOR}{action}{SEPARATOR}{arg}".encode()
        digest = hashlib.blake2s(message, key=self._key, digest_size=SIGNATURE_BYTES).digest()
        return base64.urlsafe_b64encode(digest).decode()
