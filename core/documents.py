"""Documents that travel: ids, revisions and the envelope every record shares.

Every record is a JSON object with ``id`` (UUIDv7 made on the device), ``type``, ``rev``
(``"<generation>-<hash of content>"``), ``base_rev`` (the rev it was edited from, or None),
``device``, ``author``, ``updated_at`` (ISO time with offset) and ``deleted`` (tombstone).
"""

import hashlib
import json
import os
import time
import uuid
from datetime import datetime, timezone

ENVELOPE = ("id", "type", "rev", "base_rev", "device", "author", "updated_at", "deleted")
# Fields that describe a revision rather than the content: the hash ignores them, so the same
# content saved twice (a retry) gets the same hash.
_NOT_CONTENT = {"rev", "base_rev", "updated_at", "_seq", "_conflicts"}

DOCUMENT_TYPES = ("campaign", "inspection", "finding", "evidence", "recommendation",
                  "review", "checklist")


def new_id():
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits; sorts by time."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (rand >> 68) << 64 & (0xFFF << 64)  # 12 random bits (rand_a)
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # 62 random bits (rand_b)
    return str(uuid.UUID(int=value))


def now_iso():
    """Current time, ISO 8601 with offset (UTC)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def canonical_json(value):
    """Stable JSON bytes: sorted keys, no spaces, UTF-8 (the basis of hashes and signatures)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(doc):
    """Hash of a document's content, ignoring the revision bookkeeping fields."""
    content = {k: v for k, v in doc.items() if k not in _NOT_CONTENT}
    return hashlib.sha256(canonical_json(content)).hexdigest()[:32]


def rev_generation(rev):
    """The generation number of a rev (``"3-ab…"`` → 3); None → 0."""
    if not rev:
        return 0
    return int(rev.split("-", 1)[0])


def next_rev(doc, previous_rev):
    """The rev a new version of ``doc`` gets when edited from ``previous_rev``."""
    return f"{rev_generation(previous_rev) + 1}-{content_hash(doc)}"


def rev_sort_key(rev):
    """Deterministic winner order: higher generation wins, then the higher hash."""
    generation, _, digest = (rev or "0-").partition("-")
    return int(generation), digest


def public(doc):
    """A copy of the document without store-internal fields (those starting with ``_``).
    Most documents have none: then a plain copy, which is several times cheaper than
    filtering (sync calls this once or twice per document)."""
    for key in doc:
        if key[:1] == "_":
            return {k: v for k, v in doc.items() if not k.startswith("_")}
    return dict(doc)
