"""Periodic summaries: the 6-month review (sơ kết 6 tháng) and the annual summary (tổng kết
năm), as report data. Every figure comes from the SQL aggregations in ``sql.py``:

- per province (current-era roll-up code, with the legacy provinces its inspections were in)
  and per theme: the mean of the inspections' theme scores; inspections and units counted;
- the items most often flagged (code, text, count);
- recommendations by status, and overdue ones (due before the period's end — or today, if
  that is earlier — and neither done nor cancelled; the status is today's);
- a province's self-assessments beside the team inspections, per checklist and theme.

Summaries count inspections handed in (``filters.REPORTED_STATUSES``: not drafts) and
exclude tombstones.
"""

from datetime import date

from ..errors import FieldkitError
from ..units import split_kind
from . import document as doc
from .filters import Filters
from .sql import ReportQueries
from .text import (RECOMMENDATION_WORDS, modern_tones, score_text, short_date, theme_key,
                   theme_name)

REC_STATUSES = ("done", "in_progress", "open", "cancelled")


def province_names(units, code, origins):
    """(current name, [legacy names]) of a roll-up code: ("Phú Thọ", ["Hòa Bình"])."""
    current = None
    if units is not None and code:
        try:
            current = split_kind(modern_tones(units.get(code, era="current").name))[1]
        except FieldkitError:
            current = None
    legacy = sorted({split_kind(modern_tones(o["province_name"] or ""))[1]
                     for o in origins if o["province_code"] == code
                     and o["province_era"] == "legacy" and o["province_name"]})
    return current or (legacy[0] if legacy else f"mã {code}"), legacy


def province_label(name, legacy):
    """"Phú Thọ (Hòa Bình cũ)"; just "Ninh Bình" when the old name is the same."""
    others = [old for old in legacy if old != name]
    return f"{name} ({', '.join(others)} cũ)" if others else name


def summarise(store, units=None, filters=None, checklists=None, as_of=None, top=15):
    """The figures of a summary (JSON-like), computed in SQL."""
    filters = filters or Filters()
    today = date.today()
    if as_of is None:
        as_of = min(today, filters.period.end) if filters.period else today
    queries = ReportQueries(store, checklists)
    found = queries.summary_rows(filters, as_of, overdue_limit=100)  # ONE statement
    groups, overall = found["themes"], found["overall"]
    counts, unit_rows, origins = found["counts"], found["units"], found["origins"]
    recommendations = {row["province_code"]: row for row in found["recommendations"]}
    codes = sorted({row["province_code"] for row in counts} | {g["province_code"] for g in groups}
                   - {None})
    themes = sorted({g["theme"] for g in groups}, key=theme_key)
    units_by_code = {row["province_code"]: row["units"] for row in unit_rows}

    def mean(rows):
        total = sum(r["inspections"] for r in rows)
        return (sum(r["score_sum"] for r in rows) / total) if total else None

    provinces = []
    for code in codes:
        name, legacy = province_names(units, code, origins)
        team = [g for g in groups if g["province_code"] == code and not g["self_assessment"]]
        by_status = {}
        for row in counts:
            if row["province_code"] == code and row["inspections"]:
                by_status[row["status"]] = by_status.get(row["status"], 0) + row["inspections"]
        rec = recommendations.get(code) or {}
        provinces.append({
            "code": code, "name": name, "legacy": legacy, "label": province_label(name, legacy),
            "inspections": sum(by_status.values()),
            "self_assessments": sum(r["self_assessments"] for r in counts
                                    if r["province_code"] == code),
            "units": units_by_code.get(code, 0),
            "by_status": by_status,
            "themes": {t: mean([g for g in team if g["theme"] == t]) for t in themes},
            "overall": mean([g for g in overall if g["province_code"] == code
                             and not g["self_assessment"]]),
            "recommendations": {key: int(rec.get(key) or 0)
                                for key in ("total", *REC_STATUSES, "overdue")},
        })
    team_groups = [g for g in groups if not g["self_assessment"]]
    national = {
        "inspections": sum(p["inspections"] for p in provinces),
        "self_assessments": sum(p["self_assessments"] for p in provinces),
        "units": sum(p["units"] for p in provinces),
        "themes": {t: mean([g for g in team_groups if g["theme"] == t]) for t in themes},
        "overall": mean([g for g in overall if not g["self_assessment"]]),
        "recommendations": {key: sum(p["recommendations"][key] for p in provinces)
                            for key in ("total", *REC_STATUSES, "overdue")},
        "flagged": sum(item["flagged"] for item in found["items"]),
    }
    comparison = []
    for key in sorted({(g["province_code"], g["checklist_id"], g["theme"]) for g in groups},
                      key=lambda k: (k[0], k[1], theme_key(k[2]))):
        own = [g for g in groups if (g["province_code"], g["checklist_id"], g["theme"]) == key
               and g["self_assessment"]]
        team = [g for g in groups if (g["province_code"], g["checklist_id"], g["theme"]) == key
                and not g["self_assessment"]]
        if own and team:
            name, legacy = province_names(units, key[0], origins)
            self_score, team_score = mean(own), mean(team)
            comparison.append({
                "province_code": key[0], "province": province_label(name, legacy),
                "checklist_id": key[1], "theme": key[2],
                "self_score": self_score, "self_count": sum(g["inspections"] for g in own),
                "inspection_score": team_score,
                "inspection_count": sum(g["inspections"] for g in team),
                "difference": self_score - team_score,
            })
    flagged = found["items"][:top]
    for rank, row in enumerate(flagged, 1):
        row["rank"] = rank
        row["rate"] = 100.0 * row["flagged"] / row["answered"] if row["answered"] else None
    overdue = found["overdue"]
    for row in overdue:
        name, legacy = province_names(units, row["province_code"], origins)
        row["province"] = province_label(name, legacy)
    return {
        "period": ({"label": filters.period.label, "start": filters.period.start.isoformat(),
                    "end": filters.period.end.isoformat()} if filters.period else None),
        "campaign": filters.campaign, "province": filters.province, "theme": filters.theme,
        "as_of": as_of.isoformat(), "themes": themes, "provinces": provinces,
        "national": national, "flagged": flagged, "self_vs_inspection": comparison,
        "overdue": overdue, "missing_checklists": list(queries.missing_checklists),
    }


# --- the document --------------------------------------------------------------------------

def build_summary_report(store, units=None, filters=None, checklists=None, number=None,
                         issued_on=None, layout=None, signer=None, as_of=None):
    """The report data of a 6-month review (period ``YYYY-H1``/``H2``) or an annual summary
    (period ``YYYY``); figures in ``report["data"]``, tables in ``report["sheets"]``."""
    filters = filters or Filters()
    if filters.period is None:
        raise FieldkitError("A summary needs a period (2024, 2024-H1, 2025-H2 …).")
    period = filters.period
    data = summarise(store, units, filters, checklists, as_of)
    report = doc.frame("summary", layout, number, issued_on, signer=signer)
    annual = period.part is None
    if annual:
        report["subject"] = f"Tổng kết việc thực hiện dân chủ ở cơ sở {period.title()}"
        report["title"] = f"Báo cáo tổng kết việc thực hiện dân chủ ở cơ sở {period.title()}"
    else:
        report["subject"] = f"Sơ kết {period.title()} việc thực hiện dân chủ ở cơ sở"
        report["title"] = f"Báo cáo sơ kết {period.title()} việc thực hiện dân chủ ở cơ sở"
    if filters.campaign:
        campaign = store.get(filters.campaign) or {}
        if campaign.get("code"):
            report["subject"] += f"\n(theo Chương trình số {campaign['code']})"
    report["unit"] = {"label": "các tỉnh, thành phố được kiểm tra"}
    report["date"] = period.end.isoformat()
    report["data"] = data
    tables = _tables(data)
    report["sheets"] = [tables[key] for key in ("provinces", "flagged", "recommendations",
                                                 "comparison", "overdue")]
    report["blocks"] = _body(data, period, tables, annual)
    report["appendix"] = _appendix(data, tables) if annual else []
    return doc.finish(report)


def _round(value):
    return None if value is None else round(value, 1)


def _tables(data):
    themes = data["themes"]
    province_rows = []
    for p in data["provinces"]:
        province_rows.append([p["code"], p["name"], ", ".join(p["legacy"]), p["inspections"],
                              p["units"], *[_round(p["themes"].get(t)) for t in themes],
                              _round(p["overall"])])
    n = data["national"]
    province_rows.append(["", "Chung", "", n["inspections"], n["units"],
                          *[_round(n["themes"].get(t)) for t in themes], _round(n["overall"])])
    score_columns = range(5, 6 + len(themes))
    provinces = {
        "name": "Tỉnh × nội dung", "title": "Điểm bình quân theo tỉnh và nội dung (0–100)",
        "columns": ["Mã tỉnh", "Tỉnh (hiện nay)", "Địa bàn trước 01/07/2025",
                    "Số cuộc kiểm tra", "Số đơn vị", *[theme_name(t) for t in themes],
                    "Điểm chung"],
        "rows": province_rows, "widths": [9, 16, 22, 10, 10, *[12] * len(themes), 11],
        "formats": {i: "0.0" for i in score_columns},
    }
    flagged = {
        "name": "Mục hạn chế", "title": "Các nội dung còn hạn chế nhiều nhất",
        "columns": ["Hạng", "Bảng kiểm", "Mã mục", "Nội dung", "Chủ đề", "Số lần hạn chế",
                    "Số lần ghi nhận", "Tỷ lệ (%)"],
        "rows": [[r["rank"], r["checklist_id"], r["item"], r["text"], theme_name(r["theme"]),
                  r["flagged"], r["answered"], _round(r["rate"])] for r in data["flagged"]],
        "widths": [7, 18, 9, 60, 22, 13, 13, 10], "formats": {7: "0.0"},
    }
    rec_rows = [[p["code"], p["label"], *[p["recommendations"][k] for k in
                                           ("total", *REC_STATUSES, "overdue")]]
                for p in data["provinces"]]
    rec_rows.append(["", "Chung", *[n["recommendations"][k] for k in
                                     ("total", *REC_STATUSES, "overdue")]])
    recommendations = {
        "name": "Kiến nghị", "title": "Tình hình thực hiện kiến nghị",
        "columns": ["Mã tỉnh", "Tỉnh", "Tổng số", *[RECOMMENDATION_WORDS[s] for s in
                                                     REC_STATUSES], "Quá hạn"],
        "rows": rec_rows, "widths": [9, 28, 10, 14, 15, 15, 10, 10],
    }
    comparison = {
        "name": "Tự đánh giá - kiểm tra", "title": "Tự đánh giá của địa phương và kết quả kiểm tra",
        "columns": ["Mã tỉnh", "Tỉnh", "Bảng kiểm", "Nội dung", "Điểm tự đánh giá",
                    "Số bản tự đánh giá", "Điểm kiểm tra", "Số cuộc kiểm tra", "Chênh lệch"],
        "rows": [[r["province_code"], r["province"], r["checklist_id"], theme_name(r["theme"]),
                  _round(r["self_score"]), r["self_count"], _round(r["inspection_score"]),
                  r["inspection_count"], _round(r["difference"])]
                 for r in data["self_vs_inspection"]],
        "widths": [9, 24, 18, 24, 14, 14, 14, 14, 12], "formats": {4: "0.0", 6: "0.0", 8: "0.0"},
    }
    overdue = {
        "name": "Kiến nghị quá hạn", "title": "Kiến nghị quá hạn",
        "columns": ["Tỉnh", "Đơn vị", "Kiến nghị", "Đơn vị chịu trách nhiệm", "Thời hạn",
                    "Tình trạng"],
        "rows": [[r["province"], modern_tones(r["unit_name"] or r["unit_label"] or ""),
                  r["text"], r["responsible"] or "", r["due"],
                  RECOMMENDATION_WORDS.get(r["status"], r["status"])] for r in data["overdue"]],
        "widths": [22, 26, 60, 26, 12, 16],
    }
    return {"provinces": provinces, "flagged": flagged, "recommendations": recommendations,
            "comparison": comparison, "overdue": overdue}


def _doc_table(table, numbered, widths_cm, columns=None, caption=None):
    """A sheet as a document table (``columns``: the indexes to keep)."""
    keep = columns if columns is not None else range(len(table["columns"]))
    numeric = [position for position, index in enumerate(keep)
               if any(isinstance(row[index], (int, float)) for row in table["rows"])]
    return doc.table([table["columns"][i] for i in keep],
                     [[row[i] for i in keep] for row in table["rows"]], widths_cm=widths_cm,
                     numeric=numeric, caption=caption or f"Bảng {numbered}. {table['title']}")


def _body(data, period, tables, annual):
    n = data["national"]
    provinces = data["provinces"]
    themes = data["themes"]
    half = "6 THÁNG ĐẦU NĂM" if period.part == "H1" else (
        "6 THÁNG CUỐI NĂM" if period.part == "H2" else None)
    heading = (f"I- KẾT QUẢ THỰC HIỆN NĂM {period.year}" if annual else
               f"I- KẾT QUẢ {half} {period.year}" if half else
               f"I- KẾT QUẢ {period.title().upper()}")
    names = ", ".join(p["label"] for p in provinces) or "—"
    blocks = [doc.paragraph(
        f"Thực hiện Chương trình công tác của Ban Chỉ đạo Trung ương thực hiện Quy chế dân chủ "
        f"ở cơ sở, Ban Chỉ đạo tổng hợp kết quả kiểm tra {period.title()} (từ ngày "
        f"{_d(period.start)} đến ngày {_d(period.end)}) như sau:"),
        doc.heading(1, heading),
        doc.heading(2, "1. Công tác lãnh đạo, chỉ đạo")]
    if "LD" in themes:
        blocks.append(doc.paragraph(
            f"Điểm bình quân về công tác lãnh đạo, chỉ đạo qua kiểm tra đạt "
            f"{score_text(n['themes'].get('LD'))}/100; "
            + "; ".join(f"{p['label']}: {score_text(p['themes'].get('LD'))}" for p in provinces)
            + "."))
    else:
        blocks.append(doc.paragraph("Trong kỳ không có nội dung kiểm tra về công tác lãnh đạo, "
                                    "chỉ đạo."))
    blocks.append(doc.heading(2, "2. Kết quả thực hiện ở các loại hình"))
    motto = [t for t in themes if t != "LD"]
    if motto:
        ranked = sorted((t for t in motto if n["themes"].get(t) is not None),
                        key=lambda t: n["themes"][t], reverse=True)
        text = (f"Điểm chung bình quân đạt {score_text(n['overall'])}/100. "
                + ("Nội dung đạt cao nhất: " + f"{theme_name(ranked[0])} "
                   f"({score_text(n['themes'][ranked[0]])}); thấp nhất: "
                   f"{theme_name(ranked[-1])} ({score_text(n['themes'][ranked[-1]])})."
                   if ranked else ""))
        blocks.append(doc.paragraph(text))
    if not annual:
        blocks.append(_province_table(data, 1, tables["provinces"]["title"]))
    else:
        blocks.append(doc.paragraph(doc.italic("Chi tiết theo từng tỉnh tại Phụ lục 1.")))
    blocks.append(doc.heading(2, "3. Hoạt động kiểm tra của Ban Chỉ đạo"))
    blocks.append(doc.paragraph(
        f"Trong kỳ, các đoàn kiểm tra đã kiểm tra {n['inspections']} cuộc tại {n['units']} đơn "
        f"vị thuộc {len(provinces)} tỉnh ({names}); các địa phương gửi {n['self_assessments']} "
        f"bản tự đánh giá."))
    blocks.append(doc.heading(2, "4. Đánh giá chung"))
    good = [t for t in motto if (n["themes"].get(t) or 0) >= 80]
    blocks.append(doc.paragraph(doc.bold("a) Ưu điểm: "), (
        "các nội dung " + ", ".join(f"{theme_name(t).lower()} ({score_text(n['themes'][t])})"
                                     for t in good) + " đạt từ 80/100 trở lên."
        if good else "chưa có nội dung đạt từ 80/100 trở lên.")))
    top = data["flagged"][:5]
    blocks.append(doc.paragraph(doc.bold("b) Hạn chế: "), (
        "các nội dung còn hạn chế nhiều nhất: " + "; ".join(
            f"{r['item']} “{r['text']}” ({r['flagged']}/{r['answered']} lượt)" for r in top)
        + "." if top else "chưa phát hiện nội dung hạn chế.")))
    if not annual and data["flagged"]:
        blocks.append(_doc_table(tables["flagged"], 2, [1.2, 1.6, 7.6, 2.6, 1.8, 1.7],
                                 columns=[0, 2, 3, 4, 5, 7]))
    higher = [r for r in data["self_vs_inspection"] if r["difference"] >= 10]
    blocks.append(doc.paragraph(doc.bold("c) Nguyên nhân: "), (
        "tự đánh giá của địa phương cao hơn kết quả kiểm tra từ 10 điểm trở lên ở: " + "; ".join(
            f"{r['province']} – {theme_name(r['theme']).lower()} "
            f"({score_text(r['self_score'])} so với {score_text(r['inspection_score'])})"
            for r in higher) + ", cho thấy việc tự kiểm tra, đánh giá còn chưa sát thực tế."
        if higher else "tự đánh giá của địa phương nhìn chung sát với kết quả kiểm tra."),
        doc.italic(" [Tổ thư ký bổ sung nguyên nhân từ báo cáo của các đoàn kiểm tra.]")))
    rec = n["recommendations"]
    number = 2
    if annual:
        blocks += [doc.heading(1, "II- BÀI HỌC KINH NGHIỆM"),
                   doc.paragraph(doc.italic("[Tổ thư ký bổ sung bài học kinh nghiệm rút ra "
                                            "từ kết quả kiểm tra năm.]"))]
        number = 3
    next_period = (f"NĂM {period.year + 1}" if annual else
                   f"6 THÁNG CUỐI NĂM {period.year}" if period.part == "H1" else
                   f"6 THÁNG ĐẦU NĂM {period.year + 1}")
    roman = {2: "II", 3: "III", 4: "IV"}
    blocks += [doc.heading(1, f"{roman[number]}- PHƯƠNG HƯỚNG, NHIỆM VỤ {next_period}"),
               doc.paragraph("1. Tập trung khắc phục các nội dung còn hạn chế"
                             + (", nhất là: " + "; ".join(f"“{r['text'].rstrip('.')}”"
                                                           for r in top[:3]) if top else "")
                             + "."),
               doc.paragraph(f"2. Đôn đốc thực hiện {rec['open'] + rec['in_progress']} kiến "
                             f"nghị chưa hoàn thành, trong đó {rec['overdue']} kiến nghị quá "
                             f"hạn."),
               doc.paragraph("3. Tiếp tục kiểm tra, giám sát theo Chương trình công tác của "
                             "Ban Chỉ đạo Trung ương; hướng dẫn các địa phương tự đánh giá "
                             "bằng cùng bảng kiểm để kết quả so sánh được.")]
    blocks += [doc.heading(1, f"{roman[number + 1]}- KIẾN NGHỊ"),
               doc.paragraph(f"Trong kỳ có {rec['total']} kiến nghị: {rec['done']} đã thực "
                             f"hiện, {rec['in_progress']} đang thực hiện, {rec['open']} chưa "
                             f"thực hiện, {rec['cancelled']} đã hủy; {rec['overdue']} kiến "
                             f"nghị quá hạn (tính đến ngày {_d(data['as_of'])}).")]
    if not annual:
        blocks.append(_doc_table(tables["recommendations"], 3,
                                 [4.3, 1.6, 2.2, 2.2, 2.2, 1.8, 1.6], columns=range(1, 8)))
    return blocks


def _province_table(data, numbered, title):
    """Provinces × themes as a document table (the province with its legacy names)."""
    themes = data["themes"]
    n = data["national"]
    rows = [[p["label"], p["inspections"], *[_round(p["themes"].get(t)) for t in themes],
             _round(p["overall"])] for p in data["provinces"]]
    rows.append(["Chung", n["inspections"], *[_round(n["themes"].get(t)) for t in themes],
                 _round(n["overall"])])
    width = max(1.2, (16.5 - 3.8 - 1.5) / (len(themes) + 1))
    return doc.table(["Tỉnh", "Số cuộc kiểm tra", *[theme_name(t) for t in themes],
                      "Điểm chung"], rows, widths_cm=[3.8, 1.5, *[width] * (len(themes) + 1)],
                     numeric=list(range(1, len(themes) + 3)),
                     caption=f"Bảng {numbered}. {title}")


def _appendix(data, tables):
    blocks = [doc.heading(1, "PHỤ LỤC"),
              doc.heading(2, "Phụ lục 1. " + tables["provinces"]["title"]),
              _province_table(data, 1, tables["provinces"]["title"]),
              doc.heading(2, "Phụ lục 2. " + tables["flagged"]["title"]),
              _doc_table(tables["flagged"], 2, [1.2, 1.6, 7.6, 2.6, 1.8, 1.7],
                         columns=[0, 2, 3, 4, 5, 7]),
              doc.heading(2, "Phụ lục 3. " + tables["recommendations"]["title"]),
              _doc_table(tables["recommendations"], 3, [4.3, 1.6, 2.2, 2.2, 2.2, 1.8, 1.6],
                         columns=range(1, 8))]
    if tables["comparison"]["rows"]:
        blocks += [doc.heading(2, "Phụ lục 4. " + tables["comparison"]["title"]),
                   _doc_table(tables["comparison"], 4, [3.6, 3.4, 2.2, 2.2, 2.2, 2.2, 1.9],
                              columns=[1, 3, 4, 5, 6, 7, 8])]
    return blocks


def _d(value):
    return short_date(value)


__all__ = ["summarise", "build_summary_report", "province_label"]
