"""The station PIN: a second factor for the team lead's one-time URL.

Only a scrypt hash of the PIN is kept, in the station store's metadata (``field.lead_pin``,
``scrypt$n$r$p$salt$hash``, n=2**15, r=8, p=1, 16-byte salt). When it is set, the lead's URL
opens a PIN form; ``MAX_PIN_TRIES`` wrong PINs burn the lead token (restart ``fieldkit field
serve`` for a new one). Set or change it with ``fieldkit field pin set``.
"""

import base64
import hashlib
import hmac
import os
import unicodedata

from ...core.errors import UsageError

PIN_META = "field.lead_pin"
MAX_PIN_TRIES = 5
MIN_PIN_LENGTH = 4
MAX_PIN_LENGTH = 64
_N, _R, _P = 2 ** 15, 8, 1


def _clean(pin):
    return unicodedata.normalize("NFC", str(pin or "").strip())


def _derive(pin, salt, n=_N, r=_R, p=_P):
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r + 1024 * 1024, dklen=32)


def hash_pin(pin):
    """The stored form of a PIN; refuses one too short or too long to be a PIN."""
    pin = _clean(pin)
    if not MIN_PIN_LENGTH <= len(pin) <= MAX_PIN_LENGTH:
        raise UsageError(f"The station PIN must have {MIN_PIN_LENGTH} to {MAX_PIN_LENGTH} "
                         f"characters.")
    salt = os.urandom(16)
    encode = base64.b64encode
    return (f"scrypt${_N}${_R}${_P}${encode(salt).decode()}$"
            f"{encode(_derive(pin, salt)).decode()}")


def verify_pin(pin, stored):
    """Whether ``pin`` matches the stored hash (compared in constant time)."""
    pin = _clean(pin)
    if not stored or not pin or len(pin) > MAX_PIN_LENGTH:
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        again = _derive(pin, base64.b64decode(salt), int(n), int(r), int(p))
        expected = base64.b64decode(digest)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(again, expected)


def stored_pin(store):
    return store.get_meta(PIN_META)


def set_pin(store, pin):
    """Keep the hash of a new station PIN (replacing the old one)."""
    hashed = hash_pin(pin)
    with store.transaction():
        store.set_meta(PIN_META, hashed)


def clear_pin(store):
    with store.transaction():
        store.set_meta(PIN_META, None)
