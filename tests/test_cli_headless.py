"""What every headless command owes a script: no TUI imported, a schema behind head refused with exit 3."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine

from .clirunner import environment, tenantadmin
from .conftest import url_text

# Run a command in-process, then say which of the UI's modules it imported.
PROBE = """
import atexit, sys
def report():
    ui = sorted(
        name for name in sys.modules
        if name.split(".")[0] in {"textual", "rich"} or name.startswith("tenantadmin.tui")
    )
    print("UI MODULES:" + ",".join(ui), file=sys.stderr)
atexit.register(report)
sys.argv = ["tenantadmin", *sys.argv[1:]]
from tenantadmin.cli.main import main
main()
"""


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["orgs", "list", "--json"],
        ["orgs", "create", "Acme", "--slug", "acme"],
        ["members", "list", "acme"],
        ["keys", "list"],
        ["keys", "verify", "ta_not_a_token"],
        ["events", "list", "--json"],
        ["db", "status"],
    ],
)
def test_headless_commands_never_import_the_tui(fresh_database, tmp_path, command):
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *command],
        env=environment(tmp_path, TENANTADMIN_DATABASE_URL=url_text(fresh_database)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = [line for line in result.stderr.splitlines() if line.startswith("UI MODULES:")]
    assert report == ["UI MODULES:"], result.stderr


def test_a_schema_behind_head_exits_3_naming_the_upgrade(fresh_database, tmp_path):
    engine = create_engine(fresh_database)
    migrations.downgrade(engine, "-1")
    engine.dispose()
    run = tenantadmin("orgs", "list", home=tmp_path, TENANTADMIN_DATABASE_URL=url_text(fresh_database))
    assert run.code == 3
    assert run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert "tenantadmin db upgrade" in line
