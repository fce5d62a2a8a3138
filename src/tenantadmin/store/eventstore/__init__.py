"""A DCB event store on PostgreSQL (dcb.events/specification)."""

from .model import (
    AppendCondition,
    AppendConditionFailed,
    Event,
    Query,
    QueryItem,
    ReadResult,
    SequencedEvent,
)
from .store import EventStore

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
