"""Exit statuses: 0 done, 1 refused, 2 bad usage or input, 3 database unreachable or schema out of date."""

from __future__ import annotations

import importlib
import os

import click
import sqlalchemy as sa

from tenantadmin.config import ConfigError
from tenantadmin.services.errors import InvalidInput, ServiceError
from tenantadmin.store.errors import DatabaseError

REFUSED = 1
USAGE = 2
DATABASE = 3


class Failure(click.ClickException):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def exit_code_for(error: ConfigError | ServiceError | DatabaseError) -> int:
    if isinstance(error, (InvalidInput, ConfigError)):
        return USAGE
    if isinstance(error, ServiceError):
        return REFUSED
    return DATABASE


class Group(click.Group):
    """Turns the typed errors of the layers below into one line on stderr and the right exit status.

    Subcommands are named here and imported only when invoked (click's "lazy group" recipe): a script running
    ``orgs list`` does not pay for importing what ``demo`` or ``db`` need.
    """

    def __init__(self, *args, lazy_subcommands: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_subcommands])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module, _, name = self.lazy_subcommands[cmd_name].rpartition(".")
            return getattr(importlib.import_module(module), name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (ConfigError, ServiceError, DatabaseError) as error:
            raise Failure(str(error), exit_code_for(error)) from error
        except sa.exc.OperationalError as error:
            raise Failure(f"the database went away: {str(error.orig).strip().splitlines()[0]}", DATABASE) from error
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as error:
            if os.environ.get("TENANTADMIN_DEBUG"):
                raise
            raise Failure(
                f"unexpected error: {type(error).__name__}: {error} (TENANTADMIN_DEBUG=1 shows where)", REFUSED
            ) from error
