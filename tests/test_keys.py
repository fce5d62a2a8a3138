"""`tenantadmin keys ...` and the keys service, on a real database: tokens shown once, hashes kept, every refusal."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from tenantadmin.errors import Conflict, InvalidInput, InvalidState
from tenantadmin.eventstore import Query
from tenantadmin.services import choices, credentials, keys, members, organizations

from .conftest import OWNER, connected, join, read_events

TOKEN = re.compile(r"^ta_[0-9A-Za-z]{12}_[0-9A-Za-z]{49}$")
CURRENT_HASH = "$argon2id$v=19$m=19456,t=2,p=1$"
VERIFIERS = 8


def issue(bind, actor, **options) -> keys.IssuedKey:
    return keys.issue(bind, actor, "acme", OWNER, **{"name": "ci"} | options)


def secret_of(token: str) -> str:
    parsed = credentials.parse_key(token)
    assert parsed is not None
    return parsed.secret


def key_row(bind, key_id: str):
    with connected(bind) as connection:
        return connection.execute(sa.text("SELECT * FROM api_keys WHERE key_id = :key_id"), {"key_id": key_id}).one()


def scalar(bind, sql: str, **params):
    with connected(bind) as connection:
        return connection.execute(sa.text(sql), params).scalar()


def execute(bind, sql: str, **params) -> None:
    with connected(bind) as connection:
        connection.execute(sa.text(sql), params)


def table_text(bind, table: str) -> str:
    """Every row of ``table``, every column, as PostgreSQL prints a row."""
    with connected(bind) as connection:
        return "\n".join(connection.execute(sa.text(f"SELECT t::text FROM {table} t")).scalars())


def events_text(bind) -> str:
    """The data, metadata and tags of every event, and the event tag index."""
    with connected(bind) as connection:
        rows = connection.execute(sa.text("SELECT data::text, metadata::text, tags::text FROM events")).all()
    return "\n".join(" ".join(row) for row in rows) + table_text(bind, "events") + table_text(bind, "event_tags")


def counts(bind) -> dict[str, int]:
    with connected(bind) as connection:
        return {table: connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) for table in ("api_keys", "events")}


def events(bind, *types: str):
    return [recorded.event for recorded in read_events(bind, Query.of(types=types))]


def about(moment: datetime, expected: datetime, slack: timedelta = timedelta(minutes=1)) -> bool:
    return abs(moment - expected) < slack


def changed(token: str, index: int) -> str:
    """``token`` with the character at ``index`` replaced by another base62 character."""
    replacement = "b" if token[index] == "a" else "a"
    return token[:index] + replacement + token[index + 1 :]


# Issuing


def test_issue_shows_the_token_once_and_keeps_only_an_argon2id_hash_of_its_secret(engine, owner, cli):
    options = "--type service --scope orgs:read --allow-ip 10.0.0.0/8 --usage-limit 100 --expires 90d --json"
    run = cli("keys", "issue", "acme", OWNER, "--name", "ci", *options.split())
    assert run.code == 0, run.stderr
    shown = run.json()
    token = shown["token"]
    assert TOKEN.match(token)
    assert run.stdout.count(token) == 1
    assert "shown only this once" in run.stderr and token not in run.stderr
    key_id, secret = token[3:15], secret_of(token)
    assert secret in token and len(secret) == 43
    assert shown["key_id"] == key_id and shown["key_prefix"] == f"ta_{key_id}"
    assert (shown["key_type"], shown["scopes"], shown["allowed_ips"]) == ("service", ["orgs:read"], ["10.0.0.0/8"])
    assert secret not in json.dumps({name: value for name, value in shown.items() if name != "token"})

    row = key_row(engine, key_id)
    assert row.key_prefix == f"ta_{key_id}"
    assert row.key_hash.startswith(CURRENT_HASH)
    assert PasswordHasher().verify(row.key_hash, secret)
    assert about(row.expires_at, datetime.now(UTC) + timedelta(days=90))
    assert token not in table_text(engine, "api_keys") and secret not in table_text(engine, "api_keys")

    [issued] = events(engine, "api_key.issued")
    assert issued.data["key_id"] == key_id and issued.tags["key"] == key_id
    assert "key_hash" not in issued.data

    later = [
        cli("keys", "list", "--json"),
        cli("keys", "list"),
        cli("keys", "show", key_id, "--json"),
        cli("keys", "show", f"ta_{key_id}"),
        cli("keys", "verify", token, "--ip", "10.0.0.1", "--json"),
    ]
    for output in later:
        assert output.code == 0, output.stderr
        text = output.stdout + output.stderr
        assert secret not in text and row.key_hash not in text and "$argon2" not in text, output
    assert later[0].json()[0]["key_id"] == key_id and "key_hash" not in later[0].json()[0]
    assert later[2].json()["key_prefix"] == f"ta_{key_id}"
    assert secret not in events_text(engine) and token not in events_text(engine)


def test_a_token_given_where_a_key_id_belongs_names_its_key_and_is_never_echoed(engine, actor, owner, cli):
    """Revoking a leaked key by pasting the token found in a log is a real need; echoing its secret back is not."""
    issued = issue(engine, actor)
    secret = secret_of(issued.token)
    outputs = [
        cli("keys", "show", issued.token),
        cli("keys", "revoke", issued.token, "--reason", "found in a CI log", "--yes"),
        cli("keys", "roll", issued.token),  # revoked by now: refused
        cli("keys", "show", issued.token.replace(issued.key.key_id, "X" * 12)),  # no such key
    ]
    assert [output.code for output in outputs] == [0, 0, 1, 1], [output.stderr for output in outputs]
    assert not [output for output in outputs if secret in output.stdout + output.stderr]


def test_issue_is_refused_for_a_non_member_or_an_invited_member(engine, actor, owner, cli):
    members.invite(engine, actor, "acme", "bob@example.com")
    organizations.create(engine, actor, name="Beta", slug="beta")
    before = counts(engine)

    stranger = cli("keys", "issue", "acme", "stranger@example.com", "--name", "ci")
    assert stranger.code == 1 and "not an active member" in stranger.stderr
    invited = cli("keys", "issue", "acme", "bob@example.com", "--name", "ci")
    assert invited.code == 1 and "not an active member" in invited.stderr
    elsewhere = cli("keys", "issue", "beta", OWNER, "--name", "ci")  # a member of acme, not of beta
    assert elsewhere.code == 1 and "not an active member" in elsewhere.stderr

    assert counts(engine) == before
    assert "ta_" not in stranger.stdout + invited.stdout + elsewhere.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--allow-ip", "10.0.0.1/8"],
        ["--allow-ip", "nonsense"],
        ["--type", "bogus"],
        ["--expires", "soon"],
        ["--expires", "0m"],
        ["--expires", "2020-01-01T00:00:00"],
        ["--scope", "Not A Scope"],
        ["--usage-limit", "0"],
        ["--usage-limit", "many"],
    ],
    ids=["host-bits", "not-an-ip", "type", "expires", "expires-now", "expires-past", "scope", "limit-0", "limit-nan"],
)
def test_issue_refuses_bad_input_with_exit_2_and_writes_nothing(engine, owner, cli, args):
    before = counts(engine)
    run = cli("keys", "issue", "acme", OWNER, "--name", "ci", *args)
    assert run.code == 2, (run.stdout, run.stderr)
    assert "Error" in run.stderr and "Traceback" not in run.stderr and "ta_" not in run.stdout
    assert counts(engine) == before


# Revoking


def test_revoke_records_the_reason_and_a_second_revoke_is_refused_without_a_second_event(engine, actor, owner, cli):
    issued = issue(engine, actor)
    key_id = issued.key.key_id

    run = cli("keys", "revoke", key_id, "--reason", "leaked in a CI log", "--yes", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["status"] == "revoked" and run.json()["revocation_reason"] == "leaked in a CI log"
    row = key_row(engine, key_id)
    assert row.status == "revoked" and row.revocation_reason == "leaked in a CI log"
    assert about(row.revoked_at, datetime.now(UTC))

    again = cli("keys", "revoke", key_id, "--reason", "once more", "--yes")
    assert again.code == 1 and "already revoked" in again.stderr
    [revoked] = events(engine, "api_key.revoked")
    assert revoked.data == {"key_id": key_id, "reason": "leaked in a CI log"}
    assert revoked.tags["key"] == key_id and revoked.tags["org"] == "acme" and revoked.tags["user"] == OWNER
    assert key_row(engine, key_id).revocation_reason == "leaked in a CI log"

    assert keys.verify(engine, issued.token).reason == "revoked"


def test_of_revokes_at_once_one_is_recorded(engine, actor, owner, racing):
    issued = issue(engine, actor)
    barrier = threading.Barrier(3)
    outcomes: list[str] = []

    def revoker() -> None:
        barrier.wait(timeout=30)
        try:
            keys.revoke(racing, actor, issued.key.key_id, reason="leaked")
            outcomes.append("done")
        except (Conflict, InvalidState) as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=revoker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 3 and outcomes.count("done") == 1, outcomes
    assert len(events(engine, "api_key.revoked")) == 1


def test_revoke_needs_a_reason_and_yes(engine, actor, owner, cli):
    key_id = issue(engine, actor).key.key_id
    assert cli("keys", "revoke", key_id, "--yes").code == 2
    assert cli("keys", "revoke", key_id, "--reason", "  ", "--yes").code == 2
    assert cli("keys", "revoke", key_id, "--reason", "why").code == 2
    assert key_row(engine, key_id).status == "active"
    assert events(engine, "api_key.revoked") == []


# Rolling


@pytest.mark.parametrize(("grace", "period"), [(None, timedelta(hours=24)), ("1h", timedelta(hours=1))])
def test_roll_makes_a_working_key_with_the_same_settings_and_the_old_one_works_until_the_grace_ends(
    engine, actor, owner, cli, grace, period
):
    old = issue(
        engine,
        actor,
        name="deploys",
        key_type="service",
        scopes=["orgs:read", "keys:*"],
        allowed_ips=["10.0.0.0/8"],
        usage_limit=50,
        expires="90d",
        description="the deploy pipeline",
    )

    assert keys.verify(engine, old.token, ip="10.1.2.3").valid  # one use of 50: rolling does not renew the limit
    run = cli("keys", "roll", old.key.key_id, "--json", *(["--grace", grace] if grace else []))
    assert run.code == 0, run.stderr
    new = run.json()
    token = new["token"]
    assert TOKEN.match(token) and token != old.token and new["key_id"] != old.key.key_id
    assert "shown only this once" in run.stderr
    same = ("name", "key_type", "scopes", "allowed_ips", "usage_limit", "description", "organization_slug")
    assert {name: new[name] for name in same} == {
        "name": "deploys",
        "key_type": "service",
        "scopes": ["keys:*", "orgs:read"],
        "allowed_ips": ["10.0.0.0/8"],
        "usage_limit": 50,
        "description": "the deploy pipeline",
        "organization_slug": "acme",
    }
    assert (new["user_email"], new["status"], new["usage_count"]) == (OWNER, "active", 1)
    assert datetime.fromisoformat(new["expires_at"]) == old.key.expires_at

    assert keys.verify(engine, token, ip="10.1.2.3").valid
    assert keys.verify(engine, old.token, ip="10.1.2.3").valid
    old_row = key_row(engine, old.key.key_id)
    assert old_row.status == "active" and about(old_row.expires_at, datetime.now(UTC) + period)
    assert key_row(engine, new["key_id"]).key_hash.startswith(CURRENT_HASH)

    [rolled] = events(engine, "api_key.rolled")
    assert (rolled.data["from_key_id"], rolled.data["to_key_id"]) == (old.key.key_id, new["key_id"])
    assert sorted(rolled.tags["key"]) == sorted([old.key.key_id, new["key_id"]])
    for secret in (token, secret_of(token), secret_of(old.token)):
        assert secret not in events_text(engine) and secret not in table_text(engine, "api_keys")


def test_a_key_is_rolled_once(connection, actor, owner):
    old = issue(connection, actor)
    new = keys.roll(connection, actor, old.key.key_id)
    with pytest.raises(InvalidState, match="already rolled"):
        keys.roll(connection, actor, old.key.key_id)
    assert keys.roll(connection, actor, new.key.key_id).key.key_id not in (old.key.key_id, new.key.key_id)
    assert len(events(connection, "api_key.rolled")) == 2


def test_a_revoked_or_expired_key_cannot_be_rolled(connection, actor, owner):
    revoked = issue(connection, actor, name="revoked")
    keys.revoke(connection, actor, revoked.key.key_id, reason="gone")
    expired = issue(connection, actor, name="expired")
    execute(connection, "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE name = 'expired'")
    for key_id in (revoked.key.key_id, expired.key.key_id):
        with pytest.raises(InvalidState):
            keys.roll(connection, actor, key_id)
    assert events(connection, "api_key.rolled") == []
    assert scalar(connection, "SELECT count(*) FROM api_keys") == 2


# Verifying: each reason


def test_verify_calls_garbage_and_a_mistyped_token_malformed(connection, actor, owner):
    issued = issue(connection, actor)
    secret_at = 16
    checksum_at = len(issued.token) - 1
    mistakes = [
        "",
        "garbage",
        "ta_",
        issued.token[:-1],
        issued.token + "x",
        issued.token.replace("ta_", "tb_", 1),
        changed(issued.token, 5),  # in the key id
        changed(issued.token, secret_at),  # in the secret
        changed(issued.token, secret_at + 42),
        changed(issued.token, checksum_at),  # in the checksum
    ]
    for token in mistakes:
        verdict = keys.verify(connection, token)
        assert (verdict.valid, verdict.reason, verdict.key_id) == (False, "malformed", None), token
    assert key_row(connection, issued.key.key_id).last_used_at is None
    assert keys.verify(connection, f"  {issued.token}\n").valid  # surrounding blanks are not part of a token


def test_verify_calls_an_unknown_key_id_or_a_wrong_secret_unknown(connection, actor, owner):
    issued = issue(connection, actor)
    stranger = credentials.KeyToken(credentials.base62(12), credentials.base62(43))
    verdict = keys.verify(connection, stranger.token)
    assert (verdict.valid, verdict.reason, verdict.key_id) == (False, "unknown", stranger.key_id)

    wrong_secret = credentials.KeyToken(issued.key.key_id, credentials.base62(43)).token
    assert credentials.parse_key(wrong_secret) is not None  # well formed: only the database can tell
    verdict = keys.verify(connection, wrong_secret)
    assert (verdict.valid, verdict.reason) == (False, "unknown")
    assert verdict.organization_id is None and verdict.scopes == []
    row = key_row(connection, issued.key.key_id)
    assert row.last_used_at is None and row.usage_count == 0


def test_verify_calls_a_revoked_key_revoked(connection, actor, owner):
    issued = issue(connection, actor)
    assert keys.verify(connection, issued.token).valid
    keys.revoke(connection, actor, issued.key.key_id, reason="leaked")
    verdict = keys.verify(connection, issued.token)
    assert (verdict.valid, verdict.reason, verdict.key_id) == (False, "revoked", issued.key.key_id)


def test_verify_calls_a_key_past_its_expiry_expired(connection, actor, owner):
    issued = issue(connection, actor, expires="1h")
    assert keys.verify(connection, issued.token).valid
    execute(connection, "UPDATE api_keys SET expires_at = now() - interval '1 second'")
    verdict = keys.verify(connection, issued.token)
    assert (verdict.valid, verdict.reason) == (False, "expired")
    assert keys.show(connection, issued.key.key_id).status == "expired"
    assert [key.key_id for key in keys.list_(connection, status="expired")] == [issued.key.key_id]


def test_verify_accepts_a_key_only_from_its_allowed_addresses(connection, actor, owner):
    issued = issue(connection, actor, allowed_ips=["10.0.0.0/8", "203.0.113.7", "2001:db8::/32"])
    for address in ("10.20.30.40", "203.0.113.7", "2001:db8::1"):
        assert keys.verify(connection, issued.token, ip=address).valid, address
    for address in ("192.168.0.1", "203.0.113.8", "11.0.0.1", "2001:db9::1", None):
        verdict = keys.verify(connection, issued.token, ip=address)
        assert (verdict.valid, verdict.reason) == (False, "ip_not_allowed"), address
    with pytest.raises(InvalidInput):
        keys.verify(connection, issued.token, ip="nonsense")


def test_verify_counts_uses_up_to_the_usage_limit(connection, actor, owner):
    issued = issue(connection, actor, usage_limit=2)
    assert keys.verify(connection, issued.token).valid
    assert keys.verify(connection, issued.token).valid
    for _ in range(2):
        verdict = keys.verify(connection, issued.token)
        assert (verdict.valid, verdict.reason) == (False, "usage_limit_exceeded")
    assert key_row(connection, issued.key.key_id).usage_count == 2


def test_concurrent_verifies_never_use_a_key_more_than_its_limit(engine, actor, owner, racing):
    issued = issue(engine, actor, usage_limit=3)
    barrier = threading.Barrier(VERIFIERS)
    verdicts: list[keys.Verification] = []

    def verifier() -> None:
        barrier.wait(timeout=30)
        verdicts.append(keys.verify(racing, issued.token))

    threads = [threading.Thread(target=verifier) for _ in range(VERIFIERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(verdicts) == VERIFIERS
    assert sum(verdict.valid for verdict in verdicts) == 3
    assert {verdict.reason for verdict in verdicts if not verdict.valid} == {"usage_limit_exceeded"}
    assert key_row(engine, issued.key.key_id).usage_count == 3


def test_verify_refuses_the_keys_of_a_suspended_organization(connection, actor, owner):
    issued = issue(connection, actor)
    organizations.suspend(connection, actor, "acme", reason="unpaid")
    verdict = keys.verify(connection, issued.token)
    assert (verdict.valid, verdict.reason) == (False, "organization_inactive")
    organizations.reactivate(connection, actor, "acme")
    assert keys.verify(connection, issued.token).valid


def test_a_valid_verification_names_the_key_its_organization_and_scopes(connection, actor, organization, owner):
    issued = issue(connection, actor, scopes=["orgs:read"])
    verdict = keys.verify(connection, issued.token)
    assert verdict == keys.Verification(
        valid=True,
        reason=None,
        key_id=issued.key.key_id,
        organization_id=organization.id,
        organization_slug="acme",
        scopes=["orgs:read"],
    )


# Verifying: what it writes


def test_last_used_at_is_written_on_success_at_most_once_a_minute(engine, actor, owner):
    issued = issue(engine, actor)
    wrong = credentials.KeyToken(issued.key.key_id, credentials.base62(43)).token
    assert not keys.verify(engine, wrong).valid
    assert key_row(engine, issued.key.key_id).last_used_at is None

    assert keys.verify(engine, issued.token, ip="203.0.113.7").valid
    first = key_row(engine, issued.key.key_id)
    assert first.last_used_at is not None and about(first.last_used_at, datetime.now(UTC))
    assert str(first.last_used_ip) == "203.0.113.7"

    assert keys.verify(engine, issued.token, ip="203.0.113.8").valid
    second = key_row(engine, issued.key.key_id)
    assert (second.last_used_at, str(second.last_used_ip)) == (first.last_used_at, "203.0.113.7")

    execute(engine, "UPDATE api_keys SET last_used_at = now() - interval '2 minutes'")
    assert keys.verify(engine, issued.token, ip="203.0.113.9").valid
    third = key_row(engine, issued.key.key_id)
    assert third.last_used_at > first.last_used_at and str(third.last_used_ip) == "203.0.113.9"


def test_a_hash_made_with_weaker_parameters_is_upgraded_by_a_successful_verify(connection, actor, owner):
    issued = issue(connection, actor)
    secret = secret_of(issued.token)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(secret)
    execute(connection, "UPDATE api_keys SET key_hash = :weak", weak=weak)

    wrong = credentials.KeyToken(issued.key.key_id, credentials.base62(43)).token
    assert keys.verify(connection, wrong).reason == "unknown"
    assert key_row(connection, issued.key.key_id).key_hash == weak  # a failed verification upgrades nothing

    assert keys.verify(connection, issued.token).valid
    upgraded = key_row(connection, issued.key.key_id).key_hash
    assert upgraded != weak and upgraded.startswith(CURRENT_HASH)
    assert PasswordHasher().verify(upgraded, secret)
    assert secret not in upgraded

    assert keys.verify(connection, issued.token).valid
    assert key_row(connection, issued.key.key_id).key_hash == upgraded  # already current: not hashed again


# States as shown (issue 10, requirement 7): what lists and details say agrees with what `keys verify` answers


def test_a_key_used_up_shows_exhausted_while_verify_still_says_usage_limit_exceeded(connection, actor, owner):
    issued = issue(connection, actor, usage_limit=1)
    key_id = issued.key.key_id
    assert issued.key.status == "active"
    assert keys.verify(connection, issued.token).valid

    assert keys.show(connection, key_id).status == "exhausted"
    assert [key.key_id for key in keys.list_(connection, status="exhausted")] == [key_id]
    assert keys.list_(connection, status="active") == []
    verdict = keys.verify(connection, issued.token)
    assert (verdict.valid, verdict.reason) == (False, "usage_limit_exceeded")
    assert key_row(connection, key_id).status == "active"  # derived, as expired is: nothing stored changes
    assert "exhausted" in choices.KEY_STATUSES

    successor = keys.roll(connection, actor, key_id)  # rolling still replaces its secret, and renews no use
    assert successor.key.status == "exhausted"
    assert keys.verify(connection, successor.token).reason == "usage_limit_exceeded"


def test_a_shown_status_is_revoked_before_expired_before_exhausted_before_active(connection, actor, owner):
    names = ("revoked", "expired", "exhausted", "active")
    made = {name: issue(connection, actor, name=name, usage_limit=1) for name in names}
    execute(connection, "UPDATE api_keys SET usage_count = 1 WHERE name <> 'active'")
    execute(
        connection, "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE name IN ('revoked', 'expired')"
    )
    keys.revoke(connection, actor, made["revoked"].key.key_id, reason="leaked")

    assert {key.name: key.status for key in keys.list_(connection)} == {name: name for name in names}
    for name in names:
        assert [key.name for key in keys.list_(connection, status=name)] == [name]
    reasons = {name: keys.verify(connection, issued.token).reason for name, issued in made.items()}
    assert reasons == {"revoked": "revoked", "expired": "expired", "exhausted": "usage_limit_exceeded", "active": None}


def test_keys_list_and_show_say_exhausted_when_keys_verify_says_the_limit_is_used_up(engine, actor, owner, cli):
    issued = issue(engine, actor, usage_limit=1)
    assert keys.verify(engine, issued.token).valid

    listed = cli("keys", "list", "--status", "exhausted", "--json")
    assert listed.code == 0, listed.stderr
    assert [(key["key_id"], key["status"]) for key in listed.json()] == [(issued.key.key_id, "exhausted")]
    assert cli("keys", "list", "--status", "active", "--json").json() == []
    table = cli("keys", "list")
    assert table.code == 0, table.stderr
    assert table.stdout.splitlines()[1].split()[5] == "exhausted"  # the STATUS column
    shown = cli("keys", "show", issued.key.key_id)
    assert shown.code == 0, shown.stderr
    assert re.search(r"^status +exhausted$", shown.stdout, re.MULTILINE), shown.stdout
    assert "exhausted" in cli("keys", "list", "--help").stdout

    verify = cli("keys", "verify", issued.token, "--json")
    assert verify.code == 1 and verify.json()["reason"] == "usage_limit_exceeded"


def test_a_rolled_key_names_its_successor_and_when_its_grace_ends_while_it_still_works(connection, actor, owner):
    old = issue(connection, actor, expires="90d")
    new = keys.roll(connection, actor, old.key.key_id, grace="90m")

    shown = keys.show(connection, old.key.key_id)
    assert (shown.status, shown.replaced_by) == ("active", new.key.key_id)
    assert shown.grace_ends_at is not None and shown.grace_ends_at == shown.expires_at
    assert about(shown.grace_ends_at, datetime.now(UTC) + timedelta(minutes=90))
    assert new.replaced == shown and old.replaced is None  # what roll returns of the old key, and issue of none
    for listed in (keys.list_(connection), keys.list_(connection, org="acme"), keys.list_(connection, user=OWNER)):
        assert {key.key_id: key for key in listed}[old.key.key_id] == shown
    for successor in (new.key, keys.show(connection, new.key.key_id)):
        assert (successor.replaced_by, successor.grace_ends_at) == (None, None)
    assert (old.key.replaced_by, old.key.grace_ends_at) == (None, None)

    newer = keys.roll(connection, actor, new.key.key_id)
    revoked = keys.revoke(connection, actor, new.key.key_id, reason="leaked")  # in its grace: no grace is left
    assert revoked == keys.show(connection, new.key.key_id)
    assert (revoked.status, revoked.replaced_by, revoked.grace_ends_at) == ("revoked", newer.key.key_id, None)

    execute(
        connection,
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE key_id = :key_id",
        key_id=old.key.key_id,
    )
    ended = keys.show(connection, old.key.key_id)  # the grace is over: the key is expired, its successor still named
    assert (ended.status, ended.replaced_by, ended.grace_ends_at) == ("expired", new.key.key_id, None)


def test_keys_roll_show_and_list_give_the_end_of_the_grace_to_the_second(engine, actor, owner, cli):
    old = issue(engine, actor)
    run = cli("keys", "roll", old.key.key_id, "--grace", "90m", "--json")
    assert run.code == 0, run.stderr
    new_id = run.json()["key_id"]
    ends = keys.show(engine, old.key.key_id).grace_ends_at
    assert ends is not None
    assert f"{old.key.key_prefix} keeps working until {ends.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" in run.stderr

    as_json = cli("keys", "show", old.key.key_id, "--json").json()
    assert (as_json["replaced_by"], datetime.fromisoformat(as_json["grace_ends_at"])) == (new_id, ends)
    seconds = as_json["grace_ends_at"][:19].replace("T", " ")  # as the database's time zone writes it
    shown = cli("keys", "show", old.key.key_id)
    assert re.search(rf"^grace ends at +{seconds}$", shown.stdout, re.MULTILINE), shown.stdout
    assert re.search(rf"^replaced by +{new_id}$", shown.stdout, re.MULTILINE), shown.stdout
    table = cli("keys", "list").stdout.splitlines()
    assert "GRACE ENDS" in table[0]
    rows = {line.split()[0]: line for line in table[1:]}
    assert rows[old.key.key_prefix].count(seconds) == 2  # under EXPIRES and GRACE ENDS
    assert seconds not in rows[f"ta_{new_id}"]  # its successor never expires, and has no grace


# The command line


def test_keys_verify_exits_0_when_valid_and_1_with_the_reason_when_not(engine, actor, owner, cli):
    issued = issue(engine, actor, allowed_ips=["10.0.0.0/8"])

    valid = cli("keys", "verify", issued.token, "--ip", "10.0.0.1", "--json")
    assert valid.code == 0, valid.stderr
    assert valid.json()["valid"] is True and valid.json()["reason"] is None
    assert valid.json()["key_id"] == issued.key.key_id and valid.json()["organization_slug"] == "acme"
    from_variable = cli("keys", "verify", "--ip", "10.0.0.1", TENANTADMIN_KEY=issued.token)
    assert from_variable.code == 0, from_variable.stderr

    elsewhere = cli("keys", "verify", issued.token, "--ip", "192.168.0.1", "--json")
    assert elsewhere.code == 1 and elsewhere.json()["reason"] == "ip_not_allowed"
    assert "key not valid: ip_not_allowed" in elsewhere.stderr
    garbage = cli("keys", "verify", "garbage", "--json")
    assert garbage.code == 1 and (garbage.json()["valid"], garbage.json()["reason"]) == (False, "malformed")
    assert cli("keys", "verify", issued.token, "--ip", "not-an-address").code == 2

    keys.revoke(engine, actor, issued.key.key_id, reason="leaked")
    revoked = cli("keys", "verify", issued.token, "--ip", "10.0.0.1")
    assert revoked.code == 1 and "revoked" in revoked.stderr


def test_removing_a_member_revokes_their_keys_in_that_organization(connection, actor, owner):
    other = "bob@example.com"
    join(connection, other)
    theirs = [issue(connection, actor, name="one"), issue(connection, actor, name="two")]
    kept = keys.issue(connection, actor, "acme", other, name="kept")

    members.change_role(connection, actor, "acme", other, "owner")
    members.remove(connection, actor, "acme", OWNER)

    for issued in theirs:
        assert keys.verify(connection, issued.token).reason == "revoked"
        assert key_row(connection, issued.key.key_id).revocation_reason == "member removed"
        with pytest.raises(InvalidState):
            keys.roll(connection, actor, issued.key.key_id)
    assert keys.verify(connection, kept.token).valid
    [removed] = events(connection, "member.removed")
    assert sorted(removed.tags["key"]) == sorted(issued.key.key_id for issued in theirs)
    assert sorted(removed.data["revoked_keys"]) == sorted(removed.tags["key"])


def test_deleting_the_organization_revokes_its_keys(engine, actor, owner, cli):
    first = issue(engine, actor, name="first")
    second = issue(engine, actor, name="second")
    assert keys.verify(engine, first.token).valid

    run = cli("orgs", "delete", "acme", "--yes")
    assert run.code == 0, run.stderr

    for issued in (first, second):
        row = key_row(engine, issued.key.key_id)
        assert row.status == "revoked" and row.revocation_reason == "organization deleted"
        assert row.revoked_at is not None
        assert keys.verify(engine, issued.token).reason == "revoked"
    [deleted] = events(engine, "organization.deleted")
    assert sorted(deleted.tags["key"]) == sorted([first.key.key_id, second.key.key_id])
    assert sorted(deleted.data["revoked_keys"]) == sorted([first.key.key_id, second.key.key_id])

    verify = cli("keys", "verify", first.token)
    assert verify.code == 1 and "revoked" in verify.stderr
