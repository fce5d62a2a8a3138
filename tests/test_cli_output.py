"""What the command line prints is exact (issue 11, requirement 1): each value formatted by its type, never guessed
from its text, and no control character of the data reaching a terminal raw, in tables, details, events and errors;
JSON and CSV keep the data as it is (escaped by their own rules)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from tenantadmin.services import organizations

from .conftest import OPERATOR

# What a terminal would act on: C0 (but the newline that ends a line), DEL and C1 controls, bidirectional overrides.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
HOSTILE = "Esc \x1b]52;c;ZXZpbA==\x07 clip \x1b[2J cleared \u202eevil \x9b31m"


@pytest.fixture
def named(engine):
    """Two organizations: one whose name looks like an ISO time to a guesser, one whose name and city are hostile."""
    organizations.create(engine, OPERATOR, name="Northwind Traders Ltd", slug="northwind", city="Tromsø THE END")
    organizations.create(engine, OPERATOR, name=HOSTILE, slug="hostile", city=HOSTILE)


def test_a_name_that_looks_like_a_time_is_printed_whole(cli, named):
    listed = cli("orgs", "list")
    assert listed.code == 0 and "Northwind Traders Ltd" in listed.stdout  # was "Northwind  raders L"
    shown = cli("orgs", "show", "northwind")
    assert "Northwind Traders Ltd" in shown.stdout and "Tromsø THE END" in shown.stdout


def test_times_are_printed_by_their_type_to_the_second(cli, named):
    shown = cli("orgs", "show", "northwind")
    created = next(line for line in shown.stdout.splitlines() if line.startswith("created at"))
    assert re.fullmatch(r"created at\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", created)


@pytest.mark.parametrize(
    "args",
    [("orgs", "list"), ("orgs", "show", "hostile"), ("events", "list"), ("events", "show", "2"), ("events", "tail")],
)
def test_no_control_character_of_the_data_reaches_the_terminal(cli, named, args):
    run = cli(*args)
    assert run.code == 0, run.stderr
    assert not CONTROL.search(run.stdout), repr(run.stdout)
    shown = ("\\x1b]52;c;ZXZpbA==\\x07", "\\u001b]52;c;ZXZpbA==\\u0007")  # as text, or as JSON text in an event
    assert any(form in run.stdout for form in shown), run.stdout


def test_an_error_naming_data_prints_no_control_character(cli, named):
    run = cli("orgs", "create", "again", "--slug", "hostile\x1b[2J")
    assert run.code == 2 and not CONTROL.search(run.stderr), repr(run.stderr)


def test_json_and_csv_keep_the_data_as_it_is(cli, named):
    shown = json.loads(cli("--json", "orgs", "show", "hostile").stdout)
    assert shown["name"] == HOSTILE and shown["city"] == HOSTILE
    heading, *rows = csv.reader(io.StringIO(cli("events", "list", "--format", "csv").stdout))
    data = [json.loads(row[heading.index("data")]) for row in rows]
    assert {"name": HOSTILE, "city": HOSTILE}.items() <= next(d for d in data if d.get("slug") == "hostile").items()


@pytest.mark.parametrize("args", [("events", "list", "--limit", "99999999999999999999"),
                                  ("events", "tail", "-n", "99999999999999999999")])  # fmt: skip
def test_a_limit_out_of_range_is_a_usage_error(cli, args):
    """Was exit 3, "database refused: bigint out of range"."""
    run = cli(*args)
    assert run.code == 2 and "range" in run.stderr and "database" not in run.stderr
