"""Which advisory locks an append takes, so that a condition's check and the insert are atomic.

A consistency boundary is locked by keys made from an event's type and tags. Writers take *shared* locks on every key
that could match their events: (type, tag), (any type, tag), (type, any tag) and (any, any). A conditional append
takes *exclusive* locks on the keys of its condition's items: one tag suffices for an item with tags, since a matching
event carries all of them. So a conditional append waits for every in-flight writer of a matching event and blocks new
ones until it commits, while appends on disjoint boundaries, and unconditional writers among themselves, never wait
for one another. Keys are taken in ascending order within an append, so two appends cannot deadlock each other.

The (any, any) key is also the store's global writer lock: every append holds it, shared, from before its events
take positions until its transaction ends, which is what lets a follower wait for exactly the appends in progress.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence

from .model import NO_AGGREGATE_ID, AppendCondition, Event, tag_strings

ANY = "*"


@functools.lru_cache(maxsize=65536)  # the same boundaries come back, append after append
def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory lock key for a boundary name."""
    digest = hashlib.blake2b("\x1f".join(("tenantadmin.dcb", *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def event_keys(event: Event) -> set[int]:
    keys = {lock_key(ANY, ANY), lock_key(event.type, ANY)}
    for tag in tag_strings(event.tags):
        keys.add(lock_key(event.type, tag))
        keys.add(lock_key(ANY, tag))
    return keys


def condition_keys(condition: AppendCondition) -> set[int]:
    keys: set[int] = set()
    for item in condition.fail_if_events_match.items:
        tags = tag_strings(item.tags)
        tag = tags[0] if tags else ANY
        keys.update(lock_key(type_, tag) for type_ in item.types or (ANY,))
    return keys


def aggregate_keys(events: Iterable[Event]) -> set[int]:
    """Exclusive per subject, so that its aggregate_version is counted without a race."""
    return {lock_key("aggregate", str(event.aggregate_id)) for event in events if event.aggregate_id != NO_AGGREGATE_ID}


def locks_for(events: Sequence[Event], condition: AppendCondition | None) -> tuple[list[int], list[bool]]:
    """The keys to lock, ascending, and for each whether the lock is exclusive."""
    exclusive = aggregate_keys(events) | (condition_keys(condition) if condition else set())
    shared = set().union(*map(event_keys, events)) - exclusive
    keys = sorted(exclusive | shared)
    return keys, [key in exclusive for key in keys]
