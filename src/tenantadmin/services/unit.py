"""One command, one transaction: find what it is about, guard its boundary, read it again, check, record, change.

Every command that changes anything follows the same steps, in this order, through ``Unit``:

1. **find** what the command names (an organization, a key): a first read, to learn which boundary its decision is in;
2. **guard** that boundary: the store's settled head, read *before* any row the decision looks at, becomes the
   ``after`` of the command's append condition over the events that could change the decision;
3. **read again** what was found (``Unit.decide`` does 1 to 3), and whatever else the decision needs;
4. **check** the rules, raising a ServiceError (nothing has been written);
5. **record** the event under that condition (``Unit.record``), *before* changing the tables, so that a racing command
   waits on the boundary's lock and is refused cleanly rather than on a row or a unique index; then change the tables.

Whatever a concurrent command changes after the guard is recorded by an event past the head, so the append fails
instead of committing a decision made on rows that are no longer true. A command given a connection in a transaction
of the caller's runs in a savepoint inside it (tests that need no concurrency use the rolled-back connection).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from uuid6 import uuid7

from tenantadmin import __version__
from tenantadmin.errors import Conflict, NotFound, ServiceError
from tenantadmin.store.errors import Doing, translated
from tenantadmin.store.eventstore import AppendCondition, AppendConditionFailed, Event, EventStore, Query
from tenantadmin.store.ledger import seals

from .actor import Actor

# What every service takes: an Engine (each command a transaction of its own), or a Connection in a transaction the
# caller began (each command a savepoint in it, committed or rolled back with the caller's transaction). A command's
# append holds the store's writer lock until the caller's transaction ends, so other commands' guards and followers
# wait for it meanwhile: such a transaction must be short, and must not wait on a command run on the engine (tests
# that need no concurrency use it). Following the log needs commits: ``follow`` reads through the engine.
Bind = Engine | Connection

Found = TypeVar("Found")

CHANGED_MEANWHILE = "another command changed the same thing at the same time: try again"


@dataclass
class Unit:
    """A command in progress: its session, who acts, its correlation id, and the guard it decides under."""

    session: Session
    actor: Actor
    actor_user_id: uuid.UUID | None
    correlation_id: str
    store: EventStore
    condition: AppendCondition | None = None
    recorded: bool = False  # whether the command appended its event: only then is there anything to seal after it

    def guard(self, boundary: Query) -> None:
        """Guard the decision by the events of ``boundary``: the command's event is refused if one is recorded after
        now. Call it before reading any row the decision looks at (``decide`` does, for what the command names)."""
        self.condition = AppendCondition(boundary, after=self.store.head(connection=self.session.connection()))

    def decide(self, find: Callable[[Session], Found], boundary: Callable[[Found], Query]) -> Found:
        """Find what the command is about, guard ``boundary(found)``, and find it again: what is returned was read
        after the guard, so any change to it since is caught by the command's append condition.

        The second find must come back with the same rows: a slug that now names another organization (renamed,
        and taken by a new one, between the two finds) would put the decision outside the boundary it guarded.
        """
        first = find(self.session)
        identities = _identities(first)
        self.guard(boundary(first))
        self.session.expire_all()  # the second read refreshes every row the first one loaded
        try:
            again = find(self.session)
        except NotFound:
            raise Conflict(CHANGED_MEANWHILE) from None
        if _identities(again) != identities:
            raise Conflict(CHANGED_MEANWHILE)
        return again

    def record(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        tags: Mapping[str, str | Sequence[str]],
        subject: tuple[str, uuid.UUID],
        organization_id: uuid.UUID | None = None,
        refusal: ServiceError | None = None,
    ) -> int:
        """Append the command's event under its guard; when the guard fails, raise ``refusal`` (a Conflict by
        default). A command that has not guarded its decision cannot record it."""
        if self.condition is None:
            raise RuntimeError("a command records its event under its guard: call guard() or decide() first")
        # Who acted is the role the database authenticated: it records that itself (recorded_by). What the client
        # says is kept as claimed: on whose behalf (--actor), and the account and host it runs on.
        claimed = {"on_behalf_of": self.actor.email} if self.actor.email else {}
        event = Event(
            type=event_type,
            data=dict(data),
            tags={**tags, **claimed},
            metadata={
                "on_behalf_of": self.actor.email,
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
            position = self.store.append([event], self.condition, connection=self.session.connection())
        except AppendConditionFailed:
            raise refusal or Conflict(CHANGED_MEANWHILE) from None
        self.recorded = True
        return position

    def saved(self, *rows: object) -> None:
        """Write the changes so far, and read ``rows`` back as the database now has them (defaults, triggers)."""
        self.session.flush()
        for row in rows:
            self.session.refresh(row)


def _identities(found: object) -> tuple[object, ...]:
    """Which rows ``found`` (a row, or a tuple of rows and Nones) is made of, by primary key."""
    parts = found if isinstance(found, tuple) else (found,)
    return tuple(None if part is None else sa.inspect(part).identity for part in parts)


@contextmanager
def transaction(bind: Bind, doing: Doing = "command") -> Iterator[Session]:
    """A session in a transaction: committed when the block ends, rolled back (nothing written) when it raises.

    On an Engine the transaction is its own; on a Connection it is a savepoint in the caller's transaction.
    """
    with (
        translated("not done", doing),
        Session(bind, expire_on_commit=False, join_transaction_mode="create_savepoint") as session,
        session.begin(),
    ):
        yield session


@contextmanager
def unit(bind: Bind, actor: Actor, doing: Doing = "command") -> Iterator[Unit]:
    """A command's transaction, with what it records its event by."""
    with transaction(bind, doing) as session:
        user_id = session.scalar(sa.select(user_id_of(actor.email))) if actor.email else None
        work = Unit(session, actor, user_id, str(uuid7()), store_of(bind))
        yield work
    if work.recorded and isinstance(bind, Engine):
        sealed_after(bind)


def sealed_after(engine: Engine) -> None:
    """Seal what the command committed, if that can be done at once (migration 0008): no operator has to, and the
    command does not wait for it. Another command sealing, or an append in progress, leaves it to the next; and the
    command is done whatever happens here, so a failure is left to ``events verify``, which seals and waits."""
    try:
        with engine.connect() as connection:
            seals.seal(connection, wait=False)
    except sa.exc.SQLAlchemyError:
        return


@contextmanager
def reading(bind: Bind) -> Iterator[Session]:
    """A session that is no command's and writes nothing: for lists and details."""
    with translated("cannot read the database", "read"), Session(bind) as session:
        yield session


@contextmanager
def connected(bind: Bind) -> Iterator[Connection]:
    """A connection that is no command's, for a read made of several statements: the caller's, or the engine's."""
    with translated("cannot read the database", "read"):
        if isinstance(bind, Connection):
            yield bind
            return
        with bind.connect() as connection:
            yield connection


def user_id_of(email: str) -> sa.ColumnElement[uuid.UUID | None]:
    """The id of the user of ``email``, whether or not the connected role may see their row: someone invited through
    an organization an operator is granted may have an account through one it is not (migration 0007)."""
    return sa.func.tenantadmin_user_id(email, type_=sa.Uuid)


def store_of(bind: Bind) -> EventStore:
    """The event store of the database ``bind`` is on."""
    return EventStore(bind if isinstance(bind, Engine) else bind.engine)
