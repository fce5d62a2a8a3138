"""Secrets: how they are made, how they are recognised, how they are kept (never as themselves).

API key tokens look like ``ta_<key_id>_<secret><checksum>``: an identifiable prefix, the public key id (the one
lookup), 256 bits of random secret and a CRC32 checksum, all base62, so a double-click selects the whole token and a
mistyped or invented one is rejected without touching the database. The secret is kept as an argon2id hash with
explicit parameters; invitation tokens, which are looked up by value, are kept as their SHA-256.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from dataclasses import dataclass

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_PREFIX = "ta"
KEY_ID_LENGTH = 12  # about 71 bits: ids are public, but must not collide
SECRET_LENGTH = 43  # 43 base62 characters carry 256 bits
CHECKSUM_LENGTH = 6  # CRC32 in base62
TOKEN = re.compile(
    rf"^{KEY_PREFIX}_(?P<key_id>[0-9A-Za-z]{{{KEY_ID_LENGTH}}})_(?P<secret>[0-9A-Za-z]{{{SECRET_LENGTH}}})"
    rf"(?P<checksum>[0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)
INVITATION_PREFIX = "tainv"

# OWASP's minimum for argon2id (m=19 MiB, t=2, p=1), stated here rather than left to the library's defaults. A key's
# secret has 256 bits of entropy, so more work buys nothing but CPU for whoever floods the verifier.
KEY_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
# People choose passwords: RFC 9106's second recommendation (m=64 MiB, t=3, p=4).
PASSWORD_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4, hash_len=32, salt_len=16)
PASSWORD_SHORTEST = 12


def base62(count: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(count))


def _encode62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _encode62(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


@dataclass(frozen=True)
class KeyToken:
    key_id: str
    secret: str

    @property
    def token(self) -> str:
        body = f"{KEY_PREFIX}_{self.key_id}_{self.secret}"
        return body + _checksum(body)

    @property
    def prefix(self) -> str:
        """What lists show to tell keys apart: the prefix and the public id, never any of the secret."""
        return f"{KEY_PREFIX}_{self.key_id}"


def new_key() -> KeyToken:
    return KeyToken(base62(KEY_ID_LENGTH), base62(SECRET_LENGTH))


def parse_key(token: str) -> KeyToken | None:
    """The token's parts, or None when it is not one of ours or its checksum is wrong (a typo, a fake)."""
    match = TOKEN.match(token.strip())
    if not match:
        return None
    body = f"{KEY_PREFIX}_{match['key_id']}_{match['secret']}"
    if not secrets.compare_digest(_checksum(body), match["checksum"]):
        return None
    return KeyToken(match["key_id"], match["secret"])


def hash_secret(secret: str) -> str:
    return KEY_HASHER.hash(secret)


def secret_matches(stored_hash: str, secret: str) -> bool:
    try:
        return KEY_HASHER.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Made with weaker parameters than ours (a stronger hash is left as it is: rehashing it would weaken it)."""
    try:
        stored = extract_parameters(stored_hash)
    except InvalidHashError:
        return True
    ours = KEY_HASHER
    return (
        stored.type is not Type.ID
        or stored.memory_cost < ours.memory_cost
        or stored.time_cost < ours.time_cost
        or stored.hash_len < ours.hash_len
        or stored.salt_len < ours.salt_len
    )


def new_invitation_token() -> str:
    return f"{INVITATION_PREFIX}_{base62(SECRET_LENGTH)}"


def digest(token: str) -> str:
    """How a token looked up by value is kept: SHA-256, hex (the schema's CHECK allows nothing else)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


def hash_password(password: str) -> str:
    return PASSWORD_HASHER.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
