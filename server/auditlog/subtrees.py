"""Addressing a Merkle tree by stored perfect subtrees, so proofs need O(log n) lookups.

A store keeps every leaf hash and every perfect subtree hash that
:meth:`~server.auditlog.merkle.CompactRange.append_nodes` returns, keyed ``(level, index)``.
These helpers say which keys a root or a proof needs, so the store fetches them in one query.
Pure: no IO.
"""

from __future__ import annotations

from collections.abc import Callable

from server.auditlog.merkle import EMPTY_ROOT, SubtreeHash


def subtree_key(start: int, end: int) -> tuple[int, int]:
    """``(level, index)`` of the perfect subtree over leaves ``[start, end)``."""
    level = (end - start).bit_length() - 1
    if end - start != 1 << level or start % (1 << level):
        raise ValueError(f"[{start}, {end}) is not a perfect subtree")
    return level, start >> level


def compact_range_keys(size: int) -> list[tuple[int, int]]:
    """``(level, index)`` of the perfect subtrees making up ``size`` leaves, largest first."""
    keys: list[tuple[int, int]] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, start >> level))
            start += 1 << level
    return keys


def needed_subtrees(proof: Callable[[SubtreeHash], list[bytes]]) -> list[tuple[int, int]]:
    """Which perfect subtrees ``proof(oracle)`` asks for, so a store can fetch them in one query.

    The proof functions only combine the oracle's answers, never branch on them, so a dry run
    with placeholder hashes asks exactly what the real run will.
    """
    keys: list[tuple[int, int]] = []

    def record(start: int, end: int) -> bytes:
        keys.append(subtree_key(start, end))
        return EMPTY_ROOT

    proof(record)
    return keys
