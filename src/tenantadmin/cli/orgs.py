"""``tenantadmin orgs``: the organizations (tenants)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click

from tenantadmin.services import choices, organizations, validation

from . import completion
from .confirm import confirm
from .context import Callback, Settings, output_options, pass_settings
from .errors import USAGE, Failure
from .listing import emit_page, list_options
from .output import emit_record, message

COLUMNS = [
    ("name", "name"),
    ("slug", "slug"),
    ("status", "status"),
    ("subscription_tier", "tier"),
    ("member_count", "members"),
    ("key_count", "keys"),
    ("created_at", "created"),
]


# What organization_fields' options give: text, or a JSON object (--settings, --metadata); None when not given.
# create and update take them as **options, after a positional-only settings (as pass_settings passes it).
FieldValue = str | dict[str, Any] | None


def _json_object(_ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, Any] | None:
    """The option's JSON, parsed; the service checks what it holds (validation.json_object), but what json.loads
    itself cannot read is said here: nesting past Python's recursion limit, a number of more digits than it
    converts."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error.msg}", param=param) from None
    except RecursionError:
        raise click.BadParameter(f"too deep: at most {validation.JSON_DEEPEST} levels", param=param) from None
    except ValueError:
        raise click.BadParameter("a number has too many digits", param=param) from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("a JSON object, like '{\"seats\": 10}'", param=param)
    return parsed


def organization_fields(command: Callback) -> Callback:
    """The optional fields of an organization, as options (create and update share them)."""
    for name, help_text in reversed(
        [
            ("description", "What the organization is."),
            ("domain", "Its internet domain, a host name (acme.example)."),
            ("email", "Contact email."),
            ("phone", "Contact phone."),
            ("website", "Its website."),
            ("address-line1", "Address, first line."),
            ("address-line2", "Address, second line."),
            ("city", "City."),
            ("state", "State or region."),
            ("country", "Country."),
            ("postal-code", "Postal code."),
            ("tier", f"Subscription tier: {choices.one_of(choices.TIERS)} (default: {choices.DEFAULT_TIER})."),
        ]
    ):
        command = click.option(f"--{name}", help=help_text)(command)
    limits = f"at most {validation.JSON_LARGEST // 1024} KiB and {validation.JSON_DEEPEST} levels deep"
    command = click.option(
        "--settings",
        "settings_object",
        callback=_json_object,
        metavar="JSON",
        help=f"Settings, a JSON object ({limits}).",
    )(command)
    return click.option(
        "--metadata", callback=_json_object, metavar="JSON", help=f"Metadata, a JSON object ({limits})."
    )(command)


def _given(options: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    renamed = {"tier": "subscription_tier", "settings_object": "settings"}
    return {renamed.get(name, name): value for name, value in options.items() if value is not None}


@click.group()
def orgs() -> None:
    """Organizations: create, list, show, update, suspend, reactivate, delete.

    \b
    Example:
      tenantadmin orgs create "Acme Corporation" --slug acme
    """


@orgs.command()
@click.argument("name")
@click.option("--slug", required=True, help="Short unique name: lower-case words joined by hyphens (acme-corp).")
@organization_fields
@output_options
@pass_settings
def create(settings: Settings, /, name: str, slug: str, **options: FieldValue) -> None:
    """Create an organization.

    \b
    Example:
      tenantadmin orgs create "Acme Corporation" --slug acme --tier pro --domain acme.example
    """
    created = organizations.create(settings.engine(), settings.actor(), name=name, slug=slug, **_given(options))
    emit_record(settings, created)
    message(settings, f"created organization {created.slug}")


@orgs.command(name="list")
@click.option(
    "--status",
    shell_complete=completion.one_of(choices.ORGANIZATION_STATUSES),
    help=f"Only those {choices.one_of(choices.ORGANIZATION_STATUSES)}; deleted ones are listed only so.",
)
@click.option("--search", help="Text to look for in name, slug and domain.")
@list_options
@output_options
@pass_settings
def list_(
    settings: Settings, status: str | None, search: str | None, limit: int, after: str | None, fields: tuple[str, ...]
) -> None:
    """List organizations, newest first.

    \b
    Example:
      tenantadmin orgs list --status suspended --json
    """
    found = organizations.page(settings.engine(), status=status, search=search, after=after, limit=limit)
    emit_page(settings, found, COLUMNS, organizations.OrganizationRecord, fields)


@orgs.command()
@click.argument("org", shell_complete=completion.organizations)
@output_options
@pass_settings
def show(settings: Settings, org: str) -> None:
    """Show one organization (by slug or id), with its member and key counts. A slug names the organization that
    holds it, else the one deleted last that had it.

    \b
    Example:
      tenantadmin orgs show acme
    """
    emit_record(settings, organizations.show(settings.engine(), org))


@orgs.command()
@click.argument("org", shell_complete=completion.organizations)
@click.option("--name", help="New name.")
@click.option("--slug", help="New slug (the old one is given back).")
@organization_fields
@output_options
@pass_settings
def update(settings: Settings, /, org: str, **options: FieldValue) -> None:
    """Change fields of an organization; the event records each one before and after.

    \b
    Example:
      tenantadmin orgs update acme --name "Acme Corp" --tier enterprise
    """
    changes = _given(options)
    if not changes:
        raise Failure("nothing to update: give at least one option (see --help)", USAGE)
    updated = organizations.update(settings.engine(), settings.actor(), org, **changes)
    emit_record(settings, updated)
    message(settings, f"updated organization {updated.slug}")


@orgs.command()
@click.argument("org", shell_complete=completion.organizations)
@click.option("--reason", required=True, help="Why: recorded in the audit log.")
@output_options
@pass_settings
def suspend(settings: Settings, org: str, reason: str) -> None:
    """Suspend an organization: its keys stop verifying until it is reactivated.

    \b
    Example:
      tenantadmin orgs suspend acme --reason "unpaid invoice 2026-11"
    """
    suspended = organizations.suspend(settings.engine(), settings.actor(), org, reason=reason)
    emit_record(settings, suspended)
    message(settings, f"suspended organization {suspended.slug}")


@orgs.command()
@click.argument("org", shell_complete=completion.organizations)
@output_options
@pass_settings
def reactivate(settings: Settings, org: str) -> None:
    """Make a suspended or inactive organization active again.

    \b
    Example:
      tenantadmin orgs reactivate acme
    """
    active = organizations.reactivate(settings.engine(), settings.actor(), org)
    emit_record(settings, active)
    message(settings, f"reactivated organization {active.slug}")


@orgs.command()
@click.argument("org", shell_complete=completion.organizations)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@output_options
@pass_settings
def delete(settings: Settings, org: str, yes: bool) -> None:
    """Delete an organization: it is kept as `deleted`, its keys are revoked, its pending invitations voided.

    \b
    Example:
      tenantadmin orgs delete acme --yes
    """
    confirm(yes, f"Delete organization {org}, revoking all its keys?")
    deleted = organizations.delete(settings.engine(), settings.actor(), org)
    emit_record(settings, deleted)
    message(settings, f"deleted organization {deleted.slug}")
