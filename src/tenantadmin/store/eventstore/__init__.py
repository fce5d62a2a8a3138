"""A DCB event store on PostgreSQL (dcb.events/specification): its public API, which is all that layers above use."""

from .model import (
    RECORDED_BY,
    TAG_KEY_PATTERN,
    AppendCondition,
    AppendConditionFailed,
    Event,
    EventSource,
    Query,
    QueryItem,
    ReadResult,
    SequencedEvent,
    tag_strings,
)
from .store import EventStore

__all__ = [
    "RECORDED_BY",
    "TAG_KEY_PATTERN",
    "AppendCondition",
    "AppendConditionFailed",
    "Event",
    "EventSource",
    "EventStore",
    "Query",
    "QueryItem",
    "ReadResult",
    "SequencedEvent",
    "tag_strings",
]
