"""SQL on JSON document bodies, the same on SQLite and PostgreSQL: field extraction
(``->>``/``#>>`` there, ``json_extract`` here), JSON types, dates, and a checklist's skip
rule (``show_when``) as an SQL condition."""

import sqlalchemy as sa

from ..errors import StoreError


class Json:
    """JSON fields of a document body as SQL expressions, the same on SQLite and PostgreSQL
    (``->>`` / ``#>>`` there, ``json_extract`` here)."""

    def __init__(self, dialect):
        if dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"Reports run on SQLite or PostgreSQL, not {dialect}.")
        self.postgres = dialect == "postgresql"

    def text(self, column, *path):
        """A field as text (NULL when missing or JSON null)."""
        return column[path[0] if len(path) == 1 else tuple(path)].as_string()

    def flag(self, column, key):
        """A JSON boolean as an SQL boolean; missing or null count as false."""
        return sa.func.coalesce(column[key].as_boolean(), sa.false())

    def kind(self, column, key):
        """The JSON type of a field: "number", "string", or something else."""
        if self.postgres:
            return sa.func.jsonb_typeof(column[key])
        kind = sa.func.json_type(column, f'$."{key}"')
        return sa.case((kind.in_(("integer", "real")), "number"), (kind == "text", "string"),
                       else_=kind)

    def date(self, column, *path):
        """An ISO date field, comparable with ``day`` (see ``day``)."""
        text = self.text(column, *path)
        return sa.cast(text, sa.Date) if self.postgres else text

    def day(self, value):
        """A Python date as the other side of a comparison with ``date``."""
        return value if self.postgres else value.isoformat()

    def ordered(self, expression):
        """Text compared by code point, as Python compares strings."""
        return expression.collate("C") if self.postgres else expression


def is_true(expression):
    """A boolean column of a CTE as a condition (SQLite hands booleans back as 0/1)."""
    return expression == sa.true()


def live(table, type_):
    """Current (not tombstoned) documents of a type."""
    return sa.and_(table.c.type == type_, table.c.deleted == sa.false())


def skip_rule(rule, dependency, j):
    """A ``show_when`` rule (``core.rules.test``) on the controlling answer, in SQL."""
    op, expected = rule["op"], rule.get("value")
    present = dependency.c.value_text.isnot(None)
    num_value = sa.case((dependency.c.value_type == "number",
                         sa.cast(dependency.c.value_text, sa.Float)), else_=sa.null())
    str_value = sa.case((dependency.c.value_type == "string", dependency.c.value_text),
                        else_=sa.null())

    def equals(value):
        if isinstance(value, bool) or value is None:
            return sa.false()
        if isinstance(value, (int, float)):
            return sa.func.coalesce(num_value == float(value), sa.false())
        if isinstance(value, str):
            return sa.func.coalesce(str_value == value, sa.false())
        return sa.false()

    if op == "answered":
        return present
    if op == "not_answered":
        return sa.not_(present)
    if op == "eq":
        return sa.and_(present, equals(expected))
    if op == "ne":
        return sa.and_(present, sa.not_(equals(expected)))
    if op in ("in", "not_in"):
        any_of = sa.or_(*[equals(v) for v in expected]) if expected else sa.false()
        return sa.and_(present, any_of if op == "in" else sa.not_(any_of))
    compare = {"lt": "__lt__", "lte": "__le__", "gt": "__gt__", "gte": "__ge__"}[op]
    if isinstance(expected, bool):
        return sa.false()
    if isinstance(expected, (int, float)):
        test = getattr(num_value, compare)(float(expected))
    else:
        test = getattr(j.ordered(str_value), compare)(str(expected))
    return sa.and_(present, sa.func.coalesce(test, sa.false()))
