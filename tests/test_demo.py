"""`tenantadmin demo`: sample data made through the services, so every row has the events that explain it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tenantadmin.errors import InvalidState
from tenantadmin.services import demo, organizations
from tenantadmin.store.engine import create_engine


def test_the_demo_fills_an_empty_database_with_everything_an_operator_deals_with(engine):
    summary = demo.fill(engine, organizations_count=3)
    assert summary.organizations == 3 and summary.members >= 9 and summary.keys >= 3
    with engine.connect() as connection:
        types = set(connection.scalars(sa.text("SELECT DISTINCT event_type FROM events")))
        events = connection.scalar(sa.text("SELECT count(*) FROM events"))
        without_event = connection.scalar(
            sa.text(
                "SELECT count(*) FROM organizations o WHERE NOT EXISTS "
                "(SELECT 1 FROM event_tags t WHERE t.tag = 'org_id=' || o.id AND t.event_type = 'organization.created')"
            )
        )
    assert {"organization.created", "member.invited", "invitation.accepted", "api_key.issued"} <= types
    assert events == summary.events and events > 200
    assert without_event == 0


def test_the_demo_is_deterministic(fresh_database, databases, template_database):
    other = databases.create("fresh", template=template_database)
    first, second = create_engine(fresh_database), create_engine(other)
    try:
        assert demo.fill(first, organizations_count=2) == demo.fill(second, organizations_count=2)
    finally:
        first.dispose()
        second.dispose()


def test_the_demo_refuses_a_database_that_holds_organizations(engine, actor, cli):
    organizations.create(engine, actor, name="Real Tenant", slug="real")
    with pytest.raises(InvalidState):
        demo.fill(engine)
    run = cli("demo")
    assert run.code == 1 and "empty" in run.stderr
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM organizations")) == 1
