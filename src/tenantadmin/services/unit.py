"""One command, one transaction: read what the decision needs, decide, append the events, change the tables, commit.

A decision is guarded by an append condition over the events that could change it. Its ``after`` is the store's
settled head, read *before* the tables the decision looks at: whatever a concurrent command changes after that read
is recorded by an event past the head, and the append then fails instead of committing a decision made on stale
rows. The events are appended before the tables change, so a racing command waits on the boundary's lock (and is
refused cleanly) rather than on a row or a unique index.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from uuid6 import uuid7

from tenantadmin import __version__
from tenantadmin.store.errors import DatabaseError, DatabaseUnavailable
from tenantadmin.store.eventstore import AppendCondition, AppendConditionFailed, Event, EventStore, Query
from tenantadmin.store.models import User

from .actor import Actor
from .errors import Conflict, InvalidInput, ServiceError


@dataclass
class Unit:
    session: Session
    actor: Actor
    actor_user_id: uuid.UUID | None
    correlation_id: str
    store: EventStore

    def guard(self, query: Query) -> AppendCondition:
        """A condition failing if an event matching ``query`` is recorded after now. Call it before reading rows."""
        head = self.store.read(query, limit=0, connection=self.session.connection()).head
        return AppendCondition(query, after=head)

    def record(
        self,
        type: str,
        data: Mapping[str, Any],
        *,
        tags: Mapping[str, str | Sequence[str]],
        subject: tuple[str, uuid.UUID],
        organization_id: uuid.UUID | None = None,
        condition: AppendCondition | None = None,
        refusal: ServiceError | None = None,
    ) -> int:
        """Append one event of this command; when ``condition`` fails, raise ``refusal`` (a Conflict by default)."""
        actor_tag = {"actor": self.actor.email} if self.actor.email else {}
        event = Event(
            type=type,
            data=dict(data),
            tags={**tags, **actor_tag},
            metadata={
                "actor": self.actor.name,
                "actor_email": self.actor.email,
                "os_user": self.actor.os_user,
                "host": self.actor.host,
                "tenantadmin_version": __version__,
            },
            aggregate_type=subject[0],
            aggregate_id=subject[1],
            user_id=self.actor_user_id,
            organization_id=organization_id,
            correlation_id=self.correlation_id,
            source=self.actor.source,
        )
        try:
            return self.store.append([event], condition, connection=self.session.connection())
        except AppendConditionFailed:
            raise refusal or Conflict("another command changed the same thing at the same time: try again") from None


@contextmanager
def unit(engine: Engine, actor: Actor) -> Iterator[Unit]:
    """A command's transaction: committed when the block ends, rolled back (nothing written) when it raises."""
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            user_id = session.scalar(sa.select(User.id).where(User.email == actor.email)) if actor.email else None
            yield Unit(session, actor, user_id, str(uuid7()), EventStore(engine))
    except sa.exc.OperationalError as error:
        raise DatabaseUnavailable(f"the database went away: {_reason(error)}") from error
    except sa.exc.IntegrityError as error:  # a rule the database enforces, met by a command that raced another
        raise Conflict(f"refused by the database: {_reason(error)}") from error
    except sa.exc.DataError as error:  # a value out of a column's range that validation let through
        raise InvalidInput(f"refused by the database: {_reason(error)}") from error
    except sa.exc.DBAPIError as error:
        raise DatabaseError(f"the database refused the command: {_reason(error)}") from error


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A session that is no command's: for lists and details, and for verifying keys (which records no event)."""
    try:
        with Session(engine) as opened:
            yield opened
    except sa.exc.OperationalError as error:
        raise DatabaseUnavailable(f"the database went away: {_reason(error)}") from error
    except sa.exc.DBAPIError as error:
        raise DatabaseError(f"the database refused: {_reason(error)}") from error


def _reason(error: sa.exc.DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
