"""``tenantadmin db``: where the database is, its schema, and the embedded server."""

from __future__ import annotations

import dataclasses

import click

from tenantadmin.services import database

from .confirm import confirm
from .context import Settings, output_options, pass_settings
from .errors import DATABASE, REFUSED, Failure
from .output import emit_record, emit_table, message, to_json


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


# The columns of `db check`'s table of differences: (field, heading).
DIFFERENCE_COLUMNS = [
    ("entity", "entity"),
    ("id", "id"),
    ("name", "name"),
    ("field", "field"),
    ("problem", "problem"),
    ("from_events", "from events"),
    ("in_table", "in table"),
]


@db.command()
@output_options
@pass_settings
def check(settings: Settings) -> None:
    """Rebuild organizations, memberships and API keys from the event log alone and compare them with the tables.

    Exits 0 when they agree, 1 listing each difference: a field whose value the events give differs from the row's,
    a row the events made that the table lacks, a row no event made, an event of a type it does not know. Only what
    events record is compared (never a key's uses or last use, times, or secrets). Needs a login that sees every
    organization (tenantadmin_auditor is enough).

    \b
    Example:
      tenantadmin db check --json
    """
    from tenantadmin.services import reconcile  # here: only this command pays for importing it

    report = reconcile.check(settings.engine())
    counted = (
        f"checked {_counted(report.events, 'event')} against {_counted(report.organizations, 'organization')}, "
        f"{_counted(report.memberships, 'membership')}, {_counted(report.keys, 'key')}"
    )
    if settings.json:
        click.echo(to_json(report))
    elif report.clean:
        click.echo(f"{counted}: no differences")
    else:
        emit_table(settings, report.differences, DIFFERENCE_COLUMNS)
    if not report.clean:
        raise Failure(f"{counted}: {_counted(len(report.differences), 'difference')}", REFUSED)


def _counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


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
