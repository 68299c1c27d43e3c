"""transparency-dev/merkle RFC 6962 proof vectors, read in place from the shared folder.

The vectors are not copied into the repository. They live beside it in
``shared/vectors/rfc6962`` (``EVALROOM_VECTORS`` overrides the path). Without them the vector
tests are skipped, except in CI (``CI=true``) where their absence is a failure.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

import pytest

from server.auditlog.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_inclusion_proof,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

DEFAULT_VECTORS = Path(__file__).parents[2].parent / "shared" / "vectors" / "rfc6962"
VECTORS = Path(os.environ.get("EVALROOM_VECTORS") or DEFAULT_VECTORS)
FILES = sorted(VECTORS.rglob("*.json")) if VECTORS.is_dir() else []

# The leaf data behind the happy-path vectors (transparency-dev proof/verify_test.go, from the
# original CT test suite); used to check that our generators produce the very same proofs.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
LEAF_HASHES = [leaf_hash(data) for data in LEAVES]


def _absent() -> None:
    reason = (
        f"RFC 6962 vectors not found at {VECTORS}; they live in the shared/ folder beside the repo"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:  # a broken vector file must not pass as a rejected proof
        raise AssertionError(f"bad base64 in vector: {text!r}") from exc


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b64(item) for item in case["proof"] or []]


def _check_inclusion(case: dict[str, Any]) -> None:
    proof, root, leaf = _proof(case), _b64(case["root"]), _b64(case["leafHash"])
    index, size = case["leafIdx"], case["treeSize"]
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof, root)
        return
    verify_inclusion(leaf, index, size, proof, root)
    assert root_from_inclusion_proof(leaf, index, size, proof) == root
    if size <= len(LEAF_HASHES) and root == root_from_leaves(LEAF_HASHES[:size]):
        assert leaf == LEAF_HASHES[index]
        assert inclusion_proof(LEAF_HASHES, index, size) == proof


def _check_consistency(case: dict[str, Any]) -> None:
    proof, root1, root2 = _proof(case), _b64(case["root1"]), _b64(case["root2"])
    size1, size2 = case["size1"], case["size2"]
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root1, root2)
        return
    verify_consistency(size1, size2, proof, root1, root2)
    if size2 <= len(LEAF_HASHES) and root2 == root_from_leaves(LEAF_HASHES[:size2]):
        assert root1 == root_from_leaves(LEAF_HASHES[:size1])
        assert consistency_proof(LEAF_HASHES, size1, size2) == proof


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.relative_to(VECTORS).as_posix()) for p in FILES]
    or [pytest.param(None, id="vectors-missing")],
)
def test_vector(path: Path | None) -> None:
    if path is None:
        _absent()
        return
    case = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(case["wantErr"], bool)
    if "leafIdx" in case:
        _check_inclusion(case)
    elif "size1" in case:
        _check_consistency(case)
    else:
        pytest.fail(f"{path} is neither an inclusion nor a consistency vector")


def test_vector_folder_has_both_kinds() -> None:
    if not VECTORS.is_dir():
        _absent()
    kinds = {p.relative_to(VECTORS).parts[0] for p in FILES}
    assert {"inclusion", "consistency"} <= kinds, f"{VECTORS} lacks inclusion or consistency"


def test_happy_paths_were_cross_checked() -> None:
    # Guards the generator cross-check above against silently never running.
    if not VECTORS.is_dir():
        _absent()
    happy = [
        json.loads(p.read_text(encoding="utf-8")) for p in FILES if p.name == "happy-path.json"
    ]
    assert happy
    for case in happy:
        size = case.get("treeSize", case.get("size2"))
        root = _b64(case.get("root") or case.get("root2"))
        assert root == root_from_leaves(LEAF_HASHES[:size])


def test_empty_tree_root() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_from_leaves([]) == EMPTY_ROOT


def test_empty_leaf_hash() -> None:
    assert (
        leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


def test_known_roots() -> None:
    # Roots of the first 1..8 leaves above, from the same upstream test.
    want = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    assert [root_from_leaves(LEAF_HASHES[:n]).hex() for n in range(1, 9)] == want
