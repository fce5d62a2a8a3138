"""Contexts and strict configuration from the command line (issue 11, requirements 4 and 5): which database a command
goes to is never a surprise, and a config file's mistake is never silently passed over."""

from __future__ import annotations

import pytest

from tenantadmin.services import organizations

from .clirunner import tenantadmin
from .conftest import OPERATOR, url_text
from .terminal import at_terminal


def place(url) -> str:
    """How a command names the test's database: its name on its host (a TCP one, or the embedded server's socket)."""
    host = url.host or url.query["host"]
    return f"{url.database} on {host}{f':{url.port}' if url.port else ''}"


@pytest.fixture
def config(tmp_path):
    """The config file of the command's home: write it, get its path."""
    path = tmp_path / "config" / "tenantadmin" / "config.toml"
    path.parent.mkdir(parents=True)

    def write(text: str):
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        return path

    return write


@pytest.fixture
def prod(fresh_database, config):
    """A config with a context ``prod`` on the test's database (its URL with a password), the default actor
    ops@example.com; the returned text is the password, which nothing may print."""
    password = "hunter2-do-not-print"
    url = url_text(fresh_database.set(password=password))
    config(f'# where I work\n[contexts.prod]\ndatabase_url = "{url}"\nactor = "ops@example.com"\n')
    return password


def test_a_misspelt_key_exits_2_naming_the_file_and_the_known_keys_and_writes_nothing(engine, config, tmp_path):
    path = config(f'database-url = "{url_text(engine.url)}"\n')
    run = tenantadmin("orgs", "create", "Acme", "--slug", "acme", home=tmp_path)
    assert run.code == 2
    assert run.stderr == (f"Error: {path}: unknown key 'database-url' (known keys: context, contexts, database_url)\n")
    assert organizations.list_(engine) == []
    assert not (tmp_path / "data").exists()  # the embedded server was not started either


def test_a_config_file_others_can_write_is_refused(config, tmp_path):
    path = config("")
    path.chmod(0o666)
    run = tenantadmin("orgs", "list", home=tmp_path)
    assert (run.code, run.stderr) == (2, f"Error: refusing {path}: other users can write it (chmod go-w {path})\n")


def test_context_list_show_and_use(prod, config, tmp_path, fresh_database):
    listed = tenantadmin("context", "list", "--json", home=tmp_path)
    assert listed.code == 0, listed.stderr
    where = place(fresh_database)
    assert [(c["name"], c["current"], c["database"], c["actor"]) for c in listed.json()] == [
        ("default", True, "the embedded server", None),
        ("prod", False, where, "ops@example.com"),
    ]
    used = tenantadmin("context", "use", "prod", home=tmp_path)
    assert used.code == 0, used.stderr
    assert "context prod" in used.stderr and "is now the current one" in used.stderr
    shown = tenantadmin("context", "show", "--json", home=tmp_path).json()
    assert (shown["name"], shown["current"], shown["in_use"]) == ("prod", True, True)
    assert "***@" in shown["url"] and fresh_database.database in shown["url"]
    assert "# where I work" in (tmp_path / "config" / "tenantadmin" / "config.toml").read_text()
    for run in (listed, used):
        assert prod not in run.stdout + run.stderr


def test_using_an_unknown_context_exits_2_listing_the_known_ones(prod, tmp_path):
    run = tenantadmin("context", "use", "prd", home=tmp_path)
    assert run.code == 2 and "no context 'prd'" in run.stderr and "defines default, prod" in run.stderr


def test_a_changing_command_says_first_which_database_it_acts_on_and_as_whom(prod, engine, tmp_path, fresh_database):
    run = at_terminal("--context", "prod", "orgs", "create", "Acme", "--slug", "acme", home=tmp_path)
    assert run.code == 0, run.stdout
    where = place(fresh_database)
    assert run.stdout.splitlines()[0] == f"using context prod: {where}, as ops@example.com"
    assert prod not in run.stdout
    (created,) = organizations.list_(engine)
    assert created.created_by is None  # ops@example.com has no account: the actor is recorded in the event
    events = tenantadmin("--context", "prod", "events", "list", "--json", home=tmp_path).json()
    assert events[-1]["metadata"]["on_behalf_of"] == "ops@example.com"


def test_reading_quiet_and_piped_commands_say_nothing_of_it(prod, tmp_path):
    """A script's stderr keeps one line per outcome: the database is named to a person at a terminal."""
    listed = at_terminal("--context", "prod", "orgs", "list", home=tmp_path)
    assert listed.code == 0 and "using context" not in listed.stdout
    quiet = at_terminal("--context", "prod", "-q", "orgs", "create", "Acme", "--slug", "acme", home=tmp_path)
    assert quiet.code == 0 and "using context" not in quiet.stdout
    piped = tenantadmin("--context", "prod", "orgs", "create", "Globex", "--slug", "globex", home=tmp_path)
    assert (piped.code, piped.stderr) == (0, "created organization globex\n")


def test_actor_beats_the_contexts_default(prod, tmp_path):
    run = at_terminal(
        "--context", "prod", "--actor", OPERATOR.email, "orgs", "create", "Acme", "--slug", "acme", home=tmp_path
    )
    assert run.code == 0 and run.stdout.splitlines()[0].endswith(f", as {OPERATOR.email}")


def test_db_status_names_the_context_and_the_database(prod, tmp_path, fresh_database):
    status = tenantadmin("db", "status", "--json", home=tmp_path, TENANTADMIN_CONTEXT="prod")
    assert status.code == 0, status.stderr
    where = place(fresh_database)
    assert (status.json()["context"], status.json()["database"]) == ("prod", f"context prod: {where}")
    assert prod not in status.stdout + status.stderr
