"""What every command shares: the global options, the database they point at, and who is acting."""

from __future__ import annotations

from dataclasses import dataclass, field

import click
from sqlalchemy.engine import Engine

from tenantadmin.config import DatabaseChoice, choose_database
from tenantadmin.services.actor import Actor
from tenantadmin.store.database import Database, open_database


@dataclass
class Settings:
    database_url: str | None = None
    json: bool = False
    quiet: bool = False
    actor_email: str | None = None
    _database: Database | None = field(default=None, repr=False)

    def database(self) -> DatabaseChoice:
        return choose_database(self.database_url)

    def engine(self) -> Engine:
        """The database, opened once per command (and closed when the command ends)."""
        if self._database is None:
            self._database = open_database(self.database())
            click.get_current_context().call_on_close(self._database.close)
        return self._database.engine

    def actor(self) -> Actor:
        return Actor(source="cli", email=self.actor_email)


pass_settings = click.make_pass_decorator(Settings, ensure=True)


def _set(field: str):
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            setattr(ctx.ensure_object(Settings), field, True)

    return callback


def output_options(command):
    """``--json`` and ``-q`` after the command too (``tenantadmin db status --json``), as scripts tend to write them."""
    command = click.option(
        "--json", is_flag=True, expose_value=False, callback=_set("json"), help="Print JSON on stdout."
    )(command)
    return click.option(
        "-q", "--quiet", is_flag=True, expose_value=False, callback=_set("quiet"), help="Print no messages."
    )(command)
