"""The inspection workflow at the field station: campaigns, inspections, findings, evidence,
recommendations, submission. Every change goes through here, validated, then into the store.

An inspection pins its checklist version: the definition is copied into the store as a
``checklist`` document when the inspection starts, so a plugin upgrade (or a plugin that is
later removed) never changes an inspection in progress, and HQ receives the exact version.
"""

import uuid
from datetime import date

from ..forms.answers import parse_answer
from ..forms.documents import (InspectionSchema, RecommendationSchema, load_or_fail)
from .checklists import Checklist
from .documents import now_iso, public
from .errors import FieldkitError, NotFound, UsageError, ValidationFailed
from .rules import is_flagged, is_shown
from .text import nfc

# Deterministic ids: the same item of the same inspection is the same document on every
# device, so two tablets answering it offline meet as a conflict instead of as duplicates.
_FINDING_NS = uuid.UUID("6f1d2c0e-4a59-4f0b-9d7e-0c3f2b5a7e11")

EDITABLE = ("draft", "returned")
SEED_CAMPAIGN = {
    "id": "ctr-72-2024",
    "type": "campaign",
    "code": "72-CTr/BCĐTW",
    "title": "Chương trình công tác năm 2024 của Ban Chỉ đạo Trung ương thực hiện "
             "Quy chế dân chủ ở cơ sở — kiểm tra tại Ninh Bình, Hòa Bình, Kiên Giang",
    "title_en": "2024 work program of the Central Steering Committee (item 6: inspections "
                "in Ninh Bình, Hòa Bình, Kiên Giang)",
    "year": 2024,
    "issued": "2024-01-10",
    "provinces": [{"era": "legacy", "code": "37"}, {"era": "legacy", "code": "17"},
                  {"era": "legacy", "code": "91"}],
}


def finding_id(inspection_id, item_code):
    """The id of the finding for one item of one inspection (the same on every device)."""
    return str(uuid.uuid5(_FINDING_NS, f"{inspection_id}/{item_code}"))


def checklist_doc_id(checklist_id, version):
    return f"checklist:{checklist_id}@{version}"


class Workflow:
    """The field station's operations, over one store, for one device and author."""

    def __init__(self, store, checklists, units, pm, blobs=None, device=None, author=None):
        self.store = store
        self.checklists = checklists
        self.units = units
        self.pm = pm
        self.blobs = blobs
        self.device = device
        self.author = author

    def _save(self, doc, expected_rev=None):
        return public(self.store.save(doc, device=self.device, author=self.author,
                                      expected_rev=expected_rev))

    # --- campaigns ----------------------------------------------------------------------

    def seed(self):
        """Add the 2024 program's campaign if the store lacks it (idempotent)."""
        if self.store.get(SEED_CAMPAIGN["id"]) is None:
            self._save(dict(SEED_CAMPAIGN))

    def campaigns(self):
        return [public(c) for c in self.store.find("campaign") if not c.get("deleted")]

    # --- inspections --------------------------------------------------------------------

    def new_inspection(self, unit_code, unit_kind, checklist_id, campaign=None, on=None,
                       self_assessment=False, team=None, inspectors=(), unit_name=None,
                       version=None):
        """Start an inspection of a unit; the unit code is read in the era of ``on``."""
        on = on or date.today()
        campaign_id = campaign or SEED_CAMPAIGN["id"]
        if self.store.get(campaign_id) is None:
            raise NotFound(f"No campaign with id {campaign_id}.")
        unit = self.units.get(unit_code, as_of=on)
        province = unit if unit.level == "province" else self.units.province_of(unit)
        # The roll-up key: the province's code today (Hòa Bình 17 → Phú Thọ 25), so scopes,
        # filters and reports made after the 2025 reform find 2024 inspections too.
        current_province = (province.code if province.era == "current"
                            else self.units.successor(province).code)
        checklist = self.checklists.get(checklist_id, version=version, as_of=None if version
                                        else on)
        if unit_kind not in checklist.applies_to["unit_kinds"]:
            raise UsageError(f"Checklist {checklist.id} is for "
                             f"{', '.join(checklist.applies_to['unit_kinds'])}, "
                             f"not for {unit_kind}.")
        if unit_kind in ("province", "commune") and unit.level != unit_kind:
            raise UsageError(f"{unit.code} is a {unit.level}, not a {unit_kind}.")
        inspection = load_or_fail(InspectionSchema(), {
            "type": "inspection",
            "campaign": campaign_id,
            "unit": {"era": unit.era, "code": unit.code, "name": unit.name,
                     "level": unit.level},
            "province": {"era": province.era, "code": province.code, "name": province.name},
            "province_code": current_province,
            "unit_kind": unit_kind,
            "unit_name": nfc(unit_name),
            "checklist": {"id": checklist.id, "version": checklist.version},
            "self_assessment": bool(self_assessment),
            "team": nfc(team),
            "inspectors": [nfc(name) for name in inspectors],
            "date": on.isoformat(),
            "status": "draft",
        }, "inspection")
        with self.store.transaction():
            self._pin(checklist)
            inspection["campaign_id"] = campaign_id
            return self._save(inspection)

    def _pin(self, checklist):
        doc_id = checklist_doc_id(checklist.id, checklist.version)
        if self.store.get(doc_id) is None:
            self._save({"id": doc_id, "type": "checklist", "checklist_id": checklist.id,
                        "version": checklist.version, "plugin": checklist.plugin,
                        "definition": checklist.data()})

    def inspection(self, inspection_id):
        doc = self.store.get(inspection_id)
        if doc is None or doc.get("type") != "inspection" or doc.get("deleted"):
            raise NotFound(f"No inspection with id {inspection_id}.")
        return public(doc)

    def inspections(self, status=None):
        docs = [public(d) for d in self.store.find("inspection") if not d.get("deleted")]
        if status:
            docs = [d for d in docs if d["status"] == status]
        return sorted(docs, key=lambda d: (d["date"], d["id"]), reverse=True)

    def checklist_of(self, inspection):
        """The pinned checklist version of an inspection (from the store's copy)."""
        ref = inspection["checklist"]
        pinned = self.store.get(checklist_doc_id(ref["id"], ref["version"]))
        if pinned is not None:
            from ..forms.checklist import load_checklist
            return Checklist(load_checklist(pinned["definition"]), pinned.get("plugin") or "hq")
        return self.checklists.get(ref["id"], version=ref["version"])

    def findings(self, inspection_id):
        """Current findings of an inspection, by item code (tombstones left out)."""
        docs = self.store.find("finding", inspection_id=inspection_id)
        return {d["item"]: public(d) for d in docs if not d.get("deleted")}

    def answers(self, inspection_id):
        return {code: f["value"] for code, f in self.findings(inspection_id).items()}

    # --- answering ----------------------------------------------------------------------

    def _editable(self, inspection):
        if inspection["status"] not in EDITABLE:
            raise UsageError(f"Inspection {inspection['id']} is {inspection['status']} and can "
                             "no longer be edited.")

    def answer(self, inspection_id, item_code, raw_value, extras=None, note=None,
               evidence=(), expected_rev=None):
        """Validate and save one answer; nothing is saved if any check fails."""
        with self.store.transaction():
            inspection = self.inspection(inspection_id)
            self._editable(inspection)
            checklist = self.checklist_of(inspection)
            item = checklist.item(item_code)
            answers = self.answers(inspection_id)
            if not is_shown(item, answers):
                cond = item["show_when"]
                raise UsageError(f"{item_code} does not apply: it depends on {cond['item']} "
                                 f"({cond['op']} {cond.get('value')}).")
            evidence_ids = list(evidence)
            for evidence_id in evidence_ids:
                self.store.require(evidence_id, "evidence")
            if item["answer"]["type"] == "photo":
                raw_value = raw_value or evidence_ids
                self._check_photos(item, raw_value)
            value, parsed_extras = parse_answer(item, raw_value, extras)
            finding = {
                "id": finding_id(inspection_id, item_code),
                "type": "finding",
                "inspection_id": inspection_id,
                "campaign_id": inspection.get("campaign_id"),
                "province_code": inspection.get("province_code"),
                "item": item_code,
                "theme": item["theme"],
                "value": value,
                "extras": parsed_extras,
                "note": nfc(note) if note else None,
                "evidence": evidence_ids,
                "flagged": is_flagged(item, value),
                "checklist": dict(inspection["checklist"]),
                "deleted": False,
            }
            objections = [message
                          for _, messages in self.pm.call_each(
                              "fieldkit_validate_finding", checklist=checklist, item=item,
                              finding=finding, inspection=inspection)
                          for message in (messages or [])]
            if objections:
                raise ValidationFailed("; ".join(objections), {item_code: objections})
            return self._save(finding, expected_rev=expected_rev)

    def _check_photos(self, item, ids):
        for evidence_id in ids if isinstance(ids, list) else [ids]:
            evidence = self.store.get(evidence_id)
            if evidence is None or evidence.get("type") != "evidence":
                raise ValidationFailed(f"{item['code']}: no evidence with id {evidence_id}.")
            if not str(evidence.get("media_type", "")).startswith("image/"):
                raise ValidationFailed(f"{item['code']}: this item needs a photo, and "
                                       f"{evidence.get('filename') or evidence_id} is "
                                       f"{evidence.get('media_type')}.")

    def clear_answer(self, inspection_id, item_code):
        """Withdraw an answer (a tombstone, so sync carries the withdrawal)."""
        with self.store.transaction():
            inspection = self.inspection(inspection_id)
            self._editable(inspection)
            current = self.store.get(finding_id(inspection_id, item_code))
            if current is None or current.get("deleted"):
                raise NotFound(f"{item_code} has no answer to clear.")
            return public(self.store.delete(current["id"], device=self.device,
                                            author=self.author))

    # --- evidence and recommendations ---------------------------------------------------

    def add_evidence(self, inspection_id, data, filename=None, caption=None, taken_at=None,
                     gps=None, item=None):
        """Store a file content-addressed and record its metadata as an evidence document."""
        if self.blobs is None:
            raise FieldkitError("This station has no evidence storage.")
        with self.store.transaction():
            inspection = self.inspection(inspection_id)
            self._editable(inspection)
            info = self.blobs.put(data)
            return self._save({
                "type": "evidence",
                "inspection_id": inspection_id,
                "campaign_id": inspection.get("campaign_id"),
                "province_code": inspection.get("province_code"),
                "item": item,
                "sha256": info.sha256,
                "size": info.size,
                "media_type": info.media_type,
                "filename": _display_name(filename),
                "caption": nfc(caption) if caption else None,
                "taken_at": taken_at or now_iso(),
                "gps": gps,
            })

    def evidence(self, inspection_id):
        docs = self.store.find("evidence", inspection_id=inspection_id)
        return [public(d) for d in docs if not d.get("deleted")]

    def add_recommendation(self, inspection_id, text, responsible=None, due=None,
                           status="open", recommendation_id=None):
        """Add (or, with ``recommendation_id``, edit) a recommendation (kiến nghị)."""
        with self.store.transaction():
            inspection = self.inspection(inspection_id)
            self._editable(inspection)
            doc = load_or_fail(RecommendationSchema(), {
                "type": "recommendation", "inspection_id": inspection_id, "text": text,
                "responsible": responsible, "due": due, "status": status}, "recommendation")
            doc["campaign_id"] = inspection.get("campaign_id")
            doc["province_code"] = inspection.get("province_code")
            if recommendation_id:
                self.store.require(recommendation_id, "recommendation")
                doc["id"] = recommendation_id
            return self._save(doc)

    def recommendations(self, inspection_id):
        docs = self.store.find("recommendation", inspection_id=inspection_id)
        return [public(d) for d in docs if not d.get("deleted")]

    # --- progress and submission --------------------------------------------------------

    def progress(self, inspection_id):
        """Per section and overall: required items, answered, missing required, flagged."""
        inspection = self.inspection(inspection_id)
        checklist = self.checklist_of(inspection)
        findings = self.findings(inspection_id)
        answers = {code: f["value"] for code, f in findings.items()}
        sections, missing, flagged = [], [], []
        for section in checklist.sections:
            entry = {"code": section["code"], "title": section["title"], "required": 0,
                     "answered": 0, "items": 0, "flagged": 0}
            for item in section["items"]:
                if not is_shown(item, answers):
                    continue
                entry["items"] += 1
                answered = item["code"] in answers
                entry["answered"] += answered
                if item["required"]:
                    entry["required"] += 1
                    if not answered:
                        missing.append(item["code"])
                if answered and findings[item["code"]]["flagged"]:
                    entry["flagged"] += 1
                    flagged.append(item["code"])
            sections.append(entry)
        return {"sections": sections, "missing_required": missing, "flagged": flagged,
                "answered": len(answers),
                "required": sum(s["required"] for s in sections),
                "required_answered": sum(s["required"] for s in sections) - len(missing)}

    def scores(self, inspection_id):
        inspection = self.inspection(inspection_id)
        _, result = self.pm.call_first("fieldkit_score_inspection",
                                       checklist=self.checklist_of(inspection),
                                       findings=self.answers(inspection_id))
        return result

    def submit(self, inspection_id):
        """Submit (or resubmit, after HQ returned it); refused while required items are open."""
        with self.store.transaction():
            inspection = self.inspection(inspection_id)
            self._editable(inspection)
            progress = self.progress(inspection_id)
            if progress["missing_required"]:
                raise ValidationFailed(
                    "Còn mục bắt buộc chưa trả lời (required items still open): "
                    + ", ".join(progress["missing_required"]),
                    {"missing_required": progress["missing_required"]})
            status = "resubmitted" if inspection["status"] == "returned" else "submitted"
            updated = {**inspection, "status": status, "submitted_at": now_iso()}
            return self._save(updated), progress


def _display_name(filename):
    """A file name for display only: never used as a path (blobs are stored by hash)."""
    if not filename:
        return None
    name = nfc(str(filename)).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200]
    return name or None


__all__ = ["Workflow", "finding_id", "checklist_doc_id", "SEED_CAMPAIGN"]
