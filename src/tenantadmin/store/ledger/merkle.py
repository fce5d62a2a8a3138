"""RFC 9162's Merkle tree: roots, inclusion and consistency proofs, and their verification.

The tree is the one Certificate Transparency uses (RFC 9162, section 2.1): a leaf hashes ``0x00 || entry``, a node
``0x01 || left || right``, and a tree of n leaves splits at the largest power of two below n. Proofs are made from
``Subtree`` lookups, the hash of a complete subtree of ``2**level`` leaves starting at ``index * 2**level`` (what
``event_seals`` and ``seal_nodes`` hold), and verified by the RFC's own algorithms, which use only hashes: a verifier
needs nothing of this module's proving half, and docs/verify-proof.py repeats the inclusion check with hashlib alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

Subtree = Callable[[int, int], bytes]  # (level, index) -> the hash of that complete subtree; level 0 is a leaf

EMPTY_ROOT = hashlib.sha256(b"").digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The root of a tree fed one leaf hash at a time, in O(log n) memory: the complete subtrees of its size's binary
    digits, largest first (what a verifier streaming a long log keeps)."""

    def __init__(self) -> None:
        self.size = 0
        self._parts: list[tuple[int, bytes]] = []  # (level, hash), levels strictly decreasing

    def add(self, leaf: bytes) -> None:
        level, digest = 0, leaf
        while self._parts and self._parts[-1][0] == level:
            digest = node_hash(self._parts.pop()[1], digest)
            level += 1
        self._parts.append((level, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._parts:
            return EMPTY_ROOT
        root = self._parts[-1][1]
        for _, digest in reversed(self._parts[:-1]):
            root = node_hash(digest, root)
        return root


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(subtree: Subtree, start: int, size: int) -> bytes:
    """MTH of the ``size`` leaves from ``start``: complete subtrees when ``start`` is aligned, as every range a proof
    names is (the right edge of a tree is the complete subtrees of its size's binary digits)."""
    parts = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            if start % (1 << level):
                raise ValueError(f"leaves {start}..{start + size - 1} are not a range of complete subtrees")
            parts.append(subtree(level, start >> level))
            start += 1 << level
    root = parts[-1]
    for digest in reversed(parts[:-1]):
        root = node_hash(digest, root)
    return root


def inclusion_path(subtree: Subtree, index: int, size: int) -> list[bytes]:
    """RFC 9162 2.1.3.1: the audit path of leaf ``index`` in the tree of the first ``size`` leaves, leaf upwards."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")

    def path(m: int, start: int, n: int) -> list[bytes]:
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return [*path(m, start, k), range_hash(subtree, start + k, n - k)]
        return [*path(m - k, start + k, n - k), range_hash(subtree, start, k)]

    return path(index, 0, size)


def consistency_proof(subtree: Subtree, first: int, second: int) -> list[bytes]:
    """RFC 9162 2.1.4.1: what proves the tree of ``first`` leaves a prefix of the tree of ``second``."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves")

    def subproof(m: int, start: int, n: int, *, whole: bool) -> list[bytes]:
        if m == n:
            return [] if whole else [range_hash(subtree, start, n)]
        k = _split(n)
        if m <= k:
            return [*subproof(m, start, k, whole=whole), range_hash(subtree, start + k, n - k)]
        return [*subproof(m - k, start + k, n - k, whole=False), range_hash(subtree, start, k)]

    return subproof(first, 0, second, whole=True)


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2: the root that ``path`` proves leaf ``index`` of ``size`` is under, or None if it proves
    nothing (too long, too short, or for a leaf outside the tree)."""
    if not 0 <= index < size:
        return None
    fn, sn, root = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            root = node_hash(sibling, root)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            root = node_hash(root, sibling)
        fn, sn = fn >> 1, sn >> 1
    return root if sn == 0 else None


def consistent(first: int, first_root: bytes, second: int, second_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2: whether ``proof`` shows the tree of ``first`` leaves a prefix of the tree of ``second``."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    if first & (first - 1) == 0:  # a complete subtree: the proof leaves out what the verifier has
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0
