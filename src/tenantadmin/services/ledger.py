"""Proving the log unchanged: ``events checkpoint``, ``events verify`` and ``events prove``.

A **checkpoint** is the sealed tree's size and root, with the time, as a C2SP tlog-checkpoint signed by the operator's
key (services/signing.py): stored in the database, recorded as an event, and written to a file to be kept elsewhere.
**Verifying** rebuilds every leaf from the events and the tree from those leaves, compares the roots with every
checkpoint the trusted key signed (a file's too), proves each checkpoint an extension of the one before it, and names
the first position where the events and their seals part. A **proof** is what an auditor checks with nothing of
tenantadmin's (docs/verify-proof.py): the event's canonical entry, its audit path, and a signed checkpoint.

What the database's administrator can do is rewrite the events and the seals; what they cannot do without the key is
sign a checkpoint over what they wrote. So the roots are checked against signatures, and the seals only say where.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tenantadmin.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound
from tenantadmin.store.eventstore import Query, QueryItem
from tenantadmin.store.ledger import entry, merkle, scan, seals

from . import signing
from .actor import Actor
from .unit import Bind, connected, unit

PROOF_FORMAT = "tenantadmin/inclusion-proof/v1"
TIME_PREFIX = "time "
CHECKPOINTED = "log.checkpointed"
SCOPE = sa.text("SELECT tenantadmin_scope() IS NOT NULL")
_ROW = sa.text(f"SELECT {entry.COLUMNS} FROM events e WHERE e.position = :position")


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint's note, parsed: which log, how many leaves, the root, when it was signed."""

    origin: str
    tree_size: int
    root_hash: bytes
    signed_at: datetime
    note: str
    id: int | None = None  # the database's number for it; None for one read from a file only
    key_id: str = ""
    kept: str = "the checkpoint file"  # what it is called when it was read from a file

    @property
    def label(self) -> str:
        return f"checkpoint {self.id}" if self.id is not None else self.kept


@dataclass(frozen=True)
class CheckpointMade:
    checkpoint: SignedCheckpoint
    key_path: Path
    public_key_path: Path
    written_to: Path | None


@dataclass(frozen=True)
class Verification:
    ok: bool
    events: int  # events read
    tree_size: int  # leaves rebuilt from the events
    sealed_position: int  # the last sealed event's position
    unsealed: int  # events past it, not sealed yet
    key_id: str
    newest: SignedCheckpoint | None  # the newest checkpoint the key signed
    checkpoints: int  # how many the key signed
    others: int  # stored checkpoints signed by other keys, not relied on
    problems: list[str] = field(default_factory=list)  # the first names where the log was first changed


@dataclass(frozen=True)
class LogState:
    """What the TUI shows of the log: how far it is sealed, and its newest checkpoint (signed by anyone)."""

    sealed_size: int
    sealed_position: int
    newest: SignedCheckpoint | None


def checkpoint(bind: Bind, actor: Actor, *, key: Path | None = None, out: Path | None = None) -> CheckpointMade:
    """Seal what is settled, then sign the sealed tree and store the checkpoint (and write it to ``out``)."""
    private, key_path = signing.signing_key(key)
    public = signing.public_of(private)
    pending = _pending_file(out) if out is not None else None
    try:
        with connected(bind) as connection:
            seals.seal(connection, wait=True)
        with unit(bind, actor) as work:
            work.guard(Query((QueryItem(types=(CHECKPOINTED,)),)))
            connection = work.session.connection()
            sealed = seals.sealed(connection)
            if sealed.size == 0:
                raise InvalidState("nothing to checkpoint: the log has no settled event yet")
            root = seals.root(connection, sealed.size)
            if root is None:
                raise InvalidState("the seals are incomplete: run `tenantadmin events verify`")
            origin = seals.origin(connection)
            last = _last_signed(_known_file(key_path.parent, origin), public)
            if last is not None:
                _still_extends(connection, last, sealed.size, root)
            signed_at = datetime.now(UTC)
            text = f"{origin}\n{sealed.size}\n{base64.b64encode(root).decode()}\n{TIME_PREFIX}{_instant(signed_at)}\n"
            note = signing.sign(text, private)
            made = seals.add_checkpoint(
                connection,
                tree_size=sealed.size,
                root_hash=root,
                signed_at=signed_at,
                key_id=public.key_id,
                public_key=public.public,
                note=note,
            )
            work.record(
                CHECKPOINTED,
                {"checkpoint": made, "tree_size": sealed.size, "root_hash": root.hex(), "key_id": public.key_id},
                tags={"checkpoint": str(made)},
                subject=("log", uuid.uuid5(uuid.NAMESPACE_URL, origin)),
            )
            if pending is not None:
                pending.write_text(note)
        _keep(_known_file(key_path.parent, origin), note)
        if pending is not None and out is not None:
            try:
                os.link(pending, out)  # never over a file made meanwhile
            except FileExistsError:
                raise InvalidInput(f"{out} was made meanwhile: the checkpoint is stored, not written") from None
    finally:
        if pending is not None:
            pending.unlink(missing_ok=True)
    parsed = parse_note(note, made, public.key_id)
    return CheckpointMade(parsed, key_path, signing.public_key_file(key_path), out)


def verify(bind: Bind, *, checkpoint_file: Path | None = None, public_key: Path | None = None) -> Verification:
    """Check every event against every checkpoint the trusted key signed, and each checkpoint against the last."""
    key = signing.trusted_key(public_key)
    if key is None:
        raise InvalidInput(
            "no public key to verify with: give --public-key FILE, or make this account's key with "
            "`tenantadmin events checkpoint`",
            field="public_key",
        )
    from_file = _read_checkpoint(checkpoint_file, key) if checkpoint_file is not None else None
    with connected(bind) as connection:
        _unscoped(connection, "verifying")
    with connected(bind) as connection:
        seals.seal(connection, wait=True)
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        connection.execute(sa.text("SET TRANSACTION READ ONLY"))
        origin = seals.origin(connection)
        problems: list[str] = []
        trusted, others = _trusted(seals.checkpoints(connection), key, origin, problems)
        if from_file is not None:
            if from_file.origin != origin:
                raise InvalidInput(f"{checkpoint_file} is a checkpoint of another log ({from_file.origin})")
            trusted.append(from_file)
        directory = public_key.parent if public_key is not None else signing.default_key_path().parent
        last = _last_signed(_known_file(directory, origin), key)
        if last is not None and last.note not in {c.note for c in trusted}:
            trusted.append(last)  # the database no longer holds it: deleted, and what it signed maybe rewritten
        trusted.sort(key=lambda c: (c.tree_size, c.signed_at))
        found = scan.scan(connection, {c.tree_size for c in trusted})
        problems[:0] = _where(found)
        problems += _against(found, trusted)
        problems += _extensions(connection, trusted)
    if not trusted:
        problems.append(
            f"no checkpoint signed by key {key.key_id}: nothing vouches for the log "
            "(make one with `tenantadmin events checkpoint`)"
        )
    return Verification(
        ok=not problems,
        events=found.events,
        tree_size=found.tree_size,
        sealed_position=found.sealed_position,
        unsealed=found.unsealed,
        key_id=key.key_id,
        newest=trusted[-1] if trusted else None,
        checkpoints=len(trusted),
        others=others,
        problems=problems,
    )


def prove(
    bind: Bind, position: int, *, checkpoint_file: Path | None = None, public_key: Path | None = None
) -> dict[str, Any]:
    """The inclusion proof of the event at ``position`` in a checkpoint: the newest stored one that holds it, or the
    one in ``checkpoint_file`` (checked against the trusted key), in the format docs/log-proofs.md describes."""
    key = signing.trusted_key(public_key)
    if checkpoint_file is not None and key is None:
        raise InvalidInput(
            "no public key to check the checkpoint file with: give --public-key FILE", field="public_key"
        )
    from_file = _read_checkpoint(checkpoint_file, key) if checkpoint_file is not None and key is not None else None
    with connected(bind) as connection:
        row = connection.execute(_ROW, {"position": position}).first()
        if row is None:
            raise NotFound(f"no event at position {position}", field="position")
        leaf = seals.leaf_of(connection, position)
        if leaf is None:
            raise InvalidState(f"position {position} is not sealed yet: try again in a moment")
        data = entry.entry(tuple(row))
        subtree = seals.subtrees(connection)
        if entry.leaf_hash(data) != subtree(0, leaf):
            raise InvalidState(f"position {position} changed since it was sealed: run `tenantadmin events verify`")
        if from_file is not None:
            if from_file.origin != seals.origin(connection):
                raise InvalidInput(f"{checkpoint_file} is a checkpoint of another log ({from_file.origin})")
            chosen = from_file
        else:
            # The newest that holds it and that the trusted key signed (any, when there is no key to trust here).
            stored = [
                c
                for c in seals.checkpoints(connection)
                if c.tree_size > leaf and (key is None or signing.opened(c.note, key) is not None)
            ]
            if not stored:
                raise InvalidState(
                    f"no checkpoint holds position {position} yet: make one with `tenantadmin events checkpoint`"
                )
            newest = stored[-1]
            chosen = parse_note(newest.note, newest.id, newest.key_id)
        if chosen.tree_size <= leaf:
            raise InvalidInput(f"{chosen.label} holds {chosen.tree_size} events: position {position} is not in it")
        path = merkle.inclusion_path(subtree, leaf, chosen.tree_size)
    if merkle.root_from_inclusion(leaf, chosen.tree_size, entry.leaf_hash(data), path) != chosen.root_hash:
        raise InvalidState(
            f"the seals do not prove position {position} in {chosen.label}: run `tenantadmin events verify`"
        )
    return {
        "format": PROOF_FORMAT,
        "origin": chosen.origin,
        "position": position,
        "leaf_index": leaf,
        "tree_size": chosen.tree_size,
        "entry": data.decode(),
        "leaf_hash": entry.leaf_hash(data).hex(),
        "path": [sibling.hex() for sibling in path],
        "root_hash": chosen.root_hash.hex(),
        "checkpoint": chosen.note,
    }


def state(bind: Bind) -> LogState:
    with connected(bind) as connection:
        sealed = seals.sealed(connection)
        stored = seals.checkpoints(connection)
    newest = parse_note(stored[-1].note, stored[-1].id, stored[-1].key_id) if stored else None
    return LogState(sealed.size, sealed.position, newest)


def parse_note(note: str, id_: int | None = None, key_id: str = "") -> SignedCheckpoint:
    """A checkpoint's note, read without checking its signature (``_read_checkpoint`` checks it)."""
    text = note[: note.rfind("\n\n") + 1] if "\n\n" in note else note
    lines = text.split("\n")
    try:
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
        times = [line[len(TIME_PREFIX) :] for line in lines[3:] if line.startswith(TIME_PREFIX)]
        signed_at = datetime.fromisoformat(times[0])
    except (IndexError, ValueError, binascii.Error):
        raise InvalidInput("not a tenantadmin checkpoint (origin, size, root hash and time, signed)") from None
    if len(root) != 32 or size <= 0:
        raise InvalidInput("not a tenantadmin checkpoint (a positive size and a SHA-256 root hash)")
    return SignedCheckpoint(origin, size, root, signed_at, note, id_, key_id)


def _read_checkpoint(path: Path, key: signing.VerifierKey) -> SignedCheckpoint:
    try:
        note = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read the checkpoint {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        parsed = parse_note(note, None, key.key_id)
    except InvalidInput as error:
        raise InvalidInput(f"{path}: {error}") from None
    if signing.opened(note, key) is None:
        raise InvalidInput(f"{path} is not signed by the trusted key {key.key_id}")
    return parsed


def _trusted(
    stored: list[seals.StoredCheckpoint], key: signing.VerifierKey, origin: str, problems: list[str]
) -> tuple[list[SignedCheckpoint], int]:
    """The stored checkpoints ``key`` signed; one that names the key but whose signature fails, or whose columns
    disagree with its note, was altered."""
    trusted, others = [], 0
    for stored_one in stored:
        text = signing.opened(stored_one.note, key)
        if text is None:
            if stored_one.public_key == key.public:
                problems.append(
                    f"checkpoint {stored_one.id}: its signature by key {key.key_id} does not verify (altered)"
                )
            else:
                others += 1
            continue
        parsed = parse_note(stored_one.note, stored_one.id, key.key_id)
        if parsed.origin != origin:
            problems.append(f"checkpoint {stored_one.id} is signed for another log ({parsed.origin})")
        elif (parsed.tree_size, parsed.root_hash) != (stored_one.tree_size, stored_one.root_hash):
            problems.append(f"checkpoint {stored_one.id}: its columns no longer say what its signed note says")
        else:
            trusted.append(parsed)
    return trusted, others


_WHAT = {
    "changed": "changed: its event is not the one sealed as leaf {leaf}",
    "removed": "removed: sealed as leaf {leaf}, its event is no longer in the log",
    "inserted": "inserted: its event is below the sealed head but was never sealed",
    "reordered": "out of order: the seals were rewritten (leaf {leaf})",
    "retagged": "retagged: its rows in the tag index (what append conditions read) are not its event's tags",
}


def _where(found: scan.Scan) -> list[str]:
    lines = [
        f"position {f.position} "
        + (
            "removed: its tag rows remain, its event is no longer in the log"
            if f.kind == "removed" and f.leaf is None
            else _WHAT[f.kind].format(leaf=f.leaf)
        )
        for f in found.findings
    ]
    if found.more_findings:
        lines.append(f"and more after those {len(found.findings)}")
    if found.uncounted:
        lines.append(f"{found.uncounted} events share a position with another: the log's unique position was dropped")
    return lines


def _against(found: scan.Scan, trusted: list[SignedCheckpoint]) -> list[str]:
    """Each checkpoint's root against the tree rebuilt from the events: the first that fails bounds where the log was
    changed (after the last one that holds); every later one holds the change too, and is named with it."""
    previous: SignedCheckpoint | None = None
    failed: list[SignedCheckpoint] = []
    problem = ""
    for checkpoint in trusted:
        if failed:
            failed.append(checkpoint)
        elif checkpoint.tree_size > found.tree_size:
            failed.append(checkpoint)
            problem = (
                f"{checkpoint.label} holds {checkpoint.tree_size} events but the log only {found.tree_size}: "
                f"events after position {found.sealed_position} were removed"
            )
        elif found.roots.get(checkpoint.tree_size) != checkpoint.root_hash:
            failed.append(checkpoint)
            since = f"after position {found.last_positions[previous.tree_size]}" if previous else "from the start"
            problem = (
                f"{checkpoint.label} (signed {_instant(checkpoint.signed_at)}) does not match the events: "
                f"changed {since} up to position {found.last_positions[checkpoint.tree_size]}"
            )
        else:
            previous = checkpoint
    if len(failed) > 1:
        problem += f", as {len(failed) - 1} later checkpoints show too"
    return [problem] if failed else []


def _extensions(connection: Connection, trusted: list[SignedCheckpoint]) -> list[str]:
    """RFC 9162 consistency proofs, from the seals, that each checkpoint extends the one before it."""
    problems = []
    subtree = seals.subtrees(connection)
    for before, after in itertools.pairwise(trusted):
        try:
            proof = merkle.consistency_proof(subtree, before.tree_size, after.tree_size)
        except LookupError:
            proof = []
        if not merkle.consistent(before.tree_size, before.root_hash, after.tree_size, after.root_hash, proof):
            problems.append(f"{after.label} does not extend {before.label}: the log was forked or rewritten")
    return problems


def _known_file(directory: Path, origin: str) -> Path:
    """Where the last checkpoint signed with a key is kept, beside the key, for each log: what the next checkpoint must
    extend, and what verifying checks even when the database has lost it (a log rolled back to an earlier state)."""
    name = origin.removeprefix("tenantadmin/")
    if not re.fullmatch(r"[0-9a-f-]{36}", name):
        name = hashlib.sha256(origin.encode()).hexdigest()
    return directory / "checkpoints" / f"{name}.txt"


def _last_signed(path: Path, key: signing.VerifierKey) -> SignedCheckpoint | None:
    try:
        note = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read the kept checkpoint {path}: {error}") from None
    if signing.opened(note, key) is None:
        return None  # another key's, or not a checkpoint: the next one of this key replaces it
    return replace(parse_note(note, None, key.key_id), kept=f"the checkpoint kept in {path}")


def _still_extends(connection: Connection, last: SignedCheckpoint, size: int, root: bytes) -> None:
    """Refuse to sign a tree that is not the last signed one grown: the log was rewritten or rolled back since."""
    try:
        proof = (
            merkle.consistency_proof(seals.subtrees(connection), last.tree_size, size) if last.tree_size <= size else []
        )
    except LookupError:
        proof = []
    if not merkle.consistent(last.tree_size, last.root_hash, size, root, proof):
        raise Conflict(
            f"the log no longer extends the checkpoint this key signed last ({last.tree_size} events, signed"
            f" {_instant(last.signed_at)}): it was rewritten or rolled back; run `tenantadmin events verify`"
        )


def _keep(path: Path, note: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(note)
    os.replace(name, path)


def _unscoped(connection: Connection, doing: str) -> None:
    if connection.scalar(SCOPE):
        raise Forbidden(f"{doing} reads the whole log: this needs a login granted every organization")


def _pending_file(out: Path) -> Path:
    """A new file beside ``out`` the checkpoint is written to first, then renamed over it once stored."""
    if out.exists():
        raise InvalidInput(f"{out} exists: a kept checkpoint is never overwritten, choose another name", field="out")
    try:
        descriptor, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    except OSError as error:
        raise InvalidInput(f"cannot write {out}: {error.strerror}", field="out") from None
    os.close(descriptor)
    return Path(name)


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
