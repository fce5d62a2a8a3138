"""What an operator types is checked whole, before anything is written (issue 11, requirement 7): the subscription
tier is one of a defined set, a domain is a host name, metadata and settings have a size and a depth limit, durations
take ASCII digits only, and a pattern matches the whole value (a trailing newline included). Each refusal exits 2."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tenantadmin.errors import InvalidInput
from tenantadmin.services import choices, organizations, validation

from .conftest import connected


def nested(depth: int) -> dict:
    """A JSON object ``depth`` levels deep: {"a": {"a": ... 1}}."""
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    assert isinstance(value, dict)
    return value


def written(engine) -> tuple[list, int]:
    """What a refused command must leave as it was: the organizations and the number of events."""
    with connected(engine) as connection:
        rows = connection.execute(sa.text("SELECT * FROM organizations ORDER BY created_at")).all()
        return rows, connection.scalar(sa.text("SELECT count(*) FROM events"))


def refused(run, *words: str) -> None:
    assert run.code == 2, (run.code, run.stdout, run.stderr)
    assert run.stdout == "" and "unexpected" not in run.stderr and "Traceback" not in run.stderr, run.stderr
    for word in words:
        assert word in run.stderr, run.stderr


# --- the subscription tier ---------------------------------------------------------------------------------------


def test_the_tiers_are_the_demos_four():
    assert choices.TIERS == ("free", "starter", "pro", "enterprise")


@pytest.mark.parametrize("tier", ["free", "starter", "pro", "enterprise"])
def test_each_defined_tier_is_taken(connection, actor, tier):
    created = organizations.create(connection, actor, name="Acme", slug="acme", subscription_tier=tier)
    assert created.subscription_tier == tier


@pytest.mark.parametrize("tier", ["gold", "Pro", "pro ", "", "enterprise\n"])
def test_a_tier_outside_the_set_is_refused_naming_the_choices(connection, actor, organization, tier):
    for attempt in (
        lambda: organizations.create(connection, actor, name="Globex", slug="globex", subscription_tier=tier),
        lambda: organizations.update(connection, actor, "acme", subscription_tier=tier),
    ):
        with pytest.raises(InvalidInput, match="free, starter, pro or enterprise"):
            attempt()


def test_the_cli_refuses_an_unknown_tier_with_exit_2_on_create_and_update(cli, engine):
    refused(cli("orgs", "create", "Acme", "--slug", "acme", "--tier", "gold"), "'gold'", "free, starter, pro or")
    assert written(engine) == ([], 0)
    assert cli("orgs", "create", "Acme", "--slug", "acme", "--tier", "pro").code == 0
    before = written(engine)
    refused(cli("orgs", "update", "acme", "--tier", "platinum"), "'platinum'", "enterprise")
    assert written(engine) == before


def test_the_tier_option_says_what_the_choices_are(cli):
    run = cli("orgs", "create", "--help")
    assert run.code == 0 and "free, starter, pro or enterprise" in " ".join(run.stdout.split())


# --- the domain ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("acme.example", "acme.example"),
        ("ACME.Example", "acme.example"),
        ("  mail.acme-corp.example.org  ", "mail.acme-corp.example.org"),
        ("acme.example.", "acme.example"),
        ("bücher.example", "bücher.example"),
        ("xn--bcher-kva.example", "bücher.example"),
        pytest.param("a" * 63 + ".example", "a" * 63 + ".example", id="label-of-63"),
    ],
)
def test_a_domain_is_a_host_name_kept_lower_case(given, kept):
    assert validation.domain(given) == kept


@pytest.mark.parametrize(
    "bad",
    [
        "https://acme.example",
        "acme.example/about",
        "acme example.org",
        "acme.example:8080",
        "ada@acme.example",
        "acme_corp.example",
        "-acme.example",
        "acme-.example",
        "acme..example",
        ".acme.example",
        "acme",
        "10.0.0.1",
        pytest.param("a" * 64 + ".example", id="label-of-64"),
        pytest.param(("a" * 60 + ".") * 5 + "example", id="name-of-300"),
        "acme.exam\u0000ple",
    ],
)
def test_what_is_not_a_host_name_is_refused(bad):
    with pytest.raises(InvalidInput, match="domain"):
        validation.domain(bad)


def test_the_cli_refuses_a_domain_that_is_not_a_host_name_with_exit_2(cli, engine):
    refused(cli("orgs", "create", "Acme", "--slug", "acme", "--domain", "http://x y/z"), "domain")
    assert written(engine) == ([], 0)
    created = cli("orgs", "create", "Acme", "--slug", "acme", "--domain", "Acme.Example", "--json")
    assert created.code == 0, created.stderr
    assert created.json()["domain"] == "acme.example"
    before = written(engine)
    refused(cli("orgs", "update", "acme", "--domain", "acme.example/path"), "domain")
    assert written(engine) == before
    assert cli("orgs", "update", "acme", "--domain", "").code == 0  # an empty value clears it, as for other fields


# --- metadata and settings -----------------------------------------------------------------------------------------


def test_the_limits_are_16_kib_of_json_and_8_levels():
    assert (validation.JSON_LARGEST, validation.JSON_DEEPEST) == (16 * 1024, 8)


@pytest.mark.parametrize("field", ["metadata", "settings"])
def test_an_object_within_the_limits_is_taken(connection, actor, field):
    largest = {"a": "x" * (validation.JSON_LARGEST - len('{"a":""}'))}
    created = organizations.create(connection, actor, name="Acme", slug="acme", **{field: largest})
    assert getattr(created, field) == largest
    updated = organizations.update(connection, actor, "acme", **{field: nested(validation.JSON_DEEPEST)})
    assert getattr(updated, field) == nested(validation.JSON_DEEPEST)


@pytest.mark.parametrize("field", ["metadata", "settings"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param({"a": "x" * (16 * 1024)}, "too large", id="16KiB-and-more"),
        ({"a": "é" * (8 * 1024)}, "too large"),  # bytes of UTF-8 are counted, not characters
        (nested(9), "too deep"),
        ({"list": [[[[[[[[1]]]]]]]]}, "too deep"),  # lists are levels too
        ({"a": "nul\u0000"}, "NUL"),
        ({"nul\u0000": 1}, "NUL"),
        ({"a": "\udcff"}, "not valid text"),
        ({"a": float("nan")}, "number"),
        ({"a": float("inf")}, "number"),
        ({"a": 2**64}, "number"),
        ({1: "a"}, "keys"),
        ({"a": {1, 2}}, "JSON"),
    ],
)
def test_an_object_too_large_too_deep_or_not_storable_is_refused(connection, actor, organization, field, value, reason):
    with pytest.raises(InvalidInput, match=reason):
        organizations.create(connection, actor, name="Globex", slug="globex", **{field: value})
    with pytest.raises(InvalidInput, match=reason):
        organizations.update(connection, actor, "acme", **{field: value})


@pytest.mark.parametrize("option", ["--metadata", "--settings"])
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(json.dumps({"a": "x" * 120_000}), "too large", id="120KB"),  # today: kept in an event for good
        pytest.param(json.dumps(nested(9)), "too deep", id="9-levels"),
        pytest.param('{"a":' * 900 + "1" + "}" * 900, "too deep", id="900-levels"),  # json.loads takes it
        pytest.param('{"a":' * 3000 + "1" + "}" * 3000, "too deep", id="3000-levels"),  # json.loads: RecursionError
        pytest.param('{"a": "\\u0000"}', "NUL", id="NUL"),
        pytest.param('{"a": "\\udcff"}', "not valid text", id="surrogate"),
        pytest.param('{"a": NaN}', "number", id="NaN"),
        pytest.param('{"a": 1e400}', "number", id="infinite"),
        pytest.param('{"a": ' + "1" * 30 + "}", "number", id="30-digits"),
        pytest.param('{"a": ' + "1" * 5000 + "}", "number", id="5000-digits"),  # more than Python converts
        pytest.param("[1]", "a JSON object", id="array"),
        pytest.param("{", "not JSON", id="broken"),
    ],
)
def test_the_cli_refuses_such_json_with_exit_2_writing_nothing(cli, engine, option, text, reason):
    assert cli("orgs", "create", "Acme", "--slug", "acme").code == 0
    before = written(engine)
    refused(cli("orgs", "update", "acme", option, text), reason)
    refused(cli("orgs", "create", "Globex", "--slug", "globex", option, text), reason)
    assert written(engine) == before


def test_the_json_options_say_what_the_limits_are(cli):
    run = cli("orgs", "update", "--help")
    assert run.code == 0
    assert "16 KiB" in " ".join(run.stdout.split()) and "8 levels" in " ".join(run.stdout.split())


# --- durations, and whole values -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["\u0663d", "1\u0660m", "\uff13h", "\u09e9w"])
def test_a_duration_takes_ascii_digits_only(text):
    with pytest.raises(InvalidInput, match="duration"):
        validation.duration(text)
    with pytest.raises(InvalidInput, match="invalid time"):
        validation.moment(text, future=False)


def test_the_cli_refuses_a_duration_in_other_digits_with_exit_2(cli):
    refused(cli("events", "list", "--since", "\u0663d"), "invalid time")


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (validation.slug, "acme\n"),
        (lambda value: validation.scopes([value]), "orgs:read\n"),
        (validation.tag_filter, "org\n=acme"),
    ],
)
def test_a_pattern_matches_the_whole_value_not_up_to_a_trailing_newline(check, value):
    with pytest.raises(InvalidInput):
        check(value)


def test_a_slug_with_a_trailing_newline_exits_2_not_1(cli, engine):
    refused(cli("orgs", "create", "Acme", "--slug", "acme\n"), "invalid slug")
    assert written(engine) == ([], 0)


def test_a_scope_with_a_trailing_newline_is_refused_not_stored(cli, owner):
    run = cli("keys", "issue", "acme", owner, "--name", "ci", "--scope", "orgs:read\n")
    refused(run, "invalid scope")
