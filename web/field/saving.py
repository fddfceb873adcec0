"""Saving answers and evidence, for the API (autosave) and the plain form fallback alike.

Optimistic concurrency: the page sends the revision it edited from (``expected_rev``); a
``null`` means "this item had no answer when I started". If someone else saved the item
meanwhile, ``ConflictError`` (HTTP 409) is raised and nothing is written.
"""

from flask import abort, current_app

from ...core.errors import ConflictError, FieldkitError, UsageError
from ..common.i18n import t
from .helpers import sniff_media_type

UNCHECKED = object()  # no expected_rev sent: last write wins


def _photo_ids(flow, evidence_ids):
    ids = []
    for evidence_id in evidence_ids:
        doc = flow.store.get(evidence_id)
        if doc and str(doc.get("media_type", "")).startswith("image/"):
            ids.append(evidence_id)
    return ids


def save_answer(flow, inspection_id, code, value, extras=None, note=None, evidence=None,
                expected_rev=UNCHECKED):
    """Validate and save one item's answer; returns the finding. Evidence defaults to the
    files uploaded for this item; a photo item's value defaults to its photos."""
    with flow.store.transaction():
        inspection = flow.inspection(inspection_id)
        item = flow.checklist_of(inspection).item(code)
        current = flow.findings(inspection_id).get(code)
        if expected_rev is not UNCHECKED:
            if not expected_rev and current is not None:
                raise ConflictError(f"{code} was answered meanwhile (found {current['rev']}).")
            expected_rev = expected_rev or None
        else:
            expected_rev = None
        if evidence is None:
            evidence = [doc["id"] for doc in flow.evidence(inspection_id)
                        if doc.get("item") == code]
        if item["answer"]["type"] == "photo" and value in (None, "", []):
            value = _photo_ids(flow, evidence)
        return flow.answer(inspection_id, code, value, extras=extras or None,
                           note=note or None, evidence=evidence, expected_rev=expected_rev)


def clear_answer(flow, inspection_id, code, expected_rev=UNCHECKED):
    """Withdraw an item's answer (a tombstone), refusing if it changed meanwhile."""
    with flow.store.transaction():
        current = flow.findings(inspection_id).get(code)
        if expected_rev not in (UNCHECKED, None, "") and (
                current is None or current["rev"] != expected_rev):
            raise ConflictError(f"{code} was changed meanwhile.")
        return flow.clear_answer(inspection_id, code)


def receive_upload(flow, inspection_id, upload, item_code=None, caption=None):
    """Store an uploaded file as evidence (optionally for one item). Returns the evidence
    document and, when the item's answer was updated to link it, the new finding."""
    if upload is None or not upload.filename and not upload.content_length:
        raise UsageError(t("upload.missing"))
    data = upload.read()
    if not data:
        raise UsageError(t("upload.missing"))
    media_type = sniff_media_type(data)
    if media_type not in current_app.config["EVIDENCE_TYPES"]:
        abort(415)
    item = None
    if item_code:
        item = flow.checklist_of(flow.inspection(inspection_id)).item(item_code)
    doc = flow.add_evidence(inspection_id, data, filename=upload.filename, caption=caption,
                            item=item_code or None)
    finding, problem = None, None
    if item is not None:
        current = flow.findings(inspection_id).get(item_code)
        if item["answer"]["type"] == "photo" or current is not None:
            try:
                finding = save_answer(
                    flow, inspection_id, item_code,
                    None if item["answer"]["type"] == "photo" or current is None
                    else current["value"],
                    extras=current.get("extras") if current else None,
                    note=current.get("note") if current else None)
            except FieldkitError as exc:  # the file is kept; the answer says why not linked
                problem = exc
    return doc, finding, problem
