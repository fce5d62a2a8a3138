"""A DCB query as SQL, in the driver's parameter style (for ``exec_driver_sql``): every statement that reads events.

The positions of matching events come from one branch per query item, each found through an index: an item with tags
is looked up in ``event_tags`` (primary key: tag, position) by its first tag, and every other tag is checked by the
same key; an item with types only, by ``ix_events_event_type_position``; ``Query.all()`` by position. Reading the last
N events of one tag is a backward range scan whatever the size of the log. ``events_sql`` is the one place that turns
such positions into rows of ``events`` (reads, pages, time-bounded reads, the follower).

Aggregates over when events happened (counts bounded in time, histograms, the earliest time) select rows of ``events``
by ``matching_sql``: the same items, tags looked up in ``event_tags`` as above, but a query matching every event is no
condition at all and types alone are checked on the row, so that the time bounds can be served by the index on
``event_timestamp``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from .codec import COLUMNS
from .model import Query, QueryItem, tag_strings
from .writers import WRITERS

# The highest position and the appends in progress (writers.py), in one snapshot: what a settled head is read from.
# The highest of the whole log, whichever organizations the reader may see (migration 0007): a function that is STABLE
# reads the statement's own snapshot.
HEAD_AND_WRITERS = sa.text(f"SELECT tenantadmin_head(), ({WRITERS})")
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


def count_sql(
    query: Query,
    params: dict[str, Any],
    *,
    after: int | None,
    upto: int | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> str:
    """SQL counting the events that match ``query`` between ``after`` (exclusive) and ``upto`` (inclusive), and that
    happened from ``since`` (inclusive) until ``until`` (exclusive)."""
    if since is None and until is None:  # index entries only: no row of events is read
        positions = positions_sql(query, params, after=after, limit=None, backwards=False, upto=upto)
        return f"SELECT count(*) FROM ({positions}) AS matching"
    where = matching_sql(query, params, after=after, upto=upto) + _times(params, since, until)
    return f"SELECT count(*) FROM events WHERE {where}"


def histogram_sql(
    query: Query,
    params: dict[str, Any],
    *,
    origin: datetime,
    width: timedelta,
    since: datetime,
    until: datetime,
    after: int | None,
) -> str:
    """SQL counting the events that match ``query`` after ``after`` and happened from ``since`` until ``until``, per
    bucket of ``width`` from ``origin`` (date_bin over event_timestamp, grouped): a row (bucket start, count) for each
    bucket that has any; the caller fills in the empty ones."""
    params["origin"], params["width"] = origin, width
    where = matching_sql(query, params, after=after) + _times(params, since, until)
    return (
        "SELECT date_bin(%(width)s, event_timestamp, %(origin)s) AS bucket, count(*) "
        f"FROM events WHERE {where} GROUP BY bucket"
    )


def earliest_sql(query: Query, params: dict[str, Any], *, after: int | None, until: datetime | None) -> str:
    """SQL for when the first event that matches ``query`` after ``after`` (and before ``until``) happened."""
    where = matching_sql(query, params, after=after) + _times(params, None, until)
    return f"SELECT min(event_timestamp) FROM events WHERE {where}"


def matching_sql(query: Query, params: dict[str, Any], *, after: int | None, upto: int | None = None) -> str:
    """A condition on a row of ``events``: it matches ``query`` and its position is between ``after`` (exclusive)
    and ``upto`` (inclusive). For aggregates over many rows: an item matching every event makes the query no
    condition, items of types alone are checked on the row, items with tags by their positions in ``event_tags``;
    and no bound on positions is written that every position meets (they start at 1), so that time bounds alone can
    be served by an index-only scan of ``event_timestamp``."""
    params["after"] = after or 0
    bounds = ["position > %(after)s"] if after else []
    if upto is not None:
        params["upto"] = upto
        bounds.append("position <= %(upto)s")
    if any(not item.types and not tag_strings(item.tags) for item in query.items):
        return " AND ".join(bounds) or "TRUE"
    either: list[str] = []
    tagged: list[str] = []
    for index, item in enumerate(query.items):
        if tag_strings(item.tags):
            tagged.append(_branch(item, index, params, "position > %(after)s"))
        else:
            params[f"types_{index}"] = list(item.types)
            either.append(f"event_type = ANY(%(types_{index})s)")
    if tagged:
        either.append(f"position IN ({' UNION ALL '.join(tagged)})")
    return " AND ".join([*bounds, f"({' OR '.join(either)})"])


def _times(params: dict[str, Any], since: datetime | None, until: datetime | None) -> str:
    """The time bounds, on event_timestamp (indexed), as more of a WHERE clause."""
    where = ""
    if since is not None:
        params["since"] = since
        where += " AND event_timestamp >= %(since)s"
    if until is not None:
        params["until"] = until
        where += " AND event_timestamp < %(until)s"
    return where


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
