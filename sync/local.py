"""The field's side of sync state, kept in the station's store metadata: enrollment, the push
checkpoint (last local seq HQ acknowledged), the pull cursor (HQ's seq), the outbox of local
versions that lost a conflict on pull, and the last sync. Used by HTTP sync and by bundles.

Versions received from HQ are stored with ``_hq_rev`` = their rev; the push skips them (they
must not travel back). A local edit goes through ``Store.save``, which drops ``_`` fields,
so an edited document is pushed again.
"""

from ..core.documents import public
from ..core.errors import SyncError
from .protocol import (CONFLICT, FROM_HQ, apply_incoming, check_wire_document)

ENROLLMENT = "sync.enrollment"
PUSH_CHECKPOINT = "sync.push_checkpoint"
PULL_CURSOR = "sync.pull_cursor"
OUTBOX = "sync.outbox"
LAST_SYNC = "sync.last_sync"
PENDING = "sync.pending"
REJECTED = "sync.rejected"
_REJECTED_KEPT = 200


def enrollment(store):
    return store.get_meta(ENROLLMENT)


def require_enrollment(store):
    info = enrollment(store)
    if not info:
        raise SyncError("This station is not enrolled with headquarters yet; run "
                        "'fieldkit field enroll CODE' with the code HQ gave you.")
    return info


def save_enrollment(store, answer, hq_url, cert_sha256=None, ca_file=None):
    """Keep what HQ answered to an enrollment; a new enrollment starts sync afresh (the
    push re-sends everything once: HQ answers duplicate for what it has). ``cert_sha256``
    is HQ's pinned certificate (from the code); ``hq_public_key`` seals bundles for HQ."""
    info = {"device_id": answer["device_id"], "token": answer["token"],
            "signing_key": answer["signing_key"], "team": answer.get("team"),
            "scope": answer["scope"], "hq_url": (hq_url or answer.get("hq_url") or "")
            .rstrip("/"), "enrolled_at": answer.get("enrolled_at"),
            "cert_sha256": cert_sha256, "ca_file": str(ca_file) if ca_file else None,
            "hq_public_key": answer.get("hq_public_key")}
    with store.transaction():
        store.set_meta(ENROLLMENT, info)
        store.set_meta("device_id", answer["device_id"])
        store.set_meta(PUSH_CHECKPOINT, 0)
        store.set_meta(PULL_CURSOR, 0)
        store.set_meta(OUTBOX, [])
    return info


def push_checkpoint(store):
    return int(store.get_meta(PUSH_CHECKPOINT, 0) or 0)


def pull_cursor(store):
    return int(store.get_meta(PULL_CURSOR, 0) or 0)


def is_from_hq(doc):
    return doc.get(FROM_HQ) is not None and doc.get(FROM_HQ) == doc.get("rev")


def outgoing(store, since, limit):
    """The next push batch: local changes after ``since`` (HQ's own versions skipped).
    Returns ``(docs, until, more)``; ``until`` is the last local seq looked at."""
    changes = store.changes(since, limit)
    docs = [public(doc) for doc in changes if not is_from_hq(doc)]
    until = changes[-1]["_seq"] if changes else since
    return docs, until, limit is not None and len(changes) >= limit


def outbox(store):
    """Local versions that lost a conflict on pull: HQ must keep them too."""
    found = []
    for doc_id, rev in store.get_meta(OUTBOX, []) or []:
        for version in store.conflicts(doc_id):
            if version.get("rev") == rev:
                found.append(public(version))
                break
    return found


def acknowledge(store, until=None, results=(), sent_outbox=()):
    """HQ answered a push: advance the checkpoint to ``until`` (never backwards), drop the
    sent outbox versions and remember rejections (with their reasons) for the user."""
    with store.transaction():
        if until is not None and until > push_checkpoint(store):
            store.set_meta(PUSH_CHECKPOINT, until)
        if sent_outbox:
            sent = {(d["id"], d["rev"]) for d in sent_outbox}
            store.set_meta(OUTBOX, [entry for entry in store.get_meta(OUTBOX, []) or []
                                    if tuple(entry) not in sent])
        rejected = [r for r in results if r.get("outcome") == "rejected"]
        if rejected:
            kept = (store.get_meta(REJECTED, []) or []) + rejected
            store.set_meta(REJECTED, kept[-_REJECTED_KEPT:])


def apply_pulled(store, docs, cursor=None):
    """Apply HQ's versions with the same rules as HQ (rule 2) and move the pull cursor, in
    one transaction. A local version that loses goes to the outbox. Returns counts."""
    counts = {"applied": 0, "duplicate": 0, "conflict": 0}
    for index, doc in enumerate(docs):
        problem = check_wire_document(doc, index)
        if problem:
            raise SyncError(f"Headquarters sent a malformed document ({problem}); nothing "
                            f"was applied.")
    with store.transaction():
        lost = []
        for doc in docs:
            decision = apply_incoming(store, doc, mark=lambda w: {FROM_HQ: w["rev"]})
            counts[decision.outcome] += 1
            if decision.outcome == CONFLICT and decision.keep is not None \
                    and decision.keep["rev"] != doc["rev"]:
                lost.append([decision.keep["id"], decision.keep["rev"]])
        if lost:
            store.set_meta(OUTBOX, (store.get_meta(OUTBOX, []) or []) + lost)
        if cursor is not None and cursor > pull_cursor(store):
            store.set_meta(PULL_CURSOR, cursor)
    return counts


def pending_count(store):
    """Local changes HQ has not acknowledged yet (and outbox versions). Counted one
    document at a time: a station with 100k unsent findings must not decode them all at
    once (the field UI asks on every page of the inspections list)."""
    changes = store.iter_changes(push_checkpoint(store))
    return sum(1 for doc in changes if not is_from_hq(doc)) + len(store.get_meta(OUTBOX, [])
                                                                 or [])
