"""``tenantadmin completion bash|zsh|fish``, and the live values completion offers (click's shell completion).

Commands, options and choices come from click itself; slugs, key ids, member emails and context names come from the
database and the config file, through ``services.completion``, which answers at once or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click
from click.shell_completion import CompletionItem, get_completion_class

from tenantadmin.config import DatabaseChoice, choose_database, read_config
from tenantadmin.errors import TenantAdminError

SHELLS = ("bash", "zsh", "fish")
VARIABLE = "_TENANTADMIN_COMPLETE"  # what the scripts set to ask tenantadmin for completions


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL: commands, options, choices, and live values (organization
    slugs, key ids, member emails, contexts).

    \b
    To install it:
      eval "$(tenantadmin completion bash)"          # in ~/.bashrc
      eval "$(tenantadmin completion zsh)"           # in ~/.zshrc
      tenantadmin completion fish > ~/.config/fish/completions/tenantadmin.fish

    \b
    Example:
      tenantadmin completion bash > ~/.local/share/bash-completion/completions/tenantadmin
    """
    root = ctx.find_root()
    script = get_completion_class(shell)
    assert script is not None  # noqa: S101 (click knows every one of SHELLS)
    click.echo(script(root.command, {}, root.info_name or "tenantadmin", VARIABLE).source())


def _choice(ctx: click.Context) -> DatabaseChoice | None:
    """The database the command line being completed points at (its --database-url, --context, or the usual
    order); None when that cannot be decided (a broken config file: the command itself will say why)."""
    params = ctx.find_root().params
    try:
        return choose_database(params.get("database_url"), params.get("context"))
    except TenantAdminError:
        return None


def one_of(values: Sequence[str]) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    """Completion for an option whose values the service checks (a tier, a key type, a status): they are offered
    here, refused there, so that the TUI and the command line refuse alike."""

    def complete(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        return [CompletionItem(value) for value in values if value.startswith(incomplete)]

    return complete


def _items(values: list[tuple[str, str]]) -> list[CompletionItem]:
    return [CompletionItem(value, help=about) for value, about in values]


def organizations(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from tenantadmin.services import completion as offered  # when completing only: not at every command's start

    choice = _choice(ctx)
    return _items(offered.organizations(choice, incomplete)) if choice else []


def keys(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from tenantadmin.services import completion as offered  # when completing only: not at every command's start

    choice = _choice(ctx)
    return _items(offered.keys(choice, incomplete)) if choice else []


def members(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The emails of the organization already on the command line (``members remove acme <tab>``)."""
    from tenantadmin.services import completion as offered

    choice = _choice(ctx)
    return _items(offered.members(choice, ctx.params.get("org"), incomplete)) if choice else []


def contexts(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    try:
        found = read_config()
    except TenantAdminError:
        return []
    return [
        CompletionItem(name, help=DatabaseChoice(context.database_url, "").where)
        for name, context in found.contexts.items()
        if name.startswith(incomplete)
    ]
