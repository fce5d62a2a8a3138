"""``tenantadmin tui`` (and bare ``tenantadmin``): the terminal application. Textual is imported only here."""

from __future__ import annotations

import click

from .context import Settings, pass_settings


@click.command()
@pass_settings
def tui(settings: Settings) -> None:
    """Open the terminal application (also what `tenantadmin` alone does).

    \b
    Example:
      tenantadmin --database-url postgresql://admin@db.internal/tenants tui
    """
    from tenantadmin.services.actor import Actor
    from tenantadmin.tui.app import TenantAdminApp

    engine = settings.engine()
    TenantAdminApp(engine, Actor(source="tui", email=settings.actor_email)).run()
