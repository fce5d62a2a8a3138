"""The public API of tenantadmin's DCB event store; the implementation lives in ``tenantadmin.store.eventstore``."""

from tenantadmin.store.eventstore import (
    AppendCondition,
    AppendConditionFailed,
    Event,
    EventStore,
    Query,
    QueryItem,
    ReadResult,
    SequencedEvent,
)

__all__ = [
    "AppendCondition",
    "AppendConditionFailed",
    "Event",
    "EventStore",
    "Query",
    "QueryItem",
    "ReadResult",
    "SequencedEvent",
]
