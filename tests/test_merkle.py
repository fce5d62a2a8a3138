"""The Merkle tree of the sealed log against pymerkle, an independent RFC 9162 implementation, and its proofs against
the RFC's verification algorithms: every size up to a few hundred leaves, and any leaf of any size hypothesis picks."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pymerkle import InmemoryTree

from tenantadmin.store.ledger.entry import leaf_hash
from tenantadmin.store.ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    consistent,
    inclusion_path,
    range_hash,
    root_from_inclusion,
)

LEAVES = [leaf_hash(b"entry %d" % i) for i in range(300)]


@functools.cache
def oracle() -> InmemoryTree:
    tree = InmemoryTree(algorithm="sha256")
    for i in range(len(LEAVES)):
        tree.append_entry(b"entry %d" % i)
    return tree


def subtree(level: int, index: int) -> bytes:
    """What event_seals (level 0) and seal_nodes hold, computed from the leaves."""
    start = index << level
    frontier = Frontier()
    for leaf in LEAVES[start : start + (1 << level)]:
        frontier.add(leaf)
    assert frontier.size == 1 << level, "a complete subtree only"
    return frontier.root()


def test_the_empty_tree_and_every_size_have_the_root_pymerkle_computes():
    frontier = Frontier()
    assert frontier.root() == EMPTY_ROOT
    for size in range(1, len(LEAVES) + 1):
        frontier.add(LEAVES[size - 1])
        assert frontier.root() == oracle().get_root(size), size
        assert range_hash(subtree, 0, size) == frontier.root()


@given(st.data())
def test_an_inclusion_proof_gives_the_root_for_its_leaf_and_no_other(data):
    size = data.draw(st.integers(1, len(LEAVES)))
    index = data.draw(st.integers(0, size - 1))
    path = inclusion_path(subtree, index, size)
    root = oracle().get_root(size)
    assert root_from_inclusion(index, size, LEAVES[index], path) == root
    other = data.draw(st.integers(0, size - 1))
    if other != index:
        assert root_from_inclusion(other, size, LEAVES[index], path) != root
        assert root_from_inclusion(index, size, LEAVES[other], path) != root
    if path:
        assert root_from_inclusion(index, size, LEAVES[index], path[:-1]) != root
        assert root_from_inclusion(index, size, LEAVES[index], [*path, path[0]]) is None


@given(st.data())
def test_a_consistency_proof_holds_between_prefixes_and_fails_for_another_tree(data):
    second = data.draw(st.integers(1, len(LEAVES)))
    first = data.draw(st.integers(1, second))
    proof = consistency_proof(subtree, first, second)
    first_root, second_root = oracle().get_root(first), oracle().get_root(second)
    assert consistent(first, first_root, second, second_root, proof)
    forged = leaf_hash(b"forged")
    assert not consistent(first, forged, second, second_root, proof)
    assert not consistent(first, first_root, second, forged, proof)
    if proof:
        assert not consistent(first, first_root, second, second_root, [forged, *proof[1:]])


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_no_path_for_a_leaf_outside_the_tree(index, size):
    with pytest.raises(ValueError, match="is not in a tree of"):
        inclusion_path(subtree, index, size)
