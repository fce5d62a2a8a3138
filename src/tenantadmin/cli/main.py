"""``tenantadmin``: the console script."""

from __future__ import annotations

import os
import sys

import click

from tenantadmin import __version__

from . import completion
from .context import Settings, output_options
from .errors import Group


@click.group(
    cls=Group,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    lazy_subcommands={
        name: f"tenantadmin.cli.{module}.{name}"
        for name, module in [
            ("orgs", "orgs"),
            ("members", "members"),
            ("keys", "keys"),
            ("events", "events"),
            ("operators", "operators"),
            ("context", "contexts"),  # cli/context.py is what every command shares
            ("db", "db"),
            ("completion", "completion"),
            ("demo", "demo"),
            ("tui", "tui"),
        ]
    },
)
@click.option("--database-url", metavar="URL", help="PostgreSQL URL (beats TENANTADMIN_DATABASE_URL and config.toml).")
@click.option(
    "--context",
    metavar="NAME",
    shell_complete=completion.contexts,
    help="A context of config.toml: its database and actor (beats TENANTADMIN_CONTEXT).",
)
@click.option(
    "--actor",
    metavar="EMAIL",
    help=(
        "On whose behalf you act, recorded in the audit log as claimed (default: the context's actor). Who acted is"
        " the database role you connect as, which the database records itself."
    ),
)
@output_options
@click.version_option(__version__, "--version", prog_name="tenantadmin")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, context: str | None, actor: str | None) -> None:
    """Administer organizations, members, API keys and the audit log of a multi-tenant platform.

    With no URL configured, tenantadmin runs its own PostgreSQL in your data directory.

    \b
    Example:
      tenantadmin db status
    """
    settings = ctx.ensure_object(Settings)
    settings.database_url = database_url
    settings.context = context
    settings.actor_email = actor
    if ctx.invoked_subcommand is None:
        from .tui import tui

        ctx.invoke(tui)


def main() -> None:
    try:
        cli(prog_name="tenantadmin")
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as Python's documentation recommends
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
