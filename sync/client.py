"""The field side of HTTP sync: enrollment, push (with blobs), pull, and the status the field
UI's Sync button shows.

``sync(station)`` pushes every local change since the push checkpoint in batches (evidence
files HQ lacks first), advancing the checkpoint only after HQ's answer; then pulls HQ's
changes after the pull cursor, applying them with the same conflict rules; then pushes the
local versions that lost a conflict on pull, so HQ keeps them too. A dropped connection at
any point leaves the checkpoints where they were: running sync again repeats nothing twice.

Transport: HTTPS always verifies HQ's certificate against the system's CAs, or a private CA
(``ca_file``, ``--ca-file`` or ``FIELDKIT_CA_BUNDLE``). A device enrolled with a code that
carries HQ's certificate fingerprint also pins it: every connection compares the SHA-256 of
the peer's certificate (DER) with the pinned one and refuses a mismatch, even one the CA
would accept.
"""

import functools
import hashlib
import hmac
import http.client
import json
import os
import socket
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from ..core.documents import now_iso
from ..core.errors import AuthError, SyncError
from .enrollment import decode_code
from .local import (LAST_SYNC, PENDING, acknowledge, apply_pulled, enrollment, outbox,
                    outgoing, pending_count, pull_cursor, push_checkpoint, require_enrollment,
                    save_enrollment)
from .protocol import BATCH_SIZE, PROTOCOL_VERSION

API = "/api/v1"
USER_AGENT = f"fieldkit-sync/{PROTOCOL_VERSION}"
_sync_locks = {}
_locks_guard = threading.Lock()


CA_BUNDLE_ENV = "FIELDKIT_CA_BUNDLE"
PIN_MISMATCH = ("HQ's certificate does not match the one in the enrollment code: refusing "
                "to connect to {host}. Someone may be intercepting the connection; if HQ "
                "changed its certificate, enroll this device again with a new code.")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_json(value):
    """A request body: compact UTF-8 JSON."""
    return _encode(value).encode()


def encode_push(docs):
    return encode_json({"docs": docs})


class CertificateMismatch(SyncError):
    """HQ presented a certificate other than the pinned one."""


def tls_context(ca_file=None):
    """A verifying TLS context: the system's CAs, or ``ca_file`` (else ``FIELDKIT_CA_BUNDLE``).
    Built once per CA file: loading the system's CAs costs 30–50 ms, which was most of a
    sync with nothing to do (bench, no-op sync)."""
    ca_file = ca_file or os.environ.get(CA_BUNDLE_ENV) or None
    try:
        return _verifying_context(ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise SyncError(f"The CA certificate file {ca_file} cannot be read ({exc}); give a "
                        f"PEM file with --ca-file or {CA_BUNDLE_ENV}.") from None


@functools.lru_cache(maxsize=8)
def _verifying_context(ca_file):
    return ssl.create_default_context(cafile=ca_file)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection that, after the usual verification, checks the pinned
    certificate fingerprint before a single byte of the request is sent."""

    fingerprint = None  # 64 lowercase hex digits

    def connect(self):
        super().connect()
        der = self.sock.getpeercert(binary_form=True) or b""
        if not hmac.compare_digest(hashlib.sha256(der).hexdigest(), self.fingerprint):
            self.sock.close()
            self.sock = None
            raise CertificateMismatch(PIN_MISMATCH.format(host=self.host))


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context, fingerprint):
        super().__init__(context=context)
        self.fingerprint = fingerprint

    def https_open(self, req):
        def connection(host, **kwargs):
            made = _PinnedHTTPSConnection(host, **kwargs)
            made.fingerprint = self.fingerprint
            return made
        return self.do_open(connection, req, context=self._context)


class HQClient:
    """JSON over HTTP to HQ's ``/api/v1``; every failure becomes ``SyncError`` or
    ``AuthError`` with a sentence. ``cert_sha256`` (hex) pins HQ's certificate; ``ca_file``
    trusts a private CA instead of the system's."""

    def __init__(self, base_url, token=None, timeout=60.0, cert_sha256=None, ca_file=None):
        if not base_url or not base_url.startswith(("http://", "https://")):
            raise SyncError(f"HQ's address must start with http:// or https://, not "
                            f"'{base_url}'.")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.cert_sha256 = cert_sha256.lower() if cert_sha256 else None
        if self.cert_sha256 and not self.base_url.startswith("https://"):
            raise SyncError(f"This device pins HQ's certificate, so it talks to HQ over "
                            f"https:// only, not {self.base_url}.")
        if not self.base_url.startswith("https://"):
            self.opener = urllib.request.build_opener()
            return
        context = tls_context(ca_file)
        handler = (_PinnedHTTPSHandler(context, self.cert_sha256) if self.cert_sha256
                   else urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(handler)

    def request(self, method, path, body=None, data=None, content_type=None):
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            data = encode_json(body)
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base_url + API + path, data=data,
                                         headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise self._refused(exc) from None
        except (urllib.error.URLError, ssl.SSLError) as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise SyncError(
                    f"HQ's certificate at {self.base_url} could not be verified "
                    f"({reason.verify_message or reason}): the connection was refused. If "
                    f"HQ uses a private certificate authority, give its certificate with "
                    f"--ca-file or {CA_BUNDLE_ENV}.") from None
            raise SyncError(f"Headquarters at {self.base_url} could not be reached or the "
                            f"connection broke ({reason}); try again: nothing is sent twice."
                            ) from None
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError,
                socket.timeout, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise SyncError(f"Headquarters at {self.base_url} could not be reached or the "
                            f"connection broke ({reason}); try again: nothing is sent twice."
                            ) from None
        try:
            return json.loads(payload)
        except ValueError:
            raise SyncError(f"Headquarters at {self.base_url} sent an answer that is not "
                            f"JSON; is this the right address?") from None

    def _refused(self, exc):
        try:
            message = json.loads(exc.read() or b"{}").get("error")
        except (ValueError, AttributeError, OSError, http.client.HTTPException):
            message = None
        message = message or f"HTTP {exc.code} {exc.reason}"
        if exc.code in (401, 403):
            return AuthError(f"Headquarters refused: {message}")
        return SyncError(f"Headquarters answered {exc.code}: {message}")

    # --- the API -------------------------------------------------------------------------

    def enroll(self, code, device_id=None, name=None):
        return self.request("POST", "/enroll", {"code": code, "device_id": device_id,
                                                "name": name})

    def device(self):
        return self.request("GET", "/device")

    def push(self, docs):
        return self.request("POST", "/push", {"docs": docs})

    def push_encoded(self, payload):
        """``push`` of a body already encoded by ``encode_push`` (the pipelined push encodes
        the next batch while HQ applies the current one)."""
        return self.request("POST", "/push", data=payload, content_type="application/json")

    def changes(self, since, limit=BATCH_SIZE):
        return self.request("GET", f"/changes?since={int(since)}&limit={int(limit)}")

    def missing_blobs(self, hashes):
        return self.request("POST", "/blobs/missing", {"hashes": hashes})["missing"]

    def upload_blob(self, sha, data):
        return self.request("PUT", f"/blobs/{sha}", data=data,
                            content_type="application/octet-stream")


# --- enrollment -----------------------------------------------------------------------------

def _transport(cert_sha256, ca_file):
    """The client's transport options (none at all for a plain enrollment)."""
    options = {}
    if cert_sha256:
        options["cert_sha256"] = cert_sha256
    if ca_file:
        options["ca_file"] = str(ca_file)
    return options


def enroll(store, code, url=None, name=None, client_factory=HQClient, ca_file=None):
    """Trade an enrollment code for a device token; saves token, HQ URL and scope in the
    store's metadata. ``url`` is needed only when the code does not carry HQ's address.
    A code carrying HQ's certificate fingerprint pins it from the first connection on."""
    parsed = decode_code(code)
    hq_url = (url or parsed.url or "").rstrip("/")
    if not hq_url:
        raise SyncError("This enrollment code does not carry HQ's address; give it with "
                        "--url http://HQ-ADDRESS:PORT.")
    client = client_factory(hq_url, **_transport(parsed.fingerprint_hex, ca_file))
    answer = client.enroll(code, device_id=store.get_meta("device_id"), name=name)
    info = save_enrollment(store, answer, hq_url, cert_sha256=parsed.fingerprint_hex,
                           ca_file=ca_file)
    return {"device_id": info["device_id"], "hq_url": info["hq_url"], "team": info["team"],
            "scope": info["scope"], "enrolled_at": info["enrolled_at"],
            "cert_sha256": info.get("cert_sha256"),
            "hq_public_key": bool(info.get("hq_public_key"))}


def client_for(store, client_factory=HQClient, url=None, *, ca_file=None):
    info = require_enrollment(store)
    return client_factory(url or info["hq_url"], token=info["token"],
                          **_transport(info.get("cert_sha256"),
                                       ca_file or info.get("ca_file")))


# --- sync -----------------------------------------------------------------------------------

def _lock_for(store):
    with _locks_guard:
        return _sync_locks.setdefault(id(store), threading.Lock())


def sync(store, blobs=None, client=None, batch=BATCH_SIZE):
    """Push, pull, push the versions that lost on pull; returns what happened:
    ``{pushed, pulled, conflicts, blobs, rejected, duplicates, last_sync, pending}``."""
    client = client or client_for(store)
    summary = {"pushed": 0, "pulled": 0, "conflicts": 0, "blobs": 0, "rejected": 0,
               "duplicates": 0, "rejections": []}
    lock = _lock_for(store)
    if not lock.acquire(blocking=False):
        raise SyncError("A sync with headquarters is already running on this station.")
    try:
        push(store, client, blobs, summary, batch)
        pull(store, client, summary, batch)
        push_outbox(store, client, summary)
        finished = now_iso()
        with store.transaction():
            store.set_meta(LAST_SYNC, finished)
            store.set_meta(PENDING, pending_count(store))
        summary["last_sync"] = finished
        summary["pending"] = store.get_meta(PENDING)
        return summary
    finally:
        lock.release()


def _count(summary, results):
    for result in results:
        outcome = result.get("outcome")
        if outcome in ("applied", "duplicate", "conflict"):
            summary["pushed"] += 1
        if outcome == "duplicate":
            summary["duplicates"] += 1
        elif outcome == "conflict":
            summary["conflicts"] += 1
        elif outcome == "rejected":
            summary["rejected"] += 1
            summary["rejections"].append({"id": result.get("id"),
                                          "reason": result.get("reason")})


def _check_answer(answer, docs):
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list) or len(results) != len(docs) or any(
            not isinstance(r, dict) or r.get("id") != d["id"] for r, d in zip(results, docs)):
        raise SyncError("Headquarters' answer to a push does not match what was sent; the "
                        "push will be repeated next time.")
    return results


def push(store, client, blobs=None, summary=None, batch=BATCH_SIZE):
    """Push every local change since the checkpoint, batch by batch.

    Pipelined, one request in flight: while HQ applies batch N (a background thread waits
    for its answer), this thread reads and encodes batch N+1 and uploads its evidence
    files; N+1 is sent as soon as N's answer arrives, and N's answer is checked and
    acknowledged while HQ applies N+1. So HQ sees the batches in order, one at a time, and
    the checkpoint only ever moves to a batch HQ answered, in order: a failure anywhere
    stops the push with the checkpoint at the last answered batch (a batch HQ applied but
    whose answer was not acknowledged is sent again next time: HQ answers duplicate). A
    single batch (the usual sync) is sent from this thread."""
    summary = summary if summary is not None else {"pushed": 0, "duplicates": 0,
                                                   "conflicts": 0, "rejected": 0,
                                                   "blobs": 0, "rejections": []}
    since = push_checkpoint(store)
    docs, until, more = outgoing(store, since, batch)
    if until == since:
        return summary
    if not more:
        answer = _send_push(client, docs, _prepare(client, blobs, docs, summary))
        _acknowledge_batch(store, docs, until, answer, summary)
        return summary
    in_flight = None  # (future answer, docs, until) of the batch HQ is applying
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fieldkit-push") as sender:
        try:
            while True:
                payload = _prepare(client, blobs, docs, summary)
                answered = in_flight and (in_flight[0].result(), *in_flight[1:])
                in_flight = (sender.submit(_send_push, client, docs, payload), docs, until)
                if answered:  # checked and acknowledged while HQ applies the next batch
                    _acknowledge_batch(store, answered[1], answered[2], answered[0], summary)
                if not more:
                    break
                since = until
                docs, until, more = outgoing(store, since, batch)
                if until == since:
                    break
            _acknowledge_batch(store, in_flight[1], in_flight[2], in_flight[0].result(),
                               summary)
            in_flight = None
        finally:
            if in_flight is not None:
                in_flight[0].cancel()  # not sent yet: dropped; sent: its answer is ignored
    return summary


def _prepare(client, blobs, docs, summary):
    """Upload the batch's evidence files HQ lacks and encode the batch (None: empty)."""
    if not docs:
        return None
    summary["blobs"] += upload_blobs(client, blobs, docs)
    return encode_push(docs)


def _send_push(client, docs, payload):
    return client.push_encoded(payload) if docs else None


def _acknowledge_batch(store, docs, until, answer, summary):
    """Check HQ's answer to a batch and acknowledge it. A batch with nothing to send (every
    change came from HQ) just moves the checkpoint."""
    if not docs:
        acknowledge(store, until)
        return
    results = _check_answer(answer, docs)
    _count(summary, results)
    acknowledge(store, until, results)


def push_outbox(store, client, summary):
    versions = outbox(store)
    for start in range(0, len(versions), BATCH_SIZE):
        docs = versions[start:start + BATCH_SIZE]
        results = _check_answer(client.push(docs), docs)
        _count(summary, [r for r in results if r.get("outcome") == "rejected"])
        acknowledge(store, None, results, sent_outbox=docs)


def upload_blobs(client, blobs, docs):
    """Upload the evidence files of ``docs`` that HQ lacks; returns how many were sent."""
    if blobs is None:
        return 0
    hashes = sorted({d["sha256"] for d in docs if d.get("type") == "evidence"
                     and not d.get("deleted") and isinstance(d.get("sha256"), str)})
    hashes = [sha for sha in hashes if _has(blobs, sha)]
    if not hashes:
        return 0
    sent = 0
    for sha in client.missing_blobs(hashes):
        client.upload_blob(sha, blobs.get(sha))
        sent += 1
    return sent


def _has(blobs, sha):
    try:
        return blobs.has(sha)
    except Exception:  # noqa: BLE001 - a malformed hash in a document: nothing to send
        return False


def pull(store, client, summary=None, batch=BATCH_SIZE):
    """Pull HQ's changes after the cursor until HQ says there are no more."""
    summary = summary if summary is not None else {"pulled": 0, "conflicts": 0}
    for _ in range(1_000_000):
        answer = client.changes(pull_cursor(store), batch)
        docs, cursor = answer.get("docs"), answer.get("cursor")
        if not isinstance(docs, list) or not isinstance(cursor, int):
            raise SyncError("Headquarters sent a malformed list of changes.")
        counts = apply_pulled(store, docs, cursor)
        summary["pulled"] += len(docs)
        summary["conflicts"] += counts["conflict"]
        if not answer.get("more"):
            break
    return summary


def sync_status(station_or_store):
    """For the field UI's Sync button: ``{enrolled, hq_url, device_id, team, scope,
    last_sync, pending}``."""
    store = getattr(station_or_store, "store", station_or_store)
    info = enrollment(store)
    return {"enrolled": bool(info), "hq_url": info and info.get("hq_url"),
            "device_id": info and info.get("device_id"), "team": info and info.get("team"),
            "scope": info and info.get("scope"), "last_sync": store.get_meta(LAST_SYNC),
            "pending": pending_count(store)}


def sync_station(station, url=None, ca_file=None):
    """``sync`` for a ``Station`` (its store and evidence files)."""
    store = station.store
    client = client_for(store, url=url, ca_file=ca_file)
    return sync(store, blobs=station.blobs, client=client)


__all__ = ["HQClient", "enroll", "sync", "sync_station", "sync_status", "push", "pull"]
