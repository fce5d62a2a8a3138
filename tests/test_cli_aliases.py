"""Commands as operators type them (issue 11, requirement 7): a noun in the singular is the command of its plural, and a
mistyped command is answered with the one that was meant, at the top level and in every group."""

from __future__ import annotations

import pytest

from .clirunner import tenantadmin
from .conftest import join


@pytest.mark.parametrize(
    ("singular", "args"),
    [
        ("org", ["list", "--json"]),
        ("member", ["list", "acme", "--json"]),
        ("key", ["list", "--json"]),
        ("event", ["list", "--json"]),
    ],
)
def test_a_noun_in_the_singular_runs_the_command_of_its_plural(engine, organization, cli, singular, args):
    join(engine, "ada@example.com", role="owner")
    plural = cli(f"{singular}s", *args)
    run = cli(singular, *args)
    assert run.code == 0, run.stderr
    assert run.json() == plural.json()


def test_the_singular_names_the_command_by_its_own_name(tmp_path):
    run = tenantadmin("org", "list", "--help", home=tmp_path)
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("Usage: tenantadmin orgs list")


def test_help_lists_each_command_once_and_no_alias(tmp_path):
    run = tenantadmin("--help", home=tmp_path)
    commands = run.stdout.split("Commands:")[1].split()
    for name in ("orgs", "members", "keys", "events"):
        assert f"  {name} " in run.stdout
        assert name[:-1] not in commands


@pytest.mark.parametrize(
    ("args", "mistyped", "meant"),
    [
        (["ogrs", "list"], "ogrs", "orgs"),
        (["memebrs", "list", "acme"], "memebrs", "members"),
        (["evnets"], "evnets", "events"),
        (["keys", "revok", "ta_3kT9xQ2mL0aB"], "revok", "revoke"),
        (["orgs", "lst"], "lst", "list"),
        (["members", "acept"], "acept", "accept"),
    ],
)
def test_a_mistyped_command_is_answered_with_the_one_meant(tmp_path, args, mistyped, meant):
    run = tenantadmin(*args, home=tmp_path)
    assert run.code == 2
    assert f"Error: No such command '{mistyped}'. Did you mean '{meant}'?" in run.stderr
