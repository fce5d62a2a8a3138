"""The seed's secondary indexes on events that no query of tenantadmin's uses, dropped.

Every append maintains every index of ``events``; these ten serve no read the product makes (reads go by position,
by type and position, by time, by id, and by tag through ``event_tags``; appends by subject through the unique
``(aggregate_id, aggregate_version)``): the GIN indexes of ``data`` and ``tags``, and the B-trees of
``(aggregate_type, aggregate_id)``, ``(aggregate_type, event_timestamp)``, ``(organization_id, event_timestamp)``,
``(user_id, event_timestamp)``, ``correlation_id``, ``causation_id``, ``source`` and the unprocessed events. A
downgrade makes them again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# name: (columns, extra arguments of create_index)
UNUSED: dict[str, tuple[list[str], dict[str, object]]] = {
    "ix_events_aggregate_type_aggregate_id": (["aggregate_type", "aggregate_id"], {}),
    "ix_events_aggregate_type_event_timestamp": (["aggregate_type", "event_timestamp"], {}),
    "ix_events_organization_id_event_timestamp": (["organization_id", "event_timestamp"], {}),
    "ix_events_user_id_event_timestamp": (["user_id", "event_timestamp"], {}),
    "ix_events_correlation_id": (["correlation_id"], {}),
    "ix_events_causation_id": (["causation_id"], {}),
    "ix_events_source": (["source"], {}),
    "ix_events_processed": (["processed"], {"postgresql_where": sa.text("NOT processed")}),
    "ix_events_tags": (["tags"], {"postgresql_using": "gin"}),
    "ix_events_data": (["data"], {"postgresql_using": "gin"}),
}


def upgrade() -> None:
    for name in UNUSED:
        op.drop_index(name, table_name="events")


def downgrade() -> None:
    for name, (columns, extra) in UNUSED.items():
        op.create_index(name, "events", columns, unique=False, **extra)
