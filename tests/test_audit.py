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
from datetime import UTC, datetime

import pytest

from tenantadmin.errors import InvalidInput, NotFound
from tenantadmin.services import audit, organizations
from tenantadmin.services.actor import Actor
from tenantadmin.services.audit import EventFilter, EventRecord
from tenantadmin.store.eventstore import Event, EventStore

from .clirunner import environment
from .conftest import url_text

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
    events = audit.list_(engine, EventFilter())
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
    return labels(audit.list_(engine, EventFilter(**selection)))


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


def test_org_and_actor_are_their_tags(engine, log):
    assert listed(engine, org="acme") == [
        "organization.created@acme",
        "api_key.issued@acme",
        "api_key.revoked@acme",
        "organization.suspended@acme",
    ]
    assert listed(engine, actor=" Bob@Example.com ") == ["organization.created@globex", "api_key.issued@acme"]
    assert listed(engine, org="acme", actor="ada@example.com") == [
        "organization.created@acme",
        "organization.suspended@acme",
    ]
    assert listed(engine, org="acme", tags={"org": "globex"}) == []
    with pytest.raises(InvalidInput, match="email"):
        EventFilter(actor="ada")
    with pytest.raises(InvalidInput, match="slug"):
        EventFilter(org="Not A Slug")


def test_since_is_inclusive_and_until_exclusive_on_the_recorded_time(engine, log):
    at = [record.created_at for record in log]
    assert listed(engine, since=at[3]) == labels(log[3:])
    assert listed(engine, until=at[3]) == labels(log[:3])
    assert listed(engine, since=at[1], until=at[4]) == labels(log[1:4])
    assert listed(engine, since=at[1], until=at[1]) == []


def test_a_limit_counts_only_events_inside_the_time_bounds(engine, log):
    at = [record.created_at for record in log]
    assert labels(audit.list_(engine, EventFilter(since=at[4]), limit=1)) == labels(log[4:5])
    assert labels(audit.list_(engine, EventFilter(until=at[2]), limit=1, reverse=True)) == labels(log[1:2])
    assert labels(audit.list_(engine, EventFilter(org="acme", since=at[3]), limit=1)) == ["api_key.revoked@acme"]
    tailed = audit.tail(engine, EventFilter(types=("organization.*",), until=at[5]), count=1)
    assert labels(tailed.events) == ["organization.created@globex"] and tailed.head == log[-1].position


def test_after_limit_and_reverse(engine, log):
    assert listed(engine, after=log[2].position) == labels(log[3:])
    assert labels(audit.list_(engine, EventFilter(), limit=2)) == labels(log[:2])
    assert labels(audit.list_(engine, EventFilter(), limit=2, reverse=True)) == labels([log[5], log[4]])
    assert labels(audit.list_(engine, EventFilter(after=log[0].position, org="acme"), limit=2)) == [
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
    as_json = cli("events", "list", "--org", "acme", "--json")
    assert as_json.code == 0, as_json.stderr
    records = as_json.json()
    assert [record["position"] for record in records] == [log[index].position for index in (0, 2, 4, 5)]
    assert list(records[0]) == FIELDS
    assert records[0]["event_type"] == "organization.created" and records[0]["tags"]["org"] == "acme"
    assert records[0]["metadata"]["actor"] == "ada@example.com" and records[0]["source"] == "cli"

    ndjson = cli("events", "list", "--type", "api_key.*", "--format", "ndjson", "--reverse")
    assert ndjson.code == 0, ndjson.stderr
    lines = [json.loads(line) for line in ndjson.stdout.splitlines()]
    assert [line["position"] for line in lines] == [log[4].position, log[3].position, log[2].position]

    as_csv = cli("events", "list", "--format", "csv", "--limit", "2")
    assert as_csv.code == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 2 and list(rows[0]) == FIELDS
    assert rows[1]["event_type"] == "organization.created" and json.loads(rows[1]["tags"])["org"] == "globex"
    assert rows[1]["user_agent"] == ""

    table = cli("events", "list", "--tag", "key=k1")
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
