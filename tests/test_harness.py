"""The harness itself: tests must run on a real, migrated PostgreSQL and leave nothing behind."""

import sqlalchemy as sa

from tenantadmin.store import migrations


def test_connection_is_real_postgresql_at_head(connection):
    assert connection.scalar(sa.text("SELECT current_setting('server_version_num')::int")) >= 150000
    assert migrations.current_revision(connection) == migrations.HEAD_REVISION


def test_connection_work_is_rolled_back_between_tests_first(connection):
    connection.execute(sa.text("INSERT INTO users (email) VALUES ('rollback@example.com')"))
    assert connection.scalar(sa.text("SELECT count(*) FROM users")) == 1


def test_connection_work_is_rolled_back_between_tests_second(connection):
    assert connection.scalar(sa.text("SELECT count(*) FROM users WHERE email = 'rollback@example.com'")) == 0


def test_fresh_databases_are_separate(fresh_database, shared_engine):
    assert fresh_database.database != shared_engine.url.database
