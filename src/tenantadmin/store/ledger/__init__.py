"""The sealed log: canonical entries, RFC 9162's Merkle tree, the seals the database keeps, and the verifier's scan.

Sealing and the seals are the database's (migration 0008); everything a verifier relies on is recomputed here from the
events' rows and checked against checkpoints signed outside the database (services/ledger.py, services/signing.py).
"""
