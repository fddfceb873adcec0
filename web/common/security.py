"""Security helpers for the web faces: join tokens, server-side sessions, CSRF, headers,
and the LAN address a tablet can reach, found without sending a single packet.

Sessions and tokens live in memory, in one process (the field station is one process with
one store): restarting the station ends every session, and the team joins again with the
fresh QR code. Nothing here is written to disk, so there is no secret to steal from it.
"""

import hashlib
import ipaddress
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field

SESSION_COOKIE = "fk_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

SECURITY_HEADERS = {
    # Every asset is local: nothing may load from elsewhere, no inline script or style.
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                "script-src 'self'; object-src 'none'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # join tokens are in URLs: never leak them onwards
}


def _digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Token:
    """A join token: ``role`` of the sessions it opens, expiry, and whether it is one-time."""

    role: str
    expires_at: float
    one_time: bool
    uses: int = 0
    failures: int = 0


class TokenBook:
    """Join tokens, kept as hashes. A team token may be used by every tablet of the team
    until it expires (one QR code for everyone); a lead token opens one session only."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self._tokens = {}
        self._lock = threading.Lock()

    def issue(self, role, ttl, one_time):
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._purge()
            self._tokens[_digest(token)] = Token(role, self.clock() + ttl, one_time)
        return token

    def redeem(self, token):
        """The role a token grants, or None (unknown, expired or already used)."""
        if not token or len(token) > 200:
            return None
        with self._lock:
            self._purge()
            entry = self._tokens.get(_digest(token))
            if entry is None:
                return None
            entry.uses += 1
            if entry.one_time:
                del self._tokens[_digest(token)]
            return entry.role

    def peek(self, token):
        """The role a token grants, without using it (None if unknown or expired)."""
        if not token or len(token) > 200:
            return None
        with self._lock:
            self._purge()
            entry = self._tokens.get(_digest(token))
            return entry.role if entry else None

    def fail(self, token, limit):
        """Count a wrong PIN given with ``token``; at ``limit`` failures the token is burnt.
        Returns how many tries are left (0: burnt)."""
        with self._lock:
            entry = self._tokens.get(_digest(token))
            if entry is None:
                return 0
            entry.failures += 1
            left = max(limit - entry.failures, 0)
            if left == 0:
                del self._tokens[_digest(token)]
            return left

    def expires_at(self, token):
        entry = self._tokens.get(_digest(token))
        return entry.expires_at if entry else None

    def revoke_role(self, role):
        """Forget every token of a role (a fresh QR code replaces the old one)."""
        with self._lock:
            self._tokens = {k: v for k, v in self._tokens.items() if v.role != role}

    def _purge(self):
        now = self.clock()
        self._tokens = {k: v for k, v in self._tokens.items() if v.expires_at > now}


@dataclass
class Session:
    """One joined browser: its role (``lead`` or ``member``), CSRF token and activity."""

    id: str
    role: str
    csrf: str
    device: str
    joined_at: float
    last_seen: float
    name: str | None = None
    notices: list = field(default_factory=list)

    @property
    def short_id(self):
        return self.id[:8]

    @property
    def is_lead(self):
        return self.role == "lead"


class SessionTable:
    """Sessions by random id (the cookie holds the id; everything else stays here)."""

    def __init__(self, idle_timeout, clock=time.time):
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._sessions = {}
        self._lock = threading.Lock()

    def open(self, role, device):
        now = self.clock()
        session = Session(id=secrets.token_urlsafe(32), role=role,
                          csrf=secrets.token_urlsafe(32), device=device, joined_at=now,
                          last_seen=now)
        with self._lock:
            self._sessions[session.id] = session
        return session

    def touch(self, session_id):
        """The live session with this id, marked as seen now; None if unknown or idle."""
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            now = self.clock()
            if now - session.last_seen > self.idle_timeout:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def end(self, short_or_full_id):
        """End a session (by its id or the 8-character prefix shown to the lead)."""
        with self._lock:
            for session_id in list(self._sessions):
                if session_id == short_or_full_id or session_id[:8] == short_or_full_id:
                    return self._sessions.pop(session_id)
        return None

    def active(self):
        now = self.clock()
        with self._lock:
            live = [s for s in self._sessions.values()
                    if now - s.last_seen <= self.idle_timeout]
        return sorted(live, key=lambda s: s.joined_at)


def csrf_ok(session, sent):
    """Constant-time comparison of the token a request carried with the session's."""
    return bool(session and sent) and secrets.compare_digest(session.csrf, str(sent))


def device_label(user_agent):
    """A short human label of a browser from its User-Agent ("iPad · Safari")."""
    ua = user_agent or ""
    device = ("iPad" if "iPad" in ua else "iPhone" if "iPhone" in ua
              else "Android" if "Android" in ua else "Windows" if "Windows" in ua
              else "Mac" if "Macintosh" in ua else "Linux" if "Linux" in ua else None)
    browser = ("Edge" if "Edg/" in ua else "Firefox" if "Firefox/" in ua
               else "Chrome" if ("Chrome/" in ua or "Chromium/" in ua) else "Safari"
               if "Safari/" in ua else None)
    parts = [part for part in (device, browser) if part]
    return " · ".join(parts) if parts else (ua[:40] or "?")


def _private_first(address):
    ip = ipaddress.IPv4Address(address)
    return (not ip.is_private, ip.is_link_local, address)


def lan_addresses():
    """Non-loopback IPv4 addresses of this machine, private ones first; never sends anything.

    Uses the resolver's view of the host name, then (Linux) the kernel's table of local
    addresses in ``/proc/net/fib_trie``. Empty when the machine has no LAN address.
    """
    found = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(info[4][0])
    except OSError:
        pass
    try:
        found.update(_fib_trie_locals())
    except OSError:
        pass
    usable = []
    for address in found:
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            continue
        if not (ip.is_loopback or ip.is_unspecified or ip.is_multicast):
            usable.append(address)
    return sorted(usable, key=_private_first)


def _fib_trie_locals(path="/proc/net/fib_trie"):
    """Addresses the kernel lists as ``/32 host LOCAL`` (this machine's own addresses)."""
    addresses = set()
    previous = None
    with open(path, encoding="ascii", errors="replace") as trie:
        for line in trie:
            text = line.strip()
            if text.startswith("/32 host LOCAL") and previous:
                addresses.add(previous)
            if text.startswith("|--"):
                previous = text[3:].strip()
    return addresses
