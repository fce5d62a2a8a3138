"""The log's seals: a Merkle tree over the settled events in position order, and the checkpoints signed over it.

``event_seals`` holds one leaf per sealed event (RFC 9162's leaf hash of its canonical entry, ``ledger/entry.py``) and
``seal_nodes`` the hash of every complete subtree above them, so that a root, an inclusion proof or a consistency proof
is a handful of lookups however long the log. Only the database's ``tenantadmin_seal`` writes them (migration 0008),
in position order and never past the settled head. They are a cache the proofs read, not the evidence: ``events
verify`` recomputes every leaf from the events and checks the roots against checkpoints signed outside the database.

``checkpoints`` keeps each signed tree head as the signed note it is (C2SP tlog-checkpoint), with the public key that
signed it; which keys to trust is the verifier's to say, never this table's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Identity, LargeBinary, SmallInteger, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, creation_time

HASH_IS_SHA256 = "length(hash) = 32"


class EventLog(Base):
    """The log's one row: its origin, the name every checkpoint of this database carries (made by migration 0008)."""

    __tablename__ = "event_log"

    origin: Mapped[str] = mapped_column(Text, primary_key=True)


class EventSeal(Base):
    __tablename__ = "event_seals"

    leaf: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, unique=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        CheckConstraint("leaf >= 0", name="leaf_not_negative"),
        CheckConstraint(HASH_IS_SHA256, name="hash_is_sha256"),
    )


class SealNode(Base):
    """The hash of the complete subtree of 2**level leaves starting at leaf ``index * 2**level``."""

    __tablename__ = "seal_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 62", name="level_above_leaves"),
        CheckConstraint("index >= 0", name="index_not_negative"),
        CheckConstraint(HASH_IS_SHA256, name="hash_is_sha256"),
    )


class Checkpoint(Base):
    __tablename__ = "checkpoints"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(Text)  # the signed note's key hash, 8 hex digits
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # raw Ed25519, 32 bytes
    note: Mapped[str] = mapped_column(Text)  # the signed note, byte for byte as signed
    recorded_by: Mapped[str] = mapped_column(Text, server_default=text("SESSION_USER"))
    recorded_at: Mapped[datetime] = creation_time()

    __table_args__ = (
        CheckConstraint("tree_size > 0", name="tree_size_positive"),
        CheckConstraint("length(root_hash) = 32", name="root_hash_is_sha256"),
        CheckConstraint("length(public_key) = 32", name="public_key_is_ed25519"),
    )
