"""SQLAlchemy engines, configured once for every caller."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
import psycopg
import sqlalchemy as sa
from psycopg.types.json import set_json_loads
from sqlalchemy.engine import URL, Engine, make_url

CONNECT_TIMEOUT_SECONDS = 5


def create_engine(url: str | URL, **options: object) -> Engine:
    """An engine for tenantadmin's psycopg 3 URLs; a dead server fails fast instead of hanging a command.

    No pre-ping: it would cost a round trip on every checkout, as much as an append's own statement. A pooled
    connection that died while idle fails the one statement that meets it (an OperationalError, which front ends
    report as the database being unavailable), and SQLAlchemy then drops the pool's connections, so the next attempt
    connects afresh.
    """
    engine = sa.create_engine(
        url,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": "tenantadmin"},
        hide_parameters=True,  # an error's message must never carry a value, which may be a secret's hash
        **options,
    )
    sa.event.listen(engine, "connect", _fast_json)
    return engine


def _fast_json(driver_connection: psycopg.Connection[Any], _record: object) -> None:
    """JSON columns parsed by orjson: reading a page of events is mostly parsing their data, metadata and tags."""
    set_json_loads(orjson.loads, driver_connection)


# libpq parameters a URL's query may carry that are secrets (``?password=…``), masked as the password is.
SECRET_PARAMETERS = frozenset({"password", "sslpassword"})
MASK = "***"


def safe_url(url: str | URL) -> str:
    """The URL as it may be shown to a person: the password masked, in the user part or in the query."""
    parsed = make_url(url)
    secrets = SECRET_PARAMETERS.intersection(parsed.query)
    if not secrets:
        return parsed.render_as_string(hide_password=True)
    masked = parsed.update_query_dict(dict.fromkeys(secrets, MASK))
    return masked.render_as_string(hide_password=True).replace(quote(MASK, safe=""), MASK)
