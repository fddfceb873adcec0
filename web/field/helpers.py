"""What the pages and the API share: notices, the fill page's model, upload checks."""

from flask import g, url_for

from ...core.rules import is_shown
from ...core.workflow import EDITABLE

# Evidence files are recognised by their first bytes, never by name or declared type.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


def sniff_media_type(data):
    """The media type of a file from its content, or None when it is none we accept."""
    for prefix, media_type in MAGIC:
        if data.startswith(prefix):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def notice(key, **params):
    """A one-line message shown on the next page this session sees."""
    if getattr(g, "session", None) is not None:
        g.session.notices.append((key, params))


def take_notices():
    session = getattr(g, "session", None)
    if session is None or not session.notices:
        return []
    notices, session.notices = session.notices, []
    return notices


def safe_next(target):
    """A local path to go back to; anything else (another site) becomes the list."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("inspections.index")


def hidden_items(checklist, answers):
    """Codes of items whose ``show_when`` is false with these answers (skip logic)."""
    return [item["code"] for item in checklist.items if not is_shown(item, answers)]


def input_value(finding):
    """An answer as the page's input shows it (numbers without a needless '.0')."""
    if finding is None:
        return ""
    value = finding["value"]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ""
    return str(value)


def inspection_page(flow, inspection_id):
    """Everything the inspection pages show: the inspection, its pinned checklist, answers,
    evidence by item, progress per section, and which items are hidden by skip logic."""
    inspection = flow.inspection(inspection_id)
    checklist = flow.checklist_of(inspection)
    findings = flow.findings(inspection_id)
    answers = {code: f["value"] for code, f in findings.items()}
    evidence = flow.evidence(inspection_id)
    by_item = {}
    for doc in evidence:
        by_item.setdefault(doc.get("item"), []).append(doc)
    progress = flow.progress(inspection_id)
    counts = section_counts(checklist, progress)
    sections = []
    for section in checklist.sections:
        items = []
        for item in section["items"]:
            finding = findings.get(item["code"])
            items.append({
                **item,
                "shown": is_shown(item, answers),
                "finding": finding,
                "input_value": input_value(finding),
                "uploads": by_item.get(item["code"], []),
            })
        sections.append({**section, "counts": counts[section["code"]], "items": items})
    return {
        "inspection": inspection,
        "checklist": checklist,
        "sections": sections,
        "findings": findings,
        "evidence": evidence,
        "progress": progress,
        "editable": inspection["status"] in EDITABLE,
    }


def section_counts(checklist, progress):
    """Per section: required items, how many of them are answered, answered, flagged."""
    section_of = {item["code"]: item["section"] for item in checklist.items}
    missing = {}
    for code in progress["missing_required"]:
        missing[section_of[code]] = missing.get(section_of[code], 0) + 1
    return {entry["code"]: {"code": entry["code"], "required": entry["required"],
                            "required_answered": entry["required"] - missing.get(entry["code"], 0),
                            "answered": entry["answered"], "items": entry["items"],
                            "flagged": entry["flagged"]}
            for entry in progress["sections"]}


def progress_summary(flow, inspection_id):
    """The part of the state the page refreshes after each save (JSON-able)."""
    inspection = flow.inspection(inspection_id)
    checklist = flow.checklist_of(inspection)
    answers = flow.answers(inspection_id)
    progress = flow.progress(inspection_id)
    return {
        "hidden": hidden_items(checklist, answers),
        "sections": list(section_counts(checklist, progress).values()),
        "missing_required": progress["missing_required"],
        "flagged": progress["flagged"],
        "required": progress["required"],
        "required_answered": progress["required_answered"],
    }


def evidence_json(inspection_id, doc):
    """An evidence document as the API shows it, with its thumbnail and file URLs."""
    is_image = str(doc.get("media_type", "")).startswith("image/")
    return {
        "id": doc["id"], "item": doc.get("item"), "filename": doc.get("filename"),
        "caption": doc.get("caption"), "media_type": doc.get("media_type"),
        "size": doc.get("size"), "sha256": doc.get("sha256"),
        "thumbnail_url": url_for("inspections.evidence_thumbnail",
                                 inspection_id=inspection_id, evidence_id=doc["id"])
        if is_image else None,
        "file_url": url_for("inspections.evidence_file", inspection_id=inspection_id,
                            evidence_id=doc["id"]),
    }


def parse_day(text):
    """A date typed in a form or a query (YYYY-MM-DD); today when empty."""
    from datetime import date
    from ...core.errors import UsageError
    from ..common.i18n import t
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(t("form.bad_date", value=text)) from None
