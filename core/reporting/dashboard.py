"""The HQ dashboard's figures and charts: inspections per province and status, theme scores,
the most flagged items, recommendations (overdue ones listed). Filters: campaign, province,
period, theme. Counts of inspections include every status (drafts too, shown as such);
scores, flags and recommendations count the inspections handed in, as the summaries do."""

from datetime import date

from ..errors import FieldkitError
from . import charts
from .filters import Filters, parse_period
from .sql import ReportQueries
from .summary import province_label, province_names, summarise
from .text import RECOMMENDATION_WORDS, STATUS_WORDS, THEME_ORDER, modern_tones, theme_name

STATUS_COLORS = {"draft": charts.COLORS["muted"], "submitted": charts.COLORS["primary"],
                 "resubmitted": charts.COLORS["accent"], "returned": charts.COLORS["warn"],
                 "approved": charts.COLORS["good"]}


def parse_filters(args):
    """Dashboard filters from a query string (a dict-like); bad values are ignored with a
    message rather than refused, so the page always shows."""
    messages = []
    period = None
    if args.get("period"):
        try:
            period = parse_period(args["period"])
        except FieldkitError as exc:
            messages.append(str(exc))
    theme = args.get("theme") or None
    if theme and theme not in THEME_ORDER:
        messages.append(f"Không có nội dung {theme}.")
        theme = None
    province = (args.get("province") or "").strip() or None
    if province and not (province.isdigit() and len(province) <= 2):
        messages.append(f"Mã tỉnh {province} không hợp lệ.")
        province = None
    return Filters(period=period, campaign=(args.get("campaign") or "").strip() or None,
                   province=province.zfill(2) if province else None, theme=theme), messages


def build_dashboard(store, units=None, filters=None, checklists=None):
    filters = filters or Filters()
    queries = ReportQueries(store, checklists)
    summary = summarise(store, units, filters, checklists)
    everything = queries.inspection_counts(filters.with_(statuses=None))
    codes, years = queries.scope_options()
    _, origins = queries.unit_counts(Filters(statuses=None))

    def label(code):
        name, legacy = province_names(units, code, origins)
        return province_label(name, legacy)

    # 1. Inspections per province and status (every status), self-assessments apart.
    by_province = {}
    for row in everything:
        entry = by_province.setdefault(label(row["province_code"]), {})
        entry[row["status"]] = entry.get(row["status"], 0) + row["inspections"]
        entry["self"] = entry.get("self", 0) + row["self_assessments"]
    statuses = [s for s in STATUS_COLORS if any(s in v for v in by_province.values())]
    series = [(s, STATUS_WORDS[s], STATUS_COLORS[s]) for s in statuses]
    if any(v.get("self") for v in by_province.values()):
        series.append(("self", "Tự đánh giá", "#b8c4ce"))
    inspections_chart = charts.stacked_bar_chart(
        sorted(by_province), series, by_province, "Số cuộc kiểm tra theo tỉnh và trạng thái")

    # 2. Theme scores: nationwide per theme, or per province for one theme.
    national = summary["national"]
    if filters.theme:
        rows = [(p["label"], p["themes"].get(filters.theme)) for p in summary["provinces"]]
        scores_title = f"Điểm bình quân – {theme_name(filters.theme)} – theo tỉnh (0–100)"
    else:
        rows = [(theme_name(t), national["themes"].get(t)) for t in summary["themes"]]
        rows.append(("Điểm chung", national["overall"]))
        scores_title = "Điểm bình quân theo nội dung (0–100)"
    scores_chart = charts.bar_chart(rows, scores_title, max_value=100,
                                    color=charts.COLORS["primary"])

    # 3. The most flagged items.
    flagged = summary["flagged"][:10]
    flags_chart = charts.bar_chart(
        [(f"{r['item']} · {r['text']}", r["flagged"],
          f"{r['item']} – {r['text']}: {r['flagged']}/{r['answered']} lượt hạn chế")
         for r in flagged], "Nội dung bị đánh dấu hạn chế nhiều nhất (số lượt)",
        color=charts.COLORS["bad"], label_width=300)

    # 4. Recommendations: done / still in time / overdue / cancelled, per province.
    recs = {}
    for p in summary["provinces"]:
        r = p["recommendations"]
        recs[p["label"]] = {"done": r["done"], "cancelled": r["cancelled"],
                            "overdue": r["overdue"],
                            "pending": r["open"] + r["in_progress"] - r["overdue"]}
    recs_chart = charts.stacked_bar_chart(
        sorted(recs), [("done", RECOMMENDATION_WORDS["done"], charts.COLORS["good"]),
                       ("pending", "Chưa xong, còn hạn", charts.COLORS["primary"]),
                       ("overdue", RECOMMENDATION_WORDS["overdue"], charts.COLORS["bad"]),
                       ("cancelled", RECOMMENDATION_WORDS["cancelled"], charts.COLORS["muted"])],
        recs, "Kiến nghị theo tỉnh và tình trạng")

    campaigns = sorted(({"id": c["id"], "label": c.get("code") or c.get("title") or c["id"]}
                        for c in store.find("campaign") if not c.get("deleted")),
                       key=lambda c: c["id"])
    periods = [p for year in years for p in (str(year), f"{year}-H1", f"{year}-H2")]
    return {
        "filters": {"period": filters.period.label if filters.period else "",
                    "campaign": filters.campaign or "", "province": filters.province or "",
                    "theme": filters.theme or ""},
        "cards": {
            "inspections": sum(v.get(s, 0) for v in by_province.values() for s in STATUS_COLORS),
            "units": national["units"],
            "flagged": national["flagged"],
            "overdue": national["recommendations"]["overdue"],
            "score": national["overall"],
        },
        "charts": {"inspections": inspections_chart, "scores": scores_chart,
                   "flags": flags_chart, "recommendations": recs_chart},
        "overdue": [{**r, "unit": modern_tones(r["unit_name"] or r["unit_label"] or "")}
                    for r in summary["overdue"][:20]],
        "options": {
            "campaigns": campaigns,
            "provinces": [{"code": code, "label": label(code)} for code in codes],
            "periods": periods,
            "themes": [{"code": t, "label": theme_name(t)} for t in THEME_ORDER],
        },
        "latest_year": years[-1] if years else date.today().year,
        "as_of": summary["as_of"],
        "today": date.today().isoformat(),
        "missing_checklists": summary["missing_checklists"],
    }
