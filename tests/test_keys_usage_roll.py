"""A usage limit holds across a roll (issue 11, requirement 8): a rolled key and its successors share one allowance.

Before, a successor started from a copy of its predecessor's count, and the old key kept its own during its grace:
issued with a limit of 4, used twice and rolled, the two keys verified 6 times between them.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from tenantadmin.services import keys
from tenantadmin.store import migrations

from .conftest import OWNER, connected

VERIFIERS = 10  # on the engine's pool of 12 connections, with room for the test's own


def issue(bind, actor, *, usage_limit: int) -> keys.IssuedKey:
    return keys.issue(bind, actor, "acme", OWNER, name="ci", usage_limit=usage_limit)


def in_parallel(*calls) -> list:
    """Run ``calls`` in threads started at once (a barrier), and return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait(timeout=30)
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(not thread.is_alive() for thread in threads)
    return results


def drained(bind, *tokens: str) -> int:
    """How many more uses ``tokens`` get, verified in turn until every one of them is refused."""
    uses = 0
    while verdicts := [verdict for verdict in (keys.verify(bind, token) for token in tokens) if verdict.valid]:
        uses += len(verdicts)
    return uses


def test_a_rolled_key_and_its_successor_verify_no_more_often_than_the_limit_between_them(engine, actor, owner, cli):
    old = cli("keys", "issue", "acme", OWNER, "--name", "ci", "--usage-limit", "4", "--json").json()
    for _ in range(2):
        assert cli("keys", "verify", old["token"]).code == 0
    new = cli("keys", "roll", old["key_id"], "--json").json()

    runs = [cli("keys", "verify", token, "--json") for token in (old["token"], new["token"]) * 2]
    assert [run.code for run in runs] == [0, 0, 1, 1], [run.stderr for run in runs]
    assert {run.json()["reason"] for run in runs[2:]} == {"usage_limit_exceeded"}
    for key_id in (old["key_id"], new["key_id"]):
        shown = cli("keys", "show", key_id, "--json").json()
        assert (shown["usage_count"], shown["usage_limit"], shown["status"]) == (4, 4, "exhausted")


def test_every_key_of_a_line_of_rolls_counts_against_the_first_keys_allowance(connection, actor, owner):
    first = issue(connection, actor, usage_limit=5)
    assert keys.verify(connection, first.token).valid
    second = keys.roll(connection, actor, first.key.key_id)
    assert keys.verify(connection, second.token).valid
    third = keys.roll(connection, actor, second.key.key_id)
    assert third.replaced is not None and (third.key.usage_count, third.replaced.usage_count) == (2, 2)

    assert keys.verify(connection, first.token).valid  # both predecessors are in their grace
    assert [key.usage_count for key in keys.list_(connection)] == [3, 3, 3]
    assert drained(connection, first.token, second.token, third.token) == 2
    assert {(key.usage_count, key.status) for key in keys.list_(connection)} == {(5, "exhausted")}
    assert keys.verify(connection, second.token).reason == "usage_limit_exceeded"


def test_a_revoked_predecessor_uses_none_of_the_allowance_and_its_successor_keeps_the_rest(connection, actor, owner):
    old = issue(connection, actor, usage_limit=3)
    assert keys.verify(connection, old.token).valid
    new = keys.roll(connection, actor, old.key.key_id)
    keys.revoke(connection, actor, old.key.key_id, reason="leaked")

    assert keys.verify(connection, old.token).reason == "revoked"
    assert keys.show(connection, new.key.key_id).usage_count == 1
    assert drained(connection, old.token, new.token) == 2


def test_concurrent_verifies_of_a_rolled_key_and_its_successor_never_exceed_the_limit(engine, actor, owner, racing):
    old = issue(engine, actor, usage_limit=6)
    for _ in range(2):
        assert keys.verify(engine, old.token).valid
    new = keys.roll(engine, actor, old.key.key_id)

    tokens = [old.token, new.token] * (VERIFIERS // 2)
    verdicts = in_parallel(*(lambda token=token: keys.verify(racing, token) for token in tokens))
    assert sum(verdict.valid for verdict in verdicts) == 4  # before, 4 for each key: 10 uses of 6
    assert {verdict.reason for verdict in verdicts if not verdict.valid} == {"usage_limit_exceeded"}
    assert {keys.show(engine, key.key_id).usage_count for key in (old.key, new.key)} == {6}


def test_uses_of_a_key_while_it_is_rolled_are_counted_against_its_successor_too(engine, actor, owner):
    old = issue(engine, actor, usage_limit=8)
    calls = [lambda: keys.roll(engine, actor, old.key.key_id)]
    calls += [lambda: keys.verify(engine, old.token)] * (VERIFIERS - 1)
    rolled, *verdicts = in_parallel(*calls)

    during = sum(verdict.valid for verdict in verdicts)
    assert during + drained(engine, old.token, rolled.token) == 8


def test_a_line_rolled_before_the_upgrade_shares_the_allowance_of_its_most_used_key(engine, actor, owner):
    old = issue(engine, actor, usage_limit=10)
    new = keys.roll(engine, actor, old.key.key_id)
    migrations.downgrade(engine, "0004")
    with connected(engine) as connection:  # as the two counts stood: copied at the roll, then each used on its own
        for key_id, count in ((old.key.key_id, 3), (new.key.key_id, 7)):
            connection.execute(
                sa.text("UPDATE api_keys SET usage_count = :count WHERE key_id = :key_id"),
                {"count": count, "key_id": key_id},
            )
    migrations.upgrade(engine)

    assert {keys.show(engine, key.key_id).usage_count for key in (old.key, new.key)} == {7}
    assert drained(engine, old.token, new.token) == 3
