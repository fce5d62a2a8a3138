"""Every list a page at a time (issue 11, requirement 3): --limit, --after CURSOR, --fields; when more exist, stderr
gives the exact command for the next page, and following those commands shows every record once, in order."""

from __future__ import annotations

import shlex

import pytest

from tenantadmin.errors import InvalidInput
from tenantadmin.services import audit, keys, members, organizations

from .conftest import OPERATOR, OWNER, join

SEVEN = [f"user{number}@example.com" for number in range(7)]


@pytest.fixture
def invited(engine, organization):
    join(engine, OWNER, role="owner")
    for email in SEVEN:
        members.invite(engine, OPERATOR, "acme", email)
    return [OWNER, *SEVEN]  # owners first, then by status and email


def pages(cli, *args: str) -> tuple[list[list[str]], list[str]]:
    """Follow the "more:" commands from ``args``: each page's first column, and the commands followed."""
    shown, followed, command = [], [], list(args)
    while True:
        run = cli(*command)
        assert run.code == 0, run.stderr
        shown.append([line.split()[0] for line in run.stdout.splitlines()[1:]])
        more = [line for line in run.stderr.splitlines() if line.startswith("more: ")]
        if not more:
            return shown, followed
        (line,) = more
        words = shlex.split(line.removeprefix("more: "))
        assert words[0] == "tenantadmin"
        command = words[1:]
        followed.append(line)
        assert len(shown) < 10


def test_members_list_pages_through_every_member_once_in_order(cli, invited):
    shown, followed = pages(cli, "members", "list", "acme", "--limit", "3")
    assert shown == [invited[0:3], invited[3:6], invited[6:8]]
    assert len(followed) == 2 and all("--limit 3 --after " in line for line in followed)


def test_a_page_is_exact_while_records_are_added_before_it(cli, engine, invited):
    first = cli("members", "list", "acme", "--limit", "3")
    members.invite(engine, OPERATOR, "acme", "aaron@example.com")  # sorts before the cursor: not on the next page
    (line,) = first.stderr.splitlines()
    following = cli(*shlex.split(line.removeprefix("more: "))[1:])
    assert [row.split()[0] for row in following.stdout.splitlines()[1:]] == invited[3:6]


def test_the_default_limit_says_when_more_exist_even_with_json(cli, invited):
    run = cli("members", "list", "acme", "--limit", "5", "--json")
    assert [member["email"] for member in run.json()] == invited[:5]
    assert run.stderr.startswith(
        f"more: tenantadmin --actor {OPERATOR.email} members list acme --limit 5 --json --after "
    )
    assert cli("members", "list", "acme", "--json").stderr == ""  # all 8 fit in the default 50


def test_fields_choose_the_columns_and_the_json_keys(cli, invited):
    table = cli("members", "list", "acme", "--fields", "email,role")
    assert table.stdout.splitlines()[0].split() == ["EMAIL", "ROLE"]
    assert table.stdout.splitlines()[1].split() == [OWNER, "owner"]
    records = cli("members", "list", "acme", "--fields", "role,email", "--json").json()
    assert records[0] == {"role": "owner", "email": OWNER} and list(records[0]) == ["role", "email"]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("--fields", "email,password"), "unknown field 'password' (fields: id, user_id"),
        (("--after", "not-a-cursor"), "invalid cursor 'not-a-cursor'"),
        (("--limit", "0"), "0 is not in the range 1<=x<=10000"),
    ],
)
def test_a_bad_page_option_exits_2(cli, invited, args, complaint):
    run = cli("members", "list", "acme", *args)
    assert run.code == 2 and complaint in run.stderr and run.stdout == ""


@pytest.fixture
def issued(engine, organization):
    """Seven keys of acme's owner, the second, fourth and sixth revoked: newest first, their names."""
    join(engine, OWNER, role="owner")
    made = [keys.issue(engine, OPERATOR, "acme", OWNER, name=f"key-{number}").key for number in range(7)]
    for revoked in made[1:6:2]:
        keys.revoke(engine, OPERATOR, revoked.key_id, reason="a test")
    return [key.key_id for key in reversed(made)]


def test_keys_list_pages_newest_first(cli, issued):
    shown, _followed = pages(cli, "keys", "list", "--limit", "3", "--fields", "key_id,name")
    assert shown == [issued[0:3], issued[3:6], issued[6:7]]


def test_a_status_that_sql_does_not_hold_still_fills_each_page(cli, issued):
    """A key's shown status is decided on each record: the pages skip the revoked ones, and are full all the same."""
    active = issued[0::2]  # key-6, key-4, key-2, key-0
    shown, followed = pages(cli, "keys", "list", "--status", "active", "--limit", "2", "--fields", "key_id")
    assert shown == [active[0:2], active[2:4]] and len(followed) == 1


def test_a_cursor_of_another_list_is_refused(cli, issued):
    run = cli("keys", "list", "--limit", "1")
    (line,) = run.stderr.splitlines()
    cursor = line.rsplit(" ", 1)[1]
    refused = cli("members", "list", "acme", "--after", cursor)
    assert refused.code == 2 and "invalid cursor" in refused.stderr


def test_orgs_list_pages_newest_first(cli, engine):
    slugs = [organizations.create(engine, OPERATOR, name=f"Org {n}", slug=f"org-{n}").slug for n in range(5)]
    shown, followed = pages(cli, "orgs", "list", "--limit", "2", "--fields", "slug,name")
    assert shown == [slugs[4:2:-1], slugs[2:0:-1], slugs[0:1]] and len(followed) == 2


@pytest.fixture
def logged(engine) -> list[str]:
    """Five events, one per organization made: their positions, most recent first (as events list shows them)."""
    for number in range(5):
        organizations.create(engine, OPERATOR, name=f"Org {number}", slug=f"org-{number}")
    return [str(record.position) for record in audit.list_(engine, audit.EventFilter()).records]


def test_events_list_shows_the_most_recent_first_and_pages_back_through_the_log(cli, logged):
    assert len(logged) == 5 and logged == sorted(logged, key=int, reverse=True)
    shown, followed = pages(cli, "events", "list", "--limit", "2")
    assert shown == [logged[0:2], logged[2:4], logged[4:5]] and len(followed) == 2
    assert followed[0].startswith(f"more: tenantadmin --actor {OPERATOR.email} events list --limit 2 --after ")
    oldest_first, _followed = pages(cli, "events", "list", "--limit", "3", "--reverse")
    assert oldest_first == [logged[:1:-1], logged[1::-1]]


def test_an_events_page_is_exact_while_events_are_recorded(engine, logged):
    first = audit.list_(engine, audit.EventFilter(), limit=2)
    organizations.create(engine, OPERATOR, name="Newer", slug="newer")  # above the cursor: not on the next page
    following = audit.list_(engine, audit.EventFilter(), limit=2, after=first.after)
    assert [str(record.position) for record in following.records] == logged[2:4]
    last = audit.list_(engine, audit.EventFilter(), limit=2, after=following.after)
    assert [str(record.position) for record in last.records] == logged[4:] and last.after is None
    with pytest.raises(InvalidInput, match="invalid cursor"):  # a cursor of the other order is another list's
        audit.list_(engine, audit.EventFilter(), after=first.after, oldest_first=True)


def test_events_list_fields_choose_the_columns_and_the_json_keys(cli, logged):
    table = cli("events", "list", "--limit", "1", "--fields", "position,event_type")
    assert table.stdout.splitlines() == ["POSITION  EVENT TYPE", f"{logged[0]}         organization.created"]
    records = cli("events", "list", "--fields", "event_type,position", "--json", "--limit", "2").json()
    assert records == [{"event_type": "organization.created", "position": int(position)} for position in logged[:2]]
    refused = cli("events", "list", "--fields", "position,actor_ip")
    assert refused.code == 2 and "unknown field 'actor_ip'" in refused.stderr and refused.stdout == ""


@pytest.mark.parametrize("key", [True, 2**63, 1.5, "7", None])
def test_a_forged_cursor_is_refused(engine, key):
    forged = audit.NEWEST_FIRST.encode((key,))
    with pytest.raises(InvalidInput, match="invalid cursor"):
        audit.list_(engine, audit.EventFilter(), after=forged)
