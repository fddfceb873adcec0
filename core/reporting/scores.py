"""Scores per inspection, in SQL, from ONE pass over the findings: a row per inspection in
scope holding, per theme, the weighted points and the weight of its counted items, and bit
masks of the items answered and flagged (shown items only). Summaries, the dashboard and
``ReportQueries.inspection_theme_scores`` read their figures from it.

Why this shape: grouping a million findings by inspection AND theme, then joining the half
million groups back, took seconds; grouping by inspection alone, one column per theme, is a
single hash aggregate that PostgreSQL splits over parallel workers. Items with a skip rule
(``show_when``) are summed apart and added to their theme only where the rule holds: the
answer the rule tests is in the same row (that finding's value, picked by ``max``). The
flag counts per item come from the masks (an item's bit is its position in its checklist
version), so they need no second pass over the findings either.

Scores follow ``core.scoring``; see ``sql.py``.
"""

import sqlalchemy as sa

from ..store.sql import documents
from .dialect import is_true as _is, live as _live, skip_rule

MASK_BITS = 60  # item positions per bit mask (a signed 64-bit integer)


def _added(terms):
    """The SQL sum of a list of expressions."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


class InspectionScores:
    """The per-inspection table (``table``, a CTE) of the inspections in scope: ``id``,
    ``province_code``, ``checklist_id``, ``checklist_version``, ``self_assessment``, then
    ``points(theme)`` and ``weight(theme)`` (overall without a theme) and the masks.

    ``scope`` and ``i`` select the same inspections: ``scope`` as a plain subquery, which the
    pass over the findings joins (so that PostgreSQL can run that pass in parallel workers),
    ``i`` as the report's shared CTE, which gives the per-inspection rows their fields."""

    def __init__(self, queries, scope, i):
        self.json = queries.json
        self.items = queries.items_table()
        rows, self.rules = queries.item_rows()
        self.themes = sorted({row.theme for row in rows})
        self.slots = max(row.slot for row in rows) + 1
        self.masks = (self.slots - 1) // MASK_BITS + 1
        self._ruled = [row for row in rows if row.show_key]
        # The items skip rules test, numbered as ``ItemRow.control`` numbers them.
        self._controls = sorted({rule["item"] for rule in self.rules.values()})
        self.table = queries.narrow(self._totals(self._sums(scope), i), "scores")

    # --- reading the table ---------------------------------------------------------------

    def points(self, theme=None):
        return self.table.c[self._name("points", theme)]

    def weight(self, theme=None):
        return self.table.c[self._name("weight", theme)]

    def _name(self, kind, theme):
        return kind if theme is None else f"{kind}{self.themes.index(theme)}"

    def item_counts(self, theme=None):
        """Per checklist and item (of ``theme``, or every item): how often the team
        inspections answered it and flagged it, and its theme (the newest version's)."""
        t, items = self.table.c, self.items

        def count(mask, slot):
            bit = t[f"{mask}{slot // MASK_BITS}"].bitwise_rshift(
                sa.literal(slot % MASK_BITS, sa.Integer))  # PostgreSQL shifts by an int4
            return sa.func.sum(bit.bitwise_and(1)).label(f"{mask}{slot}")

        per_version = (sa.select(t.checklist_id, t.checklist_version,
                                 *[count(mask, slot) for mask in ("answered", "flagged")
                                   for slot in range(self.slots)])
                       .where(sa.not_(_is(t.self_assessment)))
                       .group_by(t.checklist_id, t.checklist_version).subquery("per_version"))
        v = per_version.c

        def of_item(mask):
            return sa.func.sum(sa.case({slot: v[f"{mask}{slot}"] for slot in range(self.slots)},
                                       value=items.c.slot))

        query = (sa.select(items.c.cid.label("checklist_id"), items.c.item,
                           sa.func.max(items.c.theme).label("theme"),
                           of_item("flagged").label("flagged"),
                           of_item("answered").label("answered"))
                 .select_from(per_version.join(items, sa.and_(
                     items.c.cid == v.checklist_id, items.c.ver == v.checklist_version)))
                 .group_by(items.c.cid, items.c.item))
        return query.where(items.c.theme == theme) if theme else query

    # --- building it -----------------------------------------------------------------------

    def _sums(self, scope):
        """Per inspection, over its live findings: weighted points and counted weight per
        bucket (``ItemRow.bucket``: a theme's items without a skip rule, or one ruled item),
        the answers of the items skip rules depend on (``ItemRow.control``), and the
        answered/flagged masks. A million rows times two dozen aggregates is most of the
        cost: each aggregate is FILTERed on an integer of the item table, its cheapest
        form."""
        f, items, j = documents.alias("f_doc"), self.items, self.json
        value = f.c.value_text
        points = sa.case((items.c.weight > 0, sa.case(
            (items.c.atype == "yes_no",
             sa.case((value == "yes", 1.0), (value == "partial", 0.5), (value == "no", 0.0),
                     else_=sa.null())),
            (value.is_(None), sa.null()),
            (f.c.flagged, 0.0),
            else_=1.0)), else_=sa.null())
        # The JSON type of a value matters to skip rules only: read for their items alone.
        value_type = sa.case((items.c.control.isnot(None), j.kind(f.c.body, "value")),
                             else_=sa.null())
        answers = (sa.select(scope.c.id, value.label("value_text"),
                             value_type.label("value_type"), f.c.flagged, items.c.weight,
                             items.c.bucket, items.c.control, items.c.mask,
                             sa.cast(items.c.bit, sa.BigInteger).label("bit"),
                             points.label("points"))
                   .select_from(f.join(scope, f.c.inspection_id == scope.c.id).outerjoin(
                       items, sa.and_(items.c.cid == scope.c.checklist_id,
                                      items.c.ver == scope.c.checklist_version,
                                      items.c.item == f.c.item)))
                   .where(_live(f, "finding")).subquery("answers"))
        a = answers.c
        weighted = a.weight * a.points
        counted = sa.case((a.points.isnot(None), a.weight), else_=sa.null())
        columns = []
        for bucket in range(len(self.themes) + len(self.rules)):
            mine = a.bucket == bucket
            columns += [sa.func.sum(weighted).filter(mine).label(f"p{bucket}"),
                        sa.func.sum(counted).filter(mine).label(f"w{bucket}")]
        for n in range(len(self._controls)):
            mine = a.control == n
            columns += [sa.func.max(a.value_text).filter(mine).label(f"v{n}"),
                        sa.func.max(a.value_type).filter(mine).label(f"t{n}")]
        for m in range(self.masks):
            mine = a.value_text.isnot(None)
            if self.masks > 1:
                mine = sa.and_(a.mask == m, mine)
            columns += [j.any_bits(a.bit).filter(mine).label(f"a{m}"),
                        j.any_bits(a.bit).filter(sa.and_(mine, a.flagged)).label(f"f{m}")]
        return sa.select(a.id, *columns).group_by(a.id).subquery("sums")

    def _totals(self, sums, i):
        """Per inspection: its fields (from ``i``), the theme sums with the ruled items whose
        rule holds, overall, and the masks without the hidden items."""
        s, j = sums.c, self.json
        shown = {}
        for row in self._ruled:
            rule = self.rules[row.show_key]
            n = self._controls.index(rule["item"])
            shown[row.show_key] = skip_rule(rule, s[f"v{n}"], s[f"t{n}"], j)
        zero = sa.literal(0.0, sa.Float)

        def theme_sum(kind, n):
            terms = [sa.func.coalesce(s[f"{kind}{n}"], zero)]
            for row in self._ruled:
                if row.theme == self.themes[n]:
                    amount = sa.func.coalesce(s[f"{kind}{row.bucket}"], zero)
                    terms.append(sa.case((shown[row.show_key], amount), else_=zero))
            return _added(terms)

        themes = []
        for n in range(len(self.themes)):
            themes += [theme_sum("p", n).label(f"points{n}"),
                       theme_sum("w", n).label(f"weight{n}")]
        masks = []
        for m in range(self.masks):
            hidden = [sa.case((sa.and_(i.c.checklist_id == row.cid,
                                       i.c.checklist_version == row.ver,
                                       sa.not_(shown[row.show_key])),
                               sa.literal(row.bit, sa.BigInteger)), else_=0)
                      for row in self._ruled if row.mask == m]
            for name, sql in (("answered", s[f"a{m}"]), ("flagged", s[f"f{m}"])):
                mask = sa.func.coalesce(sa.cast(sql, sa.BigInteger), 0)
                if hidden:
                    mask = mask.bitwise_and(_added(hidden).bitwise_not())
                masks.append(mask.label(f"{name}{m}"))
        totals = (sa.select(i.c.id, i.c.province_code, i.c.checklist_id, i.c.checklist_version,
                            i.c.self_assessment, *themes, *masks)
                  .select_from(sums.join(i, sums.c.id == i.c.id)).subquery("totals"))
        t = totals.c
        return sa.select(totals, _added([t[f"points{n}"] for n in range(len(self.themes))])
                         .label("points"),
                         _added([t[f"weight{n}"] for n in range(len(self.themes))])
                         .label("weight"))
