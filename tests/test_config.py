"""Where the database is: --database-url, then TENANTADMIN_DATABASE_URL, then config.toml, else the embedded server."""

from __future__ import annotations

import os
import re
import stat

import pytest

from tenantadmin.config import choose_database, config_path, normalise_url, use_context
from tenantadmin.errors import ConfigError

FLAG = "postgresql://flag@localhost/one"
VARIABLE = "postgresql+psycopg://variable@localhost/two"
FILED = "postgresql://file@localhost/three"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TENANTADMIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("TENANTADMIN_CONTEXT", raising=False)


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


# Strict configuration (issue 11, requirement 5): nothing in config.toml is silently passed over.


def test_a_misspelt_key_is_an_error_naming_the_file_the_key_and_the_known_keys():
    write_config(f'database-url = "{FILED}"\n')
    with pytest.raises(ConfigError) as refused:
        choose_database()
    message = str(refused.value)
    assert str(config_path()) in message and "'database-url'" in message
    assert "known keys: context, contexts, database_url" in message


def test_a_misspelt_key_in_a_context_is_an_error_too():
    write_config(f'[contexts.prod]\ndatabase_url = "{FILED}"\nactr = "ops@example.com"\n')
    with pytest.raises(ConfigError, match=r"unknown key contexts\.prod\.'actr' \(known keys: actor, database_url\)"):
        choose_database()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("database_url = 5\n", "database_url must be a string, not int"),
        ('contexts = "prod"\n', "contexts must be a table, not str"),
        ("[contexts]\nprod = 1\n", "contexts.prod must be a table"),
        ("[contexts.prod]\ndatabase_url = true\n", "contexts.prod.database_url must be a string, not bool"),
        ('context = ["prod"]\n', "context must be a string, not list"),
    ],
)
def test_a_value_of_the_wrong_type_is_an_error(text, complaint):
    write_config(text)
    with pytest.raises(ConfigError, match=re.escape(complaint)):
        choose_database()


def test_a_broken_config_file_is_an_error_even_when_a_flag_chooses_the_database():
    write_config(f'databse_url = "{FILED}"\n')
    with pytest.raises(ConfigError, match="databse_url"):
        choose_database(FLAG)


def test_a_config_file_others_can_write_is_refused():
    write_config(f'database_url = "{FILED}"\n')
    config_path().chmod(0o664)
    with pytest.raises(ConfigError, match="other users can write it"):
        choose_database()
    config_path().chmod(0o644)
    assert choose_database().url == normalise_url(FILED)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away takes root")
def test_a_config_file_another_user_owns_is_refused():
    write_config(f'database_url = "{FILED}"\n')
    os.chown(config_path(), 65534, 65534)
    with pytest.raises(ConfigError, match=r"belongs to another user \(uid 65534\)"):
        choose_database()


def test_a_bad_url_in_the_file_names_the_key_and_never_the_password():
    write_config('[contexts.prod]\ndatabase_url = "mysql://admin:hunter2@db/tenants"\n')
    with pytest.raises(ConfigError) as refused:
        choose_database(flag_context="prod")
    assert "contexts.prod.database_url" in str(refused.value) and "hunter2" not in str(refused.value)


# Contexts (issue 11, requirement 4).

CONTEXTS = f"""# the databases I work on
[contexts.prod]
database_url = "{FLAG}"
actor = "ops@example.com"

[contexts.staging]
database_url = "{FILED}"
"""


def test_a_context_is_chosen_by_flag_then_variable_then_the_file(monkeypatch):
    write_config(f'context = "staging"\n{CONTEXTS}')
    assert (choose_database().context, choose_database().url) == ("staging", normalise_url(FILED))
    monkeypatch.setenv("TENANTADMIN_CONTEXT", "prod")
    assert choose_database().context == "prod"
    assert choose_database(flag_context="staging").context == "staging"
    monkeypatch.setenv("TENANTADMIN_DATABASE_URL", VARIABLE)  # a URL beats a context named in the environment
    assert choose_database().url == VARIABLE and choose_database().context is None
    assert choose_database(flag_context="prod").context == "prod"  # a flag beats the environment


def test_a_context_carries_its_default_actor():
    write_config(CONTEXTS)
    choice = choose_database(flag_context="prod")
    assert (choice.url, choice.actor, choice.origin) == (
        normalise_url(FLAG),
        "ops@example.com",
        f"--context (in {config_path()})",
    )


def test_an_unknown_context_is_an_error_listing_the_known_ones(monkeypatch):
    write_config(CONTEXTS)
    with pytest.raises(
        ConfigError, match=r"no context 'prd' \(chosen by --context\): .* defines default, prod, staging"
    ):
        choose_database(flag_context="prd")
    monkeypatch.setenv("TENANTADMIN_CONTEXT", "qa")
    with pytest.raises(ConfigError, match="chosen by TENANTADMIN_CONTEXT"):
        choose_database()


def test_a_url_and_a_context_both_given_by_flag_is_an_error():
    write_config(CONTEXTS)
    with pytest.raises(ConfigError, match="not both"):
        choose_database(FLAG, "prod")


def test_where_names_the_context_host_and_database_and_never_the_password():
    write_config('[contexts.prod]\ndatabase_url = "postgresql://admin:hunter2@db.internal:6432/tenants"\n')
    assert choose_database(flag_context="prod").where == "context prod: tenants on db.internal:6432"
    assert choose_database().where == "the embedded server"


def test_using_a_context_edits_the_file_keeping_its_comments_readable_by_its_owner_only():
    write_config(CONTEXTS)
    use_context("prod")
    text = config_path().read_text(encoding="utf-8")
    assert text == CONTEXTS.replace("\n", '\ncontext = "prod"\n\n', 1)  # the comment, then the key
    assert choose_database().context == "prod"
    assert stat.S_IMODE(config_path().stat().st_mode) == 0o600
    use_context("default")
    assert "context =" not in config_path().read_text(encoding="utf-8") and choose_database().embedded


def test_using_an_unknown_context_changes_nothing():
    write_config(CONTEXTS)
    with pytest.raises(ConfigError, match="no context 'nope'"):
        use_context("nope")
    assert config_path().read_text(encoding="utf-8") == CONTEXTS


def test_the_default_context_cannot_be_redefined():
    write_config(f'[contexts.default]\ndatabase_url = "{FLAG}"\n')
    with pytest.raises(ConfigError, match="reserved"):
        choose_database()
