"""The bounded memory behind the customers and conversations a process keeps."""

from __future__ import annotations

from shop.recent import Recent


def test_the_entry_used_longest_ago_goes_first() -> None:
    kept: Recent[str, int] = Recent(2)
    assert kept.put("a", 1) == []
    assert kept.put("b", 2) == []
    assert kept.get("a") == 1  # now the newest
    assert kept.put("c", 3) == [2]
    assert (kept.get("b"), kept.get("a"), kept.get("c")) == (None, 1, 3)
    assert kept.pop("a") == 1
    assert kept.get("a") is None


def test_a_memory_of_nothing_keeps_nothing() -> None:
    kept: Recent[str, int] = Recent(0)
    assert kept.put("a", 1) == [1]
    assert kept.get("a") is None
