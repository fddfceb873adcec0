"""Sealed bundles: a push bundle encrypted so that only HQ can open it (a lost USB stick
reveals nothing).

HQ has an X25519 key pair (the private key in its database metadata, ``hq.bundle_key``); the
public key reaches the device in the enrollment answer (``hq_public_key``) and is kept in
its store metadata. A sealed file is::

    header = magic "fieldkit-sealed\\n" (16) | version (1 = 1) | HQ key id (8: SHA-256 of
             HQ's public key, first 8 bytes) | ephemeral X25519 public key (32) |
             chunk size (4, big-endian)
    then the zip bundle in chunks of ``chunk size`` bytes (the last one shorter, maybe
    empty), each AES-256-GCM ciphertext + 16-byte tag

key = HKDF-SHA256(X25519(ephemeral private, HQ public), salt = ephemeral public + HQ
public, info = "fieldkit-sealed-bundle/1"); chunk ``i`` has nonce = ``i`` (11 bytes,
big-endian) + 1 byte (1 for the last chunk, else 0) and the header as associated data, so
a changed, dropped, reordered or truncated chunk — or a changed header — is refused. The
sealed zip inside is the usual signed bundle.
"""

import base64
import hashlib
import hmac
import os
import tempfile

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..core.errors import AuthError, SyncError

MAGIC = b"fieldkit-sealed\n"
VERSION = 1
INFO = b"fieldkit-sealed-bundle/1"
CHUNK = 1024 * 1024
TAG = 16
HEADER_SIZE = len(MAGIC) + 1 + 8 + 32 + 4
PRIVATE_KEY_META = "hq.bundle_key"
_RAW = serialization.Encoding.Raw


def _public_bytes(public_key):
    return public_key.public_bytes(_RAW, serialization.PublicFormat.Raw)


def key_id(public_raw):
    return hashlib.sha256(public_raw).digest()[:8]


def _derive(shared, ephemeral_raw, recipient_raw):
    if not any(shared):
        raise ValueError("degenerate key exchange")
    return HKDF(hashes.SHA256(), 32, salt=ephemeral_raw + recipient_raw,
                info=INFO).derive(shared)


def _nonce(index, last):
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


# --- HQ's key pair --------------------------------------------------------------------------

def hq_private_key(store):
    """HQ's X25519 private key (made once, kept in HQ's metadata)."""
    value = store.get_meta(PRIVATE_KEY_META)
    if value is None:
        with store.transaction():
            value = store.get_meta(PRIVATE_KEY_META)
            if value is None:
                raw = X25519PrivateKey.generate().private_bytes(
                    _RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
                value = base64.b64encode(raw).decode("ascii")
                store.set_meta(PRIVATE_KEY_META, value)
    return X25519PrivateKey.from_private_bytes(base64.b64decode(value))


def hq_public_key_text(store):
    """HQ's public key as given to devices (base64 of the 32 raw bytes)."""
    return base64.b64encode(_public_bytes(hq_private_key(store).public_key())).decode("ascii")


def parse_public_key(text):
    try:
        raw = base64.b64decode(str(text), validate=True)
        return X25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise SyncError("HQ's public key for sealed bundles is malformed; enroll this "
                        "station again.") from None


# --- sealing and opening --------------------------------------------------------------------

def is_sealed(path):
    with open(path, "rb") as file:
        return file.read(len(MAGIC)) == MAGIC


def seal(plaintext, recipient_text, out_file, chunk=CHUNK):
    """Encrypt ``plaintext`` (the zip's bytes) for HQ into the open binary ``out_file``."""
    recipient = parse_public_key(recipient_text)
    recipient_raw = _public_bytes(recipient)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_raw = _public_bytes(ephemeral.public_key())
    aead = AESGCM(_derive(ephemeral.exchange(recipient), ephemeral_raw, recipient_raw))
    header = (MAGIC + bytes([VERSION]) + key_id(recipient_raw) + ephemeral_raw
              + chunk.to_bytes(4, "big"))
    out_file.write(header)
    view = memoryview(plaintext)
    count = len(view) // chunk + 1  # the last chunk is shorter than ``chunk`` (maybe empty)
    for index in range(count):
        part = view[index * chunk:(index + 1) * chunk]
        out_file.write(aead.encrypt(_nonce(index, index == count - 1), bytes(part), header))


def open_sealed(path, private_key, name=None):
    """Decrypt a sealed bundle into a temporary file (returned, positioned at 0); refuses
    with ``AuthError`` anything altered, truncated or sealed for another key."""
    name = name or os.path.basename(path)

    def refused(why):
        return AuthError(f"The sealed bundle {name} {why}; it was refused and nothing was "
                         f"applied.")
    recipient_raw = _public_bytes(private_key.public_key())
    plain = tempfile.TemporaryFile()
    try:
        with open(path, "rb") as file:
            header = file.read(HEADER_SIZE)
            if len(header) < HEADER_SIZE or not header.startswith(MAGIC):
                raise refused("is damaged (its header is incomplete)")
            at = len(MAGIC)
            if header[at] != VERSION:
                raise SyncError(f"The sealed bundle {name} has version {header[at]}, which "
                                f"this HQ cannot read; update fieldkit.")
            if not hmac.compare_digest(header[at + 1:at + 9], key_id(recipient_raw)):
                raise refused("was sealed for another headquarters' key")
            ephemeral_raw = header[at + 9:at + 41]
            chunk = int.from_bytes(header[at + 41:at + 45], "big")
            if not 1 <= chunk <= 64 * 1024 * 1024:
                raise refused("is damaged (impossible chunk size)")
            try:
                ephemeral = X25519PublicKey.from_public_bytes(ephemeral_raw)
                aead = AESGCM(_derive(private_key.exchange(ephemeral), ephemeral_raw,
                                      recipient_raw))
            except ValueError:
                raise refused("was altered or damaged (bad key exchange)") from None
            block = file.read(chunk + TAG)
            index = 0
            while True:
                following = file.read(chunk + TAG) if len(block) == chunk + TAG else b""
                last = not following
                try:
                    plain.write(aead.decrypt(_nonce(index, last), block, header))
                except InvalidTag:
                    raise refused("was altered, truncated or damaged (it fails "
                                  "authentication)") from None
                if last:
                    break
                block, index = following, index + 1
    except BaseException:
        plain.close()
        raise
    plain.seek(0)
    return plain
