"""The key that signs checkpoints, kept outside the database, and the signed notes it signs (C2SP signed-note).

A checkpoint is worth what its key is: the database's administrator must not hold it. So the Ed25519 key lives in the
operator's config directory (``checkpoint-key.pem``, made on first use, mode 0600, in a directory made 0700 if it was
not there; refused as ssh refuses a key others can read) or wherever ``--key`` says, and its public half beside it
(``checkpoint-key.pub.pem``) for auditors to keep. A signed note is the text, a blank line, and a line per signature:
an em dash, the key's name, and base64 of the key hash (the first 4 bytes of SHA-256 of the name, a newline, 0x01 and
the public key) followed by the signature of the text: the format Go's checksum database, Sigstore and the witnesses
of transparency logs read.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tenantadmin.config import config_path
from tenantadmin.errors import InvalidInput

KEY_NAME = "tenantadmin-checkpoint"
PRIVATE_FILE = "checkpoint-key.pem"
PUBLIC_FILE = "checkpoint-key.pub.pem"
DASH = "\u2014 "


@dataclass(frozen=True)
class VerifierKey:
    """A public key, and the key hash by which a signature line names it."""

    public: bytes  # raw, 32 bytes

    @property
    def key_id(self) -> str:
        return key_hash(self.public).hex()

    def verifies(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except InvalidSignature:
            return False
        return True


def key_hash(public: bytes) -> bytes:
    return hashlib.sha256(KEY_NAME.encode() + b"\n\x01" + public).digest()[:4]


def default_key_path() -> Path:
    return config_path().parent / PRIVATE_FILE


def signing_key(path: Path | None) -> tuple[Ed25519PrivateKey, Path]:
    """The signing key at ``path``, or the default one, made (with its public half) when it does not exist yet."""
    if path is not None:
        return _read_private(path), path
    path = default_key_path()
    if not path.exists():
        make_key(path)
    return _read_private(path), path


def public_key_file(private_path: Path) -> Path:
    return (
        private_path.with_name(PUBLIC_FILE)
        if private_path.name == PRIVATE_FILE
        else private_path.with_suffix(".pub.pem")
    )


def trusted_key(path: Path | None) -> VerifierKey | None:
    """The public key to trust: the file given, else the default key's public half (None when there is none)."""
    if path is None:
        default = default_key_path()
        if not default.exists():
            return None
        path = public_key_file(default)
        if not path.exists():
            return VerifierKey(_raw_public(_read_private(default).public_key()))
    try:
        loaded = serialization.load_pem_public_key(path.read_bytes())
    except OSError as error:
        raise InvalidInput(f"cannot read the public key {path}: {error.strerror}", field="public_key") from None
    except ValueError:
        raise InvalidInput(f"{path} is not a PEM public key", field="public_key") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise InvalidInput(f"{path} is not an Ed25519 public key", field="public_key")
    return VerifierKey(_raw_public(loaded))


def public_of(key: Ed25519PrivateKey) -> VerifierKey:
    return VerifierKey(_raw_public(key.public_key()))


def sign(text: str, key: Ed25519PrivateKey) -> str:
    """``text`` (newline-terminated) as a note signed by ``key``."""
    public = _raw_public(key.public_key())
    signature = base64.b64encode(key_hash(public) + key.sign(text.encode())).decode()
    return f"{text}\n{DASH}{KEY_NAME} {signature}\n"


def opened(note: str, key: VerifierKey) -> str | None:
    """The text of ``note`` if ``key`` signed it, else None (a signature by another key, or a bad one)."""
    split = note.rfind("\n\n")
    if split < 0:
        return None
    text, lines = note[: split + 1], note[split + 2 :].splitlines()
    for line in lines:
        if not line.startswith(DASH + KEY_NAME + " "):
            continue
        try:
            raw = base64.b64decode(line.rsplit(" ", 1)[1], validate=True)
        except ValueError:
            return None
        if raw[:4] == key_hash(key.public):
            return text if key.verifies(text.encode(), raw[4:]) else None
    return None


def make_key(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, even briefly
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public_key_file(path).write_bytes(public)


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read the signing key {path}: {error.strerror}", field="key") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"the signing key {path} can be read by others (mode {stat.S_IMODE(mode):04o}): chmod 600 it", field="key"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise InvalidInput(f"{path} is not an unencrypted PEM private key", field="key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} is not an Ed25519 private key", field="key")
    return key


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
