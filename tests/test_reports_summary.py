"""Summaries computed in SQL, checked against figures computed here INDEPENDENTLY in plain
Python over the seeded documents — on SQLite and on PostgreSQL. And the SQL scores agree
with ``core.scoring`` inspection by inspection, skip logic and weights included."""

import uuid
from collections import defaultdict
from datetime import date

import pytest
import sqlalchemy as sa

from fieldkit.core.checklists import Checklist
from fieldkit.core.plugins import get_plugin_manager
from fieldkit.core.reporting import sample
from fieldkit.core.reporting.filters import REPORTED_STATUSES, Filters, parse_period
from fieldkit.core.reporting.sql import ReportQueries
from fieldkit.core.reporting.summary import build_summary_report, summarise
from fieldkit.core.scoring import score as core_score
from fieldkit.core.store.sql import SQLStore
from fieldkit.core.units import load_unit_registry
from fieldkit.forms.checklist import load_checklist


@pytest.fixture(scope="module")
def registries():
    pm = get_plugin_manager(load_entrypoints=False)
    units = load_unit_registry(pm)
    return pm, units


def _open(request, tmp_path_factory, name):
    """An empty HQ store: a new SQLite file, or a new PostgreSQL schema (dropped after)."""
    if request.param == "sqlite":
        store = SQLStore(f"sqlite:///{tmp_path_factory.mktemp(name) / 'hq.db'}")
        return store, lambda: None
    base = sa.engine.make_url(request.getfixturevalue("pg_url"))
    schema = f"fk_reports_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    store = SQLStore(base.update_query_dict({"options": f"-csearch_path={schema}"})
                     .render_as_string(hide_password=False))

    def drop():
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    return store, drop


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(request, tmp_path_factory, registries):
    pm, units = registries
    store, drop = _open(request, tmp_path_factory, "summary")
    sample.seed_sample(store, units, pm=pm)
    yield store, units
    store.close()
    drop()


# --- the expected figures, computed here without the code under test -----------------------

def definitions(store):
    return {(d["checklist_id"], d["version"]): d["definition"]
            for d in store.find("checklist") if not d.get("deleted")}


def rule_holds(rule, value):
    if value is None:
        return rule["op"] == "not_answered"
    op, expected = rule["op"], rule.get("value")
    return {"answered": True, "eq": value == expected, "ne": value != expected,
            "in": value in (expected or []), "not_in": value not in (expected or [])}[op]


def expected_scores(store, filters):
    """{inspection id: (inspection, {theme: score}, overall)} for the inspections in scope."""
    defs = definitions(store)
    findings = defaultdict(dict)
    for f in store.find("finding"):
        if not f.get("deleted"):
            findings[f["inspection_id"]][f["item"]] = f
    result = {}
    for inspection in store.find("inspection"):
        if not in_scope(inspection, filters):
            continue
        definition = defs[(inspection["checklist"]["id"], inspection["checklist"]["version"])]
        answers = {code: f["value"] for code, f in findings[inspection["id"]].items()}
        sums = defaultdict(lambda: [0.0, 0.0])
        for section in definition["sections"]:
            theme = section.get("theme") or section["code"]
            for item in section["items"]:
                show = item.get("show_when")
                if show and not rule_holds(show, answers.get(show["item"])):
                    continue
                finding = findings[inspection["id"]].get(item["code"])
                if finding is None or finding["value"] is None:
                    continue
                if item["answer"]["type"] == "yes_no":
                    points = {"yes": 1.0, "partial": 0.5, "no": 0.0}.get(finding["value"])
                else:
                    points = 0.0 if finding["flagged"] else 1.0
                weight = item.get("weight", 1.0)
                if points is None or weight == 0:
                    continue
                for key in (theme, "*"):
                    sums[key][0] += weight * points
                    sums[key][1] += weight
        scores = {key: 100 * s / w for key, (s, w) in sums.items() if w}
        result[inspection["id"]] = (inspection, {k: v for k, v in scores.items() if k != "*"},
                                    scores.get("*"))
    return result


def in_scope(inspection, filters):
    if inspection.get("deleted") or inspection["status"] not in REPORTED_STATUSES:
        return False
    if filters.period and not (filters.period.start.isoformat() <= inspection["date"]
                               <= filters.period.end.isoformat()):
        return False
    if filters.campaign and inspection.get("campaign_id") != filters.campaign:
        return False
    return not filters.province or inspection["province_code"] == filters.province


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else None


# --- the tests -------------------------------------------------------------------------------

@pytest.mark.parametrize("period", ["2024-H1", "2024", "2024-H2"])
def test_province_theme_scores_and_counts(seeded, period):
    store, units = seeded
    filters = Filters(period=parse_period(period))
    expected = expected_scores(store, filters)
    team = {i: v for i, v in expected.items() if not v[0].get("self_assessment")}
    got = summarise(store, units, filters)
    by_code = {p["code"]: p for p in got["provinces"]}
    provinces = {v[0]["province_code"] for v in expected.values()}
    assert set(by_code) == provinces
    for code in provinces:
        mine = [v for v in team.values() if v[0]["province_code"] == code]
        province = by_code[code]
        assert province["inspections"] == len(mine)
        assert province["units"] == len({v[0]["unit"]["code"] for v in mine})
        for theme in {t for v in mine for t in v[1]}:
            assert province["themes"][theme] == pytest.approx(
                mean(v[1][theme] for v in mine if theme in v[1]))
        assert province["overall"] == pytest.approx(mean(v[2] for v in mine))
    assert got["national"]["inspections"] == len(team)
    assert got["national"]["overall"] == pytest.approx(mean(v[2] for v in team.values()))


def test_roll_up_names_current_and_legacy_provinces(seeded):
    store, units = seeded
    got = summarise(store, units, Filters(period=parse_period("2024")))
    labels = {p["code"]: (p["name"], p["legacy"], p["label"]) for p in got["provinces"]}
    assert labels == {"25": ("Phú Thọ", ["Hòa Bình"], "Phú Thọ (Hòa Bình cũ)"),
                      "37": ("Ninh Bình", ["Ninh Bình"], "Ninh Bình"),
                      "91": ("An Giang", ["Kiên Giang"], "An Giang (Kiên Giang cũ)")}


def test_flagged_items_ranked(seeded):
    store, units = seeded
    filters = Filters(period=parse_period("2024"))
    expected = expected_scores(store, filters)
    defs = definitions(store)
    counts = defaultdict(lambda: [0, 0])
    for inspection, _themes, _overall in expected.values():
        if inspection.get("self_assessment"):
            continue
        definition = defs[(inspection["checklist"]["id"], inspection["checklist"]["version"])]
        items = {i["code"]: i for s in definition["sections"] for i in s["items"]}
        answers = {f["item"]: f for f in store.find("finding", inspection_id=inspection["id"])
                   if not f.get("deleted")}
        for code, finding in answers.items():
            show = items[code].get("show_when")
            if show and not rule_holds(show, (answers.get(show["item"]) or {}).get("value")):
                continue
            counts[code][1] += 1
            counts[code][0] += bool(finding["flagged"])
    ranked = sorted(((c, n) for c, n in counts.items() if n[0]), key=lambda x: (-x[1][0], x[0]))
    got = summarise(store, units, filters)["flagged"]
    assert [(r["item"], [r["flagged"], r["answered"]]) for r in got] == ranked
    assert got[0]["text"] == "Niêm yết công khai dự toán, quyết toán ngân sách xã"
    assert [r["rank"] for r in got] == list(range(1, len(got) + 1))


@pytest.mark.parametrize("period, as_of", [("2024", None), ("2024-H1", None),
                                           ("2024", date(2024, 10, 1))])
def test_recommendations_by_status_and_overdue(seeded, period, as_of):
    store, units = seeded
    filters = Filters(period=parse_period(period))
    cutoff = (as_of or min(date.today(), filters.period.end)).isoformat()
    scope = {i["id"]: i for i in store.find("inspection") if in_scope(i, filters)}
    expected = defaultdict(lambda: defaultdict(int))
    for rec in store.find("recommendation"):
        inspection = scope.get(rec["inspection_id"])
        if rec.get("deleted") or inspection is None:
            continue
        counts = expected[inspection["province_code"]]
        counts["total"] += 1
        counts[rec["status"]] += 1
        if rec["status"] not in ("done", "cancelled") and rec.get("due") and rec["due"] < cutoff:
            counts["overdue"] += 1
    got = summarise(store, units, filters, as_of=as_of)
    for province in got["provinces"]:
        wanted = expected[province["code"]]
        assert province["recommendations"] == {
            k: wanted[k] for k in ("total", "done", "in_progress", "open", "cancelled",
                                   "overdue")}
    assert got["national"]["recommendations"]["overdue"] == sum(
        v["overdue"] for v in expected.values())
    assert len(got["overdue"]) == got["national"]["recommendations"]["overdue"]


def test_self_assessment_beside_the_inspections(seeded):
    store, units = seeded
    filters = Filters(period=parse_period("2024"))
    expected = expected_scores(store, filters)
    groups = defaultdict(lambda: {True: [], False: []})
    for inspection, themes, _overall in expected.values():
        for theme, value in themes.items():
            key = (inspection["province_code"], inspection["checklist"]["id"], theme)
            groups[key][bool(inspection.get("self_assessment"))].append(value)
    wanted = {key: (mean(v[True]), mean(v[False])) for key, v in groups.items()
              if v[True] and v[False]}
    got = summarise(store, units, filters)["self_vs_inspection"]
    assert {(r["province_code"], r["checklist_id"], r["theme"]) for r in got} == set(wanted)
    for row in got:
        own, team = wanted[(row["province_code"], row["checklist_id"], row["theme"])]
        assert (row["self_score"], row["inspection_score"]) == (pytest.approx(own),
                                                                pytest.approx(team))
    assert {r["province_code"] for r in got} == {"25", "91"}  # Hòa Bình and Kiên Giang


def test_filters_campaign_province_and_empty_periods(seeded):
    store, units = seeded
    assert summarise(store, units, Filters(period=parse_period("2025")))["provinces"] == []
    assert summarise(store, units, Filters(period=parse_period("2024"),
                                           campaign="nope"))["provinces"] == []
    one = summarise(store, units, Filters(period=parse_period("2024"), campaign="ctr-72-2024",
                                          province="25"))
    assert [p["code"] for p in one["provinces"]] == ["25"]
    every = summarise(store, units, Filters(period=parse_period("2024")))
    assert one["provinces"][0] == next(p for p in every["provinces"] if p["code"] == "25")


def test_drafts_and_tombstones_are_not_counted(seeded):
    store, units = seeded
    got = summarise(store, units, Filters(period=parse_period("2024")))
    assert got["national"]["inspections"] == 6 and got["national"]["self_assessments"] == 2
    everything = ReportQueries(store).inspection_counts(
        Filters(period=parse_period("2024"), statuses=None))
    assert sum(r["inspections"] for r in everything) == 7  # the draft, but not the tombstone


def test_summary_report_document_data(seeded):
    store, units = seeded
    report = build_summary_report(store, units, Filters(period=parse_period("2024")))
    assert report["subject"] == "Tổng kết việc thực hiện dân chủ ở cơ sở năm 2024"
    headings = [b["text"] for b in report["blocks"] if b["type"] == "heading" and b["level"] == 1]
    assert headings == ["I- KẾT QUẢ THỰC HIỆN NĂM 2024", "II- BÀI HỌC KINH NGHIỆM",
                        "III- PHƯƠNG HƯỚNG, NHIỆM VỤ NĂM 2025", "IV- KIẾN NGHỊ"]
    assert report["appendix"][0]["text"] == "PHỤ LỤC"
    half = build_summary_report(store, units, Filters(period=parse_period("2025-H2")))
    assert half["subject"] == "Sơ kết 6 tháng cuối năm 2025 việc thực hiện dân chủ ở cơ sở"


# --- SQL and core.scoring agree ------------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def synthetic(request, tmp_path_factory, registries):
    """300 inspections answering every item at random: many hidden stale answers (BA02
    after BA01 "no", KT02 after KT01 "no"), "na", partial, flags."""
    _pm, units = registries
    store, drop = _open(request, tmp_path_factory, "synthetic")
    with store.transaction():
        store.write_many(list(sample.synthetic_documents(units, 300, seed=11)))
    yield store
    store.close()
    drop()


def test_sql_scores_agree_with_core_scoring(synthetic):
    store = synthetic
    queries = ReportQueries(store)
    filters = Filters(statuses=None)
    per_theme = queries.rows(queries.inspection_theme_scores(filters, self_assessment=None))
    overall = queries.rows(queries.inspection_theme_scores(filters, self_assessment=None,
                                                           overall=True))
    pinned = store.get("checklist:sample.commune@1.0.0")
    checklist = Checklist(load_checklist(pinned["definition"]), "sample")
    answers = defaultdict(dict)
    for finding in store.find("finding"):
        answers[finding["inspection_id"]][finding["item"]] = finding["value"]
    sql = defaultdict(dict)
    for row in per_theme:
        sql[row["inspection_id"]][row["theme"]] = round(row["score"], 1)
    for row in overall:
        sql[row["inspection_id"]]["*"] = round(row["score"], 1)
    assert len(sql) == 300
    hidden = 0
    for inspection_id, values in answers.items():
        expected = core_score(checklist, values)
        wanted = {t: v["score"] for t, v in expected["themes"].items() if v["score"] is not None}
        wanted["*"] = expected["overall"]
        assert sql[inspection_id] == wanted, inspection_id
        hidden += values["BA01"] == "no" or values["KT01"] == "no"
    assert hidden > 50  # the skip logic was exercised
