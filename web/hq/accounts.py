"""HQ user accounts: roles, province scopes, scrypt passwords, sign-in with lock-out.

Roles: ``admin`` (everything: devices, codes, users, audit log), ``reviewer`` (reads and
reviews inspections of its provinces, or of every province when it has none), ``viewer``
(reads, never decides; may be limited to provinces too). Provinces are current-era codes.

Passwords: ``hashlib.scrypt`` (n=2**15, r=8, p=1, 16-byte salt per user), stored as
``scrypt$n$r$p$salt$hash`` and compared in constant time; an unknown name costs the same
hash, so timing does not tell which names exist.

Sign-in attempts are kept in the database (table ``hq_login_attempts``), so the limits hold
across worker processes: ``MAX_FAILURES`` failures for one account within ``LOCK_SECONDS``
lock it for ``LOCK_SECONDS`` from the last one (a correct password is refused meanwhile);
``MAX_IP_FAILURES`` failures from one address within ``IP_WINDOW`` throttle that address.
Every user row has a ``session_generation``: raising it ("log out everywhere", disabling,
a new password) ends every session of that user at its next request.
"""

import base64
import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from ...core.documents import new_id
from ...core.errors import AuthError, FieldkitError, NotFound, UsageError
from ...sync import audit
from ...sync.enrollment import check_provinces, iso, utcnow

ROLES = ("admin", "reviewer", "viewer")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 15, 8, 1
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
MAX_IP_FAILURES = 30
IP_WINDOW = 15 * 60
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

JSON_VALUE = sa.JSON().with_variant(JSONB(), "postgresql")
metadata = sa.MetaData()

users = sa.Table(
    "hq_users", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("provinces", JSON_VALUE),          # null: every province
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("session_generation", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("disabled_at", sa.Text),
    sa.Column("last_login_at", sa.Text),
    sa.Index("ix_hq_users_name", "name", unique=True),
)

login_attempts = sa.Table(
    "hq_login_attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("ip", sa.Text),
    sa.Column("outcome", sa.Text, nullable=False),   # ok | failed | locked | throttled
    sa.Index("ix_hq_login_attempts_name_at", "name", "at"),
    sa.Index("ix_hq_login_attempts_ip_at", "ip", "at"),
)


class LoginRefused(AuthError):
    """A refused sign-in; ``status`` 401 (wrong name or password), 429 (locked, throttled)."""

    def __init__(self, message, status=401):
        super().__init__(message)
        self.status = status


# --- passwords ------------------------------------------------------------------------------

def _b64(data):
    return base64.b64encode(data).decode("ascii")


def hash_password(password, salt=None, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P):
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                            maxmem=256 * n * r + 1024 * 1024, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password, stored):
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        again = hash_password(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(again.rsplit("$", 1)[1].encode(), digest.encode())


_DUMMY_HASH = None


def _dummy_hash():
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def check_password_rules(password, name=None):
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise UsageError(f"A password needs at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"A password has at most {MAX_PASSWORD} characters.")
    if name and password.lower() == name.lower():
        raise UsageError("The password must not be the user name.")


# --- users ----------------------------------------------------------------------------------

def clean_name(name):
    text = unicodedata.normalize("NFC", str(name or "")).strip().lower()
    if not _NAME.match(text):
        raise UsageError(f"A user name is 2–64 characters: letters a–z, digits, '.', '_', '-', "
                         f"'@' (not '{str(name)[:40]}').")
    return text


@dataclass(frozen=True)
class User:
    """An HQ account as a request sees it."""

    id: str
    name: str
    role: str
    provinces: tuple | None = None    # None: every province
    session_generation: int = 1
    disabled_at: str | None = None
    created_at: str | None = None
    last_login_at: str | None = None

    @classmethod
    def from_row(cls, row):
        provinces = row["provinces"]
        return cls(row["id"], row["name"], row["role"],
                   tuple(provinces) if provinces is not None else None,
                   row["session_generation"], row["disabled_at"], row["created_at"],
                   row["last_login_at"])

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def disabled(self):
        return self.disabled_at is not None

    def sees(self, province_code):
        """May this user read documents of ``province_code``?"""
        return self.provinces is None or province_code in self.provinces

    def may_review(self, province_code):
        return self.role in ("admin", "reviewer") and self.sees(province_code)

    def summary(self):
        return {"id": self.id, "name": self.name, "role": self.role,
                "provinces": list(self.provinces) if self.provinces is not None else None,
                "disabled": self.disabled, "disabled_at": self.disabled_at,
                "created_at": self.created_at, "last_login_at": self.last_login_at}


def add_user(store, units, name, role, password, provinces=None):
    """Create an account; ``provinces`` (current-era codes) limit reviewers and viewers."""
    name = clean_name(name)
    if role not in ROLES:
        raise UsageError(f"A role is one of {', '.join(ROLES)}, not '{role}'.")
    if role == "admin" and provinces:
        raise UsageError("An administrator works on every province; give no --province.")
    scope = check_provinces(units, provinces) if provinces else None
    check_password_rules(password, name)
    row = {"id": new_id(), "name": name, "role": role, "provinces": scope,
           "password_hash": hash_password(password), "session_generation": 1,
           "created_at": iso(utcnow())}
    with store.transaction(), store.connection() as connection:
        if connection.execute(sa.select(users.c.id).where(users.c.name == name)).first():
            raise UsageError(f"There is already a user named {name}.")
        connection.execute(users.insert().values(row))
        audit.record(store, "user.add", "user", name, "ok",
                     {"role": role, "provinces": scope})
    return get_user(store, name)


def get_user(store, name=None, user_id=None):
    query = sa.select(users)
    query = query.where(users.c.id == user_id) if user_id else \
        query.where(users.c.name == clean_name(name))
    with store.connection() as connection:
        row = connection.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"No user named {name or user_id}.")
    return User.from_row(row)


def find_user(store, user_id):
    """The user with this id, or None."""
    with store.connection() as connection:
        row = connection.execute(sa.select(users).where(users.c.id == user_id)) \
            .mappings().first()
    return User.from_row(row) if row else None


def list_users(store):
    with store.connection() as connection:
        rows = connection.execute(sa.select(users).order_by(users.c.name)).mappings().all()
    return [User.from_row(row) for row in rows]


def has_admin(store):
    """Is there an enabled administrator account?"""
    with store.connection() as connection:
        return connection.execute(sa.select(users.c.id).where(
            users.c.role == "admin", users.c.disabled_at.is_(None))).first() is not None


def _update(store, name, action, detail=None, **values):
    user = get_user(store, name)
    with store.transaction(), store.connection() as connection:
        connection.execute(users.update().where(users.c.id == user.id).values(
            session_generation=users.c.session_generation + 1, **values))
        audit.record(store, action, "user", user.name, "ok", detail)
    return get_user(store, user_id=user.id)


def disable_user(store, name):
    """Disable an account: it cannot sign in, and its sessions end."""
    return _update(store, name, "user.disable", disabled_at=iso(utcnow()))


def enable_user(store, name):
    return _update(store, name, "user.enable", disabled_at=None)


def set_password(store, name, password):
    check_password_rules(password, clean_name(name))
    return _update(store, name, "user.password", password_hash=hash_password(password))


def end_sessions(store, name):
    """Log out everywhere: every session of this user ends at its next request."""
    return _update(store, name, "user.logout_everywhere")


# --- signing in -----------------------------------------------------------------------------

def _count(connection, *where):
    return connection.execute(sa.select(sa.func.count()).select_from(login_attempts)
                              .where(*where)).scalar()


def login(store, name, password, ip=None, clock=time.time):
    """The user for this name and password, or ``LoginRefused`` (one sentence, Vietnamese).
    Every attempt is recorded (attempts table and audit log)."""
    now = clock()
    try:
        key = clean_name(name)
    except UsageError:
        key = str(name or "")[:64].lower()
    actor = audit.Actor("anonymous", key, ip=ip)
    with store.connection() as connection:
        ip_failures = _count(connection, login_attempts.c.ip == ip,
                             login_attempts.c.outcome == "failed",
                             login_attempts.c.at > now - IP_WINDOW) if ip else 0
        last_ok = connection.execute(sa.select(sa.func.max(login_attempts.c.at)).where(
            login_attempts.c.name == key, login_attempts.c.outcome == "ok")).scalar() or 0
        failures = connection.execute(
            sa.select(login_attempts.c.at).where(
                login_attempts.c.name == key, login_attempts.c.outcome == "failed",
                login_attempts.c.at > max(last_ok, now - LOCK_SECONDS))
            .order_by(login_attempts.c.at.desc())).scalars().all()
        row = connection.execute(sa.select(users).where(users.c.name == key)) \
            .mappings().first()

    def refuse(outcome, message, status):
        with store.transaction(), store.connection() as connection:
            connection.execute(login_attempts.insert().values(at=now, name=key, ip=ip,
                                                              outcome=outcome))
            audit.record(store, "login", "user", key, outcome, actor=actor)
        raise LoginRefused(message, status)

    if ip_failures >= MAX_IP_FAILURES:
        refuse("throttled", "Quá nhiều lần đăng nhập sai từ địa chỉ này; thử lại sau ít phút.",
               429)
    if len(failures) >= MAX_FAILURES:
        minutes = max(1, round((failures[0] + LOCK_SECONDS - now) / 60))
        refuse("locked", f"Tài khoản tạm khoá sau {MAX_FAILURES} lần đăng nhập sai; thử lại "
               f"sau khoảng {minutes} phút.", 429)
    good = verify_password(str(password or "")[:MAX_PASSWORD],
                           row["password_hash"] if row else _dummy_hash())
    if not good or row is None or row["disabled_at"] is not None:
        refuse("failed", "Tên đăng nhập hoặc mật khẩu không đúng (hoặc tài khoản đã bị "
               "vô hiệu hoá).", 401)
    with store.transaction(), store.connection() as connection:
        connection.execute(login_attempts.insert().values(at=now, name=key, ip=ip,
                                                          outcome="ok"))
        connection.execute(users.update().where(users.c.id == row["id"])
                           .values(last_login_at=iso(utcnow())))
        audit.record(store, "login", "user", key, "ok", actor=audit.Actor("user", key, ip=ip))
    return User.from_row(row)


def purge_attempts(store, older_than=24 * 3600, clock=time.time):
    """Forget sign-in attempts older than a day (the audit log keeps them)."""
    with store.transaction(), store.connection() as connection:
        connection.execute(login_attempts.delete().where(
            login_attempts.c.at < clock() - older_than))


__all__ = ["ROLES", "User", "LoginRefused", "FieldkitError", "add_user", "get_user",
           "find_user", "list_users", "has_admin", "disable_user", "enable_user",
           "set_password", "end_sessions", "login", "hash_password", "verify_password"]
