"""Headquarters' side of sync: apply pushed batches, serve scoped pull, receive blobs, write
HQ's own revisions (reviews, published checklists). Called by the API blueprint and by bundle
import, so both paths apply exactly the same rules.

HQ never trusts what a document claims: the scope is checked against the device's enrollment
(and against the stored version and the inspection), and ``device`` is overwritten with the
authenticated device id (the ``rev`` is kept: it names the version).
"""

import re

import sqlalchemy as sa

from ..core.documents import next_rev, now_iso, public
from ..core.errors import ValidationFailed
from ..core.workflow import SEED_CAMPAIGN, checklist_doc_id
from .protocol import (APPLIED, BATCH_SIZE, CHILD_TYPES, CONFLICT, DUPLICATE, REJECTED,
                       UNSCOPED_TYPES, apply_incoming, conflict_revs, knows, same_content,
                       scope_refusal, with_history)

HQ_DEVICE = "hq"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


# --- HQ's own writes ------------------------------------------------------------------------

def save_at_hq(store, doc, author=None):
    """Save a revision made at HQ (a review, a status change, a published checklist): like
    ``Store.save``, and remembering the revisions it replaces."""
    with store.transaction():
        doc = public(doc)
        current = store.get(doc["id"]) if "id" in doc else None
        doc.setdefault("deleted", False)
        doc.update(device=HQ_DEVICE, author=author,
                   base_rev=current["rev"] if current else None, updated_at=now_iso())
        doc["rev"] = next_rev(doc, doc["base_rev"])
        store.write(with_history(doc, current) if current else doc)
        return doc


def seed_campaign(store):
    """The 2024 program's campaign, as every station seeds it (idempotent)."""
    if store.get(SEED_CAMPAIGN["id"]) is None:
        save_at_hq(store, dict(SEED_CAMPAIGN))


def publish_checklists(store, registry):
    """Publish every checklist version installed at HQ as a ``checklist`` document, so
    enrolled devices receive it on pull (rule 3). Returns how many were new."""
    published = 0
    with store.transaction():
        for checklist in registry:
            doc_id = checklist_doc_id(checklist.id, checklist.version)
            if store.get(doc_id) is None:
                save_at_hq(store, {"id": doc_id, "type": "checklist",
                                   "checklist_id": checklist.id, "version": checklist.version,
                                   "plugin": checklist.plugin, "definition": checklist.data()})
                published += 1
    return published


# --- push -----------------------------------------------------------------------------------

def apply_push(store, device, docs, via="http"):
    """Apply one batch from ``device`` in ONE transaction; one result per document, in order:
    ``{"id", "rev", "outcome": applied|duplicate|conflict|rejected, "current_rev", "reason"?}``.
    The documents must already be well-formed (``protocol.check_wire_document``). Every
    document's outcome goes to the audit log, and the device's last-seen time is updated,
    in the same transaction (``via``: http or bundle): one commit per batch.

    The batch's winning versions are buffered (``_Batch``) and written with one
    ``write_many`` at the end: per-document writes were most of a push's time."""
    from .enrollment import touch_device
    results = []
    with store.transaction():
        batch = _Batch(store, docs)
        for doc in docs:
            results.append(_apply_one(store, device, doc, batch))
        store.write_many(batch.pending())
        _audit_push(store, device, docs, results, via)
        touch_device(store, device.id)
    return results


def _audit_push(store, device, docs, results, via):
    from . import audit
    acting = audit.current_actor()
    if acting.device_id != device.id:  # a bundle imported by an operator: name both
        acting = audit.Actor(acting.kind, acting.name, device.id, acting.ip)
    at = audit.now()  # one batch, one moment
    rows = []
    for doc, result in zip(docs, results):
        detail = {"rev": result["rev"], "via": via, "team": device.team}
        if doc.get("author") is not None:
            detail["author"] = str(doc["author"])[:200]
        if result.get("reason"):
            detail["reason"] = result["reason"]
        rows.append(audit.entry("push", str(doc.get("type"))[:40], result["id"],
                                result["outcome"], detail, actor=acting, at=at))
    audit.record_many(store, rows)


class _Batch:
    """Current versions of a batch's documents and of the inspections they name, read in one
    query per 500 ids, and the versions the batch writes, buffered until its end (a later
    document of the batch sees them as current)."""

    def __init__(self, store, docs):
        from ..core.store.sql import documents
        self.store = store
        self.inspections = {d["id"]: d for d in docs if d.get("type") == "inspection"}
        wanted = sorted({d["id"] for d in docs}
                        | {d["inspection_id"] for d in docs
                           if isinstance(d.get("inspection_id"), str)})
        self.current = dict.fromkeys(wanted)
        self.written = {}  # doc id -> version to store (the latest, if written twice)
        with store.connection() as connection:
            for start in range(0, len(wanted), 500):
                rows = connection.execute(
                    sa.select(documents.c.id, documents.c.body, documents.c.seq)
                    .where(documents.c.id.in_(wanted[start:start + 500])))
                for row in rows:
                    self.current[row.id] = {**row.body, "_seq": row.seq}

    def get(self, doc_id):
        if doc_id not in self.current:
            self.current[doc_id] = self.store.get(doc_id)
        return self.current[doc_id]

    def write(self, doc):
        self.written.pop(doc["id"], None)  # keep the order of the last write
        self.written[doc["id"]] = doc
        self.current[doc["id"]] = doc

    def pending(self):
        return list(self.written.values())


def _result(doc, outcome, current_rev=None, reason=None):
    result = {"id": doc["id"], "rev": doc["rev"], "outcome": outcome,
              "current_rev": current_rev}
    if reason:
        result["reason"] = reason
    return result


def _apply_one(store, device, doc, batch):
    incoming = {**public(doc), "device": device.id}
    kind = incoming.get("type")
    current = batch.get(incoming["id"])
    if current is not None and current.get("type") != kind:
        return _result(incoming, REJECTED, current["rev"],
                       f"id {incoming['id']} already belongs to a {current.get('type')}")
    stored_parent = parent = None
    if kind in CHILD_TYPES and incoming.get("inspection_id"):
        stored_parent = batch.get(incoming["inspection_id"])
        parent = stored_parent or batch.inspections.get(incoming["inspection_id"])
    reason = scope_refusal(incoming, device.scope, current=current, parent=parent)
    if reason:
        return _result(incoming, REJECTED, current and current["rev"], reason)
    if kind == "checklist" and current is not None \
            and incoming.get("definition") != current.get("definition"):
        return _changed_checklist(store, incoming, current)
    inspection = current if kind == "inspection" else stored_parent
    if inspection is not None and inspection.get("type") == "inspection" \
            and inspection.get("status") == "approved" and kind in CHILD_TYPES + ("inspection",):
        return _locked(store, incoming, current, batch)
    decision = apply_incoming(store, incoming, current=current, write=batch.write)
    if decision.write is not None:
        return _result(incoming, decision.outcome, decision.write["rev"])
    return _result(incoming, decision.outcome, current and current["rev"])


def _changed_checklist(store, incoming, current):
    """A checklist version HQ already holds is fixed: a device may bring one HQ lacks (a
    plugin HQ does not have), never change one, or everyone pulling it would get the edit."""
    if knows(current, incoming["rev"], conflict_revs(store, incoming["id"])):
        return _result(incoming, DUPLICATE, current["rev"])
    return _result(incoming, REJECTED, current["rev"],
                   "checklist versions are fixed once HQ holds them; publish a new version")


def _locked(store, incoming, current, batch):
    """An edit of an approved inspection (or of its findings, evidence, recommendations):
    never an overwrite. The edit is kept as a conflict for a reviewer, and HQ answers with a
    new revision of what it holds, based on the refused one, so the device's copy returns to
    the approved content on its next pull."""
    if current is not None:
        if knows(current, incoming["rev"], conflict_revs(store, incoming["id"])):
            return _result(incoming, DUPLICATE, current["rev"])
        if same_content(incoming, current):
            return _result(incoming, DUPLICATE, current["rev"])
    store.add_conflict(incoming)
    if current is not None:
        revert = {k: v for k, v in public(current).items()
                  if k not in ("rev", "base_rev", "updated_at")}
    else:  # a new document under an approved inspection: HQ answers with its tombstone
        revert = {"id": incoming["id"], "type": incoming["type"],
                  "inspection_id": incoming.get("inspection_id"),
                  "campaign_id": incoming.get("campaign_id"),
                  "province_code": incoming.get("province_code"), "deleted": True}
    revert.update(device=HQ_DEVICE, author=None, base_rev=incoming["rev"],
                  updated_at=now_iso())
    revert["rev"] = next_rev(revert, incoming["rev"])
    replaced = current or incoming
    stored = with_history(revert, replaced)
    if current is not None:
        stored["_revs"] = [incoming["rev"]] + stored["_revs"]
    batch.write(stored)
    return _result(incoming, CONFLICT, revert["rev"],
                   "the inspection is approved at headquarters: the edit is kept as a "
                   "conflict for a reviewer")


def count_outcomes(results):
    counts = {APPLIED: 0, DUPLICATE: 0, CONFLICT: 0, REJECTED: 0}
    for result in results:
        counts[result["outcome"]] += 1
    return counts


# --- pull -----------------------------------------------------------------------------------

def pull_changes(store, device, since=0, limit=BATCH_SIZE):
    """HQ's changes after ``since`` that ``device`` may see (its campaign and provinces;
    checklists and campaigns always), except versions the device itself pushed (it has them
    or newer). Returns ``{"docs", "cursor", "more"}``; ``cursor`` is the next ``since``.

    Sequence numbers become visible in order (see ``SQLStore``), so every document with a
    seq up to ``high`` (read first) is already visible: the cursor may jump to ``high`` once
    the scoped query comes back short, skipping out-of-scope documents for good.
    """
    from ..core.store.sql import documents
    limit = max(1, min(int(limit), BATCH_SIZE))
    since = max(0, int(since))
    scope = device.scope
    # The scope columns are wrapped so that no index on them is usable: the seq range is
    # the selective part, and a planner that picks the type or campaign index instead
    # reads and sorts the whole campaign on every pull (9 ms at 10k, growing with HQ).
    def unindexed(column):
        return sa.func.coalesce(column, "")
    place = unindexed(documents.c.province_code).in_(list(scope.provinces))
    if scope.campaign_id is not None:
        place = sa.and_(place, unindexed(documents.c.campaign_id) == scope.campaign_id)
    visible = sa.or_(unindexed(documents.c.type).in_(UNSCOPED_TYPES), place)
    not_own = sa.or_(documents.c.device.is_(None), documents.c.device != device.id)
    with store.connection() as connection:
        high = connection.execute(sa.select(sa.func.max(documents.c.seq))).scalar() or 0
        if since > high:  # a cursor from before HQ's database was replaced: start over
            since = 0
        rows = connection.execute(
            sa.select(documents.c.seq, documents.c.body)
            .where(documents.c.seq > since, documents.c.seq <= high, visible, not_own)
            .order_by(documents.c.seq).limit(limit)).all()
    docs = [public(row.body) for row in rows]
    if len(rows) == limit:
        return {"docs": docs, "cursor": rows[-1].seq, "more": True}
    return {"docs": docs, "cursor": high, "more": False}


# --- blobs ----------------------------------------------------------------------------------

def check_hashes(hashes):
    if not isinstance(hashes, list) or not all(isinstance(h, str) and _SHA256.match(h)
                                               for h in hashes):
        raise ValidationFailed("'hashes' must be a list of sha256 hashes (64 lowercase hex "
                               "characters).", {"hashes": ["not a list of sha256 hashes"]})
    if len(hashes) > 10 * BATCH_SIZE:
        raise ValidationFailed(f"Ask about at most {10 * BATCH_SIZE} hashes at once.")
    return hashes


def missing_blobs(blobs, hashes):
    """Which of these evidence hashes HQ lacks (the device uploads only those)."""
    return blobs.missing(check_hashes(hashes))


def receive_blob(blobs, sha, data):
    """Store an uploaded file after checking that it hashes to ``sha``."""
    already = blobs.has(sha)
    info = blobs.put_expected(sha, data)
    return {"sha256": info.sha256, "size": info.size, "media_type": info.media_type,
            "created": not already}
