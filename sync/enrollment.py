"""Device enrollment: HQ issues a one-time, expiring code for a team and scope; a device trades
it for a device token (HQ keeps only its SHA-256) and a bundle signing key.

The code is text a person can type, in Crockford base32 groups (``0-9 A-Z`` without
``I L O U``; typed ``I``/``L`` read as 1 and ``O`` as 0, case and dashes ignored)::

    version 1: version (1) | code id (8) | MAC (10) | url scheme (1) | url rest (n) | check (2)
    version 2: version (1) | code id (8) | MAC (10) | HQ certificate SHA-256 (32) | url scheme
               (1) | url rest (n) | check (2)

- MAC = HMAC-SHA256(HQ secret, "fieldkit-enroll/1" + code id) (version 1) or
  HMAC-SHA256(HQ secret, "fieldkit-enroll/2" + code id + fingerprint) (version 2), first 10
  bytes: HQ refuses a forged or altered code before it looks anything up;
- version 2 carries the SHA-256 of HQ's TLS certificate (DER): the device pins it, and
  refuses any HTTPS connection whose certificate differs (see ``sync/client.py``);
- url scheme 0 = no URL (the device is given ``--url``), 1 = ``http://``, 2 = ``https://``,
  followed by the rest of HQ's URL (``host:port/path``, UTF-8);
- check = SHA-256 of everything before it, first 2 bytes: a mistyped code is caught on the
  device, before anything is sent.

The team, campaign, provinces and expiry are not in the code: HQ keeps them with the code id
(table ``sync_enrollment_codes``) and hands them to the device as its scope.
"""

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from ..core.documents import new_id
from ..core.errors import AuthError, NotFound, UsageError
from ..core.qr import qr_png, qr_svg
from . import audit
from .protocol import Scope
from .tables import devices, enrollment_codes

CODE_VERSION = 1
PINNED_CODE_VERSION = 2  # a code carrying HQ's certificate fingerprint
SECRET_META = "hq.secret"
DEFAULT_EXPIRY = timedelta(hours=24)
MAX_EXPIRY = timedelta(days=90)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {ch: i for i, ch in enumerate(_ALPHABET)}
_DECODE.update({"I": 1, "L": 1, "O": 0})
_SCHEMES = {0: "", 1: "http://", 2: "https://"}
TOKEN_PREFIX = "fkd_"


# --- time -----------------------------------------------------------------------------------

def utcnow():
    return datetime.now(timezone.utc)


def iso(moment):
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_iso(text):
    return datetime.fromisoformat(text)


def parse_duration(text):
    """``30m``, ``12h``, ``7d``, ``2w`` or combinations (``1d12h``); a bare number is hours."""
    value = str(text or "").strip().lower().replace(" ", "")
    if value.isdigit():
        value += "h"
    parts = re.findall(r"(\d+)([smhdw])", value)
    if not value or not parts or "".join(n + u for n, u in parts) != value:
        raise UsageError(f"--expires takes a duration such as 30m, 12h, 7d or 2w, not "
                         f"'{text}'.")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    duration = sum((timedelta(**{unit[u]: int(n)}) for n, u in parts), timedelta())
    if duration <= timedelta(0):
        raise UsageError("--expires must be longer than zero.")
    if duration > MAX_EXPIRY:
        raise UsageError("--expires may be at most 90 days.")
    return duration


# --- the text code --------------------------------------------------------------------------

def _b32encode(data):
    bits = int.from_bytes(data, "big")
    count = (len(data) * 8 + 4) // 5
    bits <<= count * 5 - len(data) * 8
    chars = [_ALPHABET[(bits >> (5 * (count - 1 - i))) & 31] for i in range(count)]
    text = "".join(chars)
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def _b32decode(text):
    chars = [ch for ch in text.upper() if ch not in "- \t\r\n"]
    value = 0
    for ch in chars:
        if ch not in _DECODE:
            raise AuthError(f"This enrollment code contains '{ch}', which no code has; check "
                            f"that it was copied completely.")
        value = (value << 5) | _DECODE[ch]
    length = len(chars) * 5 // 8
    value >>= len(chars) * 5 - length * 8
    return value.to_bytes(length, "big")


def _mac(secret, code_id, fingerprint=None):
    if fingerprint is None:
        message = b"fieldkit-enroll/1" + code_id
    else:
        message = b"fieldkit-enroll/2" + code_id + fingerprint
    return hmac.new(secret, message, hashlib.sha256).digest()[:10]


def parse_fingerprint(text):
    """A certificate's SHA-256 fingerprint as 32 bytes, from 64 hex digits (colons, spaces
    and a ``SHA256:`` or ``sha256/`` prefix allowed, as tools print it)."""
    value = re.sub(r"^sha-?256[:/=]?", "", str(text or "").strip(), flags=re.IGNORECASE)
    value = re.sub(r"[\s:]", "", value)
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise UsageError(f"A certificate fingerprint is a SHA-256: 64 hexadecimal digits "
                         f"(colons allowed), not '{text}'.")
    return bytes.fromhex(value)


def certificate_fingerprint(pem_or_der):
    """The SHA-256 (of the DER form) of the first certificate in a PEM or DER file's bytes."""
    import ssl
    data = bytes(pem_or_der)
    if b"-----BEGIN CERTIFICATE-----" in data:
        start = data.index(b"-----BEGIN CERTIFICATE-----")
        end = data.find(b"-----END CERTIFICATE-----", start)
        if end < 0:
            raise UsageError("The certificate file is damaged (no END CERTIFICATE line).")
        try:
            data = ssl.PEM_cert_to_DER_cert(
                data[start:end + len(b"-----END CERTIFICATE-----")].decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise UsageError("The certificate file is damaged (not valid PEM).") from None
    elif not data.startswith(b"\x30"):
        raise UsageError("This is not a certificate (expected a PEM or DER file).")
    return hashlib.sha256(data).digest()


def encode_code(secret, code_id, url=None, fingerprint=None):
    """The text code for ``code_id`` (8 bytes), carrying HQ's URL when given and, when
    ``fingerprint`` (32 bytes) is given, HQ's certificate fingerprint (a version-2 code)."""
    scheme, rest = 0, b""
    if url:
        url = url.rstrip("/")
        for number, prefix in ((2, "https://"), (1, "http://")):
            if url.startswith(prefix):
                scheme, rest = number, url[len(prefix):].encode("utf-8")
                break
        else:
            raise UsageError(f"HQ's URL must start with http:// or https://, not '{url}'.")
    if fingerprint is None:
        head = bytes([CODE_VERSION]) + code_id + _mac(secret, code_id)
    else:
        if len(fingerprint) != 32:
            raise UsageError("A certificate fingerprint is 32 bytes (SHA-256).")
        head = (bytes([PINNED_CODE_VERSION]) + code_id + _mac(secret, code_id, fingerprint)
                + fingerprint)
    body = head + bytes([scheme]) + rest
    return _b32encode(body + hashlib.sha256(body).digest()[:2])


@dataclass(frozen=True)
class ParsedCode:
    code_id: bytes
    mac: bytes
    url: str | None
    fingerprint: bytes | None = None  # SHA-256 of HQ's certificate (version-2 codes)

    @property
    def id_text(self):
        return self.code_id.hex()

    @property
    def fingerprint_hex(self):
        return self.fingerprint.hex() if self.fingerprint else None


def decode_code(text):
    """Read a text code (or refuse it with a sentence); the MAC is checked by HQ."""
    if not isinstance(text, str) or not text.strip():
        raise AuthError("No enrollment code was given.")
    if len(text) > 400:
        raise AuthError("This is not an enrollment code (too long).")
    data = _b32decode(text)
    version = data[0] if data else None
    least = 54 if version == PINNED_CODE_VERSION else 22
    if len(data) < least or version not in (CODE_VERSION, PINNED_CODE_VERSION):
        raise AuthError("This is not a fieldkit enrollment code (wrong length or version); "
                        "check that it was copied completely.")
    body, check = data[:-2], data[-2:]
    if hashlib.sha256(body).digest()[:2] != check:
        raise AuthError("This enrollment code is mistyped (its check characters do not "
                        "match); copy it again.")
    fingerprint = None
    at = 19
    if version == PINNED_CODE_VERSION:
        fingerprint, at = body[19:51], 51
    scheme = body[at]
    if scheme not in _SCHEMES:
        raise AuthError("This enrollment code is damaged (unknown URL form).")
    rest = body[at + 1:]
    try:
        url = _SCHEMES[scheme] + rest.decode("utf-8") if scheme else None
    except UnicodeDecodeError:
        raise AuthError("This enrollment code is damaged (its HQ address is not text).") \
            from None
    return ParsedCode(body[1:9], body[9:19], url, fingerprint)


# --- HQ side --------------------------------------------------------------------------------

def hq_secret(store):
    """HQ's secret for enrollment codes and UI sessions (made once, kept in store meta)."""
    value = store.get_meta(SECRET_META)
    if value is None:
        with store.transaction():
            value = store.get_meta(SECRET_META)
            if value is None:
                value = secrets.token_urlsafe(32)
                store.set_meta(SECRET_META, value)
    return value.encode("ascii")


def check_provinces(units, provinces):
    """Current-era province codes, validated against the unit registry (sorted, unique)."""
    if not provinces:
        raise UsageError("Give at least one province (--province CODE, a current-era code).")
    checked = []
    for code in provinces:
        text = str(code).strip()
        if not text.isdigit() or len(text) > 2:
            raise UsageError(f"--province takes a province code (two digits), not '{code}'.")
        text = text.zfill(2)
        try:
            unit = units.get(text, era="current")
        except NotFound:
            try:
                legacy = units.get(text, era="legacy")
            except NotFound:
                raise UsageError(f"No current-era province has code {text}.") from None
            successor = units.successor(legacy)
            hint = f"; use {successor.code} ({successor.name})" if successor else ""
            raise UsageError(f"{text} is not a current-era province code (it was "
                             f"{legacy.name} before 2025){hint}.") from None
        if unit.level != "province":
            raise UsageError(f"{text} is a {unit.level}, not a province.")
        checked.append(unit.code)
    return sorted(set(checked))


def issue_code(store, units, team, provinces, campaign_id=None, expires=DEFAULT_EXPIRY,
               hq_url=None, cert_fingerprint=None):
    """Make a one-time enrollment code; returns its description with the text ``code``.
    ``cert_fingerprint`` (32 bytes: SHA-256 of HQ's certificate) goes into ``code`` (not
    into ``short_code``), and the device then pins that certificate."""
    team = " ".join(str(team or "").split())
    if not team:
        raise UsageError("Give the team's name (--team).")
    provinces = check_provinces(units, provinces)
    if campaign_id is not None:
        campaign = store.get(campaign_id)
        if campaign is None or campaign.get("type") != "campaign" or campaign.get("deleted"):
            raise NotFound(f"No campaign with id {campaign_id} at headquarters.")
    code_id = secrets.token_bytes(8)
    now = utcnow()
    row = {"id": code_id.hex(), "team": team, "campaign_id": campaign_id,
           "provinces": provinces, "hq_url": hq_url, "created_at": iso(now),
           "expires_at": iso(now + expires)}
    secret = hq_secret(store)
    with store.transaction(), store.connection() as connection:
        connection.execute(enrollment_codes.insert().values(row))
        audit.record(store, "enroll.code_issued", "enrollment_code", row["id"], "ok",
                     {"team": team, "campaign_id": campaign_id, "provinces": provinces,
                      "expires_at": row["expires_at"]})
    return {"code": encode_code(secret, code_id, hq_url, cert_fingerprint),
            "short_code": encode_code(secret, code_id), "code_id": row["id"],
            "cert_sha256": cert_fingerprint.hex() if cert_fingerprint else None,
            "url": hq_url, "team": team, "campaign_id": campaign_id,
            "provinces": provinces, "expires_at": row["expires_at"]}


def _clean_device_id(claim):
    try:
        return str(uuid.UUID(str(claim))) if claim else None
    except ValueError:
        return None


def redeem_code(store, text, device_id=None, name=None):
    """Trade a code for a device registration; the token is returned once, never stored.
    The outcome (enrolled, or refused and why) goes to the audit log."""
    try:
        answer = _redeem(store, text, device_id, name)
    except AuthError as exc:
        audit.record(store, "enroll.redeem", "enrollment_code", None, "refused",
                     {"reason": str(exc)})
        raise
    acting = audit.current_actor()
    audit.record(store, "enroll.redeem", "device", answer["device_id"], "ok",
                 {"team": answer["team"], "scope": answer["scope"], "name": name},
                 actor=audit.Actor("device", answer["team"], answer["device_id"], acting.ip))
    return answer


def _redeem(store, text, device_id, name):
    parsed = decode_code(text)
    if not hmac.compare_digest(parsed.mac, _mac(hq_secret(store), parsed.code_id,
                                                parsed.fingerprint)):
        raise AuthError("This enrollment code was not issued by this headquarters (its "
                        "signature does not match): it was altered, forged, or is meant "
                        "for another HQ.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    signing_key = secrets.token_urlsafe(32)
    now = utcnow()
    with store.transaction(), store.connection() as connection:
        code = connection.execute(sa.select(enrollment_codes).where(
            enrollment_codes.c.id == parsed.id_text)).mappings().first()
        if code is None:
            raise AuthError("This enrollment code is unknown to headquarters (it may have "
                            "been deleted); ask HQ for a new code.")
        if code["used_at"] is not None:
            raise AuthError(f"This enrollment code was already used (on {code['used_at']}); "
                            f"each code enrolls one device. Ask HQ for a new code.")
        if parse_iso(code["expires_at"]) <= now:
            raise AuthError(f"This enrollment code expired on {code['expires_at']}; ask HQ "
                            f"for a new code.")
        wanted = _clean_device_id(device_id)
        if wanted is None or connection.execute(sa.select(devices.c.id).where(
                devices.c.id == wanted)).first() is not None:
            wanted = new_id()
        # One-time: only the transaction that flips used_at from NULL gets the device.
        taken = connection.execute(
            enrollment_codes.update()
            .where(enrollment_codes.c.id == parsed.id_text, enrollment_codes.c.used_at.is_(None))
            .values(used_at=iso(now), device_id=wanted))
        if taken.rowcount != 1:
            raise AuthError("This enrollment code was already used; ask HQ for a new code.")
        connection.execute(devices.insert().values(
            id=wanted, name=(str(name)[:200] if name else None), team=code["team"],
            campaign_id=code["campaign_id"], provinces=list(code["provinces"]),
            token_hash=token_hash(token), signing_key=signing_key, code_id=code["id"],
            enrolled_at=iso(now)))
    scope = Scope(code["campaign_id"], tuple(code["provinces"]))
    from .sealed import hq_public_key_text
    return {"device_id": wanted, "token": token, "signing_key": signing_key,
            "team": code["team"], "scope": scope.as_dict(), "hq_url": code["hq_url"],
            "enrolled_at": iso(now), "hq_public_key": hq_public_key_text(store)}


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Device:
    """An enrolled device as HQ knows it."""

    id: str
    team: str
    scope: Scope
    signing_key: str
    name: str | None = None
    revoked_at: str | None = None
    enrolled_at: str | None = None
    last_seen_at: str | None = None

    @classmethod
    def from_row(cls, row):
        return cls(row["id"], row["team"], Scope(row["campaign_id"], tuple(row["provinces"])),
                   row["signing_key"], row["name"], row["revoked_at"], row["enrolled_at"],
                   row["last_seen_at"])

    @property
    def revoked(self):
        return self.revoked_at is not None

    def summary(self):
        return {"id": self.id, "name": self.name, "team": self.team,
                "campaign_id": self.scope.campaign_id, "provinces": list(self.scope.provinces),
                "enrolled_at": self.enrolled_at, "last_seen_at": self.last_seen_at,
                "revoked": self.revoked, "revoked_at": self.revoked_at}


def authenticate(store, token):
    """The device holding ``token``; ``AuthError`` when unknown or revoked."""
    if not token or not isinstance(token, str) or len(token) > 200:
        raise AuthError("A device token is required (header Authorization: Bearer <token>).")
    with store.connection() as connection:
        row = connection.execute(sa.select(devices).where(
            devices.c.token_hash == token_hash(token))).mappings().first()
    if row is None:
        raise AuthError("This device token is unknown to headquarters; enroll the device "
                        "again with a new code.")
    device = Device.from_row(row)
    if device.revoked:
        raise AuthError(f"This device was revoked by headquarters on {device.revoked_at}; "
                        f"enroll it again with a new code.")
    return device


def get_device(store, device_id):
    with store.connection() as connection:
        row = connection.execute(sa.select(devices).where(
            devices.c.id == str(device_id))).mappings().first()
    if row is None:
        raise NotFound(f"No device with id {device_id}.")
    return Device.from_row(row)


def list_devices(store):
    with store.connection() as connection:
        rows = connection.execute(sa.select(devices).order_by(devices.c.enrolled_at,
                                                              devices.c.id)).mappings().all()
    return [Device.from_row(row) for row in rows]


def revoke_device(store, device_id):
    """Revoke a device: its token is refused from now on (401 on every API call)."""
    device = get_device(store, device_id)
    if device.revoked:
        return device
    with store.transaction(), store.connection() as connection:
        connection.execute(devices.update().where(devices.c.id == device.id)
                           .values(revoked_at=iso(utcnow())))
        audit.record(store, "device.revoke", "device", device.id, "ok", {"team": device.team})
    return get_device(store, device_id)


def touch_device(store, device_id):
    """Record when a device last synced."""
    with store.transaction(), store.connection() as connection:
        connection.execute(devices.update().where(devices.c.id == device_id)
                           .values(last_seen_at=iso(utcnow())))


def list_codes(store, include_used=False):
    query = sa.select(enrollment_codes).order_by(enrollment_codes.c.created_at.desc())
    if not include_used:
        query = query.where(enrollment_codes.c.used_at.is_(None))
    with store.connection() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


# --- QR codes -------------------------------------------------------------------------------


def qr_data_uri(text):
    return "data:image/png;base64," + base64.b64encode(qr_png(text)).decode("ascii")


def write_qr(text, path):
    """Write the QR code of ``text``: PNG or SVG by the file's extension, both when it has
    neither (``FILE.png`` and ``FILE.svg``). Returns the paths written."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        targets = [(path, qr_png)]
    elif suffix == ".svg":
        targets = [(path, lambda t: qr_svg(t).encode("utf-8"))]
    elif suffix:
        raise UsageError(f"--qr writes .png or .svg files, not '{path.suffix}'.")
    else:
        targets = [(path.with_name(path.name + ".png"), qr_png),
                   (path.with_name(path.name + ".svg"), lambda t: qr_svg(t).encode("utf-8"))]
    written = []
    for target, render in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(render(text))
        written.append(str(target))
    return written
