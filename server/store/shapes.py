"""Lists bound to ``IN (…)`` come in few lengths, so queries come in few SQL texts.

Why: an expanding ``IN`` renders one placeholder per value, so every length of list is a
distinct SQL text, and each SQLite connection keeps every text it ran prepared (``sqlite3``'s
statement cache, 128 per connection, up to tens of kilobytes each for a long list). With sixteen
pooled connections ``bench/fuzz.py --allocators`` saw SQLite's memory grow from 3.1 to 17.8 MiB
over 95,000 inputs (flat with the cache off). Padded to the next power of two by repeating the
last value (which ``IN`` does not mind), a query has at most ``log2(n) + 1`` texts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def padded(values: Iterable[T]) -> list[T]:
    """``values`` (one or more), the last repeated up to the next power of two in length."""
    items = list(values)
    if not items:
        raise ValueError("an IN list needs at least one value")
    size = 1 << (len(items) - 1).bit_length()
    return items + [items[-1]] * (size - len(items))
