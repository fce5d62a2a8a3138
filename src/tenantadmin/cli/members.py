"""``tenantadmin members``: who belongs to an organization, and the invitations that bring people in."""

from __future__ import annotations

import sys

import click

from tenantadmin.services import choices
from tenantadmin.services import members as service
from tenantadmin.services.credentials import PASSWORD_SHORTEST

from . import completion
from .confirm import confirm
from .context import Settings, output_options, pass_settings
from .errors import USAGE, Failure
from .listing import emit_page, list_options
from .output import emit_record, message, plain, to_json, warn

COLUMNS = [
    ("email", "email"),
    ("role", "role"),
    ("status", "status"),
    ("invitation", "invitation"),
    ("invitation_expires_at", "expires"),
    ("joined_at", "joined"),
]
EXPIRES_HELP = f"When the invitation expires: a duration (7d, 48h) or an ISO time; {choices.INVITATION_EXPIRY_HELP}."


def _show_token(settings: Settings, invitation: service.Invitation, verb: str) -> None:
    """The token, once: on stdout with the record (and in the JSON), with a warning on stderr."""
    if settings.json:
        click.echo(to_json(plain(invitation.member) | {"invitation_token": invitation.token}))
    else:
        emit_record(settings, invitation.member)
        click.echo(f"invitation token  {invitation.token}")
    warn(f"{verb}: give the token to {invitation.member.email}; it is shown only this once and cannot be recovered")


@click.group()
def members() -> None:
    """Members and invitations: invite, list, resend, revoke, accept, role, remove.

    \b
    Example:
      tenantadmin members invite acme ada@example.com --role owner
    """


@members.command()
@click.argument("org", shell_complete=completion.organizations)
@click.argument("email", shell_complete=completion.members)
@click.option("--role", default=choices.DEFAULT_ROLE, show_default=True, help=f"{choices.one_of(choices.ROLES)}.")
@click.option("--expires", metavar="WHEN", help=EXPIRES_HELP)
@output_options
@pass_settings
def invite(settings: Settings, org: str, email: str, role: str, expires: str | None) -> None:
    """Invite EMAIL to ORG; prints the one-time invitation token.

    \b
    Example:
      tenantadmin members invite acme ada@example.com --role admin --expires 14d
    """
    invitation = service.invite(settings.engine(), settings.actor(), org, email, role=role, expires=expires)
    _show_token(settings, invitation, "invited")


@members.command(name="list")
@click.argument("org", shell_complete=completion.organizations)
@click.option("--all", "include_past", is_flag=True, help="Also those who left and revoked invitations.")
@list_options
@output_options
@pass_settings
def list_(
    settings: Settings, org: str, include_past: bool, limit: int, after: str | None, fields: tuple[str, ...]
) -> None:
    """List the members and invitations of ORG, owners first.

    \b
    Example:
      tenantadmin members list acme --all --json
    """
    found = service.page(settings.engine(), org, include_past=include_past, after=after, limit=limit)
    emit_page(settings, found, COLUMNS, service.MemberRecord, fields)


@members.command()
@click.argument("org", shell_complete=completion.organizations)
@click.argument("email", shell_complete=completion.members)
@click.option("--expires", metavar="WHEN", help=EXPIRES_HELP)
@output_options
@pass_settings
def resend(settings: Settings, org: str, email: str, expires: str | None) -> None:
    """Make a new invitation token for EMAIL (the old one stops working) and renew its expiry.

    \b
    Example:
      tenantadmin members resend acme ada@example.com
    """
    _show_token(settings, service.resend(settings.engine(), settings.actor(), org, email, expires=expires), "resent")


@members.command()
@click.argument("org", shell_complete=completion.organizations)
@click.argument("email", shell_complete=completion.members)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@output_options
@pass_settings
def revoke(settings: Settings, org: str, email: str, yes: bool) -> None:
    """Revoke the pending invitation of EMAIL to ORG.

    \b
    Example:
      tenantadmin members revoke acme ada@example.com --yes
    """
    confirm(yes, f"Revoke the invitation of {email} to {org}?")
    emit_record(settings, service.revoke(settings.engine(), settings.actor(), org, email))
    message(settings, f"revoked the invitation of {email}")


@members.command()
@click.argument("token", envvar="TENANTADMIN_INVITATION_TOKEN")
@click.option(
    "--password",
    envvar="TENANTADMIN_PASSWORD",
    help="The password (or TENANTADMIN_PASSWORD); asked for at a terminal when not given. `ps` shows this option.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (its first line).")
@output_options
@pass_settings
def accept(settings: Settings, token: str, password: str | None, password_stdin: bool) -> None:
    """Accept an invitation with its TOKEN (or TENANTADMIN_INVITATION_TOKEN, which keeps it out of `ps`).

    Someone new chooses a password (at least 12 characters, typed twice); someone with an account gives its
    password. The token is checked before any password is asked for.

    \b
    Examples:
      TENANTADMIN_INVITATION_TOKEN=tainv_... tenantadmin members accept
      echo "$PASSWORD" | tenantadmin members accept tainv_... --password-stdin
    """
    engine, actor = settings.engine(), settings.actor()
    invitation = service.pending_invitation(engine, token)
    joined = service.accept(engine, actor, token, _password(invitation, password, password_stdin))
    emit_record(settings, joined)
    message(settings, f"{joined.email} joined as {joined.role}")


def _password(invitation: service.PendingInvitation, given: str | None, from_stdin: bool) -> str:
    """The password given, piped, or else asked for at the terminal: once for an existing account (the service says
    whether it is right), twice for a new one (a typo there would lock its owner out)."""
    if from_stdin:
        if given is not None:
            raise Failure("give the password one way: --password-stdin, or --password or TENANTADMIN_PASSWORD", USAGE)
        piped = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not piped:
            raise Failure("no password on standard input (--password-stdin reads its first line)", USAGE)
        return piped
    if given is not None:
        return given
    if sys.stdin is None or not sys.stdin.isatty():
        raise Failure(
            "no terminal to ask for the password: pipe it to --password-stdin, or set TENANTADMIN_PASSWORD", USAGE
        )
    if invitation.has_account:
        asked: str = click.prompt(f"Password of the account of {invitation.email}", hide_input=True)
    else:
        asked = click.prompt(
            f"Choose a password for {invitation.email} (at least {PASSWORD_SHORTEST} characters)",
            hide_input=True,
            confirmation_prompt=True,
        )
    return asked


@members.command()
@click.argument("org", shell_complete=completion.organizations)
@click.argument("email", shell_complete=completion.members)
@click.argument("role", type=click.Choice(choices.ROLES))
@output_options
@pass_settings
def role(settings: Settings, org: str, email: str, role: str) -> None:
    """Change the ROLE of EMAIL in ORG. The last active owner cannot be demoted.

    \b
    Example:
      tenantadmin members role acme ada@example.com owner
    """
    changed = service.change_role(settings.engine(), settings.actor(), org, email, role)
    emit_record(settings, changed)
    message(settings, f"{changed.email} is now {changed.role} of {org}")


@members.command()
@click.argument("org", shell_complete=completion.organizations)
@click.argument("email", shell_complete=completion.members)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@output_options
@pass_settings
def remove(settings: Settings, org: str, email: str, yes: bool) -> None:
    """Remove EMAIL from ORG (the user stays). The last active owner cannot be removed.

    \b
    Example:
      tenantadmin members remove acme ada@example.com --yes
    """
    confirm(yes, f"Remove {email} from {org}?")
    emit_record(settings, service.remove(settings.engine(), settings.actor(), org, email))
    message(settings, f"removed {email} from {org}")
