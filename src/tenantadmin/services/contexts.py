"""Contexts, as in kubectl and gh: named databases in config.toml, one of them current.

A record shows a context as an operator may see it: where it points (host and database), its URL with the password
masked, and its default actor; never a password.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenantadmin import config
from tenantadmin.config import DatabaseChoice
from tenantadmin.store.engine import safe_url


@dataclass(frozen=True)
class ContextRecord:
    name: str
    current: bool  # the one config.toml chose (``tenantadmin context use``)
    in_use: bool  # the one this command would use, whatever chose it (a flag, a variable, the file)
    database: str  # host:port/name, or the embedded server
    url: str | None  # password masked; None: the embedded server
    actor: str | None


def list_(in_use: DatabaseChoice) -> list[ContextRecord]:
    """Every context of the config file, the default first."""
    found = config.read_config()
    return [_record(context, found, in_use) for context in found.contexts.values()]


def show(name: str | None, in_use: DatabaseChoice) -> ContextRecord:
    """A context by name; with no name, the one in use (which a flag or a variable may have chosen)."""
    found = config.read_config()
    if name is None:
        name = in_use.context or config.DEFAULT_CONTEXT
        if in_use.context is None and in_use.url is not None:  # a URL from a flag or a variable: no context
            return ContextRecord(
                name=f"none (the URL of {in_use.origin})",
                current=False,
                in_use=True,
                database=in_use.where,
                url=safe_url(in_use.url),
                actor=None,
            )
    return _record(found.context(name, chosen_by="the command line"), found, in_use)


def use(name: str) -> tuple[ContextRecord, DatabaseChoice]:
    """Make ``name`` the current context of the config file. Also returned: what the next command given no flag
    will use, which is another database when a variable overrides the file."""
    found = config.use_context(name)
    following = config.choose_database()
    return _record(found.contexts[name], found, following), following


def _record(context: config.Context, found: config.Config, in_use: DatabaseChoice) -> ContextRecord:
    choice = DatabaseChoice(context.database_url, str(found.path))
    return ContextRecord(
        name=context.name,
        current=context.name == found.current,
        in_use=(in_use.context or config.DEFAULT_CONTEXT) == context.name and in_use.url == context.database_url,
        database=choice.where,
        url=safe_url(context.database_url) if context.database_url else None,
        actor=context.actor,
    )
