"""Issuing a report: render it, fingerprint it, record it at HQ so anyone can verify it.

Each issued document gets an id (a UUIDv7) and the SHA-256 of the file's bytes. The record
(title, unit, dates, hash — nothing else) is kept in the HQ store's metadata under
``issued_report:<id>`` through the store API, so it works on SQLite and PostgreSQL without a
migration and never travels to field devices with sync. The QR code printed on the document
encodes ``<public_url>/verify/<id>``; that page (``web/hq/reports.py``) shows the record and
says whether a given file or hash matches.
"""

import hashlib
import re
from dataclasses import dataclass

from ..documents import new_id, now_iso
from ..errors import UsageError
from ..reports import renderer_for
from ..text import ascii_key

META_PREFIX = "issued_report:"
VERIFIED_KINDS = ("inspection", "summary")
_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class IssuedReport:
    """A rendered document: its bytes, media type, a file name, and the HQ record (None for
    exports, which are data, not documents)."""

    data: bytes
    media_type: str
    filename: str
    record: dict | None


def verify_url(public_url, report_id):
    if not public_url:
        raise UsageError("Issuing a verifiable report needs HQ's public address (for example "
                         "https://hq.example.vn): set FIELDKIT_PUBLIC_URL or pass --public-url.")
    return f"{public_url.rstrip('/')}/verify/{report_id}"


def file_name(report, fmt):
    """An ASCII file name: ``bao-cao-kiem-tra-xa-yen-mong-2024-05-08.docx``."""
    kind = report.get("kind")
    if kind == "inspection":
        stem = "bao-cao-kiem-tra " + (report.get("unit") or {}).get("name", "") + " " + \
            str(report.get("date") or "")
    elif kind == "summary":
        period = ((report.get("data") or {}).get("period") or {}).get("label", "")
        stem = f"bao-cao-tong-hop {period}"
    else:
        stem = "ket-qua-kiem-tra " + str(report.get("label") or "")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_key(stem)).strip("-")[:90] or "bao-cao"
    return f"{slug}.{fmt}"


def issue(store, pm, report, fmt, public_url=None, issued_by=None):
    """Render ``report`` as ``fmt``; documents (inspection, summary) get a verification id
    and QR code, and their record is kept at HQ. Returns an ``IssuedReport``."""
    renderer = renderer_for(pm, report["kind"], fmt)
    record = None
    if report["kind"] in VERIFIED_KINDS and fmt != "json":
        report_id = new_id()
        report = {**report, "verification": {"id": report_id,
                                             "url": verify_url(public_url, report_id)}}
    data = renderer.render(report)
    if report.get("verification"):
        record = {
            "id": report["verification"]["id"], "url": report["verification"]["url"],
            "kind": report["kind"], "format": fmt, "media_type": renderer.media_type,
            "title": report.get("title") or report.get("subject"),
            "number": (report.get("header") or {}).get("number"),
            "unit": (report.get("unit") or {}).get("label"),
            "date": report.get("date"), "issued_on": report.get("issued_on"),
            "issued_at": now_iso(), "issued_by": issued_by,
            "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
        }
        store.set_meta(META_PREFIX + record["id"], record)
    return IssuedReport(data, renderer.media_type, file_name(report, fmt), record)


def lookup(store, report_id):
    """The record of an issued report, or None (also for anything that is not an id)."""
    if not isinstance(report_id, str) or not _ID.match(report_id):
        return None
    record = store.get_meta(META_PREFIX + report_id)
    return record if isinstance(record, dict) else None


def matches(record, sha256):
    """Does a SHA-256 (hex, any case) equal the recorded one? None if it is not a hash."""
    if not isinstance(sha256, str) or not _SHA256.match(sha256.strip()):
        return None
    return sha256.strip().lower() == record["sha256"]


def public_view(record):
    """What the public verification page may show: title, unit, date, hash — nothing more."""
    return {key: record.get(key) for key in ("id", "title", "number", "unit", "date",
                                             "issued_on", "sha256", "format")}
