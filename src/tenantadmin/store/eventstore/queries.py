"""A DCB query as SQL, in the driver's parameter style (for ``exec_driver_sql``): the positions of matching events, each item a branch found through an index.

An item with tags is looked up in ``event_tags`` (primary key: tag, position) by its first tag, and every other tag is
checked by the same key; an item with types only, by ``ix_events_event_type_position``; ``Query.all()`` by position.
Reading the last N events of one tag is a backward range scan whatever the size of the log.
"""

from __future__ import annotations

from typing import Any

from .model import Query, QueryItem, tag_strings


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
