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
    from tenantadmin.config import state_path
    from tenantadmin.services.choices import Source
    from tenantadmin.tui.app import TenantAdminApp

    database = settings.attached()  # an outage is no reason not to open: the app says what is wrong, and recovers
    actor = settings.actor(Source.TUI)
    TenantAdminApp(
        database.engine, actor, recover=database.recover, remembered=state_path(), where=settings.database().where
    ).run()
