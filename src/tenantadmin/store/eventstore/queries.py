"""A DCB query as SQL, in the driver's parameter style (for ``exec_driver_sql``): every statement that reads events.

The positions of matching events come from one branch per query item, each found through an index: an item with tags
is looked up in ``event_tags`` (primary key: tag, position) by its first tag, and every other tag is checked by the
same key; an item with types only, by ``ix_events_event_type_position``; ``Query.all()`` by position. Reading the last
N events of one tag is a backward range scan whatever the size of the log. ``events_sql`` is the one place that turns
such positions into rows of ``events`` (reads, pages, time-bounded reads, the follower).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .codec import COLUMNS
from .model import Query, QueryItem, tag_strings
from .writers import WRITERS

# The highest position and the appends in progress (writers.py), in one snapshot: what a settled head is read from.
HEAD_AND_WRITERS = sa.text(f"SELECT (SELECT max(position) FROM events), ({WRITERS})")
# The distinct types, one index probe each on ix_events_event_type_position: cheap however long the log.
KNOWN_TYPES = sa.text(
    "WITH RECURSIVE known(event_type) AS ("
    " (SELECT event_type FROM events ORDER BY event_type LIMIT 1)"
    " UNION ALL"
    " SELECT (SELECT event_type FROM events WHERE event_type > known.event_type ORDER BY event_type LIMIT 1)"
    " FROM known WHERE known.event_type IS NOT NULL"
    ") SELECT event_type FROM known WHERE event_type IS NOT NULL"
)
# The next positions visible to a follower, whatever their events: where the gaps are.
PEEK = sa.text("SELECT ARRAY(SELECT position FROM events WHERE position > :last ORDER BY position LIMIT :batch)")


def positions_sql(
    query: Query,
    params: dict[str, Any],
    *,
    after: int | None,
    limit: int | None,
    backwards: bool,
    upto: int | None = None,
) -> str:
    """SQL selecting the positions of events that match ``query``; its parameters are added to ``params``."""
    params["after"] = after or 0
    bounds = "position > %(after)s"
    if upto is not None:
        params["upto"] = upto
        bounds += " AND position <= %(upto)s"
    order = "DESC" if backwards else "ASC"
    tail = f" ORDER BY position {order}" + (f" LIMIT {int(limit)}" if limit is not None else "")
    branches = [_branch(item, index, params, bounds) + tail for index, item in enumerate(query.items)]
    if len(branches) == 1:
        return branches[0]
    return " UNION ".join(f"({branch})" for branch in branches)


def events_sql(
    query: Query,
    params: dict[str, Any],
    *,
    after: int | None = None,
    upto: int | None = None,
    limit: int | None = None,
    offset: int = 0,
    backwards: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
) -> str:
    """SQL selecting the events (``codec.COLUMNS``) that match ``query`` between positions ``after`` (exclusive) and
    ``upto`` (inclusive), and that happened from ``since`` (inclusive) until ``until`` (exclusive), in position order
    (descending when ``backwards``), skipping ``offset`` of them and returning at most ``limit``.

    Without time bounds each branch is limited to what the page needs, and an offset is skipped in the positions
    (index entries) before any row of ``events`` is read; with them, the bounds apply before the limit counts.
    """
    order = "DESC" if backwards else "ASC"
    timed = since is not None or until is not None
    most = f" LIMIT {int(limit)}" if limit is not None else ""
    needed = limit + offset if limit is not None and not timed else None
    positions = positions_sql(query, params, after=after, limit=needed, backwards=backwards, upto=upto)
    if offset and not timed:
        params["offset"] = offset
        positions = f"SELECT position FROM ({positions}) AS matching ORDER BY position {order} OFFSET %(offset)s{most}"
    where = [f"position IN ({positions})"]
    if since is not None:
        params["since"] = since
        where.append("event_timestamp >= %(since)s")
    if until is not None:
        params["until"] = until
        where.append("event_timestamp < %(until)s")
    skip = f" OFFSET {int(offset)}" if offset and timed else ""
    return f"SELECT {COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY position {order}{skip}{most}"


def count_sql(query: Query, params: dict[str, Any], *, after: int | None, upto: int | None) -> str:
    """SQL counting the events that match ``query`` between ``after`` (exclusive) and ``upto`` (inclusive)."""
    positions = positions_sql(query, params, after=after, limit=None, backwards=False, upto=upto)
    return f"SELECT count(*) FROM ({positions}) AS matching"


def exists_sql(query: Query, params: dict[str, Any], *, after: int | None) -> str:
    """SQL telling whether any event matching ``query`` was recorded after ``after``: an append condition's check."""
    return f"SELECT EXISTS ({positions_sql(query, params, after=after, limit=1, backwards=False)})"


def _branch(item: QueryItem, index: int, params: dict[str, Any], bounds: str) -> str:
    tags = tag_strings(item.tags)
    types = list(item.types)
    if tags:
        params[f"tag_{index}"] = tags[0]
        where = [f"t.tag = %(tag_{index})s", bounds.replace("position", "t.position")]
        if types:
            params[f"types_{index}"] = types
            where.append(f"t.event_type = ANY(%(types_{index})s)")
        for other, tag in enumerate(tags[1:]):
            params[f"tag_{index}_{other}"] = tag
            where.append(
                f"EXISTS (SELECT 1 FROM event_tags o WHERE o.tag = %(tag_{index}_{other})s AND o.position = t.position)"
            )
        return "SELECT t.position FROM event_tags t WHERE " + " AND ".join(where)
    if types:
        params[f"types_{index}"] = types
        return f"SELECT position FROM events WHERE event_type = ANY(%(types_{index})s) AND {bounds}"
    return f"SELECT position FROM events WHERE {bounds}"


def condition_json(query: Query) -> list[dict[str, list[str]]]:
    """The condition as the append function reads it."""
    return [{"types": list(item.types), "tags": list(tag_strings(item.tags))} for item in query.items]
