"""An event's canonical entry, rebuilt from its row by the verifier, independently of what the database sealed.

The database seals ``SHA-256(0x00 || entry)`` for each event (migration 0008's ``ENTRY``); ``events verify`` must not
trust that function, which an owner could replace, so it reads the columns as PostgreSQL prints them and builds the
same bytes here: one line of JSON, keys in ``FIELDS`` order, no spaces between them, text escaped as json.dumps with
``ensure_ascii=False`` escapes it (exactly the escapes of PostgreSQL's to_json), the jsonb columns as PostgreSQL prints
them, times in UTC to the microsecond, NULL as null. docs/log-proofs.md documents it for other verifiers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) escapes strings with

# (key, SQL giving the column as text, whether it is inserted as is: a number, or JSON that PostgreSQL printed)
# A time in UTC to the microsecond, " BC" before year 1 (to_char drops the era), an infinity as PostgreSQL prints it.
_TIME = (
    "coalesce(to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    " || CASE WHEN {0} < '0001-01-01 00:00:00+00' THEN ' BC' ELSE '' END, {0}::text)"
)
FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("position", "e.position::text", True),
    ("id", "e.id::text", False),
    ("type", "e.event_type", False),
    ("aggregate_type", "e.aggregate_type", False),
    ("aggregate_id", "e.aggregate_id::text", False),
    ("aggregate_version", "e.aggregate_version::text", True),
    ("data", "e.data::text", True),
    ("metadata", "e.metadata::text", True),
    ("tags", "e.tags::text", True),
    ("user_id", "e.user_id::text", False),
    ("organization_id", "e.organization_id::text", False),
    ("session_id", "e.session_id", False),
    ("correlation_id", "e.correlation_id", False),
    ("causation_id", "e.causation_id", False),
    ("source", "e.source::text", False),
    ("version", "e.version", False),
    ("ip_address", "e.ip_address::text", False),
    ("user_agent", "e.user_agent", False),
    ("recorded_by", "e.recorded_by", False),
    ("event_timestamp", _TIME.format("e.event_timestamp"), False),
    ("created_at", _TIME.format("e.created_at"), False),
)
# What to select from ``events e`` so that ``entry`` can rebuild each event's entry.
COLUMNS = ", ".join(sql for _, sql, _ in FIELDS)


def entry(values: Sequence[str | None]) -> bytes:
    """The canonical entry of an event, from its columns as ``COLUMNS`` selects them."""
    parts = []
    for (key, _, raw), value in zip(FIELDS, values, strict=True):
        text = "null" if value is None else value if raw else encode_basestring(value)
        parts.append(f'"{key}":{text}')
    return ("{" + ",".join(parts) + "}").encode()


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162's hash of a leaf: SHA-256 of 0x00 and the entry."""
    return hashlib.sha256(b"\x00" + data).digest()
