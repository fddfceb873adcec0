"""SQL that differs between SQLite and PostgreSQL: JSON field extraction (``->>``/``#>>``
there, ``json_extract`` here), bit masks, and a checklist's skip rule (``show_when``) as an
SQL condition. Dates are ISO text and compare as text on both engines."""

import sqlalchemy as sa

from ..errors import StoreError


class Json:
    """A report statement's SQL that differs by engine: JSON fields of a document body
    (``->>`` / ``#>>`` on PostgreSQL, ``json_extract`` on SQLite), bit masks."""

    def __init__(self, dialect):
        if dialect not in ("sqlite", "postgresql"):
            raise StoreError(f"Reports run on SQLite or PostgreSQL, not {dialect}.")
        self.postgres = dialect == "postgresql"

    def text(self, column, *path):
        """A field as text (NULL when missing or JSON null)."""
        return column[path[0] if len(path) == 1 else tuple(path)].as_string()

    def kind(self, column, key):
        """The JSON type of a field: "number", "string", or something else."""
        if self.postgres:
            return sa.func.jsonb_typeof(column[key])
        kind = sa.func.json_type(column, f'$."{key}"')
        return sa.case((kind.in_(("integer", "real")), "number"), (kind == "text", "string"),
                       else_=kind)

    def ordered(self, expression):
        """Text compared by code point, as Python compares strings."""
        return expression.collate("C") if self.postgres else expression

    def any_bits(self, bit):
        """Aggregate: the OR of ``bit`` (one power of two, or NULL, per row). SQLite has no
        ``bit_or``; there the sum of the DISTINCT powers of two is the same number."""
        if self.postgres:
            return sa.func.bit_or(bit)
        return sa.func.sum(sa.distinct(bit))


def is_true(expression):
    """A boolean column of a CTE as a condition (SQLite hands booleans back as 0/1)."""
    return expression == sa.true()


def live(table, type_):
    """Current (not tombstoned) documents of a type."""
    return sa.and_(table.c.type == type_, table.c.deleted == sa.false())


def skip_rule(rule, value_text, value_type, j):
    """A ``show_when`` rule (``core.rules.test``) in SQL, on the controlling answer: its
    value as text (the ``value_text`` column) and its JSON type (``Json.kind``)."""
    op, expected = rule["op"], rule.get("value")
    present = value_text.isnot(None)
    num_value = sa.case((value_type == "number", sa.cast(value_text, sa.Float)),
                        else_=sa.null())
    str_value = sa.case((value_type == "string", value_text), else_=sa.null())

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
