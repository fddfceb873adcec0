"""The SQL behind every report: the inspections in scope, the item table of the pinned
checklists, and the aggregations (scores, flags, recommendations, counts); what differs per
dialect is in ``dialect.py``, the per-inspection scores in ``scores.py``. Everything is
SQLAlchemy Core on the ``documents`` table, for SQLite and PostgreSQL; no Python loop ever
walks the findings. The fields reports filter and group on are read from the table's
generated columns (``item``, ``value_text``, ``flagged``, ``status``, ``date`` …; see
``core.store.sql_schema``), the rest from the JSON bodies of the few rows that need them.

Scores follow ``core.scoring`` exactly: an item scores 1 (yes), 0.5 (partial), 0 (no) for
yes/no items and 0 if flagged else 1 for the others; "na" and unanswered items are left
out, and so are items hidden by their skip logic (``show_when``, evaluated in SQL against
the controlling item's answer) and items of weight 0. A theme's score is the weighted mean
×100, per inspection; a province's score is the mean of its inspections' scores. The item
weights, themes and skip rules come from the pinned checklist versions (the ``checklist``
documents), joined in as a small ``VALUES`` table.
"""

from collections import namedtuple
from contextlib import contextmanager
from datetime import date

import sqlalchemy as sa

from ..checklists import version_key
from ..errors import StoreError
from ..store.sql import documents
from .dialect import Json, is_true as _is, live as _live
from .filters import Filters
from .scores import MASK_BITS, InspectionScores

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
# PostgreSQL underestimates how many inspections a scope keeps (type, status and date are
# correlated; it guesses a few hundred of 77,000), and then plans nested loops that rescan
# tens of thousands of rows per row, or sorts where hashing is cheaper. For report
# statements only: hash joins and aggregates, and room for them in memory. No JIT: the
# plan types switched off here inflate the cost estimates past its thresholds, and then
# compiling took seconds, longer than the statement.
PG_SETTINGS = {"enable_nestloop": "off", "enable_sort": "off", "work_mem": "64MB",
               "jit": "off"}
# One item of a known checklist version. For ``scores.py``: ``slot`` is its position in the
# version (its bit in the answered/flagged masks is ``bit`` of mask number ``mask``);
# ``bucket`` is the sum its points go to: its theme's (the index in the sorted themes), or
# its own when it has a skip rule (after the themes, by rule key); ``control`` is the index
# of its code among the items skip rules depend on, when one in its version does (else None).
ItemRow = namedtuple("ItemRow", "cid ver item theme atype weight text show_item show_key "
                                "slot mask bit bucket control")


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

    def inspections(self, filters=None, self_assessment=False, name="i", materialized=True):
        """A CTE of the live inspections that ``filters`` select, their fields as columns
        (the table's generated columns; the unit and province read from the JSON);
        ``self_assessment`` True/False keeps only self-assessments / team inspections, None
        keeps both. ``materialized`` False: a plain subquery instead, which PostgreSQL can
        scan in parallel inside a bigger plan, reading only the columns used (from the
        inspection date index alone, where the table's visibility map allows)."""
        filters = filters or Filters()
        j, i = self.json, documents.alias(f"{name}_doc")
        body = i.c.body
        columns = [
            i.c.id.label("id"), i.c.province_code.label("province_code"),
            i.c.campaign_id.label("campaign_id"),
            i.c.date.label("date"), i.c.status.label("status"),
            i.c.self_assessment.label("self_assessment"),
            i.c.pinned_checklist.label("checklist_id"),
            i.c.pinned_version.label("checklist_version"),
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
        if filters.period:  # ISO dates compare as text (and the date index serves the range)
            query = query.where(i.c.date >= filters.period.start.isoformat(),
                                i.c.date <= filters.period.end.isoformat())
        if filters.statuses:
            query = query.where(i.c.status.in_(filters.statuses))
        if self_assessment is not None:
            own = _is(i.c.self_assessment)
            query = query.where(own if self_assessment else sa.not_(own))
        return self.narrow(query, name) if materialized else query.subquery(name)

    def narrow(self, query, name):
        """A CTE of scalar columns that several parts of a statement read. On PostgreSQL it
        is MATERIALIZED: computed once (the JSON read once), and only narrow rows flow into
        joins (the planner misjudges how many rows a scope keeps and would otherwise drag
        whole bodies through its plans)."""
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
        """One ``ItemRow`` per item of every known checklist version (a few hundred rows),
        oldest version first, and the skip rules by key. Built once per ``ReportQueries``."""
        if self._items is None:
            rows, rules = [], {}
            known = self.known_checklists()
            themes = sorted({item["theme"] for checklist in known.values()
                             for item in checklist.items})
            controls = sorted({item["show_when"]["item"] for checklist in known.values()
                               for item in checklist.items if item.get("show_when")})
            for key in sorted(known, key=lambda k: (k[0], version_key(k[1]))):
                items = known[key].items
                controlling = {item["show_when"]["item"] for item in items
                               if item.get("show_when")}
                for slot, item in enumerate(items):
                    rule = item.get("show_when")
                    rule_key = None
                    if rule:
                        rule_key = len(rules) + 1
                        rules[rule_key] = rule
                    rows.append(ItemRow(
                        key[0], key[1], item["code"], item["theme"], item["answer"]["type"],
                        float(item["weight"]), item["text"]["vi"],
                        rule["item"] if rule else None, rule_key, slot, slot // MASK_BITS,
                        1 << slot % MASK_BITS,
                        len(themes) + rule_key - 1 if rule else themes.index(item["theme"]),
                        controls.index(item["code"]) if item["code"] in controlling else None))
            self._items = (rows, rules)
        return self._items

    def items_table(self):
        """The item rows as a ``VALUES`` CTE (one object, reused by every statement). On
        PostgreSQL NOT MATERIALIZED: a shared CTE would keep the joins that read it out of
        parallel workers; the VALUES list is small enough to repeat."""
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
                   sa.column("show_key", sa.Integer), sa.column("slot", sa.Integer),
                   sa.column("mask", sa.Integer), sa.column("bit", sa.BigInteger),
                   sa.column("bucket", sa.Integer), sa.column("control", sa.Integer))
        items = sa.values(*columns, name="items").data(rows).cte("items")
        return items.prefix_with("NOT MATERIALIZED") if self.json.postgres else items

    # --- scores per inspection --------------------------------------------------------------

    def scores(self, filters=None, i=None):
        """The per-inspection scores (``scores.InspectionScores``) of the inspections
        ``filters`` select (``i``, if given, is their CTE), self-assessments included; None
        when no checklist is known."""
        if self.items_table() is None:
            return None
        scope = self.inspections(filters, self_assessment=None, name="scope",
                                 materialized=False)
        i = i if i is not None else self.inspections(filters, self_assessment=None)
        return InspectionScores(self, scope, i)

    def inspection_theme_scores(self, filters=None, self_assessment=False, overall=False):
        """Per inspection and theme (or overall): score 0–100 (unrounded) and weight."""
        scores = self.scores(filters)
        if scores is None:
            return None
        theme = filters.theme if filters else None
        names = [None] if overall else [theme] if theme else scores.themes
        known = [name for name in names if name is None or name in scores.themes]
        parts = [self._inspection_scores(scores, name, self_assessment)
                 for name in known or scores.themes[:1]]
        if not known:  # a theme no known checklist has: no rows
            parts = [parts[0].where(sa.false())]
        return parts[0] if len(parts) == 1 else sa.union_all(*parts)

    @staticmethod
    def _inspection_scores(scores, theme, self_assessment):
        t = scores.table.c
        points, weight = scores.points(theme), scores.weight(theme)
        query = (sa.select(t.id.label("inspection_id"), t.province_code, t.checklist_id,
                           t.self_assessment,
                           *([] if theme is None else [sa.literal(theme, sa.Text).label("theme")]),
                           (100.0 * points / weight).label("score"), weight.label("weight"))
                 .where(weight > 0))
        if self_assessment is not None:
            own = _is(t.self_assessment)
            query = query.where(own if self_assessment else sa.not_(own))
        return query

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
        """``themes``, ``overall`` and ``items`` from the per-inspection scores."""
        scores = self.scores(filters, i)
        if scores is None:
            return []
        t = scores.table.c
        own = sa.case((_is(t.self_assessment), 1), else_=0)
        theme = filters.theme if filters else None

        def score_groups(part, name=None):
            points, weight = scores.points(name), scores.weight(name)
            return (sa.select(*self._branch(
                        part, t.province_code, checklist_id=t.checklist_id,
                        theme=None if name is None else sa.literal(name, sa.Text),
                        self_assessment=own, inspections=sa.func.count(),
                        score_sum=sa.func.sum(100.0 * points / weight)))
                    .where(weight > 0)
                    .group_by(t.province_code, t.checklist_id, t.self_assessment))

        items = scores.item_counts(theme).subquery("item_counts")
        return ([score_groups("themes", name) for name in ([theme] if theme else scores.themes)
                 if name in scores.themes]
                + [score_groups("overall"),
                   sa.select(*self._branch("items", checklist_id=items.c.checklist_id,
                                           item=items.c.item, theme=items.c.theme,
                                           flagged=items.c.flagged,
                                           answered=items.c.answered))])

    def _inspection_branches(self, i, r):
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
        recommendations = (
            sa.select(*self._branch("recommendations", r.c.province_code,
                                    total=sa.func.count(), overdue=count(_is(r.c.overdue)),
                                    **{s: count(r.c.status == s) for s in REC_STATUSES}))
            .group_by(r.c.province_code))
        return [counts, units, origins, recommendations]

    def recommendations(self, i, as_of):
        """A CTE of the live recommendations of the inspections ``i``, with their
        inspection's place, and ``overdue``: due before ``as_of``, neither done nor
        cancelled."""
        j, r = self.json, documents.alias("r_doc")
        due = j.text(r.c.body, "due")
        overdue = sa.and_(r.c.status.notin_(_DONE), due.isnot(None),
                          due < as_of.isoformat())
        return self.narrow(
            sa.select(r.c.id, r.c.status, due.label("due"),
                      sa.func.coalesce(overdue, sa.false()).label("overdue"),
                      j.text(r.c.body, "text").label("text"),
                      j.text(r.c.body, "responsible").label("responsible"),
                      i.c.province_code, i.c.unit_label, i.c.unit_name, i.c.province_name,
                      i.c.id.label("inspection_id"))
            .select_from(r.join(i, r.c.inspection_id == i.c.id))
            .where(_live(r, "recommendation")), "recs")

    def _overdue_branch(self, r, limit):
        first = (sa.select(r).where(_is(r.c.overdue)).order_by(r.c.due, r.c.id).limit(limit)
                 .subquery("first"))
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
        # Versions come oldest first: the newest wording wins.
        texts = {(row.cid, row.item): row.text for row in self.item_rows()[0]}
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
        i = self.inspections(filters, self_assessment=None)
        r = self.recommendations(i, as_of or date.today())
        return self._collect(self._finding_branches(filters, i)
                             + self._inspection_branches(i, r)
                             + [self._overdue_branch(r, overdue_limit), self._missing_branch(i)])

    def finding_aggregates(self, filters=None):
        """``themes`` and ``overall`` (sums and counts of inspection scores per province,
        checklist and self-assessment, and theme) and ``items`` (flag counts per item of
        the team inspections)."""
        branches = self._finding_branches(filters, self.inspections(filters,
                                                                    self_assessment=None))
        return self._collect(branches) if branches else {p: [] for p in PARTS}

    def inspection_aggregates(self, filters=None, as_of=None):
        """``counts`` (per province and status: team inspections, self-assessments),
        ``units`` (distinct units a team inspected), ``origins`` (the legacy provinces of each
        roll-up code) and ``recommendations`` (by status; overdue: due before ``as_of``,
        neither done nor cancelled)."""
        i = self.inspections(filters, self_assessment=None)
        r = self.recommendations(i, as_of or date.today())
        return self._collect(self._inspection_branches(i, r))

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
        r = self.recommendations(i, as_of or date.today())
        return self._collect([self._overdue_branch(r, limit)])["overdue"]

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
        query = (sa.select(i, f.c.item, j.text(f.c.body, "theme").label("theme"),
                           f.c.body["value"].label("value"), f.c.flagged,
                           j.text(f.c.body, "note").label("note"))
                 .select_from(f.join(i, f.c.inspection_id == i.c.id))
                 .where(_live(f, "finding"))
                 .order_by(i.c.date, i.c.id, f.c.item))
        return query
