"""The sealed log (issue 13): sealed without anyone asking and never past an append in progress, checkpoints signed
outside the database, verification that finds what a superuser changed (with the triggers off) at the position it was
changed, and inclusion proofs that docs/verify-proof.py checks with nothing of tenantadmin's."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from tenantadmin.errors import Conflict, Forbidden, InvalidInput
from tenantadmin.services import ledger, operators, organizations, signing
from tenantadmin.store import migrations
from tenantadmin.store.eventstore import Event, EventStore, Query
from tenantadmin.store.ledger import entry, seals

from .conftest import OPERATOR

DOCS = Path(__file__).resolve().parents[1] / "docs"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "hostile-strings.json"
HOSTILE_FILE = SHARED if SHARED.is_file() else Path(__file__).parent / "data" / "hostile-strings.json"
ORGS = 12


@pytest.fixture
def key(tmp_path: Path) -> Path:
    """A signing key of the test's own, made as `events checkpoint` makes one."""
    path = tmp_path / "keys" / signing.PRIVATE_FILE
    signing.make_key(path)
    return path


@pytest.fixture
def public(key: Path) -> Path:
    return signing.public_key_file(key)


@pytest.fixture
def log(engine: Engine, key: Path) -> Engine:
    """A log of a dozen organizations, checkpointed once in the middle and once at the end."""
    for number in range(ORGS):
        organizations.create(engine, OPERATOR, name=f"Org {number}", slug=f"org-{number}")
        if number == ORGS // 2:
            ledger.checkpoint(engine, OPERATOR, key=key)
    ledger.checkpoint(engine, OPERATOR, key=key)
    return engine


def tampered(engine: Engine, *statements: str) -> None:
    """What a superuser can do: switch the triggers off and change the log."""
    with engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            for part in statement.split(";"):
                connection.execute(sa.text(part))


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT count(*) FROM events")), seals.sealed(connection).size


def test_every_command_seals_what_it_committed_without_anyone_asking(engine):
    for number in range(3):
        organizations.create(engine, OPERATOR, name=f"Org {number}", slug=f"org-{number}")
    events, sealed = counts(engine)
    assert events == sealed == 3
    with engine.connect() as connection:
        positions = connection.scalars(sa.text("SELECT position FROM event_seals ORDER BY leaf")).all()
        assert positions == connection.scalars(sa.text("SELECT position FROM events ORDER BY position")).all()


def test_sealing_never_passes_an_append_in_progress(engine, key, public):
    store = EventStore(engine)
    organizations.create(engine, OPERATOR, name="First", slug="first")
    with engine.connect() as slow:
        slow.begin()
        early = store.append([Event(type="test.slow", data={}, tags={})], connection=slow)
        late = store.append([Event(type="test.quick", data={}, tags={})])  # a later position, committed first
        assert late > early
        for wait in (False, True):  # waiting too: for a while, then sealing nothing past it
            with engine.connect() as connection:
                seals.seal(connection, wait=wait, patience=0.3)
                assert seals.sealed(connection).position < early
        slow.commit()
    with engine.connect() as connection:
        seals.seal(connection, wait=True)
        assert seals.sealed(connection).size == counts(engine)[0]
    ledger.checkpoint(engine, OPERATOR, key=key)
    assert ledger.verify(engine, public_key=public).ok


def test_a_clean_log_verifies_and_each_checkpoint_extends_the_one_before(log, public):
    found = ledger.verify(log, public_key=public)
    assert found.ok, found.problems
    assert found.checkpoints == 2
    assert found.events == counts(log)[0]
    assert found.newest is not None and found.newest.tree_size < found.tree_size  # its own event came after it


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("UPDATE events SET data = jsonb_set(data, '{name}', '\"Org 3!\"') WHERE position = 4", "position 4 changed"),
        ("UPDATE events SET recorded_by = 'someone_else' WHERE position = 5", "position 5 changed"),
        (
            "UPDATE events SET event_timestamp = event_timestamp + interval '1 microsecond' WHERE position = 2",
            "position 2 changed",
        ),
        ("DELETE FROM events WHERE position = 6", "position 6 removed"),
        ("DELETE FROM events WHERE position >= 9", "position 9 removed"),
        (
            (
                "UPDATE events SET data = CASE position WHEN 3 THEN (SELECT data FROM events WHERE position = 7) "
                "ELSE (SELECT data FROM events WHERE position = 3) END WHERE position IN (3, 7)"
            ),
            "position 3 changed",
        ),
        (
            (
                "UPDATE events SET position = position + 1000000 WHERE position IN (3, 7);"
                "UPDATE events SET position = CASE position WHEN 1000003 THEN 7 ELSE 3 END WHERE position > 1000000"
            ),
            "position 3 changed",
        ),
    ],
    ids=[
        "one byte of data",
        "the actor",
        "the time",
        "an event removed",
        "the tail cut",
        "data swapped",
        "positions swapped",
    ],
)
def test_verify_names_the_first_position_a_superuser_changed(log, public, change, named):
    tampered(log, change)
    found = ledger.verify(log, public_key=public)
    assert not found.ok
    assert found.problems[0].startswith(named), found.problems


def test_an_event_inserted_in_the_middle_is_named(log, public):
    """Where a rolled-back append left its position unused, as appends that lose a race do."""
    with log.connect() as connection:
        connection.begin()
        gap = EventStore(log).append([Event(type="test.lost", data={}, tags={})], connection=connection)
        connection.rollback()
    organizations.create(log, OPERATOR, name="After", slug="after")
    tampered(
        log,
        f"INSERT INTO events (id, position, event_type, aggregate_type, aggregate_id, aggregate_version, data) "
        f"VALUES (gen_random_uuid(), {gap}, 'organization.created', 'organization', gen_random_uuid(), 0, '{{}}')",
    )
    found = ledger.verify(log, public_key=public)
    assert found.problems[0].startswith(f"position {gap} inserted"), found.problems


def test_a_tail_cut_with_its_seals_is_found_by_the_checkpoint(log, public):
    tampered(
        log,
        "DELETE FROM events WHERE position > 8",
        "DELETE FROM event_seals WHERE position > 8",
        "DELETE FROM seal_nodes",
    )
    found = ledger.verify(log, public_key=public)
    assert found.problems[0] == "position 9 removed: its tag rows remain, its event is no longer in the log"
    assert any("events after position 8 were removed" in problem for problem in found.problems), found.problems


def test_an_event_rewritten_with_its_seal_is_found_by_the_checkpoints(log, public):
    """The seals are the database's: rewritten to match a changed event, they no longer match what was signed."""
    tampered(log, "UPDATE events SET data = jsonb_set(data, '{name}', '\"Org 9!\"') WHERE position = 10")
    with log.connect() as connection:
        row = connection.execute(sa.text(f"SELECT {entry.COLUMNS} FROM events e WHERE position = 10")).one()
    digest = entry.leaf_hash(entry.entry(tuple(row))).hex()
    tampered(log, f"UPDATE event_seals SET hash = '\\x{digest}' WHERE position = 10")
    found = ledger.verify(log, public_key=public)
    assert not found.ok
    assert found.problems[0].startswith("checkpoint 2 ")
    assert "up to position" in found.problems[0]


def test_a_checkpoint_signed_by_another_key_is_not_relied_on_and_an_altered_one_is_found(log, public, tmp_path):
    other = tmp_path / "other" / signing.PRIVATE_FILE
    signing.make_key(other)
    ledger.checkpoint(log, OPERATOR, key=other)
    found = ledger.verify(log, public_key=public)
    assert found.ok and found.others == 1
    tampered(log, "UPDATE checkpoints SET note = replace(note, 'time 2', 'time 1') WHERE id = 1")
    found = ledger.verify(log, public_key=public)
    assert found.problems == [
        "checkpoint 1: its signature by key " + signing.trusted_key(public).key_id + " does not verify (altered)"
    ]


def test_eight_concurrent_writers_leave_a_log_that_verifies(racing, engine, key, public):
    failures: list[BaseException] = []
    organizations.create(engine, OPERATOR, name="First", slug="first")  # something to sign while they write

    def write(writer: int) -> None:
        try:
            for number in range(6):
                organizations.create(racing, OPERATOR, name=f"W{writer} {number}", slug=f"w{writer}-{number}")
        except BaseException as error:  # noqa: BLE001 (reported below)
            failures.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(8)]
    for thread in threads:
        thread.start()
        if thread is threads[4]:
            ledger.checkpoint(engine, OPERATOR, key=key)  # one signed while the writers write
    for thread in threads:
        thread.join()
    assert not failures
    ledger.checkpoint(engine, OPERATOR, key=key)
    found = ledger.verify(engine, public_key=public)
    assert found.ok, found.problems
    assert found.unsealed == 0 and found.tree_size == counts(engine)[0]


def test_hostile_text_seals_as_the_verifier_rebuilds_it(engine, key, public):
    """The database's entry and the verifier's are built apart: any text must give both the same bytes."""
    hostile = [text for text in json.loads(HOSTILE_FILE.read_text()) if text.strip() and "\x00" not in text]
    for number, text in enumerate(hostile[:40]):
        organizations.create(engine, OPERATOR, name=text[:200], slug=f"hostile-{number}")
    ledger.checkpoint(engine, OPERATOR, key=key)
    found = ledger.verify(engine, public_key=public)
    assert found.ok, found.problems


def test_a_proof_checks_with_the_independent_script_and_fails_when_changed(log, public, tmp_path):
    proof = ledger.prove(log, 5)
    assert proof["format"] == ledger.PROOF_FORMAT and proof["position"] == 5
    good, bad = tmp_path / "proof.json", tmp_path / "bad.json"
    good.write_text(json.dumps(proof))
    bad.write_text(json.dumps(proof | {"entry": proof["entry"].replace("Org ", "Orc ")}))
    script = [sys.executable, str(DOCS / "verify-proof.py")]
    checked = subprocess.run([*script, str(good), str(public)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "position 5 is event 5 of the" in checked.stdout
    refused = subprocess.run([*script, str(bad), str(public)], capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "not proven" in refused.stderr


def test_a_kept_checkpoint_file_anchors_verification(log, key, public, tmp_path):
    kept = tmp_path / "kept.txt"
    ledger.checkpoint(log, OPERATOR, key=key, out=kept)
    assert ledger.verify(log, checkpoint_file=kept, public_key=public).ok
    tampered(log, "DELETE FROM checkpoints")  # what the database kept is gone; the file is not
    found = ledger.verify(log, checkpoint_file=kept, public_key=public)
    assert found.ok and found.checkpoints == 1
    tampered(log, "UPDATE events SET data = '{}' WHERE position = 1")
    assert ledger.verify(log, checkpoint_file=kept, public_key=public).problems[0].startswith("position 1 changed")
    with pytest.raises(InvalidInput, match="never overwritten"):
        ledger.checkpoint(log, OPERATOR, key=key, out=kept)


def test_a_scoped_login_cannot_verify_and_an_auditor_can_but_not_checkpoint(log, logins, public, tmp_path):
    auditor = sa.create_engine(logins.make("tenantadmin_auditor"))
    scoped_url = logins.make()
    operators.grant(log, OPERATOR, str(scoped_url.username), "auditor", ["org-1"])
    scoped = sa.create_engine(scoped_url)
    try:
        assert ledger.verify(auditor, public_key=public).ok
        with pytest.raises(Forbidden, match="tenantadmin_operator"):
            ledger.checkpoint(auditor, OPERATOR, key=tmp_path / "keys" / signing.PRIVATE_FILE)
        with pytest.raises(Forbidden, match="granted every organization"):
            ledger.verify(scoped, public_key=public)
    finally:
        auditor.dispose()
        scoped.dispose()


def test_the_commands_make_a_private_key_once_and_exit_as_documented(cli, engine):
    organizations.create(engine, OPERATOR, name="Acme", slug="acme")
    assert cli("events", "verify").code == 2  # no key to trust yet
    made = cli("events", "checkpoint", "--out", str(cli.home / "kept.txt"), "--json")
    assert made.code == 0, made.stderr
    private = cli.home / "config" / "tenantadmin" / signing.PRIVATE_FILE
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    assert made.json()["note"] == (cli.home / "kept.txt").read_text()
    verified = cli("events", "verify")
    assert verified.code == 0 and verified.stdout.startswith("verified 2 events against 1 checkpoint ")
    record = cli("events", "verify", "--json").json()
    assert record["ok"] and record["newest"]["tree_size"] == 1 and record["problems"] == []
    proof = cli("events", "prove", "1")
    assert proof.code == 0 and proof.json()["leaf_index"] == 0
    assert cli("events", "prove", "99").code == 1
    tampered(engine, "UPDATE events SET data = '{}' WHERE position = 1")
    failed = cli("events", "verify")
    assert failed.code == 1
    assert (
        failed.stderr.strip()
        == "Error: the log does not verify: position 1 changed: its event is not the one sealed as leaf 0"
    )


def test_a_key_others_can_read_is_refused(tmp_path):
    path = tmp_path / "open.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(pem)
    os.chmod(path, 0o644)
    with pytest.raises(InvalidInput, match="chmod 600"):
        signing.signing_key(path)


@pytest.mark.parametrize(
    "change",
    [
        "DELETE FROM event_tags WHERE position = 4 AND tag LIKE 'org=%'",
        "INSERT INTO event_tags (tag, position, event_type) VALUES ('org=elsewhere', 4, 'organization.created')",
        "UPDATE event_tags SET event_type = 'organization.deleted' WHERE position = 4",
    ],
    ids=["a tag row removed", "a tag row added", "its type changed"],
)
def test_a_changed_tag_index_is_named_though_the_events_are_intact(log, public, change):
    """What append conditions read must say what the events say: a tag row removed lets a condition miss an event."""
    tampered(log, change)
    found = ledger.verify(log, public_key=public)
    assert found.problems == [
        "position 4 retagged: its rows in the tag index (what append conditions read) are not its event's tags"
    ]


def test_a_log_rolled_back_and_resealed_fails_against_the_checkpoint_kept_beside_the_key(log, key, public):
    """The administrator deletes the newest checkpoint, rewrites an event it covered and has the seals made again:
    what the database holds agrees with itself, and only a checkpoint kept outside it can tell."""
    tampered(
        log,
        "DELETE FROM checkpoints WHERE id = 2",
        "UPDATE events SET data = jsonb_set(data, '{name}', '\"Org 9!\"') WHERE position = 11",
        "DELETE FROM seal_nodes",
        "DELETE FROM event_seals",
    )
    found = ledger.verify(log, public_key=public)
    assert found.problems[0].startswith("the checkpoint kept in ")
    assert "up to position" in found.problems[0]
    with pytest.raises(Conflict, match="no longer extends the checkpoint this key signed last"):
        ledger.checkpoint(log, OPERATOR, key=key)
    for kept in (key.parent / "checkpoints").iterdir():
        kept.unlink()
    assert ledger.verify(log, public_key=public).ok  # with nothing kept elsewhere, a rollback goes unseen


@pytest.mark.parametrize("moment", ["infinity", "2026-12-06 12:00:00+00 BC"])
def test_a_time_off_the_calendar_is_refused_and_one_forced_in_is_named_without_stopping_the_seals(log, public, moment):
    with pytest.raises(sa.exc.IntegrityError, match="ck_events_times_on_the_calendar"):
        tampered(log, f"UPDATE events SET event_timestamp = '{moment}' WHERE position = 4")
    tampered(
        log,
        "ALTER TABLE events DROP CONSTRAINT ck_events_times_on_the_calendar",
        f"UPDATE events SET event_timestamp = '{moment}' WHERE position = 4",
    )
    organizations.create(log, OPERATOR, name="Later", slug="later")
    events, sealed = counts(log)
    assert sealed == events
    assert ledger.verify(log, public_key=public).problems[0].startswith("position 4 changed")


def test_rows_at_positions_below_one_or_sharing_a_position_are_found(log, public):
    with pytest.raises(sa.exc.IntegrityError, match="ck_events_position_positive"):
        tampered(log, "UPDATE events SET position = 0 WHERE position = 1")
    tampered(
        log,
        "ALTER TABLE events DROP CONSTRAINT ck_events_position_positive",
        "UPDATE events SET position = 0 WHERE position = 1",
    )
    assert ledger.verify(log, public_key=public).problems[0] == (
        "position 0 inserted: its event is below the sealed head but was never sealed"
    )
    tampered(
        log,
        "ALTER TABLE events DROP CONSTRAINT uq_events_position",
        "INSERT INTO events SELECT (jsonb_populate_record(null::events,"
        " to_jsonb(e) || jsonb_build_object('id', gen_random_uuid(), 'aggregate_version', 0))).*"
        " FROM events e WHERE position = 5",
    )
    problems = ledger.verify(log, public_key=public).problems
    assert "position 5 inserted: its event is below the sealed head but was never sealed" in problems


def test_a_database_whose_transactions_default_to_repeatable_read_is_sealed_all_the_same(engine, key, public):
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(
            sa.text(f"ALTER DATABASE \"{engine.url.database}\" SET default_transaction_isolation = 'repeatable read'")
        )
    engine.dispose()  # new connections take the database's default
    organizations.create(engine, OPERATOR, name="Acme", slug="acme")
    assert counts(engine) == (1, 1)
    ledger.checkpoint(engine, OPERATOR, key=key)
    assert ledger.verify(engine, public_key=public).ok


def test_events_from_before_the_tag_index_are_indexed_sealed_and_verify(empty_database, tmp_path):
    """A database that has lived since the seed: its first events had no tag rows (revision 0002 made the index
    empty); migration 0008 gives them theirs, those the store would have indexed, so that verify finds nothing."""
    old = sa.create_engine(empty_database)
    try:
        migrations.upgrade(old, "0001")
        with old.begin() as connection:
            for tags in ('{"org": "acme", "user": ["a@x.io", "b@x.io"]}', '{"env": "prod", "Priority": 1, "x": ""}'):
                connection.execute(
                    sa.text(
                        "INSERT INTO events (id, event_type, aggregate_type, aggregate_id, aggregate_version, data,"
                        " tags) VALUES (gen_random_uuid(), 'legacy.thing', 'thing', gen_random_uuid(), 1, '{}', "
                        f"'{tags}')"
                    )
                )
        migrations.upgrade(old)
        key = tmp_path / "keys" / signing.PRIVATE_FILE
        signing.make_key(key)
        ledger.checkpoint(old, OPERATOR, key=key)
        assert ledger.verify(old, public_key=signing.public_key_file(key)).ok
        found = EventStore(old).read(Query.of(tags={"user": "b@x.io"}))
        assert [event.event.type for event in found.events] == ["legacy.thing"]
    finally:
        old.dispose()


def test_a_file_name_is_shown_as_data(cli, engine):
    organizations.create(engine, OPERATOR, name="Acme", slug="acme")
    made = cli("events", "checkpoint", "--out", str(cli.home / "cp\x1b[31m.txt"))
    assert made.code == 0, made.stderr
    assert "cp\\x1b[31m.txt" in made.stdout and "\x1b" not in made.stdout
