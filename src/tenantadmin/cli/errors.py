"""Exit statuses: 0 done, 1 refused, 2 bad usage or input, 3 database unreachable or schema out of date."""

from __future__ import annotations

import importlib
import os
import re
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


# Anything shaped like one of tenantadmin's tokens, in any case: an API key's (``ta_<key id>_<secret>``, its public
# ``ta_<key id>`` kept) or an invitation's (``tainv_<secret>``). Quotes around it, or a mistyped separator, change
# nothing: whatever follows the public part is cut.
_TOKEN_LIKE = re.compile(r"(?<![0-9a-z])(?P<public>tainv_|ta_[0-9a-z]{1,12}+)(?P<secret>[\w-]+)", re.IGNORECASE)


def shown(message: str) -> str:
    """A message as the terminal may show it: any token in it cut after its public part (a message may quote what
    the operator typed, and operators paste secrets where they do not belong), its control characters visible."""
    return visible(_TOKEN_LIKE.sub(r"\g<public>…", message))


class Failure(click.ClickException):
    """One line on stderr, ``shown``."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(shown(message))
        # click types exit_code as a class variable, yet reads it from the raised instance (Command.main).
        self.exit_code = exit_code  # type: ignore[misc]


def exit_code_for(error: TenantAdminError) -> int:
    return next((EXIT_STATUSES[kind] for kind in type(error).__mro__ if kind in EXIT_STATUSES), REFUSED)


class UsageFailure(click.UsageError):
    """One of click's usage errors (no such command, a bad value, an extra argument), ``shown``: these quote what
    was typed too. Its usage line and hint are click's."""

    def __init__(self, error: click.UsageError) -> None:
        super().__init__(shown(error.format_message()), error.ctx)


def _shown(error: click.ClickException) -> click.ClickException:
    if isinstance(error, click.UsageError):
        return UsageFailure(error)
    return Failure(error.format_message(), error.exit_code)


class Group(click.Group):
    """Turns the typed errors of the layers below, and click's own, into one line on stderr and the right exit status.

    Subcommands are named here and imported only when invoked (click's "lazy group" recipe): a script running
    ``orgs list`` does not pay for importing what ``demo`` or ``db`` need. A noun in the singular names the command of
    its plural (``org list``), and a mistyped name is answered with the nearest (click's suggestion, over the lazy
    subcommands too); neither adds a name to ``--help``.
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

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        names = self.list_commands(ctx)
        name, *rest = args
        if name not in names and f"{name}s" in names:
            name = f"{name}s"
        try:
            return super().resolve_command(ctx, [name, *rest])
        except click.exceptions.NoSuchCommand as error:
            raise click.exceptions.NoSuchCommand(error.command_name, possibilities=names, ctx=ctx) from error

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as error:
            raise _shown(error) from error

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TenantAdminError as error:
            raise Failure(str(error), exit_code_for(error)) from error
        except click.ClickException as error:
            raise _shown(error) from error
        except (click.exceptions.Exit, click.Abort, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as error:
            if os.environ.get("TENANTADMIN_DEBUG"):
                raise
            raise Failure(
                f"unexpected error: {type(error).__name__}: {error} (TENANTADMIN_DEBUG=1 shows where)", REFUSED
            ) from error
