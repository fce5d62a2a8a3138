"""``tenantadmin context``: the named databases of config.toml, and which one is current."""

from __future__ import annotations

import os

import click

from tenantadmin.config import CONTEXT_VARIABLE, URL_VARIABLE, config_path
from tenantadmin.services import contexts

from . import completion
from .context import Settings, output_options, pass_settings
from .output import emit_record, emit_table, message, warn

COLUMNS = [("name", "name"), ("current", "current"), ("in_use", "in use"), ("database", "database"), ("actor", "actor")]


@click.group()
def context() -> None:
    """Contexts: named databases (and default actors) in config.toml, one of them current.

    \b
    A context is a table of config.toml:
      [contexts.prod]
      database_url = "postgresql://admin@db.internal/tenants"
      actor = "ops@example.com"   # optional: the default --actor
    Chosen by --context NAME, else TENANTADMIN_CONTEXT, else `tenantadmin context use NAME`. The context `default`
    is the file's own database_url, else the embedded server.

    \b
    Example:
      tenantadmin context use prod
    """


@context.command(name="list")
@output_options
@pass_settings
def list_(settings: Settings) -> None:
    """List the contexts of config.toml.

    \b
    Example:
      tenantadmin context list
    """
    emit_table(settings, contexts.list_(settings.database()), COLUMNS)


@context.command()
@click.argument("name", required=False, shell_complete=completion.contexts)
@output_options
@pass_settings
def show(settings: Settings, name: str | None) -> None:
    """Show a context (default: the one in use).

    \b
    Example:
      tenantadmin context show prod
    """
    emit_record(settings, contexts.show(name, settings.database()))


@context.command()
@click.argument("name", shell_complete=completion.contexts)
@output_options
@pass_settings
def use(settings: Settings, name: str) -> None:
    """Make NAME the current context (written into config.toml; `default` goes back to no named context).

    \b
    Example:
      tenantadmin context use prod
    """
    chosen, following = contexts.use(name)
    emit_record(settings, chosen)
    message(settings, f"context {chosen.name} ({chosen.database}) is now the current one, in {config_path()}")
    if not chosen.in_use:
        overriding = " or ".join(name for name in (URL_VARIABLE, CONTEXT_VARIABLE) if os.environ.get(name))
        warn(f"but {overriding} overrides it in this environment: commands here use {following.where}")
