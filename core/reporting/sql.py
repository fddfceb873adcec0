"""The SQL behind every report: the inspections in scope, the item table of the pinned
checklists, and the aggregations (scores, flags, recommendations, counts); JSON extraction
per dialect is in ``dialect.py``. Everything is SQLAlchemy Core on the ``documents`` table, for SQLite and PostgreSQL;
no Python loop ever walks the findings.

Scores follow ``core.scoring`` exactly: an item scores 1 (yes), 0.5 (partial), 0 (no) for
yes/no items and 0 if flagged else 1 for the others; "na" and unanswered items are left
out, and so are items hidden by their skip logic (``show_when``, evaluated in SQL against
the controlling item's answer) and items of weight 0. A theme's score is the weighted mean
×100, per inspection; a province's score is the mean of its inspections' scores. The item
weights, themes and skip rules come from the pinned checklist versions (the ``checklist``
documents), joined in as a small ``VALUES`` table.
"""

from contextlib import contextmanager
from datetime import date

import sqlalchemy as sa

from ..checklists import version_key
from ..errors import StoreError
from ..store.sql import documents
from .dialect import Json, is_true as _is, live as _live, skip_rule
from .filters import Filters

_DONE = ("done", "cancelled")
REC_STATUSES = ("open", "in_progress", "done", "cancelled")
# The parts of the one-statement summary: (text fields, number fields) of each.
PARTS = {
    "themes": (("checklist_id", "theme"), ("self_assessment", "inspections", "score_sum")),
    "overall": (("checklist_id",), ("self_assessment", "inspections", "score_sum")),
    "items": (("checklist_id", "item", "theme"), ("flagged", "answered")),
    "counts": (("status",), ("inspections", "self_assessments")),
    "units": ((), ("units",)),
    "origins": (("province_era", "legacy_code", "province_name"), ()),
    "recommendations": ((), ("total", *REC_STATUSES, "overdue")),
    "overdue": (("id", "text", "responsible", "due", "status", "unit_label", "unit_name",
                 "province_name", "inspection_id"), ()),
    "missing": (("checklist_id", "version"), ()),
}
TEXT_SLOTS = max(len(texts) for texts, _ in PARTS.values())
NUMBER_SLOTS = max(len(numbers) for _, numbers in PARTS.values())
FLOAT_FIELDS = {"score_sum"}
# PostgreSQL cannot estimate how many rows a filter on JSON fields keeps (it guesses a
# handful), and then plans nested loops that rescan tens of thousands of rows per row. For
# report statements only: hash joins, and room for them in memory.
PG_SETTINGS = {"enable_nestloop": "off", "work_mem": "64MB"}


class ReportQueries:
    """Report queries over one HQ store (an ``SQLStore``). ``checklists`` (a registry) is the
    fallback for checklist versions the store holds no pinned copy of."""

    def __init__(self, store, checklists=None):
        if not hasattr(store, "connection") or not hasattr(store, "dialect"):
            raise StoreError("Summaries, exports and the dashboard need the HQ (SQL) store.")
        self.store = store
        self.json = Json(store.dialect)
        self.checklists = checklists
        self._items = None
        self._items_cte = None
        self.missing_checklists = []

    def rows(self, query):
        """Every row of a report statement, as dicts."""
        with self.stream(query) as result:
            return [dict(row) for row in result]

    @contextmanager
    def stream(self, query):
        """The rows of a report statement as they come (mappings). On PostgreSQL the
        statement runs with ``PG_SETTINGS``, reset afterwards."""
        with self.store.connection() as connection:
            if not self.json.postgres:
                yield connection.execute(query).mappings()
                return
            for name, value in PG_SETTINGS.items():
                connection.exec_driver_sql(f"SET {name} = '{value}'")
            try:
                yield connection.execute(query).mappings()
            finally:
                for name in PG_SETTINGS:
                    try:
                        connection.exec_driver_sql(f"RESET {name}")
                    except sa.exc.SQLAlchemyError:
                        pass  # an aborted transaction: its rollback undoes the SET

    # --- the inspections in scope --------------------------------------------------------

    def inspections(self, filters=None, self_assessment=False, name="i"):
        """A CTE of the live inspections that ``filters`` select, their JSON read into
        columns; ``self_assessment`` True/False keeps only self-assessments / team
        inspections, None keeps both."""
        filters = filters or Filters()
        j, i = self.json, documents.alias(f"{name}_doc")
        body = i.c.body
        columns = [
            i.c.id.label("id"), i.c.province_code.label("province_code"),
            i.c.campaign_id.label("campaign_id"),
            j.text(body, "date").label("date"), j.text(body, "status").label("status"),
            j.flag(body, "self_assessment").label("self_assessment"),
            j.text(body, "checklist", "id").label("checklist_id"),
            j.text(body, "checklist", "version").label("checklist_version"),
            j.text(body, "unit", "era").label("unit_era"),
            j.text(body, "unit", "code").label("unit_code"),
            j.text(body, "unit", "name").label("unit_label"),
            j.text(body, "unit_name").label("unit_name"),
            j.text(body, "unit_kind").label("unit_kind"),
            j.text(body, "province", "era").label("province_era"),
            j.text(body, "province", "code").label("legacy_code"),
            j.text(body, "province", "name").label("province_name"),
            i.c.team.label("team"),
        ]
        query = sa.select(*columns).where(_live(i, "inspection"))
        if filters.campaign:
            query = query.where(i.c.campaign_id == filters.campaign)
        if filters.province:
            query = query.where(i.c.province_code == filters.province)
        if filters.period:
            when = j.date(body, "date")
            query = query.where(when >= j.day(filters.period.start),
                                when <= j.day(filters.period.end))
        if filters.statuses:
            query = query.where(j.text(body, "status").in_(filters.statuses))
        if self_assessment is not None:
            flag = j.flag(body, "self_assessment")
            query = query.where(flag if self_assessment else sa.not_(flag))
        return self._narrow(query, name)

    def _narrow(self, query, name):
        """A CTE of extracted scalar columns. On PostgreSQL it is MATERIALIZED: the JSON is
        read once, early, and only narrow rows flow into joins and sorts (the planner cannot
        estimate JSON filters and would otherwise drag whole bodies through nested loops)."""
        cte = query.cte(name)
        return cte.prefix_with("MATERIALIZED") if self.json.postgres else cte

    # --- the item table of the checklists ------------------------------------------------

    def known_checklists(self):
        """Every checklist version HQ knows: the pinned copies in the store (``checklist``
        documents), then the registry's versions the store lacks. A few dozen, read once."""
        from ...forms.checklist import ValidationError, load_checklist
        from ..checklists import Checklist
        known = {}
        for doc in self.store.find("checklist"):
            if doc.get("deleted") or not doc.get("definition"):
                continue
            try:
                checklist = Checklist(load_checklist(doc["definition"]),
                                      doc.get("plugin") or "hq")
            except ValidationError:
                continue
            known[(checklist.id, checklist.version)] = checklist
        for checklist in self.checklists or ():
            known.setdefault((checklist.id, checklist.version), checklist)
        return known

    def item_rows(self):
        """One row per item of every known checklist version (a few hundred rows), oldest
        version first, and the skip rules by key. Built once per ``ReportQueries``."""
        if self._items is None:
            rows, rules = [], {}
            known = self.known_checklists()
            for key in sorted(known, key=lambda k: (k[0], version_key(k[1]))):
                for item in known[key].items:
                    rule = item.get("show_when")
                    rule_key = None
                    if rule:
                        rule_key = len(rules) + 1
                        rules[rule_key] = rule
                    rows.append((key[0], key[1], item["code"], item["theme"],
                                 item["answer"]["type"], float(item["weight"]),
                                 item["text"]["vi"], rule["item"] if rule else None, rule_key))
            self._items = (rows, rules)
        return self._items

    def items_table(self):
        """The item rows as a ``VALUES`` CTE (one object, reused by every statement)."""
        if self._items_cte is None:
            self._items_cte = self._make_items_table()
        return None if self._items_cte is False else self._items_cte

    def _make_items_table(self):
        rows, _ = self.item_rows()
        if not rows:
            return False
        columns = (sa.column("cid", sa.Text), sa.column("ver", sa.Text),
                   sa.column("item", sa.Text), sa.column("theme", sa.Text),
                   sa.column("atype", sa.Text), sa.column("weight", sa.Float),
                   sa.column("text", sa.Text), sa.column("show_item", sa.Text),
                   sa.column("show_key", sa.Integer))
        return sa.values(*columns, name="items").data(rows).cte("items")

    # --- findings, scored ----------------------------------------------------------------

    def scored(self, filters=None, self_assessment=False, i=None):
        """A CTE with one narrow row per live finding of the inspections in scope (``i``,
        or those ``filters`` select) whose item its checklist version knows: inspection,
        checklist, self-assessment, item, theme, weight, points (NULL when it does not
        count), flagged, answered and shown (the item's skip logic, tested against the
        controlling item's answer). The findings' JSON is read once, here. Returns
        ``(scored, i)``, or None when no checklist is known."""
        items = self.items_table()
        if items is None:
            return None
        j = self.json
        i = i if i is not None else self.inspections(filters, self_assessment)
        f = documents.alias("f_doc")
        _, rules = self.item_rows()
        codes = sorted({r["item"] for r in rules.values()})
        item = j.text(f.c.body, "item")
        columns = [f.c.inspection_id.label("inspection_id"), i.c.checklist_id,
                   i.c.checklist_version, i.c.self_assessment, item.label("item"),
                   j.text(f.c.body, "value").label("value_text"),
                   j.flag(f.c.body, "flagged").label("flagged")]
        if codes:  # the JSON type of a value matters to skip rules only
            columns.append(sa.case((item.in_(codes), j.kind(f.c.body, "value")),
                                   else_=sa.null()).label("value_type"))
        found = self._narrow(sa.select(*columns)
                             .select_from(f.join(i, f.c.inspection_id == i.c.id))
                             .where(_live(f, "finding")), "found")
        value = found.c.value_text
        from_ = found.join(items, sa.and_(items.c.cid == found.c.checklist_id,
                                          items.c.ver == found.c.checklist_version,
                                          items.c.item == found.c.item))
        shown = sa.true()
        if rules:
            dependency = (sa.select(found.c.inspection_id, found.c.item, found.c.value_text,
                                    found.c.value_type)
                          .where(found.c.item.in_(codes)).subquery("dep"))
            from_ = from_.outerjoin(dependency, sa.and_(
                dependency.c.inspection_id == found.c.inspection_id,
                dependency.c.item == items.c.show_item))
            shown = sa.case((items.c.show_key.is_(None), sa.true()),
                            *[(items.c.show_key == key, skip_rule(rule, dependency, j))
                              for key, rule in rules.items()], else_=sa.true())
        points = sa.case(
            (items.c.atype == "yes_no",
             sa.case((value == "yes", 1.0), (value == "partial", 0.5), (value == "no", 0.0),
                     else_=sa.null())),
            (value.is_(None), sa.null()),
            (found.c.flagged, 0.0),
            else_=1.0)
        query = sa.select(
            found.c.inspection_id, found.c.checklist_id, found.c.self_assessment,
            found.c.item, items.c.theme, items.c.weight,
            sa.case((items.c.weight > 0, points), else_=sa.null()).label("points"),
            found.c.flagged, value.isnot(None).label("answered"), shown.label("shown"),
        ).select_from(from_)
        return self._narrow(query, "scored"), i

    def _per_inspection(self, scored, theme=None):
        """Per inspection and theme: the weighted points and the weight of counted items."""
        query = (sa.select(scored.c.inspection_id, scored.c.theme,
                           sa.func.sum(scored.c.weight * scored.c.points).label("points"),
                           sa.func.sum(scored.c.weight).label("weight"))
                 .where(scored.c.points.isnot(None), _is(scored.c.shown))
                 .group_by(scored.c.inspection_id, scored.c.theme))
        return query.where(scored.c.theme == theme) if theme else query

    def inspection_theme_scores(self, filters=None, self_assessment=False, overall=False):
        """Per inspection and theme (or overall): score 0–100 (unrounded) and weight."""
        built = self.scored(filters, self_assessment)
        if built is None:
            return None
        scored, i = built
        per = self._per_inspection(scored, None if overall else
                                   (filters.theme if filters else None)).subquery("per")
        keys = [per.c.inspection_id] + ([] if overall else [per.c.theme])
        summed = (sa.select(*keys, sa.func.sum(per.c.points).label("points"),
                            sa.func.sum(per.c.weight).label("weight"))
                  .group_by(*keys).subquery("summed"))
        return (sa.select(summed.c.inspection_id, i.c.province_code, i.c.checklist_id,
                          i.c.self_assessment, *([] if overall else [summed.c.theme]),
                          (100.0 * summed.c.points / summed.c.weight).label("score"),
                          summed.c.weight)
                .select_from(summed.join(i, summed.c.inspection_id == i.c.id))
                .where(summed.c.weight > 0))

    # --- one statement, many answers -------------------------------------------------------
    #
    # A summary needs a dozen small results. Each would cost a pass over the inspections (and
    # one over the findings); so they are branches of ONE ``UNION ALL`` over the same CTEs,
    # each branch writing its fields into generic slots (``PARTS`` says which).

    def _branch(self, part, province=None, **fields):
        texts, numbers = PARTS[part]
        slots = [sa.literal(part).label("part"),
                 (province if province is not None else sa.cast(sa.null(), sa.Text))
                 .label("province_code")]
        for n in range(TEXT_SLOTS):
            value = fields.get(texts[n]) if n < len(texts) else None
            slots.append(sa.cast(value if value is not None else sa.null(), sa.Text)
                         .label(f"t{n + 1}"))
        for n in range(NUMBER_SLOTS):
            value = fields.get(numbers[n]) if n < len(numbers) else None
            slots.append(sa.cast(value if value is not None else sa.null(), sa.Float)
                         .label(f"n{n + 1}"))
        return slots

    def _finding_branches(self, filters, i):
        built = self.scored(filters, i=i)
        if built is None:
            return []
        scored, _ = built
        theme = filters.theme if filters else None
        per_theme = self._narrow(self._per_inspection(scored), "per_theme")
        per_overall = (sa.select(per_theme.c.inspection_id,
                                 sa.func.sum(per_theme.c.points).label("points"),
                                 sa.func.sum(per_theme.c.weight).label("weight"))
                       .group_by(per_theme.c.inspection_id).subquery("per_overall"))
        own = sa.case((_is(i.c.self_assessment), 1), else_=0)

        def scores(per, part):
            has_theme = part == "themes"
            query = (sa.select(*self._branch(
                        part, i.c.province_code, checklist_id=i.c.checklist_id,
                        theme=per.c.theme if has_theme else None, self_assessment=own,
                        inspections=sa.func.count(),
                        score_sum=sa.func.sum(100.0 * per.c.points / per.c.weight)))
                     .select_from(per.join(i, per.c.inspection_id == i.c.id))
                     .where(per.c.weight > 0)
                     .group_by(i.c.province_code, i.c.checklist_id, i.c.self_assessment,
                               *([per.c.theme] if has_theme else [])))
            return query.where(per.c.theme == theme) if has_theme and theme else query

        flagged = sa.func.sum(sa.case((_is(scored.c.flagged), 1), else_=0))
        items = (sa.select(*self._branch(
                    "items", checklist_id=scored.c.checklist_id, item=scored.c.item,
                    theme=sa.func.max(scored.c.theme), flagged=flagged,
                    answered=sa.func.count()))
                 .where(sa.not_(_is(scored.c.self_assessment)), _is(scored.c.answered),
                        _is(scored.c.shown))
                 .group_by(scored.c.checklist_id, scored.c.item))
        if theme:
            items = items.where(scored.c.theme == theme)
        return [scores(per_theme, "themes"), scores(per_overall, "overall"), items]

    def _inspection_branches(self, i, as_of):
        j = self.json

        def count(condition):
            return sa.func.sum(sa.case((condition, 1), else_=0))

        own, team = _is(i.c.self_assessment), sa.not_(_is(i.c.self_assessment))
        counts = (sa.select(*self._branch("counts", i.c.province_code, status=i.c.status,
                                          inspections=count(team),
                                          self_assessments=count(own)))
                  .group_by(i.c.province_code, i.c.status))
        unit_key = (sa.func.coalesce(i.c.unit_era, "") + ":" + sa.func.coalesce(i.c.unit_code, "")
                    + ":" + sa.func.coalesce(i.c.unit_name, ""))
        units = (sa.select(*self._branch("units", i.c.province_code,
                                         units=sa.func.count(sa.distinct(unit_key))))
                 .where(team).group_by(i.c.province_code))
        origins = (sa.select(*self._branch("origins", i.c.province_code,
                                           province_era=i.c.province_era,
                                           legacy_code=i.c.legacy_code,
                                           province_name=i.c.province_name))
                   .group_by(i.c.province_code, i.c.province_era, i.c.legacy_code,
                             i.c.province_name))
        r = documents.alias("r_doc")
        status, due = j.text(r.c.body, "status"), j.date(r.c.body, "due")
        overdue = sa.and_(status.notin_(_DONE), due.isnot(None), due < j.day(as_of))
        recommendations = (
            sa.select(*self._branch("recommendations", i.c.province_code,
                                    total=sa.func.count(), overdue=count(overdue),
                                    **{s: count(status == s) for s in REC_STATUSES}))
            .select_from(r.join(i, r.c.inspection_id == i.c.id))
            .where(_live(r, "recommendation")).group_by(i.c.province_code))
        return [counts, units, origins, recommendations]

    def _overdue_branch(self, i, as_of, limit):
        j, r = self.json, documents.alias("o_doc")
        status, due = j.text(r.c.body, "status"), j.date(r.c.body, "due")
        first = (sa.select(r.c.id, j.text(r.c.body, "text").label("text"),
                           j.text(r.c.body, "responsible").label("responsible"),
                           j.text(r.c.body, "due").label("due"), status.label("status"),
                           i.c.province_code, i.c.unit_label, i.c.unit_name,
                           i.c.province_name, i.c.id.label("inspection_id"))
                 .select_from(r.join(i, r.c.inspection_id == i.c.id))
                 .where(_live(r, "recommendation"), status.notin_(_DONE), due.isnot(None),
                        due < j.day(as_of))
                 .order_by(j.text(r.c.body, "due"), r.c.id).limit(limit).subquery("first"))
        return sa.select(*self._branch("overdue", first.c.province_code, **{
            name: first.c[name] for name in PARTS["overdue"][0]}))

    def _missing_branch(self, i):
        """Checklist versions inspections pinned that HQ does not know (not scored)."""
        items = self.items_table()
        query = sa.select(*self._branch("missing", checklist_id=i.c.checklist_id,
                                        version=i.c.checklist_version)).distinct()
        if items is None:
            return query
        known = sa.select(items.c.cid).where(items.c.cid == i.c.checklist_id,
                                             items.c.ver == i.c.checklist_version)
        return query.where(~sa.exists(known))

    def _collect(self, branches):
        """Run the branches as one statement; their rows, by part, with named fields."""
        result = {part: [] for part in PARTS}
        for row in self.rows(sa.union_all(*branches)):
            texts, numbers = PARTS[row["part"]]
            entry = {"province_code": row["province_code"]}
            entry.update({name: row[f"t{n + 1}"] for n, name in enumerate(texts)})
            for n, name in enumerate(numbers):
                value = row[f"n{n + 1}"]
                entry[name] = (float(value or 0) if name in FLOAT_FIELDS else
                               bool(value) if name == "self_assessment" else int(value or 0))
            result[row["part"]].append(entry)
        texts = {(cid, code): text for cid, _v, code, _t, _a, _w, text, _s, _k
                 in self.item_rows()[0]}  # versions come oldest first: the newest wording
        for entry in result["items"]:
            entry["text"] = texts.get((entry["checklist_id"], entry["item"]), "")
        result["items"] = sorted((e for e in result["items"] if e["flagged"]),
                                 key=lambda e: (-e["flagged"], e["checklist_id"], e["item"]))
        result["overdue"].sort(key=lambda e: (e["due"] or "", e["id"]))
        self.missing_checklists = sorted(f"{e['checklist_id']}@{e['version']}"
                                         for e in result["missing"] if e["checklist_id"])
        return result

    def summary_rows(self, filters=None, as_of=None, overdue_limit=100):
        """Every figure of a summary in ONE statement (a pass over the inspections in scope,
        one over their findings, one over their recommendations): the parts of ``PARTS``."""
        as_of = as_of or date.today()
        i = self.inspections(filters, self_assessment=None)
        return self._collect(self._finding_branches(filters, i)
                             + self._inspection_branches(i, as_of)
                             + [self._overdue_branch(i, as_of, overdue_limit),
                                self._missing_branch(i)])

    def finding_aggregates(self, filters=None):
        """``themes`` and ``overall`` (sums and counts of inspection scores per province,
        checklist and self-assessment, and theme) and ``items`` (flag counts per item of
        the team inspections)."""
        i = self.inspections(filters, self_assessment=None)
        branches = self._finding_branches(filters, i)
        return self._collect(branches) if branches else {p: [] for p in PARTS}

    def inspection_aggregates(self, filters=None, as_of=None):
        """``counts`` (per province and status: team inspections, self-assessments),
        ``units`` (distinct units a team inspected), ``origins`` (the legacy provinces of each
        roll-up code) and ``recommendations`` (by status; overdue: due before ``as_of``,
        neither done nor cancelled)."""
        i = self.inspections(filters, self_assessment=None)
        return self._collect(self._inspection_branches(i, as_of or date.today()))

    def theme_score_groups(self, filters=None, self_assessment=None, overall=False):
        rows = self.finding_aggregates(filters)["overall" if overall else "themes"]
        if self_assessment is not None:
            rows = [r for r in rows if r["self_assessment"] == self_assessment]
        return rows

    def flagged_items(self, filters=None, limit=20):
        items = self.finding_aggregates(filters)["items"]
        return items[:limit] if limit else items

    def inspection_counts(self, filters=None):
        return self.inspection_aggregates(filters)["counts"]

    def unit_counts(self, filters=None):
        found = self.inspection_aggregates(filters)
        return found["units"], found["origins"]

    def recommendation_counts(self, filters=None, as_of=None):
        return self.inspection_aggregates(filters, as_of)["recommendations"]

    def overdue_recommendations(self, filters=None, as_of=None, limit=50):
        i = self.inspections(filters, self_assessment=None)
        return self._collect([self._overdue_branch(i, as_of or date.today(), limit)])["overdue"]

    def scope_options(self):
        """What the data holds, for filter menus: current province codes and years."""
        i = self.inspections(Filters(statuses=None), self_assessment=None)
        codes = [r["province_code"] for r in self.rows(
            sa.select(i.c.province_code).distinct().order_by(i.c.province_code))
            if r["province_code"]]
        years = sorted({int(r["year"]) for r in self.rows(
            sa.select(sa.func.substr(i.c.date, 1, 4).label("year")).distinct())
            if r["year"] and str(r["year"]).isdigit()})
        return codes, years

    # --- the export ----------------------------------------------------------------------

    def finding_rows(self, filters=None):
        """Every live finding of the inspections in scope, with its inspection's fields
        (self-assessments included), ordered by inspection date, inspection and item."""
        j, f = self.json, documents.alias("f")
        i = self.inspections(filters, self_assessment=None)
        query = (sa.select(i, j.text(f.c.body, "item").label("item"),
                           j.text(f.c.body, "theme").label("theme"),
                           f.c.body["value"].label("value"),
                           j.flag(f.c.body, "flagged").label("flagged"),
                           j.text(f.c.body, "note").label("note"))
                 .select_from(f.join(i, f.c.inspection_id == i.c.id))
                 .where(_live(f, "finding"))
                 .order_by(i.c.date, i.c.id, j.text(f.c.body, "item")))
        return query
