"""Review at headquarters: received inspections are approved or returned with comments.

A decision is a ``review`` document plus a new revision of the inspection (status
``approved`` or ``returned``, and its latest ``review``), both saved at HQ, so they reach the
field on pull. A returned inspection is editable again on the field and comes back
``resubmitted``; an approved one is locked (see ``server._locked``).
"""

import sqlalchemy as sa

from ..core.documents import new_id, now_iso, public
from ..core.errors import NotFound, UsageError
from . import audit
from .server import save_at_hq

RECEIVED = ("submitted", "resubmitted")
DECISIONS = {"approve": "approved", "approved": "approved", "return": "returned",
             "returned": "returned"}
STATUS_FILTERS = {"received": RECEIVED}


def list_inspections(store, status=None):
    """Inspections at HQ (newest first) with counts of findings, flags and conflicts.

    ``status`` filters by one status, or ``received`` (submitted or resubmitted)."""
    from ..core.store.sql import conflicts, documents
    wanted = STATUS_FILTERS.get(status, (status,)) if status else None
    with store.connection() as connection:
        counts = {}
        finding_rows = connection.execute(
            sa.select(documents.c.inspection_id, documents.c.body)
            .where(documents.c.type == "finding", documents.c.deleted.is_(False))).all()
        for row in finding_rows:
            entry = counts.setdefault(row.inspection_id, [0, 0])
            entry[0] += 1
            entry[1] += bool(row.body.get("flagged"))
        conflict_ids = {row.doc_id for row in connection.execute(
            sa.select(conflicts.c.doc_id).distinct())}
    result = []
    for doc in store.find("inspection"):
        if doc.get("deleted") or (wanted and doc.get("status") not in wanted):
            continue
        findings, flagged = counts.get(doc["id"], (0, 0))
        unit = doc.get("unit") or {}
        result.append({
            "id": doc["id"], "status": doc.get("status"), "date": doc.get("date"),
            "campaign_id": doc.get("campaign_id"), "province_code": doc.get("province_code"),
            "province": (doc.get("province") or {}).get("name"),
            "unit": unit.get("name"), "unit_code": unit.get("code"),
            "unit_kind": doc.get("unit_kind"), "unit_name": doc.get("unit_name"),
            "checklist": doc.get("checklist"), "team": doc.get("team"),
            "device": doc.get("device"), "submitted_at": doc.get("submitted_at"),
            "updated_at": doc.get("updated_at"), "rev": doc.get("rev"),
            "findings": findings, "flagged": flagged,
            "conflict": doc["id"] in conflict_ids,
            "review": doc.get("review"),
        })
    result.sort(key=lambda d: (d.get("submitted_at") or d.get("updated_at") or "", d["id"]),
                reverse=True)
    return result


def inspection_details(store, inspection_id):
    """One inspection with its findings, evidence, recommendations, reviews and conflicts."""
    doc = store.get(inspection_id)
    if doc is None or doc.get("type") != "inspection":
        raise NotFound(f"No inspection with id {inspection_id} at headquarters.")
    children = {kind: [public(d) for d in store.find(kind, inspection_id=inspection_id)
                       if not d.get("deleted")]
                for kind in ("finding", "evidence", "recommendation", "review")}
    children["finding"].sort(key=lambda f: str(f.get("item")))
    children["review"].sort(key=lambda r: r.get("at") or "")
    ids = [inspection_id] + [d["id"] for kind in ("finding", "evidence", "recommendation")
                             for d in children[kind]]
    conflicted = [{"id": doc_id, "versions": store.conflicts(doc_id)} for doc_id in ids
                  if store.conflicts(doc_id)]
    return {"inspection": public(doc), "findings": children["finding"],
            "evidence": children["evidence"], "recommendations": children["recommendation"],
            "reviews": children["review"], "conflicts": conflicted}


def review_inspection(store, inspection_id, decision, comment=None, reviewer=None):
    """Approve or return a received inspection; returns the review and the inspection."""
    status = DECISIONS.get(decision)
    if status is None:
        raise UsageError(f"A review decision is approve or return, not '{decision}'.")
    comment = (comment or "").strip() or None
    with store.transaction():
        inspection = store.get(inspection_id)
        if inspection is None or inspection.get("type") != "inspection" \
                or inspection.get("deleted"):
            raise NotFound(f"No inspection with id {inspection_id} at headquarters.")
        if inspection.get("status") not in RECEIVED:
            raise UsageError(f"Inspection {inspection_id} is {inspection.get('status')}: only "
                             f"submitted or resubmitted inspections can be reviewed.")
        at = now_iso()
        review = save_at_hq(store, {
            "id": new_id(), "type": "review", "inspection_id": inspection_id,
            "campaign_id": inspection.get("campaign_id"),
            "province_code": inspection.get("province_code"),
            "decision": status, "comment": comment, "reviewer": reviewer, "at": at,
        }, author=reviewer)
        updated = save_at_hq(store, {
            **public(inspection), "status": status,
            "review": {"id": review["id"], "decision": status, "comment": comment,
                       "reviewer": reviewer, "at": at},
        }, author=reviewer)
        audit.record(store, "review", "inspection", inspection_id, status,
                     {"reviewer": reviewer, "comment": comment, "review_id": review["id"],
                      "province_code": inspection.get("province_code")})
    return {"review": review, "inspection": updated}


def list_conflicts(store):
    """Every document with kept losing versions: the current version and the losers."""
    from ..core.store.sql import conflicts
    with store.connection() as connection:
        doc_ids = [row.doc_id for row in connection.execute(
            sa.select(conflicts.c.doc_id, sa.func.min(conflicts.c.id).label("first"))
            .group_by(conflicts.c.doc_id).order_by(sa.text("first")))]
    listed = []
    for doc_id in doc_ids:
        current = store.get(doc_id)
        versions = store.conflicts(doc_id)
        listed.append({"id": doc_id,
                       "type": (current or versions[0]).get("type"),
                       "inspection_id": (current or versions[0]).get("inspection_id")
                       or ((current or {}).get("type") == "inspection" and doc_id) or None,
                       "current_rev": current and current.get("rev"),
                       "current": current and public(current),
                       "versions": versions})
    return listed


def resolve_conflict(store, doc_id):
    """A reviewer has looked at the kept versions: forget them (the current one stays)."""
    if not store.conflicts(doc_id):
        raise NotFound(f"Document {doc_id} has no kept conflicting versions.")
    with store.transaction():
        count = store.resolve_conflicts(doc_id)
        audit.record(store, "conflict.resolve", None, doc_id, "ok", {"versions": count})
