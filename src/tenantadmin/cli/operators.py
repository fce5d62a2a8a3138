"""``tenantadmin operators``: which login roles hold tenantadmin's roles, and on which organizations."""

from __future__ import annotations

from typing import Any

import click

from tenantadmin.services import choices
from tenantadmin.services import operators as service

from . import completion
from .confirm import confirm
from .context import Settings, output_options, pass_settings
from .output import emit_record, emit_table, message

COLUMNS = [("login", "login"), ("roles", "role"), ("organizations", "organizations"), ("granted_by", "granted by")]
EVERY_ORGANIZATION = "(every one)"


def _shown(record: service.OperatorRecord, settings: Settings) -> Any:
    """In JSON ``organizations`` is null for every organization; a table says so in words."""
    if settings.json or record.organizations is not None:
        return record
    return {name: getattr(record, name) for name, _ in COLUMNS} | {"organizations": EVERY_ORGANIZATION}


@click.group()
def operators() -> None:
    """Operators: which database logins hold tenantadmin's roles (admin, operator, auditor, verifier).

    \b
    A DBA makes the login and how it authenticates (README, "Who acted"); an admin then grants it one role, on
    every organization or, with --org, on some only: it then sees and changes nothing else.

    \b
    Example:
      tenantadmin operators grant alice --role operator --org acme
    """


@operators.command(name="list")
@output_options
@pass_settings
def list_(settings: Settings) -> None:
    """List the logins that hold a tenantadmin role, with the organizations each may see.

    \b
    Example:
      tenantadmin operators list
    """
    emit_table(settings, [_shown(record, settings) for record in service.list_(settings.engine())], COLUMNS)


@operators.command()
@click.argument("login")
@click.option(
    "--role",
    required=True,
    type=click.Choice(choices.OPERATOR_ROLES),
    help=f"{choices.one_of(choices.OPERATOR_ROLES)}: replaces the role LOGIN held.",
)
@click.option(
    "--org",
    "orgs",
    multiple=True,
    metavar="SLUG",
    shell_complete=completion.organizations,
    help="Only this organization (repeat for more); default: every organization. Not for admin.",
)
@output_options
@pass_settings
def grant(settings: Settings, login: str, role: str, orgs: tuple[str, ...]) -> None:
    """Give the login role LOGIN the tenantadmin role --role (and no other).

    \b
    Example:
      tenantadmin operators grant alice --role auditor --org acme --org globex
    """
    record = service.grant(settings.engine(), settings.actor(), login, role, orgs)
    emit_record(settings, _shown(record, settings))
    message(settings, f"granted: {record.login} is now {role}")


@operators.command()
@click.argument("login")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@output_options
@pass_settings
def revoke(settings: Settings, login: str, yes: bool) -> None:
    """Take every tenantadmin role from LOGIN: it can no longer use tenantadmin (the login itself stays).

    \b
    Example:
      tenantadmin operators revoke alice --yes
    """
    confirm(yes, f"Revoke every tenantadmin role of {login}?", refusal="pass --yes to revoke without a prompt")
    record = service.revoke(settings.engine(), settings.actor(), login)
    emit_record(settings, _shown(record, settings))
    message(settings, f"revoked: {record.login} holds no tenantadmin role now")
