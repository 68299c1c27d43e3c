"""The RFC 6962 Merkle tree: roots, the compact range, proof generation and verification."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.auditlog.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    SubtreeHash,
    TreeState,
    consistency_proof,
    consistency_proof_from,
    inclusion_proof,
    inclusion_proof_from,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(300)]


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH written as in the RFC: recursive, split at the largest power of two < n."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def cached_oracle(leaves: list[bytes]) -> SubtreeHash:
    """Perfect-subtree hashes by (start, end), as a store with cached level hashes would keep."""
    table: dict[tuple[int, int], bytes] = {}
    level = list(leaves)
    width = 1
    while level:
        for i, h in enumerate(level):
            table[(i * width, (i + 1) * width)] = h
        level = [node_hash(a, b) for a, b in zip(level[0::2], level[1::2], strict=False)]
        width *= 2
    return lambda start, end: table[(start, end)]


def flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_hashes_have_domain_separation() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert root_from_leaves([LEAVES[0]]) == LEAVES[0]


def test_root_from_leaves_matches_the_rfc_definition() -> None:
    for n in range(65):
        assert root_from_leaves(LEAVES[:n]) == reference_root(LEAVES[:n]), n


def test_compact_range_matches_root_for_every_size() -> None:
    state = CompactRange()
    assert state.size == 0
    assert state.root() == EMPTY_ROOT
    assert state.to_hashes() == []
    for n, leaf in enumerate(LEAVES, start=1):
        state.append(leaf)
        assert state.size == n
        assert state.root() == root_from_leaves(LEAVES[:n]), n
        assert len(state.to_hashes()) == n.bit_count()


def test_compact_range_random_sizes_up_to_5000() -> None:
    rng = random.Random(6962)
    leaves = [leaf_hash(rng.randbytes(8)) for _ in range(5000)]
    sizes = [*sorted(rng.sample(range(301, 5001), 15)), 4096, 5000]
    for size in sizes:
        state = CompactRange()
        state.extend(leaves[:size])
        assert state.root() == reference_root(leaves[:size]), size


def test_compact_range_round_trips_through_hashes() -> None:
    for n in (0, 1, 2, 3, 7, 8, 100, 255, 256, 300):
        state = TreeState()
        state.extend(LEAVES[:n])
        restored = CompactRange.from_hashes(state.size, state.to_hashes())
        assert restored.root() == state.root()
        if n < len(LEAVES):
            restored.append(LEAVES[n])
            assert restored.root() == root_from_leaves(LEAVES[: n + 1])
            assert state.root() == root_from_leaves(LEAVES[:n]), "the original was not shared"


def test_compact_range_rejects_bad_state() -> None:
    with pytest.raises(ValueError, match="needs 2 hashes"):
        CompactRange.from_hashes(3, [LEAVES[0]])
    with pytest.raises(ValueError, match="negative"):
        CompactRange.from_hashes(-1, [])
    with pytest.raises(ValueError, match="33 bytes"):
        CompactRange.from_hashes(1, [b"\x00" * 33])
    with pytest.raises(ValueError, match="leaf hash is 4 bytes"):
        CompactRange().append(b"data")


def test_every_inclusion_proof_up_to_64_leaves_verifies() -> None:
    for size in range(1, 65):
        root = root_from_leaves(LEAVES[:size])
        oracle = cached_oracle(LEAVES[:size])
        for index in range(size):
            proof = inclusion_proof(LEAVES, index, size)
            assert proof == inclusion_proof_from(oracle, index, size)
            verify_inclusion(LEAVES[index], index, size, proof, root)
            assert len(proof) <= (size - 1).bit_length()


def test_every_consistency_proof_up_to_64_leaves_verifies() -> None:
    roots = [root_from_leaves(LEAVES[:n]) for n in range(65)]
    oracle = cached_oracle(LEAVES[:64])
    for size2 in range(1, 65):
        for size1 in range(1, size2 + 1):
            proof = consistency_proof(LEAVES, size1, size2)
            assert proof == consistency_proof_from(oracle, size1, size2)
            verify_consistency(size1, size2, proof, roots[size1], roots[size2])


def test_tampered_inclusion_proofs_fail() -> None:
    for size in (2, 3, 5, 8, 13, 64):
        root = root_from_leaves(LEAVES[:size])
        for index in range(size):
            leaf = LEAVES[index]
            proof = inclusion_proof(LEAVES, index, size)
            for i in range(len(proof)):
                bad = [*proof[:i], flip(proof[i]), *proof[i + 1 :]]
                with pytest.raises(ProofError, match="gives root"):
                    verify_inclusion(leaf, index, size, bad, root)
            with pytest.raises(ProofError, match="gives root"):
                verify_inclusion(leaf, index, size, proof, flip(root))
            with pytest.raises(ProofError, match="gives root"):
                verify_inclusion(flip(leaf), index, size, proof, root)
            with pytest.raises(ProofError):
                verify_inclusion(leaf, index ^ 1, size, proof, root)
            with pytest.raises(ProofError, match="hashes, want"):
                verify_inclusion(leaf, index, size, [*proof, proof[0]], root)
            with pytest.raises(ProofError, match="hashes, want"):
                verify_inclusion(leaf, index, size, proof[:-1], root)


def test_tampered_consistency_proofs_fail() -> None:
    roots = [root_from_leaves(LEAVES[:n]) for n in range(65)]
    for size1, size2 in [(1, 2), (2, 5), (3, 7), (4, 8), (6, 8), (7, 64), (32, 33), (63, 64)]:
        proof = consistency_proof(LEAVES, size1, size2)
        root1, root2 = roots[size1], roots[size2]
        for i in range(len(proof)):
            bad = [*proof[:i], flip(proof[i]), *proof[i + 1 :]]
            with pytest.raises(ProofError):
                verify_consistency(size1, size2, bad, root1, root2)
        for args in [
            (size1, size2, proof, flip(root1), root2),
            (size1, size2, proof, root1, flip(root2)),
            (size1, size2, proof, root2, root1),
            (size1 + 1, size2, proof, root1, root2),
            (size1 - 1, size2, proof, root1, root2),
            (size1 ^ 2, size2, proof, root1, root2),
            # Not size2 + 1: e.g. 2 -> 5 and 2 -> 6 proofs have the same shape, so the sizes are
            # bound by the signed checkpoint, not by the proof (as upstream tests, use * and /).
            (size1, size2 * 2, proof, root1, root2),
            (size1, size2 // 2, proof, root1, root2),
            (size1, size2, proof[:-1], root1, root2),
            (size1, size2, [*proof, root1], root1, root2),
            (size1, size2, [], root1, root2),
        ]:
            with pytest.raises(ProofError):
                verify_consistency(*args)


def test_size_zero_conventions() -> None:
    with pytest.raises(ProofError, match="outside a tree of size 0"):
        verify_inclusion(EMPTY_ROOT, 0, 0, [], EMPTY_ROOT)
    for size2, root2 in [(0, EMPTY_ROOT), (1, LEAVES[0])]:
        with pytest.raises(ProofError, match="empty tree"):
            verify_consistency(0, size2, [], EMPTY_ROOT, root2)
    with pytest.raises(ValueError, match="no consistency proof from size 0"):
        consistency_proof(LEAVES, 0, 5)
    with pytest.raises(ValueError, match="outside a tree of size 0"):
        inclusion_proof(LEAVES, 0, 0)
    assert consistency_proof(LEAVES, 5, 5) == []
    verify_consistency(5, 5, [], LEAVES[1], LEAVES[1])


def test_generators_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="larger than the 300 leaves"):
        inclusion_proof(LEAVES, 0, 301)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(LEAVES, -1, 5)
    with pytest.raises(ValueError, match="from size 6 to size 5"):
        consistency_proof(LEAVES, 6, 5)


def test_proofs_at_a_million_leaves_need_few_fetches() -> None:
    # All leaves equal: a perfect subtree of 2**k leaves then has a hash known in O(k), so the
    # oracle is cheap yet exact, and the root comes from the same hashes.
    by_level = [leaf_hash(b"same")]
    for _ in range(21):
        by_level.append(node_hash(by_level[-1], by_level[-1]))
    calls: list[tuple[int, int]] = []

    def oracle(start: int, end: int) -> bytes:
        width = end - start
        assert width.bit_count() == 1, (start, end)
        assert start % width == 0, (start, end)
        calls.append((start, end))
        return by_level[width.bit_length() - 1]

    size = 1_000_000
    root = CompactRange.from_hashes(
        size, [by_level[k] for k in reversed(range(size.bit_length())) if size >> k & 1]
    ).root()
    for index in (0, 1, 524_287, 524_288, 999_998, 999_999):
        calls.clear()
        proof = inclusion_proof_from(oracle, index, size)
        assert len(proof) <= 20
        assert max(end for _, end in calls) <= size
        assert len(calls) <= 2 * 20
        verify_inclusion(by_level[0], index, size, proof, root)
    small = 777_777
    small_root = CompactRange.from_hashes(
        small, [by_level[k] for k in reversed(range(small.bit_length())) if small >> k & 1]
    ).root()
    calls.clear()
    proof = consistency_proof_from(oracle, small, size)
    assert len(proof) <= 2 * 20
    verify_consistency(small, size, proof, small_root, root)


def test_root_from_inclusion_proof_returns_the_root() -> None:
    proof = inclusion_proof(LEAVES, 5, 13)
    assert root_from_inclusion_proof(LEAVES[5], 5, 13, proof) == root_from_leaves(LEAVES[:13])
    with pytest.raises(ProofError, match="leaf hash is 3 bytes"):
        root_from_inclusion_proof(b"abc", 5, 13, proof)


@settings(max_examples=60, deadline=None, database=None)
@given(data=st.data(), size2=st.integers(min_value=1, max_value=300))
def test_random_trees(data: st.DataObject, size2: int) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size2 - 1), label="index")
    size1 = data.draw(st.integers(min_value=1, max_value=size2), label="size1")
    root1, root2 = root_from_leaves(LEAVES[:size1]), root_from_leaves(LEAVES[:size2])
    state = CompactRange.from_hashes(0, [])
    state.extend(LEAVES[:size2])
    assert state.root() == root2 == reference_root(LEAVES[:size2])

    proof = inclusion_proof(LEAVES, index, size2)
    verify_inclusion(LEAVES[index], index, size2, proof, root2)
    other = (index + 1) % size2
    if other != index:
        with pytest.raises(ProofError):
            verify_inclusion(LEAVES[other], index, size2, proof, root2)

    proof = consistency_proof(LEAVES, size1, size2)
    verify_consistency(size1, size2, proof, root1, root2)
    if size1 < size2:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root2, root1)
