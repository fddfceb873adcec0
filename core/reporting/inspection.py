"""The inspection results report (Báo cáo kết quả kiểm tra, BC) of one inspection, as data.

Outline (REPORT-FORMAT.md): an opening paragraph citing the program; I- ĐẶC ĐIỂM TÌNH HÌNH;
II- KẾT QUẢ THỰC HIỆN (1. leadership and direction; 2. results by the motto's themes, each
item with its answer; 3. the People's Inspection Board and the Community Investment
Supervision Board); III- HẠN CHẾ, NGUYÊN NHÂN (flagged items with their evidence);
IV- KIẾN NGHỊ, ĐỀ XUẤT (recommendations: what, who, by when); recipients and signature; an
appendix listing the evidence. A 2024 inspection of a legacy commune, reported after the
2025 reform, names both eras: "xã X, tỉnh Hòa Bình (nay thuộc tỉnh Phú Thọ)".
"""

from datetime import date

from ..errors import FieldkitError
from ..scoring import score as default_score
from ..text import fold_key
from ..units import REFORM_DATE
from . import document as doc
from .text import (RECOMMENDATION_WORDS, STATUS_WORDS, UNIT_KIND_WORDS,
                   answer_text, as_date, modern_tones, score_text, short_date, theme_key,
                   theme_name, unit_phrase)

BOARD_WORDS = ("thanh tra nhân dân", "giám sát đầu tư")
PHOTO_PIXELS = 1280  # longest side of a photo embedded in a document


def unit_label(units, inspection, on):
    """The inspected unit in running text, with today's province after the 2025 reform."""
    unit, province = inspection.get("unit") or {}, inspection.get("province") or {}
    province_text = unit_phrase(province.get("name"))
    if inspection.get("unit_kind") in ("agency", "enterprise"):
        base = ", ".join(filter(None, [inspection.get("unit_name") or unit.get("name"),
                                       province_text]))
    elif unit.get("level") == "province":
        base = province_text
    else:
        base = f"{unit_phrase(unit.get('name'))}, {province_text}"
    now = successor_text(units, inspection, on)
    return f"{base} (nay thuộc {now})" if now else base


def successor_text(units, inspection, on, with_commune=False):
    """Where a legacy unit is after the reform ("tỉnh Phú Thọ"; "phường Hoa Lư, tỉnh Ninh
    Bình" when the province kept its name), or None (not legacy, or reported before it)."""
    unit, province = inspection.get("unit") or {}, inspection.get("province") or {}
    if unit.get("era") != "legacy" or as_date(on) < REFORM_DATE or units is None:
        return None
    try:
        current = units.get(inspection["province_code"], era="current")
    except (FieldkitError, KeyError):
        return None
    now = unit_phrase(current.name)
    if not with_commune and fold_key(current.short_name) != fold_key(
            _short(province.get("name"))):
        return now
    if unit.get("level") == "commune":
        try:
            successor = units.successor(units.get(unit["code"], era="legacy"))
        except FieldkitError:
            successor = None
        if successor is not None:
            return f"{unit_phrase(successor.name)}, {now}"
    return now


def province_label(units, inspection, on):
    """The inspected unit's province as it is called on ``on`` (today's after the reform)."""
    as_province = {**inspection, "unit": {**(inspection.get("unit") or {}), "level": "province"}}
    return (successor_text(units, as_province, on)
            or unit_phrase((inspection.get("province") or {}).get("name")))


def _short(name):
    from ..units import split_kind
    return split_kind(name or "")[1]


def _scores(pm, checklist, answers):
    if pm is not None:
        _, result = pm.call_first("fieldkit_score_inspection", checklist=checklist,
                                  findings=answers)
        if result is not None:
            return result
    return default_score(checklist, answers)


def build_inspection_report(store, inspection_id, units=None, checklists=None, pm=None,
                            blobs=None, number=None, issued_on=None, layout=None, signer=None):
    """The report data of one inspection (see ``document`` for the block model)."""
    from ..checklists import ChecklistRegistry
    from ..rules import is_shown
    from ..workflow import Workflow

    flow = Workflow(store, checklists or ChecklistRegistry(units), units, pm)
    inspection = flow.inspection(inspection_id)
    checklist = flow.checklist_of(inspection)
    findings = flow.findings(inspection_id)
    answers = {code: f["value"] for code, f in findings.items()}
    evidence = {e["id"]: e for e in flow.evidence(inspection_id)}
    recommendations = sorted(flow.recommendations(inspection_id),
                             key=lambda r: (r.get("due") or "9999", r["text"]))
    scores = _scores(pm, checklist, answers)
    issued_on = as_date(issued_on) or date.today()
    campaign = store.get(inspection.get("campaign") or "") or {}
    label = unit_label(units, inspection, issued_on)
    current_province = province_label(units, inspection, issued_on)

    report = doc.frame("inspection", layout, number, issued_on, signer=signer,
                       recipients_values={"province": current_province, "unit": label})
    own = bool(inspection.get("self_assessment"))
    what = "tự đánh giá" if own else "kiểm tra"
    report["subject"] = f"Kết quả {what} việc thực hiện dân chủ ở cơ sở tại {label}"
    report["title"] = f"Báo cáo kết quả {what} việc thực hiện dân chủ ở cơ sở tại {label}"
    report["unit"] = {"label": label, "code": inspection["unit"].get("code"),
                      "era": inspection["unit"].get("era"),
                      "name": modern_tones(inspection["unit"].get("name")),
                      "province": modern_tones(inspection["province"].get("name")),
                      "province_code": inspection.get("province_code")}
    report["date"] = inspection["date"]

    items = [item for item in checklist.items if is_shown(item, answers)]
    rows = []
    for item in items:
        finding = findings.get(item["code"])
        rows.append({
            "code": item["code"], "text": item["text"]["vi"], "theme": item["theme"],
            "answered": finding is not None,
            "value": finding["value"] if finding else None,
            "answer": answer_text(item, finding["value"], finding.get("extras"))
            if finding else "Chưa trả lời",
            "flagged": bool(finding and finding.get("flagged")),
            "note": (finding or {}).get("note"),
            "evidence": [e for e in (finding or {}).get("evidence") or [] if e in evidence],
        })
    flagged = [row for row in rows if row["flagged"]]
    images = {}

    blocks = [_opening(campaign, inspection, label, own)]
    blocks += _section_situation(inspection, checklist, label, rows, flagged, units, issued_on)
    blocks += _section_results(inspection, rows, scores)
    blocks += _section_limits(flagged, evidence, blobs, images)
    blocks += _section_recommendations(recommendations)
    report["blocks"] = blocks
    report["appendix"] = _appendix(rows, evidence, blobs, images)
    report["data"] = {
        "inspection": {key: inspection.get(key) for key in (
            "id", "campaign", "unit", "province", "province_code", "unit_kind", "unit_name",
            "checklist", "self_assessment", "team", "inspectors", "date", "status")},
        "checklist": {"id": checklist.id, "version": checklist.version,
                      "title": checklist.title, "items": len(checklist.items)},
        "scores": scores,
        "findings": rows,
        "flagged": [row["code"] for row in flagged],
        "recommendations": [{key: rec.get(key) for key in (
            "id", "text", "responsible", "due", "status")} for rec in recommendations],
        "evidence": [{key: e.get(key) for key in (
            "id", "sha256", "media_type", "filename", "caption", "item", "size")}
            for e in evidence.values()],
    }
    report["_images"] = images
    return doc.finish(report)


def _opening(campaign, inspection, label, own):
    program = campaign.get("code")
    issued = short_date(campaign.get("issued")) if campaign.get("issued") else ""
    basis = (f"Thực hiện Chương trình số {program}"
             + (f" ngày {issued}" if issued else "")
             + " của Ban Chỉ đạo Trung ương thực hiện Quy chế dân chủ ở cơ sở, "
             if program else "Thực hiện chương trình công tác của Ban Chỉ đạo Trung ương "
                             "thực hiện Quy chế dân chủ ở cơ sở, ")
    if own:
        body = (f"{label} đã tự đánh giá việc thực hiện dân chủ ở cơ sở ngày "
                f"{short_date(inspection['date'])}. Ban Chỉ đạo Trung ương tổng hợp kết quả "
                f"như sau:")
    else:
        team = inspection.get("team") or "Đoàn kiểm tra"
        body = (f"{team} đã kiểm tra việc lãnh đạo, chỉ đạo và kết quả thực hiện dân chủ ở "
                f"cơ sở tại {label} ngày {short_date(inspection['date'])}. Ban Chỉ đạo Trung "
                f"ương báo cáo kết quả kiểm tra như sau:")
    return doc.paragraph(basis + body)


def _section_situation(inspection, checklist, label, rows, flagged, units, on):
    unit = inspection["unit"]
    who = inspection.get("team") or ("Đơn vị tự đánh giá" if inspection.get("self_assessment")
                                      else "Đoàn kiểm tra")
    inspectors = ", ".join(inspection.get("inspectors") or [])
    kind = UNIT_KIND_WORDS.get(inspection.get("unit_kind"), inspection.get("unit_kind") or "")
    answered = sum(1 for row in rows if row["answered"])
    legacy = unit.get("era") == "legacy"
    place = unit_label(None, inspection, on)
    where = (f"{place[0].upper()}{place[1:]} (mã đơn vị hành chính {unit.get('code')}"
             f"{' trước ngày 01/07/2025' if legacy else ''}); loại hình: {kind}.")
    now = successor_text(units, inspection, on, with_commune=True)
    if now:
        where += f" Từ ngày 01/07/2025, địa bàn thuộc {now}."
    blocks = [
        doc.heading(1, "I- ĐẶC ĐIỂM TÌNH HÌNH"),
        doc.paragraph(doc.bold("1. Đơn vị được kiểm tra: "), where),
        doc.paragraph(doc.bold("2. Thời gian, thành phần: "),
                      f"ngày {short_date(inspection['date'])}; {who}"
                      + (f" gồm các đồng chí: {inspectors}." if inspectors else ".")),
        doc.paragraph(doc.bold("3. Nội dung: "),
                      f"{checklist.title} (phiên bản {checklist.version}), {len(rows)} nội dung "
                      f"áp dụng; đã ghi nhận {answered} nội dung, trong đó {len(flagged)} nội "
                      f"dung còn hạn chế."),
        doc.paragraph(doc.bold("4. Tình trạng hồ sơ: "),
                      STATUS_WORDS.get(inspection.get("status"), inspection.get("status") or "")
                      + "."),
    ]
    return blocks


def _item_paragraph(row):
    runs = [doc.bold(f"{row['code']}. "), f"{row['text']}: ", doc.bold(row["answer"])]
    if row["flagged"]:
        runs.append(doc.italic(" (còn hạn chế)"))
    runs.append(".")
    if row["note"]:
        runs.append(doc.italic(f" Ghi nhận: {row['note']}"))
    return doc.paragraph(*runs)


def _section_results(inspection, rows, scores):
    themes = scores.get("themes") or {}
    by_theme = {}
    for row in rows:
        by_theme.setdefault(row["theme"], []).append(row)
    blocks = [doc.heading(1, "II- KẾT QUẢ THỰC HIỆN"),
              doc.heading(2, "1. Công tác lãnh đạo, chỉ đạo, quán triệt, tuyên truyền")]
    leadership = by_theme.get("LD") or []
    blocks += [_item_paragraph(row) for row in leadership] or [
        doc.paragraph("Bảng kiểm không có nội dung riêng về công tác lãnh đạo, chỉ đạo.")]
    kind = UNIT_KIND_WORDS.get(inspection.get("unit_kind"), "cơ sở")
    blocks.append(doc.heading(2, f"2. Kết quả thực hiện ở {kind} theo phương châm "
                                 f"“Dân biết, dân bàn, dân làm, dân kiểm tra, dân giám sát, "
                                 f"dân thụ hưởng”"))
    letters = "abcdefghik"
    motto = [t for t in sorted(by_theme, key=theme_key) if t != "LD"]
    for index, theme in enumerate(motto):
        theme_scores = themes.get(theme) or {}
        blocks.append(doc.heading(3, f"{letters[index % len(letters)]}) {theme_name(theme)} "
                                     f"(điểm {score_text(theme_scores.get('score'))}/100)"))
        blocks += [_item_paragraph(row) for row in by_theme[theme]]
    blocks.append(doc.heading(2, "3. Hoạt động của Ban Thanh tra nhân dân, Ban Giám sát đầu "
                                 "tư của cộng đồng"))
    boards = [row for row in rows if any(w in fold_key(row["text"]) for w in BOARD_WORDS)]
    if boards:
        for row in boards:
            blocks.append(doc.paragraph(
                doc.bold(f"{row['code']}. "), f"{row['text']}: ", doc.bold(row["answer"]),
                doc.italic(" (còn hạn chế)") if row["flagged"] else "", "."))
    else:
        blocks.append(doc.paragraph("Bảng kiểm không có nội dung riêng về hoạt động của hai "
                                    "ban này."))
    table_rows = []
    for theme in sorted(themes, key=theme_key):
        entry = themes[theme]
        score = entry.get("score")
        table_rows.append([theme_name(theme), entry.get("answered", 0), entry.get("flagged", 0),
                           None if score is None else round(score, 1)])
    table_rows.append(["Chung", sum(r[1] for r in table_rows), sum(r[2] for r in table_rows),
                       None if scores.get("overall") is None else round(scores["overall"], 1)])
    blocks.append(doc.table(["Nội dung", "Số nội dung đã ghi nhận", "Số nội dung hạn chế",
                             "Điểm (0–100)"], table_rows, widths_cm=[6.5, 3.3, 3.3, 3.3],
                            numeric=[1, 2, 3],
                            caption="Bảng 1. Kết quả theo nội dung (cách tính: "
                                    + (scores.get("method") or "") + ")"))
    return blocks


def _section_limits(flagged, evidence, blobs, images):
    blocks = [doc.heading(1, "III- HẠN CHẾ, NGUYÊN NHÂN")]
    if not flagged:
        return blocks + [doc.paragraph("Qua kiểm tra, chưa phát hiện nội dung còn hạn chế theo "
                                       "bảng kiểm.")]
    blocks.append(doc.paragraph(f"Qua kiểm tra, còn {len(flagged)} nội dung hạn chế:"))
    for number, row in enumerate(flagged, 1):
        runs = [doc.bold(f"{number}. {row['code']} – {row['text']}: "), row["answer"], "."]
        if row["note"]:
            runs.append(f" Nguyên nhân, ghi nhận của đoàn: {row['note']}")
        blocks.append(doc.paragraph(*runs))
        for evidence_id in row["evidence"]:
            blocks += _evidence_blocks(evidence[evidence_id], blobs, images)
    return blocks


def _evidence_blocks(item, blobs, images):
    caption = item.get("caption") or item.get("filename") or "Minh chứng"
    if str(item.get("media_type", "")).startswith("image/") and _load_image(item, blobs, images):
        return [doc.photo(item["sha256"], f"Ảnh: {caption}", "image/jpeg")]
    return [doc.paragraph(doc.italic(f"Tài liệu minh chứng: {caption}"
                                     f" ({item.get('filename') or item.get('media_type')};"
                                     f" SHA-256 {str(item.get('sha256'))[:16]}…)"))]


def _load_image(item, blobs, images):
    """A downscaled JPEG of an evidence photo into ``images``; False if it cannot be read."""
    sha = item.get("sha256")
    if blobs is None or not sha:
        return False
    if sha in images:
        return True
    try:
        images[sha] = blobs.thumbnail(sha, PHOTO_PIXELS)
    except (FieldkitError, OSError):
        return False
    return True


def _section_recommendations(recommendations):
    blocks = [doc.heading(1, "IV- KIẾN NGHỊ, ĐỀ XUẤT")]
    if not recommendations:
        return blocks + [doc.paragraph("Đoàn kiểm tra không có kiến nghị.")]
    for number, rec in enumerate(recommendations, 1):
        details = []
        if rec.get("responsible"):
            details.append(f"Đơn vị chịu trách nhiệm: {rec['responsible']}")
        if rec.get("due"):
            details.append(f"thời hạn: {short_date(rec['due'])}")
        details.append("tình trạng: " + RECOMMENDATION_WORDS.get(rec.get("status"), "")
                       .lower())
        blocks.append(doc.paragraph(doc.bold(f"{number}. "), rec["text"].rstrip(".") + ". ",
                                    doc.italic("; ".join(details) + ".")))
    return blocks


def _appendix(rows, evidence, blobs, images):
    if not evidence:
        return []
    items = {row["code"]: row for row in rows}
    table_rows = []
    photos = []
    for number, item in enumerate(sorted(evidence.values(),
                                         key=lambda e: (e.get("item") or "", e["id"])), 1):
        table_rows.append([number, item.get("caption") or "", item.get("item") or "",
                           item.get("filename") or "", item.get("media_type") or "",
                           str(item.get("sha256") or "")[:16] + "…"])
        flagged = items.get(item.get("item"), {}).get("flagged")
        if not flagged and str(item.get("media_type", "")).startswith("image/") \
                and _load_image(item, blobs, images):
            photos.append(doc.photo(item["sha256"], f"Ảnh {number}: "
                                    f"{item.get('caption') or item.get('filename') or ''}"))
    return [doc.heading(1, "PHỤ LỤC: DANH MỤC TÀI LIỆU, HÌNH ẢNH MINH CHỨNG"),
            doc.table(["STT", "Nội dung", "Mục", "Tệp", "Loại", "SHA-256"], table_rows,
                      widths_cm=[1.3, 4.8, 1.5, 3.4, 2.5, 3.0], numeric=[0])] + photos


__all__ = ["build_inspection_report", "unit_label", "successor_text"]
