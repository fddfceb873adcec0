"""The sync rules both ends apply: what a well-formed wire document is, whether a document
is in a device's scope, and what happens when a version arrives at a store that already
holds another (applied, duplicate or conflict, with a deterministic winner).

Pure functions over plain dicts and the ``Store`` interface; no HTTP, no SQL. HQ (``server``)
and the field (``client``, ``bundle``) call the same ``decide`` and ``apply_incoming``, so
every store ends with the same current revision once everyone has synced.
"""

import re
from dataclasses import dataclass

from ..core.documents import DOCUMENT_TYPES, public, rev_sort_key

PROTOCOL_VERSION = 1
BATCH_SIZE = 500                     # documents per push or pull request
MAX_BATCH_DOCS = 1000                # HQ refuses larger push batches
MAX_JSON_BYTES = 20 * 1024 * 1024    # a JSON request body
MAX_BLOB_BYTES = 25 * 1024 * 1024    # one evidence file

APPLIED, DUPLICATE, CONFLICT, REJECTED = "applied", "duplicate", "conflict", "rejected"
OUTCOMES = (APPLIED, DUPLICATE, CONFLICT, REJECTED)

# Every device receives these whatever its scope; devices may push them too (a pinned
# checklist travels with its inspection).
UNSCOPED_TYPES = ("checklist", "campaign")
# Documents that hang under an inspection (and are locked with it once approved).
CHILD_TYPES = ("finding", "evidence", "recommendation")
HQ_ONLY_TYPES = ("review",)
HQ_DECISIONS = ("approved", "returned")

# Store-internal fields (never sent: ``public`` drops every ``_`` field).
HISTORY = "_revs"       # revisions this version replaced (newest first), for retries
FROM_HQ = "_hq_rev"     # field: this version came from HQ (pull); do not push it back
HISTORY_LIMIT = 100

# Fields that say who saved a version and when, not what it says: two versions that differ
# only here are the same content (not a conflict), e.g. a checklist pinned on two devices.
_ENVELOPE_ONLY = {"rev", "base_rev", "updated_at", "device", "author"}

_REV = re.compile(r"^[1-9][0-9]{0,8}-[0-9a-f]{1,64}$")
MAX_ID_LENGTH = 200


def check_wire_document(doc, index=None):
    """A sentence saying why ``doc`` is not a well-formed wire document, or None."""
    where = f"docs[{index}]" if index is not None else "document"
    if not isinstance(doc, dict):
        return f"{where} is not a JSON object"
    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or not doc_id or len(doc_id) > MAX_ID_LENGTH:
        return f"{where}.id must be a non-empty string of at most {MAX_ID_LENGTH} characters"
    if not isinstance(doc.get("type"), str):
        return f"{where}.type must be a string"
    rev = doc.get("rev")
    if not isinstance(rev, str) or not _REV.match(rev):
        return f"{where}.rev must look like '<generation>-<hex hash>', not {rev!r}"[:300]
    base = doc.get("base_rev")
    if base is not None and (not isinstance(base, str) or not _REV.match(base)):
        return f"{where}.base_rev must be null or a revision like '1-ab12…'"
    if "deleted" in doc and not isinstance(doc["deleted"], bool):
        return f"{where}.deleted must be true or false"
    for field in ("campaign_id", "province_code", "inspection_id", "device", "author",
                  "updated_at"):
        if doc.get(field) is not None and not isinstance(doc[field], str):
            return f"{where}.{field} must be a string or null"
    return None


# --- scope ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """What an enrolled device may see and write: one campaign (or all: None) and a set of
    current-era province codes."""

    campaign_id: str | None
    provinces: tuple

    @classmethod
    def from_dict(cls, data):
        return cls(data.get("campaign_id"), tuple(data.get("provinces") or ()))

    def as_dict(self):
        return {"campaign_id": self.campaign_id, "provinces": list(self.provinces)}

    def covers(self, doc):
        """Is this document visible to the device (pull side)?"""
        if doc.get("type") in UNSCOPED_TYPES:
            return True
        return self.covers_place(doc.get("campaign_id"), doc.get("province_code"))

    def covers_place(self, campaign_id, province_code):
        if self.campaign_id is not None and campaign_id != self.campaign_id:
            return False
        return province_code in self.provinces


def scope_refusal(doc, scope, current=None, parent=None):
    """Why a device with ``scope`` may not push ``doc`` (a sentence), or None.

    ``current`` is the receiver's current version of the document and ``parent`` the
    inspection a child document names (when known): the scope claimed by the document is
    never trusted alone.
    """
    kind = doc.get("type")
    if kind not in DOCUMENT_TYPES:
        return f"unknown document type {str(kind)[:40]!r}"
    if kind in HQ_ONLY_TYPES:
        return f"only headquarters writes {kind} documents"
    if kind == "campaign":
        if scope.campaign_id is not None and doc["id"] != scope.campaign_id:
            return f"campaign {doc['id']} is outside this device's campaign {scope.campaign_id}"
        return None
    if kind == "checklist":
        return None
    for version, label in ((doc, "the document"), (current, "the stored version"),
                           (parent, "its inspection")):
        if version is None:
            continue
        campaign, province = version.get("campaign_id"), version.get("province_code")
        if not scope.covers_place(campaign, province):
            return (f"{label} is outside this device's scope (campaign {campaign}, province "
                    f"{province}; allowed: campaign {scope.campaign_id or 'any'}, provinces "
                    f"{', '.join(scope.provinces) or 'none'})")
    if parent is not None and (parent.get("campaign_id"), parent.get("province_code")) != (
            doc.get("campaign_id"), doc.get("province_code")):
        return "its campaign or province differs from its inspection's"
    if kind == "inspection" and doc.get("status") in HQ_DECISIONS:
        if current is None or current.get("status") != doc["status"]:
            return f"only headquarters sets an inspection's status to {doc['status']}"
    return None


# --- versions ---------------------------------------------------------------------------------

def same_content(a, b):
    """Do two versions say the same thing (ignoring who saved them, when, and revisions)?"""
    def content(doc):
        return {k: v for k, v in doc.items()
                if k not in _ENVELOPE_ONLY and not k.startswith("_")}
    return content(a) == content(b)


def history(doc):
    return list(doc.get(HISTORY) or [])


def with_history(new, replaced):
    """``new`` to be stored in place of ``replaced``: remembers the revisions it replaces, so a
    retried push of an old version is recognised as already seen."""
    revs = [replaced["rev"]] + [r for r in history(replaced) if r != replaced["rev"]]
    return {**new, HISTORY: revs[:HISTORY_LIMIT]}


def knows(current, rev, conflict_revs=()):
    """Has a store whose current version is ``current`` already seen revision ``rev``?"""
    return (rev == current.get("rev") or rev == current.get("base_rev")
            or rev in history(current) or rev in conflict_revs)


@dataclass
class Decision:
    """What to do with an incoming version: the outcome, the version to store as current
    (or None: keep the current one) and the losing version to keep as a conflict."""

    outcome: str
    write: dict | None = None
    keep: dict | None = None


def decide(current, incoming, conflict_revs=()):
    """Rules 1–2 of the sync protocol.

    - no current version → applied;
    - the same revision already seen (current, an ancestor, or a kept conflict) → duplicate;
    - edited from the current revision → applied;
    - same content under another revision → duplicate; the higher revision becomes current,
      so every store settles on the same one;
    - otherwise a conflict: both kept, the deterministic winner (higher generation, then the
      higher hash: ``rev_sort_key``) is current, the loser goes to the conflicts list.
    """
    incoming = public(incoming)
    if current is None:
        return Decision(APPLIED, write=incoming)
    if knows(current, incoming["rev"], conflict_revs):
        return Decision(DUPLICATE)
    if incoming.get("base_rev") == current["rev"]:
        return Decision(APPLIED, write=with_history(incoming, current))
    if same_content(incoming, current):
        if rev_sort_key(incoming["rev"]) > rev_sort_key(current["rev"]):
            return Decision(DUPLICATE, write=with_history(incoming, current))
        return Decision(DUPLICATE)
    if rev_sort_key(incoming["rev"]) > rev_sort_key(current["rev"]):
        return Decision(CONFLICT, write=with_history(incoming, current), keep=public(current))
    return Decision(CONFLICT, keep=incoming)


def conflict_revs(store, doc_id):
    return {version.get("rev") for version in store.conflicts(doc_id)}


_UNKNOWN = object()


def apply_incoming(store, incoming, mark=None, current=_UNKNOWN, write=None):
    """Apply one incoming version to ``store`` by ``decide`` (inside the caller's transaction).

    ``mark`` adds fields to the stored version (the field marks what came from HQ);
    ``current`` is the store's current version when the caller already read it; ``write``
    stores the winning version instead of ``store.write`` (HQ buffers a push batch's writes
    to send them with one ``write_many``). Returns the ``Decision``; its ``keep`` is the
    version that went to the conflicts list.
    """
    if current is _UNKNOWN:
        current = store.get(incoming["id"])
    revs = ()
    if current is not None and not knows(current, incoming["rev"]) \
            and incoming.get("base_rev") != current["rev"]:
        revs = conflict_revs(store, incoming["id"])
    decision = decide(current, incoming, revs)
    if decision.write is not None:
        (write or store.write)({**decision.write, **(mark(decision.write) if mark else {})})
    if decision.keep is not None:
        store.add_conflict(decision.keep)
    return decision


__all__ = ["PROTOCOL_VERSION", "BATCH_SIZE", "MAX_JSON_BYTES", "MAX_BLOB_BYTES", "Scope",
           "Decision", "decide", "apply_incoming", "scope_refusal", "check_wire_document",
           "same_content", "with_history", "knows", "OUTCOMES", "APPLIED", "DUPLICATE",
           "CONFLICT", "REJECTED", "UNSCOPED_TYPES", "CHILD_TYPES", "HISTORY", "FROM_HQ"]
