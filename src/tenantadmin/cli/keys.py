"""``tenantadmin keys``: API keys. A key's token is printed once, by the command that makes it."""

from __future__ import annotations

from datetime import UTC

import click

from tenantadmin.services import choices
from tenantadmin.services import keys as service

from . import completion
from .confirm import confirm
from .context import Settings, output_options, pass_settings
from .errors import REFUSED, Failure, shown
from .listing import emit_page, list_options
from .output import emit_record, message, plain, to_json, warn

COLUMNS = [
    ("key_prefix", "key"),
    ("name", "name"),
    ("organization_slug", "org"),
    ("user_email", "user"),
    ("key_type", "type"),
    ("status", "status"),
    ("scopes", "scopes"),
    ("expires_at", "expires"),
    ("grace_ends_at", "grace ends"),
    ("last_used_at", "last used"),
]


def _show_token(settings: Settings, issued: service.IssuedKey) -> None:
    if settings.json:
        click.echo(to_json(plain(issued.key) | {"token": issued.token}))
    else:
        emit_record(settings, issued.key)
        click.echo(f"token  {issued.token}")
    warn("store the token now: it is shown only this once and cannot be recovered")


@click.group()
def keys() -> None:
    """API keys: issue, list, show, revoke, roll, verify.

    \b
    Example:
      tenantadmin keys issue acme ada@example.com --name ci --scope orgs:read
    """


@keys.command()
@click.argument("org", shell_complete=completion.organizations)
@click.argument("user", shell_complete=completion.members)
@click.option("--name", required=True, help="What the key is for.")
@click.option(
    "--type",
    "key_type",
    default=choices.DEFAULT_KEY_TYPE,
    show_default=True,
    shell_complete=completion.one_of(choices.KEY_TYPES),
    help=f"{choices.one_of(choices.KEY_TYPES)}.",
)
@click.option("--scope", "scopes", multiple=True, help="A scope the key grants (repeatable), like orgs:read.")
@click.option("--expires", metavar="WHEN", help="A duration (90d) or an ISO time; default: never.")
@click.option("--allow-ip", "allowed_ips", multiple=True, help="An IP or CIDR range it may be used from (repeatable).")
@click.option("--usage-limit", type=int, help="How many verifications it allows in all.")
@click.option("--description", help="A longer description.")
@output_options
@pass_settings
def issue(
    settings: Settings,
    org: str,
    user: str,
    name: str,
    key_type: str,
    scopes: tuple[str, ...],
    expires: str | None,
    allowed_ips: tuple[str, ...],
    usage_limit: int | None,
    description: str | None,
) -> None:
    """Issue a key in ORG for USER (an active member's email); prints the token once.

    \b
    Example:
      tenantadmin keys issue acme ada@example.com --name ci --type service --scope orgs:read --expires 90d
    """
    issued = service.issue(
        settings.engine(),
        settings.actor(),
        org,
        user,
        name=name,
        key_type=key_type,
        scopes=scopes,
        expires=expires,
        allowed_ips=allowed_ips,
        usage_limit=usage_limit,
        description=description,
    )
    _show_token(settings, issued)


@keys.command(name="list")
@click.option("--org", shell_complete=completion.organizations, help="Only the keys of this organization.")
@click.option("--user", shell_complete=completion.members, help="Only the keys of this user (email).")
@click.option(
    "--status",
    shell_complete=completion.one_of(choices.KEY_STATUSES),
    help=f"Only keys that are {choices.one_of(choices.KEY_STATUSES)}.",
)
@list_options
@output_options
@pass_settings
def list_(
    settings: Settings,
    org: str | None,
    user: str | None,
    status: str | None,
    limit: int,
    after: str | None,
    fields: tuple[str, ...],
) -> None:
    """List keys, newest first (never a secret or a hash).

    \b
    Example:
      tenantadmin keys list --org acme --status active
    """
    found = service.page(settings.engine(), org=org, user=user, status=status, after=after, limit=limit)
    emit_page(settings, found, COLUMNS, service.KeyRecord, fields)


@keys.command()
@click.argument("key_id", shell_complete=completion.keys)
@output_options
@pass_settings
def show(settings: Settings, key_id: str) -> None:
    """Show one key by its KEY_ID (or its prefix ta_KEY_ID).

    \b
    Example:
      tenantadmin keys show ta_3kT9xQ2mL0aB
    """
    emit_record(settings, service.show(settings.engine(), key_id))


@keys.command()
@click.argument("key_id", shell_complete=completion.keys)
@click.option("--reason", required=True, help="Why: recorded in the audit log.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@output_options
@pass_settings
def revoke(settings: Settings, key_id: str, reason: str, yes: bool) -> None:
    """Revoke a key at once. Revoking a revoked key is refused.

    \b
    Example:
      tenantadmin keys revoke ta_3kT9xQ2mL0aB --reason "leaked in a CI log" --yes
    """
    confirm(yes, f"Revoke key {shown(key_id)}? Programs using it stop working now")  # a pasted token's secret, cut
    revoked = service.revoke(settings.engine(), settings.actor(), key_id, reason=reason)
    emit_record(settings, revoked)
    message(settings, f"revoked key {revoked.key_prefix}")


@keys.command()
@click.argument("key_id", shell_complete=completion.keys)
@click.option("--grace", metavar="DURATION", help=f"How long the old key keeps working ({choices.ROLL_GRACE_HELP}).")
@output_options
@pass_settings
def roll(settings: Settings, key_id: str, grace: str | None) -> None:
    """Replace a key by a new one with the same settings; the old one expires after the grace period.

    \b
    Example:
      tenantadmin keys roll ta_3kT9xQ2mL0aB --grace 1h
    """
    rolled = service.roll(settings.engine(), settings.actor(), key_id, grace=grace)
    _show_token(settings, rolled)
    old = rolled.replaced
    if old is not None:
        until = old.grace_ends_at
        still = f"keeps working until {until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if until else f"is {old.status}"
        message(settings, f"{old.key_prefix} {still}; {rolled.key.key_prefix} replaces it")


@keys.command()
@click.argument("token", envvar="TENANTADMIN_KEY")
@click.option("--ip", help="The address the request came from.")
@output_options
@pass_settings
def verify(settings: Settings, token: str, ip: str | None) -> None:
    """Check a TOKEN (or TENANTADMIN_KEY) as an API would: exits 0 when valid, 1 with the reason when not.

    \b
    Example:
      tenantadmin keys verify "$TOKEN" --ip 203.0.113.7 --json
    """
    result = service.verify(settings.engine(), token, ip=ip)
    emit_record(settings, result)
    if not result.valid:
        raise Failure(f"key not valid: {result.reason}", REFUSED)
