"""Alembic's entry point, for `tenantadmin db ...` (which hands over a connection) and for `alembic ...` run from the
repository root (which finds the database as tenantadmin does: ``-x database_url=...``, TENANTADMIN_DATABASE_URL, the
config file, else the embedded server, started but left for Alembic to migrate).
"""

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from tenantadmin.config import choose_database
from tenantadmin.store.database import embedded_server
from tenantadmin.store.engine import create_engine
from tenantadmin.store.migrations import MIGRATION_LOCK_ID
from tenantadmin.store.models import Base

config = context.config
target_metadata = Base.metadata


def configure(connection: sa.Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, compare_type=True, compare_server_default=True
    )
    with context.begin_transaction():
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()


def url_from_command_line() -> str:
    choice = choose_database(context.get_x_argument(as_dictionary=True).get("database_url"))
    if choice.url is not None:
        return choice.url
    server = embedded_server()
    with server.lock():
        return server.start()


if context.is_offline_mode():
    context.configure(url=url_from_command_line(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    configure(given)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    engine = create_engine(url_from_command_line())
    with engine.connect() as connection:
        configure(connection)
        connection.commit()
    engine.dispose()
