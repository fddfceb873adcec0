"""Offline sync by file (rule 5): the same push and pull as HTTP, carried on a USB stick.

A bundle is a zip file::

    manifest.json   what the bundle is (below), UTF-8 JSON
    manifest.sig    hex HMAC-SHA256 of manifest.json's bytes, keyed with the device's
                    signing key (UTF-8 bytes of the ``signing_key`` HQ gave at enrollment)
    docs.jsonl      one document per line (public fields only)
    blobs/<sha256>  evidence files the documents reference (push bundles)

The manifest names the SHA-256 of docs.jsonl and of every blob, so the signature covers the
whole bundle: one changed byte anywhere and it is refused before anything is applied.

- a **push** bundle (``kind: "push"``), made on the field: every local change since the push
  checkpoint (not yet acknowledged), plus the versions that lost a conflict on pull;
- an **ack** bundle (``kind: "ack"``), made by HQ on import: which push it acknowledges
  (``until_seq``), the rejections, and HQ's changes for the device after its pull cursor
  (``cursor``: the next one). Importing it on the field advances the push checkpoint and
  applies HQ's documents with the usual rules.

Importing a bundle twice changes nothing: every document is then a duplicate.

A push bundle is **sealed** (encrypted for HQ, ``sync/sealed.py``) by default when the
device received HQ's public key at enrollment; HQ detects a sealed file and opens it with
its private key before the usual checks.
"""

import hashlib
import hmac
import io
import json
import os
import zipfile
import zlib
from pathlib import Path

from ..core.documents import new_id, now_iso
from ..core.errors import AuthError, NotFound, SyncError, UsageError
from ..core.store.files import temp_path
from .local import (OUTBOX, acknowledge, apply_pulled, outbox, outgoing, pull_cursor,
                    push_checkpoint, require_enrollment)
from .protocol import MAX_BLOB_BYTES, PROTOCOL_VERSION, check_wire_document

FORMAT = "fieldkit-bundle"
MANIFEST, SIGNATURE, DOCS = "manifest.json", "manifest.sig", "docs.jsonl"
MAX_BUNDLE_MEMBER = 2 * 1024 * 1024 * 1024
MAX_MANIFEST = 64 * 1024 * 1024


def _sign(key, data):
    return hmac.new(key.encode("utf-8"), data, hashlib.sha256).hexdigest()


def _docs_bytes(docs):
    return b"".join(json.dumps(doc, ensure_ascii=False, separators=(",", ":"),
                               sort_keys=True).encode() + b"\n" for doc in docs)


def write_bundle(path, manifest, docs, key, blobs=(), seal_for=None):
    """Write a signed bundle atomically; ``blobs`` is ``[(sha256, bytes)]``. With
    ``seal_for`` (HQ's public key) the zip is built in memory and only its sealed form is
    written: no plaintext touches the target disk."""
    docs_data = _docs_bytes(docs)
    manifest = {**manifest, "format": FORMAT, "version": PROTOCOL_VERSION,
                "docs": {"file": DOCS, "count": len(docs),
                         "sha256": hashlib.sha256(docs_data).hexdigest()},
                "blobs": [{"sha256": sha, "size": len(data)} for sha, data in blobs]}
    manifest_data = json.dumps(manifest, ensure_ascii=False, indent=1,
                               sort_keys=True).encode()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        target = io.BytesIO() if seal_for else tmp
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, manifest_data)
            archive.writestr(SIGNATURE, _sign(key, manifest_data) + "\n")
            archive.writestr(DOCS, docs_data)
            for sha, data in blobs:
                archive.writestr(f"blobs/{sha}", data, compress_type=zipfile.ZIP_STORED)
        if seal_for:
            from .sealed import seal
            with open(tmp, "wb") as out:
                seal(target.getbuffer(), seal_for, out)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return manifest


class Bundle:
    """A bundle read from disk; nothing is trusted until ``verify(key)`` has passed."""

    def __init__(self, path, opened=None):
        """``opened``: the zip's bytes as a file object (a sealed bundle, decrypted)."""
        self.path = Path(path)
        if opened is None and not self.path.is_file():
            raise NotFound(f"No bundle file at {self.path}.")
        try:
            self.archive = zipfile.ZipFile(opened if opened is not None else self.path)
            names = {info.filename: info for info in self.archive.infolist()}
        except (zipfile.BadZipFile, OSError) as exc:
            raise SyncError(f"{self.path.name} is not a fieldkit bundle (not a readable zip "
                            f"file: {exc}).") from None
        if MANIFEST not in names or SIGNATURE not in names or DOCS not in names:
            raise SyncError(f"{self.path.name} is not a fieldkit bundle (manifest, signature "
                            f"or documents missing).")
        if any(info.file_size > MAX_BUNDLE_MEMBER for info in names.values()) \
                or names[MANIFEST].file_size > MAX_MANIFEST:
            raise SyncError(f"{self.path.name} holds a file too large for a bundle.")
        self.names = names
        self.manifest_data = self._read(MANIFEST)
        try:
            self.manifest = json.loads(self.manifest_data)
        except ValueError:
            raise self._tampered("its manifest is not valid JSON") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT:
            raise SyncError(f"{self.path.name} is not a fieldkit bundle (unknown format).")
        self.kind = self.manifest.get("kind")
        self.device_id = self.manifest.get("device_id")

    def _tampered(self, why):
        return AuthError(f"The bundle {self.path.name} was altered or damaged ({why}); it was "
                         f"refused and nothing was applied.")

    def _read(self, name, limit=None):
        info = self.names.get(name)
        if info is None:
            raise self._tampered(f"{name} is missing")
        if limit is not None and info.file_size > limit:
            raise self._tampered(f"{name} is larger than allowed")
        try:
            return self.archive.read(name)
        except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError, EOFError, ValueError,
                NotImplementedError) as exc:
            raise self._tampered(f"{name} fails the zip check: {exc}") from None

    def verify(self, key):
        """Check the signature, then every file against the manifest; returns the docs."""
        signature = self._read(SIGNATURE, 1024).decode("ascii", "replace").strip()
        if not hmac.compare_digest(signature, _sign(key, self.manifest_data)):
            raise self._tampered("the signature does not match the manifest and the device's "
                                 "key")
        docs_data = self._read(DOCS)
        expected = self.manifest.get("docs") or {}
        if hashlib.sha256(docs_data).hexdigest() != expected.get("sha256"):
            raise self._tampered("the documents do not match the signed manifest")
        try:
            docs = [json.loads(line) for line in docs_data.decode("utf-8").splitlines()
                    if line.strip()]
        except (ValueError, UnicodeDecodeError):
            raise self._tampered("a document line is not valid JSON") from None
        if len(docs) != expected.get("count"):
            raise self._tampered("the number of documents differs from the manifest")
        for index, doc in enumerate(docs):
            problem = check_wire_document(doc, index)
            if problem:
                raise SyncError(f"The bundle {self.path.name} holds a malformed document "
                                f"({problem}); nothing was applied.")
        listed = {entry.get("sha256") for entry in self.manifest.get("blobs") or []}
        present = {name[len("blobs/"):] for name in self.names if name.startswith("blobs/")}
        extra = set(self.names) - {MANIFEST, SIGNATURE, DOCS} - {f"blobs/{s}" for s in present}
        if present != listed or extra:
            raise self._tampered("its files differ from the signed manifest")
        return docs

    def blobs(self):
        """``(sha256, bytes)`` of each evidence file, each checked against its name."""
        for entry in self.manifest.get("blobs") or []:
            sha = entry["sha256"]
            data = self._read(f"blobs/{sha}", MAX_BLOB_BYTES)
            if hashlib.sha256(data).hexdigest() != sha:
                raise self._tampered(f"evidence file {sha[:12]}… does not match its hash")
            yield sha, data

    def close(self):
        self.archive.close()


# --- field side -----------------------------------------------------------------------------

def export_bundle(store, blobs, out, encrypt=None):
    """Write every change HQ has not acknowledged (and the evidence files they reference) as
    one signed push bundle. The checkpoint moves only when HQ's ack bundle is imported.
    ``encrypt``: None seals it for HQ when the station has HQ's public key, True requires
    that, False writes it readable."""
    info = require_enrollment(store)
    hq_key = info.get("hq_public_key")
    if encrypt and not hq_key:
        raise UsageError("This station has no HQ public key to seal bundles with (it was "
                         "enrolled before HQ gave one): enroll it again, or export with "
                         "--no-encrypt.")
    seal_for = hq_key if encrypt is not False else None
    since = push_checkpoint(store)
    docs, until, _ = outgoing(store, since, None)
    lost = outbox(store)
    files = []
    if blobs is not None:
        for sha in sorted({d["sha256"] for d in docs + lost if d.get("type") == "evidence"
                           and not d.get("deleted") and isinstance(d.get("sha256"), str)}):
            try:
                files.append((sha, blobs.get(sha)))
            except Exception:  # noqa: BLE001 - a file this station never had: HQ asks later
                continue
    manifest = write_bundle(out, {
        "kind": "push", "bundle_id": new_id(), "device_id": info["device_id"],
        "created_at": now_iso(), "since_seq": since, "until_seq": until,
        "pull_cursor": pull_cursor(store),
        "outbox": [[d["id"], d["rev"]] for d in lost]}, docs + lost, info["signing_key"],
        files, seal_for=seal_for)
    return {"file": str(out), "bundle_id": manifest["bundle_id"], "docs": len(docs + lost),
            "blobs": len(files), "since_seq": since, "until_seq": until,
            "sealed": bool(seal_for)}


def import_ack(store, path):
    """Import HQ's ack bundle: verify it, advance the push checkpoint, apply HQ's documents.
    Importing it again changes nothing."""
    info = require_enrollment(store)
    bundle = Bundle(path)
    try:
        if bundle.kind != "ack":
            raise UsageError(f"{bundle.path.name} is a {bundle.kind} bundle; the field imports "
                             f"HQ's acknowledgement bundles (made by 'fieldkit hq bundle "
                             f"import FILE --ack-out ACK').")
        if bundle.device_id != info["device_id"]:
            raise AuthError(f"{bundle.path.name} is meant for device {bundle.device_id}, not "
                            f"this station ({info['device_id']}); nothing was applied.")
        docs = bundle.verify(info["signing_key"])
    finally:
        bundle.close()
    manifest = bundle.manifest
    results = manifest.get("rejections") or []
    sent = [{"id": doc_id, "rev": rev} for doc_id, rev in manifest.get("outbox") or []]
    with store.transaction():
        acknowledge(store, manifest.get("until_seq"), results, sent_outbox=sent)
        counts = apply_pulled(store, docs, manifest.get("cursor"))
        still = store.get_meta(OUTBOX, []) or []
    return {"acknowledged_until": push_checkpoint(store), "pulled": len(docs),
            "conflicts": counts["conflict"], "applied": counts["applied"],
            "duplicate": counts["duplicate"], "rejected": len(results),
            "outbox": len(still), "bundle_id": manifest.get("bundle_id")}


# --- HQ side --------------------------------------------------------------------------------

def import_bundle(store, blob_store, path, ack_out=None):
    """Import a device's push bundle at HQ with the same rules as an HTTP push; optionally
    write the ack bundle for the device. Returns counts (applied, duplicate, conflict,
    rejected, blobs)."""
    from .enrollment import get_device
    from .sealed import hq_private_key, is_sealed, open_sealed
    from .server import apply_push, count_outcomes, pull_changes

    path = Path(path)
    if not path.is_file():
        raise NotFound(f"No bundle file at {path}.")
    sealed = is_sealed(path)
    opened = open_sealed(path, hq_private_key(store)) if sealed else None
    try:
        bundle = Bundle(path, opened)
    except BaseException:
        if opened is not None:
            opened.close()
        raise
    try:
        if bundle.kind != "push":
            raise UsageError(f"{bundle.path.name} is a {bundle.kind} bundle; HQ imports push "
                             f"bundles made by 'fieldkit field bundle export'.")
        try:
            device = get_device(store, bundle.device_id)
        except NotFound:
            raise AuthError(f"The bundle {bundle.path.name} names device {bundle.device_id}, "
                            f"which is not enrolled here; nothing was applied.") from None
        if device.revoked:
            raise AuthError(f"The bundle {bundle.path.name} comes from device {device.id}, "
                            f"revoked on {device.revoked_at}; nothing was applied.")
        docs = bundle.verify(device.signing_key)
        files = list(bundle.blobs())
    finally:
        bundle.close()
        if opened is not None:
            opened.close()
    stored = 0
    for sha, data in files:
        if not blob_store.has(sha):
            blob_store.put_expected(sha, data)
            stored += 1
    results = apply_push(store, device, docs, via="bundle")
    counts = {**count_outcomes(results), "blobs": stored, "docs": len(docs),
              "bundle_id": bundle.manifest.get("bundle_id"), "device_id": device.id,
              "sealed": sealed}
    if ack_out:
        pulled, cursor = [], int(bundle.manifest.get("pull_cursor") or 0)
        while True:
            batch = pull_changes(store, device, cursor)
            pulled += batch["docs"]
            cursor = batch["cursor"]
            if not batch["more"]:
                break
        write_bundle(ack_out, {
            "kind": "ack", "bundle_id": new_id(), "device_id": device.id,
            "created_at": now_iso(), "acknowledges": bundle.manifest.get("bundle_id"),
            "until_seq": bundle.manifest.get("until_seq"), "cursor": cursor,
            "outbox": bundle.manifest.get("outbox") or [],
            "counts": count_outcomes(results),
            "rejections": [r for r in results if r["outcome"] == "rejected"]},
            pulled, device.signing_key)
        counts["ack"] = str(ack_out)
        counts["ack_docs"] = len(pulled)
    return counts
