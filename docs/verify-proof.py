#!/usr/bin/env python3
"""Check a tenantadmin inclusion proof (`tenantadmin events prove POSITION > proof.json`) with nothing of tenantadmin's.

    python3 verify-proof.py proof.json checkpoint-key.pub.pem [ORIGIN]

Exits 0 when the event in the proof is in the log its checkpoint signs (the log named ORIGIN, when given: one key may
sign the logs of several databases), 1 otherwise. Needs only hashlib and an Ed25519
library (`cryptography`); the format is docs/log-proofs.md's, the tree RFC 9162's.
"""

import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

KEY_NAME = "tenantadmin-checkpoint"


def fail(why):
    sys.exit(f"not proven: {why}")


def signed_text(note, public_key):
    """The text of the signed note, if the key's signature line verifies over it."""
    text, _, signatures = note.rpartition("\n\n")
    text += "\n"
    raw_key = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_hash = hashlib.sha256(KEY_NAME.encode() + b"\n\x01" + raw_key).digest()[:4]
    for line in signatures.splitlines():
        if line.startswith(f"\u2014 {KEY_NAME} "):
            raw = base64.b64decode(line.split(" ")[-1])
            if raw[:4] == key_hash:
                try:
                    public_key.verify(raw[4:], text.encode())
                except InvalidSignature:
                    fail("the checkpoint's signature does not verify")
                return text
    return fail("the checkpoint is not signed by this key")


def root_from_path(index, size, leaf, path):
    """RFC 9162, 2.1.3.2."""
    if not isinstance(index, int) or not 0 <= index < size:
        fail("the leaf is outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            fail("the path is too long")
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        fail("the path is too short")
    return r


def main(proof_file, key_file, expected_origin=None):
    with open(proof_file, encoding="utf-8") as f:
        proof = json.load(f)
    if proof.get("format") != "tenantadmin/inclusion-proof/v1":
        fail("not a tenantadmin inclusion proof (format tenantadmin/inclusion-proof/v1)")
    with open(key_file, "rb") as f:
        public_key = load_pem_public_key(f.read())
    lines = signed_text(proof["checkpoint"], public_key).split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    signed_at = next((line[5:] for line in lines[3:] if line.startswith("time ")), "?")
    if size != proof["tree_size"] or origin != proof["origin"]:
        fail("the proof is for another checkpoint")
    if expected_origin is not None and origin != expected_origin:
        fail(f"the checkpoint is of another log ({origin})")
    entry = proof["entry"].encode("utf-8")
    if json.loads(entry)["position"] != proof["position"]:
        fail("the entry is not the event at that position")
    leaf = hashlib.sha256(b"\x00" + entry).digest()
    path = [bytes.fromhex(p) for p in proof["path"]]
    if root_from_path(proof["leaf_index"], size, leaf, path) != root:
        fail("the path does not lead to the signed root")
    number = proof["leaf_index"] + 1
    sys.stdout.write(f"position {proof['position']} is event {number} of the {size} of {origin}, signed {signed_at}\n")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
