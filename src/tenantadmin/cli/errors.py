"""Exit statuses: 0 done, 1 refused, 2 bad usage or input, 3 database unreachable or schema out of date."""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

from tenantadmin.display import visible
from tenantadmin.errors import ConfigError, DatabaseError, InvalidInput, ServiceError, TenantAdminError

REFUSED = 1
USAGE = 2
DATABASE = 3

# The one table from tenantadmin's errors to exit statuses: the first class in an error's ancestry that is here wins.
EXIT_STATUSES: dict[type[TenantAdminError], int] = {
    InvalidInput: USAGE,
    ConfigError: USAGE,
    ServiceError: REFUSED,
    DatabaseError: DATABASE,
}


class Failure(click.ClickException):
    """One line on stderr: its control characters made visible (a message may quote what the operator typed)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(visible(message))
        # click types exit_code as a class variable, yet reads it from the raised instance (Command.main).
        self.exit_code = exit_code  # type: ignore[misc]


def exit_code_for(error: TenantAdminError) -> int:
    return next((EXIT_STATUSES[kind] for kind in type(error).__mro__ if kind in EXIT_STATUSES), REFUSED)


class Group(click.Group):
    """Turns the typed errors of the layers below into one line on stderr and the right exit status.

    Subcommands are named here and imported only when invoked (click's "lazy group" recipe): a script running
    ``orgs list`` does not pay for importing what ``demo`` or ``db`` need.
    """

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_subcommands])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module, _, name = self.lazy_subcommands[cmd_name].rpartition(".")
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TenantAdminError as error:
            raise Failure(str(error), exit_code_for(error)) from error
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as error:
            if os.environ.get("TENANTADMIN_DEBUG"):
                raise
            raise Failure(
                f"unexpected error: {type(error).__name__}: {error} (TENANTADMIN_DEBUG=1 shows where)", REFUSED
            ) from error
