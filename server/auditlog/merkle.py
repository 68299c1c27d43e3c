"""RFC 6962 Merkle tree: hashing, a compact-range accumulator, proofs and their verification.

This module is pure: it hashes bytes and does nothing else (no IO, no clock, no asyncio).

Conventions
-----------
* Hashing is RFC 6962 / RFC 9162 with SHA-256: ``leaf_hash(d) = SHA-256(0x00 || d)`` and
  ``node_hash(l, r) = SHA-256(0x01 || l || r)``. The tree over ``n`` leaves is the Merkle Tree Hash
  of RFC 6962 section 2.1: split at the largest power of two smaller than ``n``. Every hash is 32
  bytes; leaf hashes and proof hashes of another length are rejected.
* Leaves are numbered from 0; a range ``[start, end)`` is half open. A *perfect* subtree is a range
  whose length is a power of two ``2**k`` and whose start is a multiple of ``2**k``. Every tree is
  a sequence of perfect subtrees, one per set bit of its size, largest first: its *compact range*.
* Proof hashes are ordered from the leaf towards the root, as in RFC 6962 PATH and PROOF. The
  verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 (the same algorithm as
  transparency-dev/merkle ``proof/verify.go``) and raise :class:`ProofError` saying what is wrong.

Size 0 (these match the transparency-dev vectors exactly)
---------------------------------------------------------
* The root of the empty tree is ``EMPTY_ROOT = SHA-256(b"")``.
* Inclusion in the empty tree always fails: no index is below size 0.
* Every consistency proof *from* size 0 is rejected, including 0 -> 0 with equal roots: every tree
  extends the empty one, so such a proof proves nothing. A verifier with no earlier checkpoint
  simply accepts its first checkpoint without a consistency check; the generators refuse
  ``size1 == 0`` for the same reason.
* Otherwise ``size1 == size2`` needs an empty proof and ``root1 == root2``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

SubtreeHash = Callable[[int, int], bytes]
"""``subtree_hash(start, end)``: the root of the perfect subtree over leaves ``[start, end)``."""


class ProofError(ValueError):
    """A proof, size, index or root does not verify; the message says what is wrong."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash ``SHA-256(0x00 || data)``."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash ``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ValueError(f"{what} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")


def compact_root(hashes: Sequence[bytes]) -> bytes:
    """Hash a compact range (perfect subtree roots, largest first) into one root, right to left."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


class CompactRange:
    """Incremental Merkle accumulator over leaves ``[0, size)``.

    It holds one hash per set bit of ``size``: the roots of the perfect subtrees along the right
    border, largest (leftmost) first, as transparency-dev/merkle's ``compact.Range`` with
    ``begin == 0``. That is all a log needs to append and to compute its root in O(log n), and it
    serializes to a short list of hashes (:meth:`to_hashes`, :meth:`from_hashes`).
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        """Create the accumulator of the empty tree."""
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_hashes(cls, size: int, hashes: Iterable[bytes]) -> CompactRange:
        """Rebuild an accumulator from ``size`` and the hashes :meth:`to_hashes` returned.

        Raises ValueError if the number of hashes is not the number of set bits of ``size`` or a
        hash is not 32 bytes.
        """
        if size < 0:
            raise ValueError(f"tree size {size} is negative")
        stored = list(hashes)
        if len(stored) != size.bit_count():
            raise ValueError(f"size {size} needs {size.bit_count()} hashes, got {len(stored)}")
        for position, value in enumerate(stored):
            _check_hash(value, f"compact range hash {position}")
        result = cls()
        result._size = size
        result._hashes = stored
        return result

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash (not leaf data); O(1) amortized, O(log n) worst case."""
        _check_hash(leaf, "leaf hash")
        hashes = self._hashes
        # Each trailing 1 bit of the old size is a perfect subtree of the new leaf's size: merge.
        carry = self._size
        while carry & 1:
            leaf = node_hash(hashes.pop(), leaf)
            carry >>= 1
        hashes.append(leaf)
        self._size += 1

    def append_nodes(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash; return the perfect subtrees it completed above the leaf level.

        Each is ``(level, index, hash)``: the subtree over leaves
        ``[index * 2**level, (index + 1) * 2**level)``. A store that keeps these (and the leaf
        hashes) answers every :data:`SubtreeHash` question with one lookup.
        """
        _check_hash(leaf, "leaf hash")
        hashes = self._hashes
        created: list[tuple[int, int, bytes]] = []
        index, level, carry = self._size, 0, self._size
        while carry & 1:
            leaf = node_hash(hashes.pop(), leaf)
            carry >>= 1
            level += 1
            created.append((level, index >> level, leaf))
        hashes.append(leaf)
        self._size += 1
        return created

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append several leaf hashes in order."""
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """The RFC 6962 root of leaves ``[0, size)``; ``EMPTY_ROOT`` when empty."""
        return compact_root(self._hashes)

    def to_hashes(self) -> list[bytes]:
        """The perfect subtree roots, largest first; ``len == size.bit_count()``."""
        return list(self._hashes)

    def copy(self) -> CompactRange:
        """An independent accumulator with the same state."""
        return CompactRange.from_hashes(self._size, self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


TreeState = CompactRange
"""The name the store uses for the persisted accumulator of a session's log."""


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the RFC 6962 Merkle Tree Hash of ``leaf_hashes`` (``EMPTY_ROOT`` when empty).

    Iterative, O(n) hashes and O(log n) memory: the leaves go through a compact range.
    """
    state = CompactRange()
    state.extend(leaf_hashes)
    return state.root()


def _range_hash(subtree_hash: SubtreeHash, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)`` where ``start`` is a multiple of a power of two > the length.

    Such a range is a (possibly incomplete) subtree of a larger tree; it splits into perfect
    subtrees by the bits of its length, largest first.
    """
    parts: list[bytes] = []
    while start < end:
        width = 1 << ((end - start).bit_length() - 1)
        parts.append(subtree_hash(start, start + width))
        start += width
    return compact_root(parts)


def _path(subtree_hash: SubtreeHash, node: int, level: int, size: int) -> list[bytes]:
    """Sibling hashes from ``node`` at ``level`` up to the root of a tree of ``size`` leaves."""
    proof: list[bytes] = []
    last = (size - 1) >> level  # the right-border node on this level
    while last > 0:
        sibling = node ^ 1
        # No sibling means this node is the border's lone left child: RFC 6962 promotes it.
        if sibling <= last:
            start = sibling << level
            proof.append(_range_hash(subtree_hash, start, min(start + (1 << level), size)))
        node >>= 1
        last >>= 1
        level += 1
    return proof


def inclusion_proof_from(subtree_hash: SubtreeHash, index: int, size: int) -> list[bytes]:
    """RFC 6962 PATH(index, D[0:size]) using perfect-subtree hashes from ``subtree_hash``.

    ``subtree_hash(start, end)`` is only called for perfect subtrees with ``end <= size``, at most
    about ``2 * log2(size)`` times, so a store with cached level hashes answers in O(log n).
    Raises ValueError unless ``0 <= index < size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    return _path(subtree_hash, index, 0, size)


def consistency_proof_from(subtree_hash: SubtreeHash, size1: int, size2: int) -> list[bytes]:
    """RFC 6962 PROOF(size1, D[0:size2]) using perfect-subtree hashes from ``subtree_hash``.

    Empty when ``size1 == size2``. Raises ValueError unless ``0 < size1 <= size2``: a proof from
    the empty tree proves nothing and the verifier rejects it (see the module docstring).
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == size2:
        return []
    shift = (size1 & -size1).bit_length() - 1  # trailing zero bits of size1
    node = (size1 - 1) >> shift  # the last perfect subtree of the old tree, on level `shift`
    proof: list[bytes] = []
    if size1 != 1 << shift:  # otherwise the verifier already holds this hash: it is root1
        proof.append(subtree_hash(node << shift, (node + 1) << shift))
    proof.extend(_path(subtree_hash, node, shift, size2))
    return proof


def _leaf_oracle(leaf_hashes: Sequence[bytes], size: int) -> SubtreeHash:
    if size > len(leaf_hashes):
        raise ValueError(f"tree size {size} is larger than the {len(leaf_hashes)} leaves given")

    def subtree_hash(start: int, end: int) -> bytes:
        return root_from_leaves(leaf_hashes[start:end])

    return subtree_hash


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """RFC 6962 PATH(index, D[0:size]) computed from the leaf hashes (O(size) hashing).

    Raises ValueError unless ``0 <= index < size <= len(leaf_hashes)``.
    """
    return inclusion_proof_from(_leaf_oracle(leaf_hashes, size), index, size)


def consistency_proof(leaf_hashes: Sequence[bytes], size1: int, size2: int) -> list[bytes]:
    """RFC 6962 PROOF(size1, D[0:size2]) computed from the leaf hashes (O(size2) hashing).

    Raises ValueError unless ``0 < size1 <= size2 <= len(leaf_hashes)``.
    """
    return consistency_proof_from(_leaf_oracle(leaf_hashes, size2), size1, size2)


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, value in enumerate(proof):
        if len(value) != HASH_SIZE:
            raise ProofError(f"proof hash {position} is {len(value)} bytes, want {HASH_SIZE}")


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Split PATH(index, size) into the hashes below and on the right border of the tree."""
    inner = (index ^ (size - 1)).bit_length()
    return inner, (index >> inner).bit_count()


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for level, sibling in enumerate(proof):
        seed = node_hash(sibling, seed) if (index >> level) & 1 else node_hash(seed, sibling)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    # Only left siblings: this rebuilds the earlier, smaller version of the same subtree.
    for level, sibling in enumerate(proof):
        if (index >> level) & 1:
            seed = node_hash(sibling, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for sibling in proof:
        seed = node_hash(sibling, seed)
    return seed


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Return the root that ``proof`` implies for ``leaf_hash`` at ``index`` in a tree of ``size``.

    RFC 9162 section 2.1.3.2. Raises ProofError unless ``0 <= index < size``, the leaf hash and
    proof hashes are 32 bytes and the proof has exactly the length PATH has for this position.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf_hash) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf_hash)} bytes, want {HASH_SIZE}")
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise ProofError(f"inclusion proof has {len(proof)} hashes, want {inner + border}")
    _check_proof_hashes(proof)
    result = _chain_inner(leaf_hash, proof[:inner], index)
    return _chain_border_right(result, proof[inner:])


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Raises ProofError saying what is wrong; returns None when the proof holds.
    """
    calculated = root_from_inclusion_proof(leaf_hash, index, size, proof)
    if calculated != root:
        raise ProofError(
            f"inclusion proof for leaf {index} of {size} gives root {calculated.hex()}, "
            f"not {root.hex()}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree (``size2``, ``root2``) extends the tree (``size1``, ``root1``).

    RFC 9162 section 2.1.4.2. Raises ProofError saying what is wrong; returns None when the proof
    holds. Every proof from size 0 is rejected (see the module docstring).
    """
    if size1 < 0:
        raise ProofError(f"size1 ({size1}) is negative")
    if size2 < size1:
        raise ProofError(f"size2 ({size2}) < size1 ({size1})")
    if size1 == 0:
        raise ProofError("consistency from the empty tree proves nothing; trust the new checkpoint")
    if size1 == size2:
        if proof:
            raise ProofError(f"size1 == size2 ({size1}) but the proof has {len(proof)} hashes")
        if root1 != root2:
            raise ProofError(f"same size {size1} but the roots differ")
        return
    if not proof:
        raise ProofError(f"empty consistency proof from {size1} to {size2}")
    _check_proof_hashes(proof)

    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift  # shift < inner because size1 < size2
    # The proof starts with the hash of the perfect subtree of 2**shift leaves ending at size1,
    # unless size1 is that very subtree, whose hash is root1.
    seed, start = (root1, 0) if size1 == 1 << shift else (proof[0], 1)
    if len(proof) != start + inner + border:
        raise ProofError(
            f"consistency proof {size1} -> {size2} has {len(proof)} hashes, "
            f"want {start + inner + border}"
        )
    path = proof[start:]
    mask = (size1 - 1) >> shift
    hash1 = _chain_border_right(_chain_inner_right(seed, path[:inner], mask), path[inner:])
    if hash1 != root1:
        raise ProofError(f"consistency proof does not lead to root1 of size {size1}")
    hash2 = _chain_border_right(_chain_inner(seed, path[:inner], mask), path[inner:])
    if hash2 != root2:
        raise ProofError(f"consistency proof does not lead to root2 of size {size2}")
