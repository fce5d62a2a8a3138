"""Where the database is.

The order is the one an operator expects from a command-line tool: the flag beats the environment, which beats the
config file, which beats the embedded default. ``None`` means "use the embedded server".
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tenantadmin.errors import ConfigError

APP_NAME = "tenantadmin"
URL_VARIABLE = "TENANTADMIN_DATABASE_URL"


@dataclass(frozen=True)
class DatabaseChoice:
    url: str | None
    origin: str  # "--database-url", the variable's name, the config file's path, or "embedded"

    @property
    def embedded(self) -> bool:
        return self.url is None


def config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def state_path() -> Path:
    """Where the TUI keeps what it remembers between launches (the theme): the user state directory."""
    return platformdirs.user_state_path(APP_NAME) / "tui.json"


def data_path() -> Path:
    return platformdirs.user_data_path(APP_NAME)


def choose_database(flag_url: str | None = None) -> DatabaseChoice:
    if flag_url:
        return DatabaseChoice(normalise_url(flag_url), "--database-url")
    if env_url := os.environ.get(URL_VARIABLE):
        return DatabaseChoice(normalise_url(env_url), URL_VARIABLE)
    path = config_path()
    if path.is_file():
        try:
            settings = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"cannot read {path}: {error}") from error
        file_url = settings.get("database_url")
        if file_url is not None and not isinstance(file_url, str):
            raise ConfigError(f"{path}: database_url must be a string")
        if file_url:
            return DatabaseChoice(normalise_url(file_url), str(path))
    return DatabaseChoice(None, "embedded")


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
