"""A bounded memory of the entries used last: what a process keeps of its busiest customers."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """At most `size` entries; reading or writing one makes it the newest, the oldest go first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """Return the entry under `key`, if kept, as the newest."""
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> list[V]:
        """Keep `value` under `key` as the newest; return the entries dropped to make room."""
        self._entries[key] = value
        self._entries.move_to_end(key)
        dropped = []
        while len(self._entries) > self._size:
            dropped.append(self._entries.popitem(last=False)[1])
        return dropped

    def pop(self, key: K) -> V | None:
        """Drop and return the entry under `key`, if kept."""
        return self._entries.pop(key, None)
