"""Where the database is, and the config file that names it.

The order is the one an operator expects from a command-line tool: a flag (``--database-url``, ``--context``) beats
the environment (``TENANTADMIN_DATABASE_URL``, then ``TENANTADMIN_CONTEXT``), which beats the config file (its current
``context``, then its ``database_url``), which beats the embedded default.

The config file is read strictly, as kubectl and ssh read theirs: a key it does not know, or a value of the wrong
type, is an error naming the file, the key and the keys it knows (a misspelt ``database-url`` silently ignored would
send an operator's commands to the wrong database); a file another user owns or can write is refused, since whoever
can write it chooses where every command goes.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tenantadmin.errors import ConfigError

APP_NAME = "tenantadmin"
URL_VARIABLE = "TENANTADMIN_DATABASE_URL"
CONTEXT_VARIABLE = "TENANTADMIN_CONTEXT"
DEFAULT_CONTEXT = "default"  # as docker's: no named context, the config's own database_url, else the embedded server

TOP_LEVEL_KEYS: Mapping[str, type] = {"database_url": str, "context": str, "contexts": dict}
CONTEXT_KEYS: Mapping[str, type] = {"database_url": str, "actor": str}


@dataclass(frozen=True)
class Context:
    """A named database, and who acts on it unless ``--actor`` says otherwise. No URL: the embedded server."""

    name: str
    database_url: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class Config:
    path: Path
    database_url: str | None = None  # the default context's
    current: str = DEFAULT_CONTEXT  # the context ``tenantadmin context use`` chose
    contexts: dict[str, Context] = field(default_factory=dict)  # the named ones, and the default

    def context(self, name: str, *, chosen_by: str) -> Context:
        try:
            return self.contexts[name]
        except KeyError:
            raise ConfigError(
                f"no context {name!r} (chosen by {chosen_by}): {self.path} defines {', '.join(sorted(self.contexts))}"
            ) from None


@dataclass(frozen=True)
class DatabaseChoice:
    url: str | None
    origin: str  # "--database-url", a variable's name, the config file's path, "--context", or "embedded"
    context: str | None = None  # the context it comes from; None for a URL given by flag or variable
    actor: str | None = None  # the context's default actor

    @property
    def embedded(self) -> bool:
        return self.url is None

    @property
    def where(self) -> str:
        """Which database, for an operator to recognise before acting: the context, the database's name and its
        host (``context prod: tenants on db.internal:6432``); never a password."""
        if self.url is None:
            place = "the embedded server"
        else:
            url = make_url(self.url)
            host = url.host or str(url.query.get("host") or "localhost")  # a socket's directory is in the query
            place = f"{url.database or url.username or 'postgres'} on {host}{f':{url.port}' if url.port else ''}"
        return f"context {self.context}: {place}" if self.context else place


def config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def state_path() -> Path:
    """Where the TUI keeps what it remembers between launches (the theme): the user state directory."""
    return platformdirs.user_state_path(APP_NAME) / "tui.json"


def data_path() -> Path:
    return platformdirs.user_data_path(APP_NAME)


def read_config() -> Config:
    """The config file, checked; a missing file is an empty one."""
    path = config_path()
    if not path.exists():
        return Config(path, contexts={DEFAULT_CONTEXT: Context(DEFAULT_CONTEXT)})
    _check_ownership(path)
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    _check_keys(path, settings, TOP_LEVEL_KEYS, "")
    default_url = _url(path, settings.get("database_url"), "database_url")
    contexts = {DEFAULT_CONTEXT: Context(DEFAULT_CONTEXT, default_url)}
    for name, table in settings.get("contexts", {}).items():
        where = f"contexts.{name}"
        if name == DEFAULT_CONTEXT:
            raise ConfigError(f"{path}: [{where}] is reserved: the default context is the top-level database_url")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {where} must be a table ([{where}] with {_known(CONTEXT_KEYS)})")
        _check_keys(path, table, CONTEXT_KEYS, f"{where}.")
        url = _url(path, table.get("database_url"), f"{where}.database_url")
        contexts[name] = Context(name, url, table.get("actor"))
    current = settings.get("context", DEFAULT_CONTEXT)
    config = Config(path, default_url, current, contexts)
    config.context(current, chosen_by=f"context = {current!r} in {path}")
    return config


def choose_database(flag_url: str | None = None, flag_context: str | None = None) -> DatabaseChoice:
    config = read_config()  # even when a flag decides: a broken config file is never silently passed over
    if flag_url and flag_context:
        raise ConfigError("give --database-url or --context, not both")
    if flag_url:
        return DatabaseChoice(normalise_url(flag_url), "--database-url")
    if flag_context:
        return _from_context(config, flag_context, "--context")
    if env_url := os.environ.get(URL_VARIABLE):
        return DatabaseChoice(normalise_url(env_url), URL_VARIABLE)
    if env_context := os.environ.get(CONTEXT_VARIABLE):
        return _from_context(config, env_context, CONTEXT_VARIABLE)
    return _from_context(config, config.current, str(config.path))


def _from_context(config: Config, name: str, chosen_by: str) -> DatabaseChoice:
    context = config.context(name, chosen_by=chosen_by)
    if context.database_url is None:
        return DatabaseChoice(None, "embedded", None if name == DEFAULT_CONTEXT else name, context.actor)
    origin = str(config.path) if chosen_by == str(config.path) else f"{chosen_by} (in {config.path})"
    return DatabaseChoice(context.database_url, origin, name, context.actor)


def use_context(name: str) -> Config:
    """Make ``name`` the current context, in the config file (comments and layout kept: tomlkit edits it in place).
    The file is written whole to a new file and renamed over the old, readable by its owner only."""
    import tomlkit

    config = read_config()
    config.context(name, chosen_by="tenantadmin context use")
    document = tomlkit.parse(config.path.read_text(encoding="utf-8")) if config.path.exists() else tomlkit.document()
    if name == DEFAULT_CONTEXT:
        document.pop("context", None)
    else:
        document["context"] = name
    config.path.parent.mkdir(parents=True, exist_ok=True)
    written = config.path.with_name(f".{config.path.name}.{os.getpid()}")
    descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(tomlkit.dumps(document))
    written.replace(config.path)
    return read_config()


def _check_ownership(path: Path) -> None:
    """As ssh does with its config: a file someone else owns or can write is not ours to trust."""
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid not in {os.getuid(), 0}:
        raise ConfigError(f"refusing {path}: it belongs to another user (uid {info.st_uid})")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(f"refusing {path}: other users can write it (chmod go-w {path})")


def _check_keys(path: Path, table: dict[str, Any], known: Mapping[str, type], prefix: str) -> None:
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{path}: unknown key {prefix}{key!r} (known keys: {_known(known)})")
        if not isinstance(value, known[key]):
            kind = "a table" if known[key] is dict else "a string"
            raise ConfigError(f"{path}: {prefix}{key} must be {kind}, not {type(value).__name__}")


def _known(keys: Mapping[str, type]) -> str:
    return ", ".join(sorted(keys))


def _url(path: Path, url: str | None, key: str) -> str | None:
    if not url:
        return None
    try:
        return normalise_url(url)
    except ConfigError as error:
        raise ConfigError(f"{path}: {key}: {error}") from None


def masked_url(url: str) -> str:
    """A URL as a command line may be shown again: its password masked (one that cannot be read is masked whole)."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except (ConfigError, ArgumentError, ValueError):
        return "***"


def normalise_url(url: str) -> str:
    """Accept the URL forms operators paste (libpq's and SQLAlchemy's) and return SQLAlchemy's psycopg 3 form.

    A refusal never repeats the URL: it may hold a password."""
    expected = "expected postgresql://user:password@host:port/database"
    scheme, separator, rest = url.strip().partition("://")
    if not separator or scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
        shown = f" (its scheme is {scheme!r})" if separator else ""
        raise ConfigError(f"not a PostgreSQL URL{shown}: {expected}")
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"malformed database URL: it holds bytes that are not UTF-8 ({expected})") from None
    normalised = f"postgresql+psycopg://{rest}"
    try:
        make_url(normalised)
    except (ArgumentError, ValueError) as error:
        raise ConfigError(f"malformed database URL ({expected})") from error
    return normalised
