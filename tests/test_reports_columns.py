"""The report columns of the HQ store (generated from each document's body, migration 0004)
and the summaries read from them — on SQLite and on PostgreSQL.

The columns must say what the body says, must never refuse a write whatever the body holds,
and the figures computed from them must match ``core.scoring`` on the awkward cases: values
that are numbers (or text where a number was expected) tested by skip rules, tombstoned
findings and inspections, and a checklist long enough to need several item bit masks.
"""

import random
import uuid
from collections import defaultdict
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from fieldkit.core.checklists import Checklist
from fieldkit.core.plugins import get_plugin_manager
from fieldkit.core.reporting import sample
from fieldkit.core.reporting.filters import Filters, parse_period
from fieldkit.core.reporting.sql import ReportQueries
from fieldkit.core.reporting.summary import summarise
from fieldkit.core.rules import is_shown
from fieldkit.core.scoring import score as core_score
from fieldkit.core.store.sql import SQLStore, documents
from fieldkit.core.units import load_unit_registry
from fieldkit.forms.checklist import load_checklist

COLUMNS = ("item", "value_text", "flagged", "status", "date", "self_assessment",
           "pinned_checklist", "pinned_version")


@pytest.fixture(scope="module")
def units():
    return load_unit_registry(get_plugin_manager(load_entrypoints=False))


@contextmanager
def empty_store(request, tmp_path_factory):
    """An empty HQ store: a new SQLite file, or a new PostgreSQL schema (dropped after)."""
    if request.param == "sqlite":
        store = SQLStore(f"sqlite:///{tmp_path_factory.mktemp('cols') / 'hq.db'}")
        yield store
        store.close()
        return
    base = sa.engine.make_url(request.getfixturevalue("pg_url"))
    schema = f"fk_columns_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    store = SQLStore(url.render_as_string(hide_password=False))
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path_factory):
    with empty_store(request, tmp_path_factory) as store:
        yield store


def columns_of(store, doc_id):
    with store.connection() as connection:
        row = connection.execute(sa.select(*[documents.c[name] for name in COLUMNS])
                                 .where(documents.c.id == doc_id)).mappings().one()
    return dict(row)


# --- the columns -----------------------------------------------------------------------------

def test_the_columns_hold_what_the_body_says(store):
    store.write({"id": "i1", "type": "inspection", "status": "submitted", "date": "2024-05-02",
                 "self_assessment": True, "checklist": {"id": "vn.x", "version": "1.0.0"}})
    store.write({"id": "f1", "type": "finding", "inspection_id": "i1", "item": "BA01",
                 "value": "yes", "flagged": True})
    store.write({"id": "f2", "type": "finding", "inspection_id": "i1", "item": "BA02",
                 "value": 40, "flagged": False})
    store.write({"id": "f3", "type": "finding", "inspection_id": "i1", "item": "BA03",
                 "value": 2.5})
    store.write({"id": "f4", "type": "finding", "inspection_id": "i1", "item": "BA04",
                 "value": None})
    store.write({"id": "f5", "type": "finding", "inspection_id": "i1", "item": "BA05",
                 "value": True})
    assert columns_of(store, "i1") == {
        "item": None, "value_text": None, "flagged": False, "status": "submitted",
        "date": "2024-05-02", "self_assessment": True, "pinned_checklist": "vn.x",
        "pinned_version": "1.0.0"}
    assert columns_of(store, "f1") == {
        "item": "BA01", "value_text": "yes", "flagged": True, "status": None, "date": None,
        "self_assessment": False, "pinned_checklist": None, "pinned_version": None}
    number, fraction, null, boolean = (columns_of(store, f"f{n}") for n in (2, 3, 4, 5))
    assert (number["value_text"], number["flagged"]) == ("40", False)
    assert (fraction["value_text"], fraction["flagged"]) == ("2.5", False)
    assert null["value_text"] is None
    assert boolean["value_text"] is not None  # answered ("true" here, 1 in SQLite's JSON)

    store.write({"id": "f1", "type": "finding", "inspection_id": "i1", "item": "BA01",
                 "value": "no", "flagged": False})
    assert (columns_of(store, "f1")["value_text"], columns_of(store, "f1")["flagged"]) == \
        ("no", False)  # an update recomputes them


@pytest.mark.parametrize("body", [
    {"flagged": "yes", "self_assessment": "maybe", "date": "not a date"},
    {"value": {"nested": [1, 2]}, "item": 12, "checklist": "vn.x"},
    {"checklist": {"id": 7, "version": ["1"]}, "status": 3, "value": "x" * 5000},
    {"flagged": 1, "self_assessment": None, "value": -3.25, "item": None},
])
def test_no_body_is_refused_because_of_the_columns(store, body):
    doc = {"id": "odd", "type": "finding", **body}
    store.write(doc)
    assert {k: v for k, v in store.get("odd").items() if k != "_seq"} == doc
    got = columns_of(store, "odd")
    assert got["flagged"] is False and got["self_assessment"] is False  # only JSON true is


# --- the figures -----------------------------------------------------------------------------

def long_checklist():
    """133 items (3 bit masks of 60), skip rules in every mask: on a count (a number), on a
    percentage, on a yes/no answer, on whether an item was answered at all."""
    kinds = [("yes_no", [{"op": "in", "value": ["no", "partial"]}]),
             ("count", [{"op": "lt", "value": 2}]),
             ("percent", [{"op": "lt", "value": 60}])]
    sections = []
    for s, theme in enumerate(("LD", "BI", "BA", "LA", "KT", "GS", "TH")):
        items = []
        for n in range(19):
            kind, flags = kinds[(s + n) % 3]
            item = {"code": f"{theme}{n:02d}", "text": {"vi": f"Mục {theme} {n}"},
                    "answer": {"type": kind}, "flag_when": flags,
                    "weight": 2.0 if n % 5 == 0 else 0.0 if n == 7 else 1.0}
            items.append(item)
        sections.append({"code": theme, "title": {"vi": f"Nội dung {theme}"}, "items": items})
    rules = {("BI", 3): {"item": "LD01", "op": "gt", "value": 3},        # slot 22: a count
             ("LA", 5): {"item": "BA03", "op": "gte", "value": 50},      # slot 62: a percent
             ("TH", 18): {"item": "GS01", "op": "in", "value": ["yes"]},  # slot 132: yes/no
             ("KT", 4): {"item": "LA09", "op": "answered"}}              # slot 80
    for (theme, n), rule in rules.items():
        section = next(s for s in sections if s["code"] == theme)
        section["items"][n]["show_when"] = rule
    return {"id": "test.long", "version": "1.0.0", "title": {"vi": "Bảng kiểm dài"},
            "applies_to": {"unit_kinds": ["commune"], "valid_from": "2020-01-01"},
            "sections": sections}


@pytest.fixture(params=["sqlite", "postgres"])
def long_store(request, tmp_path_factory, units):
    """60 inspections of the long checklist, then the awkward cases: the answers skip rules
    test are tombstoned in some inspections, or text where a number belongs; an inspection
    is tombstoned (its findings are not), another is a draft."""
    checklist = Checklist(load_checklist(long_checklist()), "test")
    docs = list(sample.synthetic_documents(units, 60, seed=5, checklist=checklist))
    rng = random.Random(3)
    inspections = [d for d in docs if d["type"] == "inspection"]
    findings = defaultdict(dict)
    for doc in docs:
        if doc["type"] == "finding":
            findings[doc["inspection_id"]][doc["item"]] = doc
    for inspection in rng.sample(inspections, 8):
        findings[inspection["id"]][rng.choice(["LD01", "BA03", "GS01", "LA09"])]["deleted"] = True
    for inspection in rng.sample(inspections, 4):  # text where a count belongs: neither
        findings[inspection["id"]]["LD01"].update(value="7", flagged=False)  # "gt 3" nor "lt 2"
    inspections[0]["deleted"] = True
    inspections[1]["status"] = "draft"
    inspections[2]["self_assessment"] = True
    with empty_store(request, tmp_path_factory) as store:
        with store.transaction():
            store.write_many(docs)
        yield store, checklist


def expected(store, checklist):
    """Per inspection in scope: (inspection, core.scoring's scores, {item: (flagged, shown
    and answered)}), from the documents in plain Python."""
    answers = defaultdict(dict)
    live = [finding for finding in store.find("finding") if not finding.get("deleted")]
    for finding in live:
        answers[finding["inspection_id"]][finding["item"]] = finding
    result = {}
    counted = [inspection for inspection in store.find("inspection")
               if not inspection.get("deleted") and inspection["status"] != "draft"]
    for inspection in counted:
        values = {code: f["value"] for code, f in answers[inspection["id"]].items()}
        items = {}
        for item in checklist.items:
            finding = answers[inspection["id"]].get(item["code"])
            if finding and finding["value"] is not None and is_shown(item, values):
                items[item["code"]] = bool(finding["flagged"])
        result[inspection["id"]] = (inspection, core_score(checklist, values), items)
    return result


def test_scores_of_a_long_checklist_match_core_scoring(long_store):
    store, checklist = long_store
    queries = ReportQueries(store)
    filters = Filters(period=parse_period("2024"))
    wanted = expected(store, checklist)
    per_theme = queries.rows(queries.inspection_theme_scores(filters, self_assessment=None))
    overall = queries.rows(queries.inspection_theme_scores(filters, self_assessment=None,
                                                           overall=True))
    got = defaultdict(dict)
    for row in per_theme:
        got[row["inspection_id"]][row["theme"]] = round(row["score"], 1)
    for row in overall:
        got[row["inspection_id"]]["*"] = round(row["score"], 1)
    assert len(wanted) == 58
    for inspection_id, (_inspection, scores, _items) in wanted.items():
        want = {t: v["score"] for t, v in scores["themes"].items() if v["score"] is not None}
        want["*"] = scores["overall"]
        assert got[inspection_id] == want, inspection_id


def test_flag_counts_of_a_long_checklist_count_shown_answers_only(long_store):
    store, checklist = long_store
    filters = Filters(period=parse_period("2024"))
    counts = defaultdict(lambda: [0, 0])
    for inspection, _scores, items in expected(store, checklist).values():
        if inspection.get("self_assessment"):
            continue
        for code, flagged in items.items():
            counts[code][0] += flagged
            counts[code][1] += 1
    got = ReportQueries(store).flagged_items(filters, limit=None)
    assert {r["item"]: [r["flagged"], r["answered"]] for r in got} == \
        {code: n for code, n in counts.items() if n[0]}
    assert {"TH18", "LA05", "BI03"} <= {r["item"] for r in got}  # ruled, in masks 0, 1, 2
    shown = summarise(store, None, filters)
    team = [v for v in expected(store, checklist).values() if not v[0].get("self_assessment")]
    assert shown["national"]["inspections"] == len(team)
    assert shown["national"]["overall"] == pytest.approx(
        sum(v[1]["overall"] for v in team) / len(team), abs=0.05)


def test_a_theme_filter_narrows_scores_and_flags_but_not_the_overall(long_store):
    store, checklist = long_store
    every = summarise(store, None, Filters(period=parse_period("2024")))
    one = summarise(store, None, Filters(period=parse_period("2024"), theme="KT"))
    assert one["themes"] == ["KT"] and {r["theme"] for r in one["flagged"]} == {"KT"}
    assert one["national"]["themes"]["KT"] == pytest.approx(every["national"]["themes"]["KT"])
    assert one["national"]["overall"] == pytest.approx(every["national"]["overall"])
    queries = ReportQueries(store)
    assert queries.rows(queries.inspection_theme_scores(
        Filters(period=parse_period("2024"), theme="XX"))) == []
