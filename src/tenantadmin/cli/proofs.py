"""``tenantadmin events checkpoint``, ``events verify`` and ``events prove``: the log proven unchanged."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from tenantadmin.display import visible
from tenantadmin.services import ledger

from .context import Settings, output_options, pass_settings
from .errors import REFUSED, Failure
from .output import emit_record, message, page, to_json

MOST_SHOWN = 20  # problems listed; the first one names where the log was first changed

A_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command()
@click.option("--key", type=A_FILE, metavar="FILE", help="The Ed25519 signing key (default: made on first use).")
@click.option("--out", type=A_FILE, metavar="FILE", help="Also write the signed checkpoint here, to keep elsewhere.")
@output_options
@pass_settings
def checkpoint(settings: Settings, key: Path | None, out: Path | None) -> None:
    """Sign the sealed log's size and root with a key kept outside the database, and store the checkpoint.

    The key is made on first use in the config directory (mode 0600); give auditors its public half.

    \b
    Example:
      tenantadmin events checkpoint --out checkpoint-$(date +%F).txt
    """
    made = ledger.checkpoint(settings.engine(), settings.actor(), key=key, out=out)
    signed = made.checkpoint
    record = {
        **(_checkpoint(signed) or {}),
        "signing_key": str(made.key_path),
        "public_key": str(made.public_key_path),
        "written_to": str(made.written_to) if made.written_to else None,
    }
    if settings.json:
        emit_record(settings, record | {"note": signed.note})
        return
    page(
        settings,
        [
            (
                f"checkpoint {signed.id}: {_count(signed.tree_size, 'event')}, root {signed.root_hash.hex()}, signed"
                f" {signed.signed_at:%Y-%m-%d %H:%M:%S} UTC by key {signed.key_id}"
            ),
            *([f"written to {visible(str(made.written_to))}"] if made.written_to else []),
        ],
    )
    message(settings, f"signed with {made.key_path}; auditors verify with {made.public_key_path}")


@click.command()
@click.option("--checkpoint", "checkpoint_file", type=A_FILE, metavar="FILE", help="A checkpoint kept elsewhere.")
@click.option("--public-key", type=A_FILE, metavar="FILE", help="The key to trust (default: this account's).")
@output_options
@pass_settings
def verify(settings: Settings, checkpoint_file: Path | None, public_key: Path | None) -> None:
    """Rebuild the log's tree from its events and check it against every checkpoint the key signed.

    Exits 0 when every event up to the newest checkpoint is intact and each checkpoint extends the one before, or 1
    naming the first position changed, removed or inserted.

    \b
    Example:
      tenantadmin events verify --checkpoint kept/checkpoint.txt --public-key kept/checkpoint-key.pub.pem
    """
    found = ledger.verify(settings.engine(), checkpoint_file=checkpoint_file, public_key=public_key)
    if settings.json:
        emit_record(settings, dataclasses.asdict(found) | {"newest": _checkpoint(found.newest)})
    elif found.ok and found.newest is not None:
        page(
            settings,
            [
                (
                    f"verified {found.events} events against {_count(found.checkpoints, 'checkpoint')} signed by key"
                    f" {found.key_id}:"
                    f" the newest, of {found.newest.signed_at:%Y-%m-%d %H:%M:%S} UTC, holds {found.newest.tree_size},"
                    " and each extends the one before"
                ),
                *_unsealed(found),
            ],
        )
    else:
        page(settings, [*map(visible, found.problems[:MOST_SHOWN]), *_unsealed(found)])
    if found.others:
        message(settings, f"{found.others} stored checkpoints are signed by other keys: not relied on")
    if not found.ok:
        raise Failure(f"the log does not verify: {found.problems[0]}", REFUSED)


@click.command()
@click.argument("position", type=click.IntRange(min=1))
@click.option("--checkpoint", "checkpoint_file", type=A_FILE, metavar="FILE", help="Prove it in this checkpoint.")
@click.option("--public-key", type=A_FILE, metavar="FILE", help="The key that signed --checkpoint.")
@output_options
@pass_settings
def prove(settings: Settings, position: int, checkpoint_file: Path | None, public_key: Path | None) -> None:
    """Print the proof that the event at POSITION is in a signed checkpoint, as JSON (docs/log-proofs.md).

    docs/verify-proof.py checks it with hashlib and an Ed25519 library, nothing of tenantadmin's.

    \b
    Example:
      tenantadmin events prove 1042 > proof.json && python3 docs/verify-proof.py proof.json checkpoint-key.pub.pem
    """
    proof = ledger.prove(settings.engine(), position, checkpoint_file=checkpoint_file, public_key=public_key)
    click.echo(to_json(proof))


def _checkpoint(signed: ledger.SignedCheckpoint | None) -> dict[str, Any] | None:
    if signed is None:
        return None
    return {
        "checkpoint": signed.id,
        "tree_size": signed.tree_size,
        "root_hash": signed.root_hash.hex(),
        "signed_at": signed.signed_at,
        "key_id": signed.key_id,
    }


def _unsealed(found: ledger.Verification) -> list[str]:
    if not found.unsealed:
        return []
    return [f"{found.unsealed} events after position {found.sealed_position} are not sealed yet (appends in progress)"]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
