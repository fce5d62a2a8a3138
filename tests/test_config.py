"""Where the database is: --database-url, then TENANTADMIN_DATABASE_URL, then config.toml, else the embedded server."""

from __future__ import annotations

import pytest

from tenantadmin.config import choose_database, config_path, normalise_url
from tenantadmin.errors import ConfigError

FLAG = "postgresql://flag@localhost/one"
VARIABLE = "postgresql+psycopg://variable@localhost/two"
FILED = "postgresql://file@localhost/three"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TENANTADMIN_DATABASE_URL", raising=False)


def write_config(text: str) -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(text, encoding="utf-8")


def test_the_config_file_lives_in_the_user_config_directory(tmp_path):
    assert config_path() == tmp_path / "config" / "tenantadmin" / "config.toml"


def test_nothing_configured_means_the_embedded_server():
    choice = choose_database()
    assert choice.embedded and choice.url is None and choice.origin == "embedded"


def test_the_config_file_is_used_when_nothing_else_is():
    write_config(f'database_url = "{FILED}"\n')
    choice = choose_database()
    assert (choice.url, choice.origin) == (normalise_url(FILED), str(config_path()))


def test_the_variable_beats_the_config_file(monkeypatch):
    write_config(f'database_url = "{FILED}"\n')
    monkeypatch.setenv("TENANTADMIN_DATABASE_URL", VARIABLE)
    choice = choose_database()
    assert (choice.url, choice.origin) == (VARIABLE, "TENANTADMIN_DATABASE_URL")


def test_the_flag_beats_everything(monkeypatch):
    write_config(f'database_url = "{FILED}"\n')
    monkeypatch.setenv("TENANTADMIN_DATABASE_URL", VARIABLE)
    choice = choose_database(FLAG)
    assert (choice.url, choice.origin) == (normalise_url(FLAG), "--database-url")


@pytest.mark.parametrize(
    "url",
    ["postgresql://u:p@h:5433/d", "postgresql+psycopg://u:p@h:5433/d", "postgres://u:p@h:5433/d"],
)
def test_libpq_and_sqlalchemy_url_forms_are_both_accepted(url):
    assert normalise_url(url) == "postgresql+psycopg://u:p@h:5433/d"


@pytest.mark.parametrize("url", ["mysql://u@h/d", "localhost:5432", "postgresql+psycopg2://u@h/d"])
def test_other_urls_are_refused(url):
    with pytest.raises(ConfigError, match="not a PostgreSQL URL"):
        normalise_url(url)


def test_a_broken_config_file_is_reported_with_its_path():
    write_config("database_url = \n")
    with pytest.raises(ConfigError, match=str(config_path())):
        choose_database()


def test_a_config_file_without_a_url_means_the_embedded_server():
    write_config("# nothing yet\n")
    assert choose_database().embedded
