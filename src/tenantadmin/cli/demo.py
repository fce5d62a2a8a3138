"""``tenantadmin demo``: sample data to look around with."""

from __future__ import annotations

import click

from tenantadmin.services import demo as service

from .context import Settings, output_options, pass_settings
from .output import emit_record, message


@click.command()
@output_options
@pass_settings
def demo(settings: Settings) -> None:
    """Fill an empty database with sample organizations, members, invitations, keys and their events.

    Refused when the database already holds organizations. Every demo member's password is
    "demo-password-not-for-production".

    \b
    Example:
      tenantadmin demo && tenantadmin orgs list
    """
    message(settings, "making sample data through the services (a few seconds: passwords and keys are hashed)")
    emit_record(settings, service.fill(settings.engine()))
