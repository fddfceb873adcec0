"""Encryption at rest of a field station: one random data key, wrapped by the passphrase.

``keys.json`` in the data directory holds a random 256-bit *data key*, encrypted (AES-256-GCM)
with a key derived from the passphrase by scrypt (n=2^15, r=8, p=1, a random 16-byte salt),
and a key check (a known text sealed with the data key). A wrong passphrase fails the GCM tag
of the wrapped key, before any store file is touched.

Every record sealed with the data key is ``nonce (12 random bytes) || ciphertext || tag``;
the associated data says what the record is (a journal line, the snapshot, the blob of one
hash), so a record cannot be passed off as another kind. Encrypted files begin with ``MAGIC``
(a NUL byte first: no plaintext fieldkit accepts as evidence, and no JSON, starts with it).
"""

import base64
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher as _Cipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..errors import AuthError, StoreError, ValidationFailed
from .files import atomic_write

KEYS_NAME = "keys.json"
MAGIC = b"\x00FKENC1\n"
KEYS_FORMAT = 1
SCRYPT_PARAMS = {"n": 2 ** 15, "r": 8, "p": 1}
MIN_PASSPHRASE = 8
NONCE_BYTES = 12
_CHECK_TEXT = b"fieldkit key check"
_WRAP_AAD = b"fieldkit/keys/data-key"
_CHECK_AAD = b"fieldkit/keys/check"


class RecordCipher:
    """AES-256-GCM with the data key: ``seal``/``open`` one record, or seal a stream."""

    def __init__(self, key):
        if len(key) != 32:
            raise ValueError("the data key must be 32 bytes")
        self._key = bytes(key)
        self._aead = AESGCM(self._key)

    def __repr__(self):
        return "<RecordCipher AES-256-GCM>"  # never the key

    def seal(self, data, context):
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, bytes(data), context)

    def open(self, sealed, context, what="An encrypted record"):
        """The plaintext of ``sealed``; ``StoreError`` if it was altered or has another key."""
        if len(sealed) < NONCE_BYTES + 16:
            raise StoreError(f"{what} is too short to be an encrypted record.")
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except InvalidTag:
            raise StoreError(f"{what} cannot be decrypted: it was altered or damaged, or it "
                             f"belongs to another station's key.") from None

    def seal_stream(self, chunks, context):
        """``MAGIC``, a nonce, then the ciphertext of ``chunks`` as they come, then the tag:
        the same bytes as ``MAGIC + seal(b"".join(chunks))`` without holding them all."""
        nonce = os.urandom(NONCE_BYTES)
        encryptor = _Cipher(algorithms.AES(self._key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(context)
        yield MAGIC + nonce
        for chunk in chunks:
            yield encryptor.update(chunk)
        yield encryptor.finalize() + encryptor.tag

    def seal_file(self, data, context):
        """The bytes of an encrypted file holding ``data``."""
        return MAGIC + self.seal(data, context)

    def open_file(self, raw, context, what):
        if not raw.startswith(MAGIC):
            raise StoreError(f"{what} is not encrypted although this station is; it was not "
                             f"put there by fieldkit. Restore the data folder from a backup.")
        return self.open(raw[len(MAGIC):], context, what)


def is_encrypted_file(raw):
    return raw.startswith(MAGIC)


def keys_path(data_dir):
    return Path(data_dir) / KEYS_NAME


def _derive(passphrase, salt, params):
    kdf = Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"])
    return kdf.derive(passphrase.encode("utf-8"))


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def create_keys(data_dir, passphrase):
    """Make a new data key, wrap it with ``passphrase`` into ``keys.json``; its cipher."""
    if not isinstance(passphrase, str) or len(passphrase) < MIN_PASSPHRASE:
        message = f"The passphrase must be at least {MIN_PASSPHRASE} characters long."
        raise ValidationFailed(message, {"passphrase": [message]})
    path = keys_path(data_dir)
    if path.exists():
        raise StoreError(f"{path} already exists; this station is encrypted already.")
    salt, data_key = os.urandom(16), AESGCM.generate_key(bit_length=256)
    wrapping = AESGCM(_derive(passphrase, salt, SCRYPT_PARAMS))
    nonce = os.urandom(NONCE_BYTES)
    cipher = RecordCipher(data_key)
    keys = {"format": KEYS_FORMAT, "cipher": "AES-256-GCM",
            "kdf": {"name": "scrypt", **SCRYPT_PARAMS, "salt": _b64(salt)},
            "wrapped_key": _b64(nonce + wrapping.encrypt(nonce, data_key, _WRAP_AAD)),
            "key_check": _b64(cipher.seal(_CHECK_TEXT, _CHECK_AAD))}
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    atomic_write(path, [json.dumps(keys, indent=1).encode() + b"\n"])
    return cipher


def unlock_keys(data_dir, passphrase):
    """The cipher of the data key in ``keys.json``; ``AuthError`` for a wrong passphrase.
    Reads only: nothing on disk changes, whatever the outcome."""
    path = keys_path(data_dir)
    try:
        keys = json.loads(path.read_bytes())
        if keys.get("format") != KEYS_FORMAT or keys["kdf"]["name"] != "scrypt":
            raise StoreError(f"The key file {path} has a format this fieldkit does not know "
                             f"({keys.get('format')!r}); upgrade fieldkit.")
        kdf = keys["kdf"]
        params = {name: int(kdf[name]) for name in ("n", "r", "p")}
        salt = base64.b64decode(kdf["salt"], validate=True)
        wrapped = base64.b64decode(keys["wrapped_key"], validate=True)
        check = base64.b64decode(keys["key_check"], validate=True)
    except OSError as exc:
        raise StoreError(f"The key file {path} cannot be read ({exc}).") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"The key file {path} is damaged ({exc!r}); without it the "
                         f"encrypted station cannot be opened. Restore it from a backup.") from None
    if not isinstance(passphrase, str) or not passphrase:
        raise AuthError("This station is encrypted: give its passphrase (FIELDKIT_PASSPHRASE, "
                        "or type it when asked).")
    try:
        wrapping = AESGCM(_derive(passphrase, salt, params))
        data_key = wrapping.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _WRAP_AAD)
    except InvalidTag:
        raise AuthError(f"Wrong passphrase for the encrypted station {Path(data_dir)}; "
                        f"nothing was opened or changed.") from None
    cipher = RecordCipher(data_key)
    if cipher.open(check, _CHECK_AAD, f"The key check in {path}") != _CHECK_TEXT:
        raise StoreError(f"The key file {path} is damaged (its key check does not match).")
    return cipher
