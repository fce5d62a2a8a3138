"""``tenantadmin db``: where the database is, its schema, and the embedded server."""

from __future__ import annotations

import dataclasses

import click

from tenantadmin.services import database

from .confirm import confirm
from .context import Settings, output_options, pass_settings
from .errors import DATABASE, Failure
from .output import emit_record, message


@click.group()
def db() -> None:
    """The database: status, URL, migrations, the embedded server.

    \b
    Example:
      tenantadmin db status --json
    """


@db.command()
@output_options
@pass_settings
def status(settings: Settings) -> None:
    """Where the database is, whether it answers, and its schema revision.

    Exits 3 when the database cannot be reached.

    \b
    Example:
      tenantadmin db status --json
    """
    report = database.status(settings.database())
    emit_record(settings, dataclasses.asdict(report) | {"up_to_date": report.up_to_date})
    if report.error:
        raise Failure(report.error, DATABASE)


@db.command()
@output_options
@pass_settings
def url(settings: Settings) -> None:
    """Print the database URL (starting the embedded server if need be).

    \b
    Example:
      psql "$(tenantadmin db url)"
    """
    found = database.url(settings.database())
    if settings.json:
        emit_record(settings, {"url": found})
    else:
        click.echo(found)


@db.command()
@click.argument("revision", default="head")
@output_options
@pass_settings
def upgrade(settings: Settings, revision: str) -> None:
    """Migrate the database's schema up to REVISION (default: head).

    \b
    Example:
      tenantadmin --database-url postgresql://admin@db.internal/tenants db upgrade
    """
    settings.announce()
    _report(settings, database.upgrade(settings.database(), revision))


@db.command()
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@output_options
@pass_settings
def downgrade(settings: Settings, revision: str, yes: bool) -> None:
    """Migrate the database's schema down to REVISION; `base` removes every table and all their data.

    \b
    Example:
      tenantadmin db downgrade base --yes
    """
    choice = settings.database()
    settings.announce()
    confirm(
        yes,
        f"Downgrade the database ({choice.where}, from {choice.origin}) to {revision}? Data may be lost",
        refusal="downgrading can destroy data: pass --yes to confirm",
    )
    _report(settings, database.downgrade(choice, revision))


@db.command()
@output_options
@pass_settings
def stop(settings: Settings) -> None:
    """Stop the embedded PostgreSQL server (the next command starts it again).

    \b
    Example:
      tenantadmin db stop
    """
    stopped = database.stop(settings.database())
    if settings.json:
        emit_record(settings, {"stopped": stopped})
    else:
        message(settings, "embedded server stopped" if stopped else "embedded server was not running")


def _report(settings: Settings, migration: database.Migration) -> None:
    if settings.json:
        emit_record(settings, dataclasses.asdict(migration))
    else:
        message(
            settings,
            f"{migration.url}: schema {migration.from_revision or 'empty'} -> {migration.to_revision or 'empty'}",
        )
