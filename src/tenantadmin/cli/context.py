"""What every command shares: the global options, the database they point at, and who is acting."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from tenantadmin.config import DatabaseChoice, choose_database
from tenantadmin.services.actor import Actor
from tenantadmin.services.choices import Source
from tenantadmin.services.database import Bind, Database, attach, open_database


@dataclass
class Settings:
    database_url: str | None = None
    context: str | None = None
    json: bool = False
    quiet: bool = False
    wide: bool = False  # tables show every cell whole, however wide the terminal
    pager: bool = True  # long output at a terminal goes through the pager
    actor_email: str | None = None
    _choice: DatabaseChoice | None = field(default=None, repr=False)
    _database: Database | None = field(default=None, repr=False)

    def database(self) -> DatabaseChoice:
        """Which database the command is for (the flags, the environment, the config file), decided once."""
        if self._choice is None:
            self._choice = choose_database(self.database_url, self.context)
        return self._choice

    def announce(self) -> None:
        """Before a command changes anything on a server that is not the embedded one, say which (unless -q): an
        operator with a production context must see it before the change, not after. At a terminal only: a script's
        stderr keeps its one line per outcome (bad input gets one clear line), and no one reads it before the change."""
        choice = self.database()
        if not choice.embedded and not self.quiet and sys.stderr.isatty():
            who = self.actor_email or choice.actor
            click.echo(f"using {choice.where}{f', as {who}' if who else ''}", err=True)

    def engine(self) -> Bind:
        """The database, opened once per command (and closed when the command ends); a command fails at once (exit
        status 3) when the database cannot serve it."""
        if self._database is None:
            self._database = open_database(self.database())
            click.get_current_context().call_on_close(self._database.close)
        return self._database.engine

    def attached(self) -> Database:
        """The database for the app: opened even while it cannot be reached (the app shows why, and recovers), and
        closed when the command ends. A database that answers but cannot serve (its schema behind) still fails."""
        if self._database is None:
            self._database = attach(self.database())
            click.get_current_context().call_on_close(self._database.close)
        return self._database

    def actor(self, source: Source = Source.CLI) -> Actor:
        """Who is acting: the --actor given, else the context's default actor, from this front end. Only commands
        that change something ask who acts: from the command line, that is when the database is announced."""
        if source == Source.CLI:
            self.announce()
        return Actor(source=source, email=self.actor_email or self.database().actor)


# The output flags: (flags, the Settings attribute they set, to what, help).
OUTPUT_FLAGS = [
    (("--json",), "json", True, "Print JSON on stdout."),
    (("-q", "--quiet"), "quiet", True, "Print no messages."),
    (("--wide",), "wide", True, "Show every cell of a table whole (a terminal's width cuts long ones with …)."),
    (("--no-pager",), "pager", False, "Print long output straight to the terminal, not through the pager."),
]

pass_settings = click.make_pass_decorator(Settings, ensure=True)

# A command's callback: the decorators that add options give back what they were given, its signature intact.
Callback = TypeVar("Callback", bound=Callable[..., Any])


def _set(attribute: str, to: bool = True) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            setattr(ctx.ensure_object(Settings), attribute, to)

    return callback


def output_options(command: Callback) -> Callback:
    """The output flags, before the command (``tenantadmin --json db status``) and after it (``tenantadmin db status
    --json``), as scripts tend to write them."""
    for flags, attribute, to, help_text in reversed(OUTPUT_FLAGS):
        command = click.option(*flags, is_flag=True, expose_value=False, callback=_set(attribute, to), help=help_text)(
            command
        )
    return command
