"""The audit log against a real log: filters, time bounds, limits and order; the CLI's formats, exit statuses, and
``events tail -f`` following appends made by another process."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tenantadmin.errors import InvalidInput, NotFound
from tenantadmin.services import audit, keys, members, organizations, validation
from tenantadmin.services.actor import Actor
from tenantadmin.services.audit import EventFilter, EventRecord
from tenantadmin.store.eventstore import Event, EventStore

from .clirunner import environment
from .conftest import OWNER, join, url_text

ADA = Actor(source="cli", email="ada@example.com")
BOB = Actor(source="cli", email="bob@example.com")
FIELDS = [field.name for field in dataclasses.fields(audit.EventRecord)]


@pytest.fixture
def log(engine) -> list[EventRecord]:
    """Six events, each committed on its own (so each has a recorded time of its own), in this order."""
    store = EventStore(engine)
    organizations.create(engine, ADA, name="Acme", slug="acme")
    organizations.create(engine, BOB, name="Globex", slug="globex")
    store.append([Event("api_key.issued", {"key_id": "k1"}, tags={"org": "acme", "key": "k1", "actor": BOB.email})])
    store.append([Event("api_key.issued", {"key_id": "k2"}, tags={"org": "globex", "key": "k2"})])
    store.append([Event("api_key.revoked", {"key_id": "k1", "reason": "leaked"}, tags={"org": "acme", "key": "k1"})])
    organizations.suspend(engine, ADA, "acme", reason="unpaid")
    events = audit.list_(engine, EventFilter(), oldest_first=True).records
    assert labels(events) == [
        "organization.created@acme",
        "organization.created@globex",
        "api_key.issued@acme",
        "api_key.issued@globex",
        "api_key.revoked@acme",
        "organization.suspended@acme",
    ]
    times = [record.created_at for record in events]
    assert times == sorted(set(times)), "the time-bound tests need six distinct recorded times, in log order"
    return events


def labels(events) -> list[str]:
    return [f"{record.event_type}@{record.tags['org']}" for record in events]


def listed(engine, **selection) -> list[str]:
    return labels(audit.list_(engine, EventFilter(**selection), oldest_first=True).records)


def test_tags_must_all_match(engine, log):
    assert listed(engine, tags={"org": "acme", "key": "k1"}) == ["api_key.issued@acme", "api_key.revoked@acme"]
    assert listed(engine, tags={"org": "globex", "key": "k1"}) == []


def test_types_match_exactly_or_by_glob_any_of_them(engine, log):
    assert listed(engine, types=("api_key.*",)) == [
        "api_key.issued@acme",
        "api_key.issued@globex",
        "api_key.revoked@acme",
    ]
    assert listed(engine, types=("api_key.issued",)) == ["api_key.issued@acme", "api_key.issued@globex"]
    assert listed(engine, types=("*.revoked", "organization.created")) == [
        "organization.created@acme",
        "organization.created@globex",
        "api_key.revoked@acme",
    ]
    assert listed(engine, types=("member.*",)) == []
    assert listed(engine, types=("api_key.*",), tags={"key": "k2"}) == ["api_key.issued@globex"]


def test_a_glob_matching_no_type_still_gives_the_head_to_follow_from(engine, log):
    tailed = audit.tail(engine, EventFilter(types=("member.*",)), count=5)
    assert tailed.events == [] and tailed.head == log[-1].position


@pytest.mark.parametrize("bad", ["", " ", "api key.issued"])
def test_a_blank_type_or_one_with_spaces_is_invalid_input(bad):
    with pytest.raises(InvalidInput, match="invalid event type"):
        EventFilter(types=(bad,))


def test_org_and_on_behalf_of_are_their_tags(engine, log):
    assert listed(engine, org="acme") == [
        "organization.created@acme",
        "api_key.issued@acme",
        "api_key.revoked@acme",
        "organization.suspended@acme",
    ]
    assert listed(engine, on_behalf_of=" Bob@Example.com ") == [
        "organization.created@globex",
        "api_key.issued@acme",  # tagged actor=bob@example.com, as events were before the database recorded who acted
    ]
    assert listed(engine, org="acme", on_behalf_of="ada@example.com") == [
        "organization.created@acme",
        "organization.suspended@acme",
    ]
    assert listed(engine, org="acme", tags={"org": "globex"}) == []
    with pytest.raises(InvalidInput, match="email"):
        EventFilter(on_behalf_of="ada")
    recorder = log[0].recorded_by
    assert recorder and listed(engine, actor=recorder) == labels(log)  # the role the fixture connected as
    assert listed(engine, actor=f"{recorder}x") == []
    with pytest.raises(InvalidInput, match="role name"):
        EventFilter(actor="a\x1bb")
    with pytest.raises(InvalidInput, match="slug"):
        EventFilter(org="Not A Slug")


def test_a_reused_org_slug_selects_the_organization_holding_it_and_names_the_other(engine, cli):
    """``--org acme`` once acme was deleted and its slug taken again: the events of the organization that holds the
    slug now (as ``orgs show acme`` shows), and on stderr which one that is and how to see the other's, by id."""
    first = organizations.create(engine, ADA, name="Acme", slug="acme")
    organizations.suspend(engine, ADA, "acme", reason="unpaid")
    organizations.delete(engine, ADA, "acme")
    second = organizations.create(engine, ADA, name="Acme Again", slug="acme")
    organizations.update(engine, ADA, "acme", city="Lyon")

    scoped = audit.scoped(engine, EventFilter(org="acme"))
    assert scoped.shown is not None and scoped.shown.id == second.id
    assert [(other.id, other.name, other.status) for other in scoped.others] == [(first.id, "Acme", "deleted")]
    assert [record.organization_id for record in audit.list_(engine, scoped.selection).records] == [second.id] * 2

    for command in (("list", "--reverse"), ("tail",)):
        run = cli("events", *command, "--org", "acme", "--json")
        assert run.code == 0, run.stderr
        assert [record["event_type"] for record in run.json()] == ["organization.created", "organization.updated"]
        assert "Acme Again" in run.stderr and str(second.id) in run.stderr
        assert f"--tag org_id={first.id}" in run.stderr and run.stderr.count("\n") == 1, run.stderr
    other = cli("events", "list", "--tag", f"org_id={first.id}", "--json", "--reverse")
    assert [record["event_type"] for record in other.json()] == [
        "organization.created",
        "organization.suspended",
        "organization.deleted",
    ]
    assert cli("-q", "events", "list", "--org", "acme").stderr == ""


def test_a_slug_renamed_away_and_taken_again_selects_its_new_holder(engine):
    first = organizations.create(engine, ADA, name="Acme", slug="acme")
    organizations.update(engine, ADA, "acme", slug="acme-old")
    second = organizations.create(engine, ADA, name="New Acme", slug="acme")
    scoped = audit.scoped(engine, EventFilter(org="acme"))
    assert scoped.shown is not None and scoped.shown.id == second.id
    assert [other.id for other in scoped.others] == [first.id]
    assert [record.event_type for record in audit.list_(engine, scoped.selection).records] == ["organization.created"]


def test_a_slug_that_named_one_organization_selects_as_before_and_says_nothing_more(engine, log, cli):
    scoped = audit.scoped(engine, EventFilter(org="acme"))
    assert scoped == audit.Scoped(EventFilter(org="acme"), None, ())
    run = cli("events", "list", "--org", "acme")
    assert run.code == 0 and run.stderr == "", run.stderr
    assert audit.scoped(engine, EventFilter(org="ghost")).shown is None


def test_since_is_inclusive_and_until_exclusive_on_the_recorded_time(engine, log):
    at = [record.created_at for record in log]
    assert listed(engine, since=at[3]) == labels(log[3:])
    assert listed(engine, until=at[3]) == labels(log[:3])
    assert listed(engine, since=at[1], until=at[4]) == labels(log[1:4])
    assert listed(engine, since=at[1], until=at[1]) == []


def test_a_limit_counts_only_events_inside_the_time_bounds(engine, log):
    at = [record.created_at for record in log]
    assert labels(audit.list_(engine, EventFilter(since=at[4]), limit=1, oldest_first=True).records) == labels(log[4:5])
    assert labels(audit.list_(engine, EventFilter(until=at[2]), limit=1).records) == labels(log[1:2])
    assert labels(audit.list_(engine, EventFilter(org="acme", since=at[3]), limit=1, oldest_first=True).records) == [
        "api_key.revoked@acme"
    ]
    tailed = audit.tail(engine, EventFilter(types=("organization.*",), until=at[5]), count=1)
    assert labels(tailed.events) == ["organization.created@globex"] and tailed.head == log[-1].position


def test_after_limit_and_reverse(engine, log):
    assert listed(engine, after=log[2].position) == labels(log[3:])
    assert labels(audit.list_(engine, EventFilter(), limit=2, oldest_first=True).records) == labels(log[:2])
    assert labels(audit.list_(engine, EventFilter(), limit=2).records) == labels([log[5], log[4]])
    assert labels(
        audit.list_(engine, EventFilter(after=log[0].position, org="acme"), limit=2, oldest_first=True).records
    ) == [
        "api_key.issued@acme",
        "api_key.revoked@acme",
    ]


def test_tail_gives_the_last_events_oldest_first_and_the_head(engine, log):
    tailed = audit.tail(engine, EventFilter(org="acme"), count=2)
    assert labels(tailed.events) == ["api_key.revoked@acme", "organization.suspended@acme"]
    assert tailed.head == log[-1].position


def test_show_by_position_or_id(engine, log):
    third = log[2]
    assert audit.show(engine, str(third.position)) == third
    assert audit.show(engine, str(third.id)) == third
    for unknown in (str(log[-1].position + 1), str(uuid.uuid4()), "0", "first", str(2**70)):
        with pytest.raises(NotFound):
            audit.show(engine, unknown)


def test_following_delivers_new_matching_events_even_of_a_type_new_to_the_log(engine, log):
    stop = threading.Event()
    delivered: list[EventRecord] = []
    following = audit.follow(engine, EventFilter(types=("member.*",), org="acme"), after=log[-1].position, stop=stop)
    thread = threading.Thread(target=lambda: delivered.extend(following))
    thread.start()
    try:
        store = EventStore(engine)
        store.append([Event("api_key.issued", {"key_id": "k3"}, tags={"org": "acme"})])
        store.append([Event("member.invited", {"email": "cy@example.com"}, tags={"org": "globex"})])
        invited = store.append([Event("member.invited", {"email": "di@example.com"}, tags={"org": "acme"})])
        deadline = time.monotonic() + 10
        while not delivered and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(10)
    assert [record.position for record in delivered] == [invited]


def test_following_refuses_an_until(engine):
    with pytest.raises(InvalidInput, match="until"):
        audit.follow(engine, EventFilter(until=datetime.now(UTC)), after=None)


@pytest.mark.parametrize(
    ("option", "reason"), [(("--tag", "noequals"), "invalid tag filter"), (("--since", "yesterday"), "invalid time")]
)
def test_a_bad_filter_exits_2_with_one_line(cli, option, reason):
    run = cli("events", "list", *option)
    assert run.code == 2, run.stderr
    assert run.stderr.count("\n") == 1 and reason in run.stderr and run.stdout == ""


def test_every_output_format_parses(engine, log, cli):
    as_json = cli("events", "list", "--org", "acme", "--json", "--reverse")
    assert as_json.code == 0, as_json.stderr
    records = as_json.json()
    assert [record["position"] for record in records] == [log[index].position for index in (0, 2, 4, 5)]
    assert list(records[0]) == FIELDS
    assert records[0]["event_type"] == "organization.created" and records[0]["tags"]["org"] == "acme"
    assert records[0]["metadata"]["on_behalf_of"] == "ada@example.com" and records[0]["source"] == "cli"

    ndjson = cli("events", "list", "--type", "api_key.*", "--format", "ndjson")
    assert ndjson.code == 0, ndjson.stderr
    lines = [json.loads(line) for line in ndjson.stdout.splitlines()]
    assert [line["position"] for line in lines] == [log[4].position, log[3].position, log[2].position]

    as_csv = cli("events", "list", "--format", "csv", "--limit", "2", "--reverse")
    assert as_csv.code == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 2 and list(rows[0]) == FIELDS
    assert rows[1]["event_type"] == "organization.created" and json.loads(rows[1]["tags"])["org"] == "globex"
    assert rows[1]["user_agent"] == ""

    table = cli("events", "list", "--tag", "key=k1", "--reverse")
    assert table.code == 0, table.stderr
    heading, *lines = table.stdout.splitlines()
    assert heading.split() == ["POSITION", "RECORDED", "TYPE", "ACTOR", "TAGS", "DATA"]
    assert [line.split()[3] for line in lines] == ["api_key.issued", "api_key.revoked"]
    assert "reason=leaked" in lines[1]

    shown = cli("events", "show", str(log[4].id), "--json")
    assert shown.code == 0, shown.stderr
    assert shown.json()["position"] == log[4].position and shown.json()["data"]["reason"] == "leaked"
    missing = cli("events", "show", "999")
    assert missing.code == 1 and "no event '999'" in missing.stderr


def test_tail_follow_prints_what_another_process_appends_and_ends_quietly_on_ctrl_c(
    engine, log, fresh_database, tmp_path
):
    process = subprocess.Popen(
        [sys.executable, "-m", "tenantadmin", "events", "tail", "-f", "--json", "-n", "1", "--org", "acme"],
        env=environment(tmp_path, TENANTADMIN_DATABASE_URL=url_text(fresh_database)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)
    reader.start()
    try:
        assert json.loads(lines.get(timeout=60))["position"] == log[-1].position
        store = EventStore(engine)
        store.append([Event("api_key.issued", {"key_id": "k3"}, tags={"org": "globex"})])
        appended = store.append([Event("api_key.issued", {"key_id": "k4"}, tags={"org": "acme"})])
        followed = json.loads(lines.get(timeout=30))
        assert followed["position"] == appended and followed["data"] == {"key_id": "k4"}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(10)
    assert lines.empty()
    assert process.stderr.read() == ""


# --- the filter bar's one line (issue 10, requirement 5) ------------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def test_the_filter_line_takes_org_actor_tags_and_any_of_several_types():
    parsed = audit.parse(
        "org=acme  user=bob@example.com type=api_key.* key=k1 type=member.invited on_behalf_of=Ada@Example.com"
        " actor=alice"
    )
    assert parsed == EventFilter(
        org="acme",
        actor="alice",
        on_behalf_of="ada@example.com",
        tags={"user": ("bob@example.com",), "key": ("k1",)},
        types=("api_key.*", "member.invited"),
    )
    assert audit.parse("org_id=0b7c user=a@x.io user=b@x.io").tags == {
        "org_id": ("0b7c",),
        "user": ("a@x.io", "b@x.io"),
    }
    assert audit.parse("   ") == EventFilter()


def test_the_filter_line_reads_since_and_until_as_the_cli_options_do():
    parsed = audit.parse("since=7d until=15m", now=NOW)
    assert (parsed.since, parsed.until) == (NOW - timedelta(days=7), NOW - timedelta(minutes=15))
    assert parsed.since == validation.moment("7d", now=NOW, future=False)
    iso = audit.parse("since=2026-02-01T09:00 until=2026-02-02T09:00+02:00")
    assert iso.since == datetime(2026, 2, 1, 9, tzinfo=UTC)
    assert iso.until == datetime(2026, 2, 2, 7, tzinfo=UTC)
    assert audit.bound("2h", now=NOW) == NOW - timedelta(hours=2)  # the one rule, which the CLI's options use too
    with pytest.raises(InvalidInput, match="invalid time 'yesterday'"):
        audit.parse("since=yesterday")


def test_the_filter_line_selects_from_the_log_like_the_cli(engine, log):
    at = [record.created_at for record in log]
    line = f"org=acme type=api_key.* type=organization.suspended since={at[1].isoformat()}"
    assert labels(audit.list_(engine, audit.parse(line), oldest_first=True).records) == [
        "api_key.issued@acme",
        "api_key.revoked@acme",
        "organization.suspended@acme",
    ]
    assert labels(
        audit.list_(engine, audit.parse(f"on_behalf_of=bob@example.com until={at[2].isoformat()}")).records
    ) == ["organization.created@globex"]


@pytest.mark.parametrize("word", ["orgs=acme", "tag=org=acme", "Org=acme", "status=active", "=acme"])
def test_an_unknown_filter_key_is_refused_naming_the_known_ones(word):
    with pytest.raises(InvalidInput, match="unknown filter key") as refused:
        audit.parse(f"type=api_key.* {word}")
    assert "actor, key, on_behalf_of, org, org_id, since, type, until, user" in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("word", ["acme", "org=", "since="])
def test_a_word_that_is_not_key_value_is_refused(word):
    with pytest.raises(InvalidInput, match=f"invalid filter {word!r}: key=value"):
        audit.parse(word)


@pytest.mark.parametrize("key", ["org", "actor", "since", "until"])
def test_a_single_valued_key_given_twice_is_refused(key):
    value = {"org": "acme", "actor": "ada@example.com", "since": "2h", "until": "1h"}[key]
    with pytest.raises(InvalidInput, match=f"{key}= may be given once"):
        audit.parse(f"{key}={value} {key}={value}")


def test_org_and_actor_in_the_filter_line_are_checked():
    with pytest.raises(InvalidInput, match="slug"):
        audit.parse("org=Not_A_Slug")
    with pytest.raises(InvalidInput, match="email"):
        audit.parse("on_behalf_of=ada")


def test_the_known_tag_keys_are_the_ones_tenantadmins_commands_record(connection, actor):
    organizations.create(connection, actor, name="Acme", slug="acme")
    join(connection, OWNER, role="owner")
    join(connection, "bob@example.com")
    issued = keys.issue(connection, actor, "acme", "bob@example.com", name="ci")
    rolled = keys.roll(connection, actor, issued.key.key_id)
    keys.revoke(connection, actor, rolled.key.key_id, reason="no longer used")
    keys.issue(connection, actor, "acme", "bob@example.com", name="deploys")
    members.invite(connection, actor, "acme", "cy@example.com")
    members.resend(connection, actor, "acme", "cy@example.com")
    members.revoke(connection, actor, "acme", "cy@example.com")
    members.change_role(connection, actor, "acme", "bob@example.com", "admin")
    members.remove(connection, actor, "acme", "bob@example.com")
    organizations.update(connection, actor, "acme", slug="acme-two", description="renamed")
    organizations.suspend(connection, actor, "acme-two", reason="unpaid")
    organizations.reactivate(connection, actor, "acme-two")
    organizations.delete(connection, actor, "acme-two")
    recorded = audit.list_(connection, EventFilter(), limit=1000).records
    assert len({record.event_type for record in recorded}) >= 12, "the commands above record a dozen types"
    assert {key for record in recorded for key in record.tags} == set(audit.RECORDED_TAG_KEYS)


# --- the log's extent and pages, bounded in time (what the TUI's log reads) -------------------------------------------


def test_extent_and_page_honour_since_and_until(engine, log):
    at = [record.created_at for record in log]
    assert audit.extent(engine, EventFilter(since=at[3])).count == 3
    assert audit.extent(engine, EventFilter(org="acme", until=at[4])).count == 2
    assert audit.extent(engine, EventFilter(types=("api_key.*",), since=at[1], until=at[4])).count == 2
    head = log[-1].position
    selection = EventFilter(since=at[1], until=at[4])
    assert labels(audit.page(engine, selection, upto=head, limit=10)) == labels(log[1:4])
    assert labels(audit.page(engine, selection, upto=head, offset=1, limit=10)) == labels(log[2:4])
    assert labels(audit.page(engine, selection, upto=head, limit=1, backwards=True)) == labels(log[3:4])


# --- counts over time (issue 10, requirement 9) ---------------------------------------------------------------------

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def timed(connection) -> None:
    """Five events at known times: four on the day of T0, one two days before (appended last)."""
    EventStore(connection.engine).append(
        [
            Event("api_key.issued", {}, tags={"org": "acme", "key": "k1"}, occurred_at=T0 + 10 * MINUTE),
            Event("api_key.revoked", {}, tags={"org": "acme", "key": "k1"}, occurred_at=T0 + 50 * MINUTE),
            Event("member.invited", {}, tags={"org": "globex"}, occurred_at=T0 + HOUR + 5 * MINUTE),
            Event("api_key.issued", {}, tags={"org": "globex", "key": "k2"}, occurred_at=T0 + 3 * HOUR + 59 * MINUTE),
            Event("organization.updated", {}, tags={"org": "acme"}, occurred_at=T0 - 2 * DAY + 3 * HOUR),
        ],
        connection=connection,
    )


def histogram(connection, now=T0 + 5 * HOUR, buckets=None, **selection) -> audit.Histogram:
    asked = {} if buckets is None else {"buckets": buckets}
    found = audit.histogram(connection, EventFilter(**selection), now=now, **asked)
    starts = [start for start, _ in found.buckets]
    assert starts == [starts[0] + index * found.width for index in range(len(starts))]
    return found


def counts(found: audit.Histogram) -> list[int]:
    return [count for _, count in found.buckets]


def test_a_short_range_is_counted_by_hour_the_empty_hours_as_zero(connection, timed):
    found = histogram(connection, since=T0, until=T0 + 6 * HOUR)
    assert found.width == HOUR and found.buckets[0][0] == T0
    assert counts(found) == [2, 1, 0, 1, 0, 0]


def test_buckets_start_on_the_hour_and_count_only_inside_the_range(connection, timed):
    found = histogram(connection, since=T0 + 30 * MINUTE, until=T0 + 3 * HOUR)
    assert found.width == HOUR and [start for start, _ in found.buckets] == [T0, T0 + HOUR, T0 + 2 * HOUR]
    assert counts(found) == [1, 1, 0]


def test_the_filters_tags_and_type_globs_apply(connection, timed):
    assert counts(histogram(connection, since=T0, until=T0 + 4 * HOUR, org="acme")) == [2, 0, 0, 0]
    assert counts(histogram(connection, since=T0, until=T0 + 4 * HOUR, types=("api_key.*",))) == [2, 0, 0, 1]
    assert counts(histogram(connection, since=T0, until=T0 + 4 * HOUR, types=("*.issued",), tags={"key": "k2"})) == [
        0,
        0,
        0,
        1,
    ]
    nothing = histogram(connection, since=T0, until=T0 + 4 * HOUR, types=("nothing.*",))
    assert nothing.width == HOUR and counts(nothing) == [0, 0, 0, 0]


def test_a_range_of_more_than_three_days_is_counted_by_day(connection, timed):
    found = histogram(connection, since=T0 - 5 * DAY, until=T0 + 2 * DAY)
    assert found.width == DAY and found.buckets[0][0] == T0 - 5 * DAY
    assert counts(found) == [0, 0, 0, 1, 0, 4, 0]
    days = histogram(connection, since=T0 - 5 * DAY + 7 * HOUR, until=T0 + HOUR)
    assert days.width == DAY and days.buckets[0][0] == T0 - 5 * DAY and counts(days) == [0, 0, 0, 1, 0, 2]


def test_three_days_are_hours_and_a_minute_more_are_days(connection, timed):
    hours = histogram(connection, since=T0, until=T0 + 3 * DAY)
    assert hours.width == HOUR and len(hours.buckets) == 72
    days = histogram(connection, since=T0, until=T0 + 3 * DAY + MINUTE)
    assert days.width == DAY and len(days.buckets) == 4 and counts(days) == [4, 0, 0, 0]


def test_buckets_widen_to_whole_hours_or_days_to_fit_the_number_asked(connection, timed):
    found = histogram(connection, since=T0 - 100 * DAY, until=T0, buckets=50)
    assert found.width == 2 * DAY and len(found.buckets) == 50 and found.buckets[0][0] == T0 - 100 * DAY
    assert sum(counts(found)) == 1
    eight = histogram(connection, since=T0, until=T0 + 3 * DAY, buckets=10)
    assert eight.width == 8 * HOUR and len(eight.buckets) == 9 and counts(eight)[0] == 4
    one = histogram(connection, since=T0, until=T0 + 4 * HOUR, buckets=1)
    assert one.width == 4 * HOUR and counts(one) == [4]


def test_without_since_the_range_starts_at_the_first_matching_event(connection, timed):
    globex = histogram(connection, org="globex")
    assert globex.width == HOUR and globex.buckets[0][0] == T0 + HOUR
    assert counts(globex) == [1, 0, 1, 0]
    everything = histogram(connection)
    assert everything.width == HOUR and everything.buckets[0][0] == T0 - 2 * DAY + 3 * HOUR
    assert len(everything.buckets) == 50 and sum(counts(everything)) == 5
    before = histogram(connection, org="acme", until=T0 + 30 * MINUTE, now=T0 + 10 * DAY)
    assert before.width == HOUR and before.buckets[0][0] == T0 - 2 * DAY + 3 * HOUR and sum(counts(before)) == 2


def test_without_since_and_with_no_match_the_last_day_is_shown(connection, timed):
    found = histogram(connection, org="nobody", now=T0 + 5 * HOUR + 30 * MINUTE)
    assert found.width == HOUR and found.buckets[0][0] == T0 - 19 * HOUR and found.buckets[-1][0] == T0 + 5 * HOUR
    assert counts(found) == [0] * 25


def test_an_empty_range_has_one_empty_bucket(connection, timed):
    found = histogram(connection, since=T0 + 2 * HOUR, until=T0)
    assert found.width == HOUR and found.buckets == [(T0 + 2 * HOUR, 0)]


def test_the_filter_lines_selection_is_counted(connection, timed):
    found = audit.histogram(
        connection, audit.parse("org=acme type=api_key.* since=2026-03-01T00:00 until=2026-03-01T02:00")
    )
    assert found.width == HOUR and counts(found) == [2, 0]


@pytest.mark.parametrize("asked", ["none", "fewer than none", "too many"])
def test_the_number_of_buckets_is_checked(connection, asked):
    buckets = {"none": 0, "fewer than none": -1, "too many": audit.MOST_BUCKETS + 1}[asked]
    with pytest.raises(InvalidInput, match="buckets"):
        audit.histogram(connection, EventFilter(), buckets=buckets)


def test_per_day_counts_whole_utc_days_today_included(connection, timed):
    found = audit.per_day(connection, EventFilter(org="acme"), days=3, now=T0 + 5 * HOUR)
    assert found.width == DAY and found.buckets == [(T0 - 2 * DAY, 1), (T0 - DAY, 0), (T0, 2)]
    fortnight = audit.per_day(connection, EventFilter(tags={"key": "k1"}, since=T0 + HOUR), days=14, now=T0 + DAY)
    assert fortnight.width == DAY and len(fortnight.buckets) == 14 and fortnight.buckets[-1] == (T0 + DAY, 0)
    assert fortnight.buckets[-2] == (T0, 2), "the filter's own since is replaced by the days asked"
    with pytest.raises(InvalidInput, match="days"):
        audit.per_day(connection, EventFilter(), days=0)
