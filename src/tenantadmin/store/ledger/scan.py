"""The verifier's pass over the log: every event's leaf rebuilt from its row, the tree rebuilt from those leaves, and
both compared with what was sealed.

It trusts nothing the database computed: the leaves come from ``entry.py`` over the columns as PostgreSQL prints them,
and the roots at the sizes asked for (the checkpoints') from those leaves alone, in position order. The seals are read
only to say *where* the events and the sealed tree part: an event whose leaf is not the one sealed for its position
(changed), a sealed position whose event is gone (removed), an event at or below the sealed head that was never sealed
(inserted). The tag index (``event_tags``, what append conditions and tag reads go by) must hold exactly each event's
tags, under its type: a tag row removed would let a condition miss an event (retagged). All of it is read in one
snapshot (the caller's REPEATABLE READ transaction), a page at a time, so that memory stays flat however long the log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .entry import COLUMNS, FIELDS, entry, leaf_hash
from .merkle import Frontier

PAGE = 5000
MOST_FINDINGS = 100  # the first ones name where it went wrong; a rewritten log would list every event after

_FIRST_EVENTS = sa.text(
    f"SELECT {COLUMNS} FROM events e ORDER BY e.position LIMIT {PAGE}"
)  # from the lowest, even <= 0
_EVENTS = sa.text(f"SELECT {COLUMNS} FROM events e WHERE e.position > :after ORDER BY e.position LIMIT {PAGE}")
_COUNT = sa.text("SELECT count(*) FROM events")
# Each position's tag rows, in position order, streamed: event_tags is keyed by (tag, position), so it is read whole.
_TAGS = sa.text(
    "SELECT position, event_type, array_agg(tag) FROM event_tags GROUP BY position, event_type ORDER BY position"
)
_SEALS = sa.text(f"SELECT leaf, position, hash FROM event_seals WHERE leaf > :after ORDER BY leaf LIMIT {PAGE}")

Kind = Literal["changed", "removed", "inserted", "reordered", "retagged"]


@dataclass(frozen=True)
class Finding:
    """Where the events and the sealed tree part: ``position`` (None when the event is gone and only its leaf is
    known), ``leaf`` (None for an event never sealed)."""

    kind: Kind
    position: int | None
    leaf: int | None


@dataclass
class Scan:
    events: int = 0  # events read
    sealed_size: int = 0  # leaves of the sealed tree as stored
    sealed_position: int = 0  # the position of its last leaf
    tree_size: int = 0  # leaves of the tree rebuilt from the events
    unsealed: int = 0  # events after the sealed head: not sealed yet
    roots: dict[int, bytes] = field(default_factory=dict)  # size -> root rebuilt from the events
    last_positions: dict[int, int] = field(default_factory=dict)  # size -> position of that tree's last event
    findings: list[Finding] = field(default_factory=list)
    more_findings: bool = False
    uncounted: int = 0  # rows of events the pass in position order did not meet: positions held twice


def scan(connection: Connection, sizes: Collection[int]) -> Scan:
    """Rebuild the tree from the events, noting its roots at ``sizes``, and find where it parts from the seals."""
    result = Scan()
    wanted = set(sizes)
    frontier = Frontier()
    last_seal = connection.execute(sa.text("SELECT leaf, position FROM event_seals ORDER BY leaf DESC LIMIT 1")).first()
    result.sealed_position = last_seal[1] if last_seal else 0

    def note(kind: Kind, position: int | None, leaf: int | None) -> None:
        if result.findings and result.findings[-1].kind == kind and result.findings[-1].position == position:
            return  # a removed event's seal and its tag rows say the same
        if len(result.findings) < MOST_FINDINGS:
            result.findings.append(Finding(kind, position, leaf))
        else:
            result.more_findings = True

    def add(leaf: bytes, position: int) -> None:
        frontier.add(leaf)
        if frontier.size in wanted:
            result.roots[frontier.size] = frontier.root()
            result.last_positions[frontier.size] = position

    tags = _TagIndex(connection, note)
    events, seals = _events(connection), _seals(connection)
    event, seal = next(events, None), next(seals, None)
    expected, previous = 0, 0  # the next leaf's number, and the last sealed position met
    while event is not None or seal is not None:
        if seal is not None and (seal[0] != expected or seal[1] <= previous):
            note("reordered", seal[1], seal[0])  # a leaf missing, repeated, or out of position order
            expected, previous = seal[0], max(previous, seal[1])
        if seal is not None and (event is None or seal[1] < event[0]):
            note("removed", seal[1], seal[0])
            expected, previous, seal = expected + 1, seal[1], next(seals, None)
            result.sealed_size += 1
            continue
        if event is None:  # unreachable: a seal before every event was taken above
            break
        result.events += 1
        position, values = event
        if seal is None or position < seal[1]:
            if position <= result.sealed_position:
                note("inserted", position, None)
                add(leaf_hash(entry(values)), position)
            else:
                result.unsealed += 1
            tags.check(position, values)
            event = next(events, None)
            continue
        digest = leaf_hash(entry(values))
        if digest != bytes(seal[2]):
            note("changed", position, seal[0])
        tags.check(position, values)
        add(digest, position)
        result.sealed_size += 1
        expected, previous = expected + 1, position
        event, seal = next(events, None), next(seals, None)
    tags.check(None, None)
    result.uncounted = int(connection.scalar(_COUNT)) - result.events
    result.tree_size = frontier.size
    return result


_TYPE, _TAGS_TEXT = (next(i for i, (key, _, _) in enumerate(FIELDS) if key == name) for name in ("type", "tags"))


def _indexed(tags: Any) -> set[str]:
    """The rows the tag index holds for ``tags``: what the store indexes (``tag_strings``), and of an event recorded
    before the store checked its tags, the tags it would have indexed (migration 0008 indexed those)."""
    strings: set[str] = set()
    for key, values in tags.items() if isinstance(tags, dict) else ():
        if re.fullmatch(r"[a-z][a-z0-9_.-]{0,62}", key):
            strings.update(f"{key}={value}" for value in _listed(values) if isinstance(value, str) and value)
    return strings


def _listed(values: Any) -> list[Any]:
    return values if isinstance(values, list) else [values]


class _TagIndex:
    """The tag rows of each position, read alongside the events: a position whose rows are not exactly its event's
    tags (with its type), or rows with no event, are noted as retagged."""

    def __init__(self, connection: Connection, note: Callable[[Kind, int | None, int | None], None]) -> None:
        self._rows = iter(connection.execution_options(stream_results=True, yield_per=PAGE).execute(_TAGS))
        self._next = next(self._rows, None)
        self._note = note

    def check(self, position: int | None, values: tuple[Any, ...] | None) -> None:
        """Check ``position``'s rows (None: the end, where only rows without an event are left)."""
        while self._next is not None and (position is None or self._next[0] < position):
            self._note("removed", int(self._next[0]), None)  # tag rows are written with their event: it was there
            self._next = next(self._rows, None)
        if position is None or values is None:
            return
        found: list[tuple[str, list[str]]] = []
        while self._next is not None and self._next[0] == position:
            found.append((self._next[1], list(self._next[2])))
            self._next = next(self._rows, None)
        expected = _indexed(json.loads(values[_TAGS_TEXT]))
        wanted = [(values[_TYPE], sorted(expected))] if expected else []
        if [(kind, sorted(rows)) for kind, rows in found] != wanted:
            self._note("retagged", position, None)


def _events(connection: Connection) -> Iterator[tuple[int, tuple[Any, ...]]]:
    rows = connection.execute(_FIRST_EVENTS).all()
    while rows:
        for row in rows:
            yield int(row[0]), tuple(row)
        rows = connection.execute(_EVENTS, {"after": int(rows[-1][0])}).all()


def _seals(connection: Connection) -> Iterator[tuple[int, int, bytes]]:
    after = -1
    while rows := connection.execute(_SEALS, {"after": after}).all():
        for row in rows:
            yield int(row[0]), int(row[1]), bytes(row[2])
        after = int(rows[-1][0])
