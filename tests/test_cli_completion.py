"""Shell completion (issue 11, requirement 6): scripts for bash, zsh and fish; commands, options, choices, and live
values from the database, answered without Textual and without starting the embedded server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tenantadmin.services import keys, organizations

from .clirunner import environment, tenantadmin
from .conftest import OPERATOR, OWNER, join, url_text


def completed(words: str, *, home, **extra: str) -> list[str]:
    """What bash's completion offers for ``tenantadmin <words>`` (the last word the one being typed)."""
    typed = ["tenantadmin", *words.split(" ")]
    run = tenantadmin(
        home=home,
        _TENANTADMIN_COMPLETE="bash_complete",
        COMP_WORDS=" ".join(typed),
        COMP_CWORD=str(len(typed) - 1),
        **extra,
    )
    assert run.code == 0, run.stderr
    return [line.split(",", 1)[1] for line in run.stdout.splitlines() if line]


@pytest.mark.parametrize(
    ("shell", "marker"), [("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --no-files")]
)
def test_completion_prints_the_script_for_each_shell(tmp_path, shell, marker):
    run = tenantadmin("completion", shell, home=tmp_path)
    assert run.code == 0 and marker in run.stdout and "_TENANTADMIN_COMPLETE" in run.stdout


def test_an_unknown_shell_is_a_usage_error(tmp_path):
    run = tenantadmin("completion", "powershell", home=tmp_path)
    assert run.code == 2 and "'powershell' is not one of 'bash', 'zsh', 'fish'" in run.stderr


def test_commands_options_and_choices_are_offered(tmp_path):
    assert completed("ke", home=tmp_path) == ["keys"]
    assert set(completed("", home=tmp_path)) >= {"orgs", "members", "keys", "events", "context", "db", "completion"}
    assert "--status" in completed("orgs list --st", home=tmp_path)
    assert completed("keys issue --type ", home=tmp_path) == ["personal", "service", "integration"]


@pytest.fixture
def populated(engine):
    organizations.create(engine, OPERATOR, name="Acme Corporation", slug="acme")
    organizations.create(engine, OPERATOR, name="Acme Labs", slug="acme-labs")
    organizations.create(engine, OPERATOR, name="Globex", slug="globex")
    join(engine, OWNER, role="owner")
    join(engine, "bob@example.com", org="globex")
    issued = keys.issue(engine, OPERATOR, "acme", OWNER, name="ci")
    return url_text(engine.url), issued.key.key_id


def test_live_values_come_from_the_database(populated, tmp_path):
    url, key_id = populated
    assert completed("members list ac", home=tmp_path, TENANTADMIN_DATABASE_URL=url) == ["acme", "acme-labs"]
    assert completed("--database-url " + url + " keys issue gl", home=tmp_path) == ["globex"]
    assert completed("keys revoke ", home=tmp_path, TENANTADMIN_DATABASE_URL=url) == [key_id]
    assert completed("keys issue acme ", home=tmp_path, TENANTADMIN_DATABASE_URL=url) == [OWNER]
    assert completed("keys list --org a", home=tmp_path, TENANTADMIN_DATABASE_URL=url) == ["acme", "acme-labs"]
    for command in ("orgs show ", "orgs suspend ", "events list --org ", "members remove "):
        assert completed(command + "g", home=tmp_path, TENANTADMIN_DATABASE_URL=url) == ["globex"]
    assert completed("members remove globex ", home=tmp_path, TENANTADMIN_DATABASE_URL=url) == ["bob@example.com"]
    assert completed("orgs list --status s", home=tmp_path, TENANTADMIN_DATABASE_URL=url) == ["suspended"]


def test_context_names_come_from_the_config_file(tmp_path):
    config = tmp_path / "config" / "tenantadmin" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[contexts.prod]\ndatabase_url = "postgresql://admin@db.internal/tenants"\n[contexts.staging]\n')
    config.chmod(0o600)
    assert completed("--context ", home=tmp_path) == ["default", "prod", "staging"]
    assert completed("context use p", home=tmp_path) == ["prod"]


def test_completion_offers_nothing_rather_than_fail_or_start_the_embedded_server(tmp_path):
    assert completed("members list ", home=tmp_path) == []  # no URL, and the embedded server not running
    assert not (tmp_path / "data").exists()
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    assert completed("members list ", home=tmp_path, TENANTADMIN_DATABASE_URL=unreachable) == []


def test_completion_imports_no_textual(populated, tmp_path):
    url, _key_id = populated
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tenantadmin"],
        env=environment(tmp_path)
        | {"_TENANTADMIN_COMPLETE": "bash_complete", "COMP_WORDS": "tenantadmin members list a", "COMP_CWORD": "3"}
        | {"TENANTADMIN_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "acme" in run.stdout
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert not any(name.split(".")[0] == "textual" for name in imported)
