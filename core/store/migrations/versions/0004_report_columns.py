"""Report columns: the fields of a document's body that summaries, the dashboard and the
export group and filter on, as generated columns of ``documents``.

The database computes them on every insert and update (nothing in the write path changes);
reading them, and the inspection date index, instead of the JSON of each document is part
of what brings an annual summary under its time target. PostgreSQL stores them (adding them
rewrites the table once, under an exclusive lock); SQLite can add only VIRTUAL generated
columns, computed when read.

No expression may fail on any body (a generated column that raises would refuse the write):
hence no casts — booleans are "is JSON ``true``", dates stay text. PostgreSQL prepares the
expressions anew for every INSERT statement, some 4 µs a column (about 30 µs a document for
all of them, whatever its type): so there are only the ones reports filter, join and group
on.

Revision ID: 0004_report_columns
Revises: 0003_hq_security
Create Date: 2025-01-04
"""

from alembic import op

revision = "0004_report_columns"
down_revision = "0003_hq_security"
branch_labels = None
depends_on = None

# Frozen here on purpose (a migration describes the schema as it was): name, SQL type, the
# PostgreSQL expression (as PostgreSQL reports it back), the SQLite expression.
COLUMNS = (
    ("item", "TEXT", "(body ->> 'item'::text)", "json_extract(body, '$.item')"),
    ("value_text", "TEXT", "(body ->> 'value'::text)", "json_extract(body, '$.value')"),
    ("flagged", "BOOLEAN", """(body @> '{"flagged": true}'::jsonb)""",
     "coalesce(json_type(body, '$.flagged') = 'true', 0)"),
    ("status", "TEXT", "(body ->> 'status'::text)", "json_extract(body, '$.status')"),
    ("date", "TEXT", "(body ->> 'date'::text)", "json_extract(body, '$.date')"),
    ("self_assessment", "BOOLEAN", """(body @> '{"self_assessment": true}'::jsonb)""",
     "coalesce(json_type(body, '$.self_assessment') = 'true', 0)"),
    ("pinned_checklist", "TEXT", "(body #>> '{checklist,id}'::text[])",
     "json_extract(body, '$.checklist.id')"),
    ("pinned_version", "TEXT", "(body #>> '{checklist,version}'::text[])",
     "json_extract(body, '$.checklist.version')"),
)


# The inspections a report covers, by date, with what scoring needs: on PostgreSQL an
# index-only read instead of a page of the table per inspection. Partial: findings (most
# writes) never touch it.
INDEX = "ix_documents_inspection_date"
INSPECTION_FIELDS = ("id", "province_code", "campaign_id", "status", "self_assessment",
                     "pinned_checklist", "pinned_version")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # One statement: PostgreSQL rewrites the table once, not once per column.
        op.execute("ALTER TABLE documents " + ", ".join(
            f"ADD COLUMN {name} {type_} GENERATED ALWAYS AS ({postgresql}) STORED"
            for name, type_, postgresql, _sqlite in COLUMNS))
        op.execute(f"CREATE INDEX {INDEX} ON documents (date) "
                   f"INCLUDE ({', '.join(INSPECTION_FIELDS)}) "
                   f"WHERE type = 'inspection' AND NOT deleted")
    else:
        for name, type_, _postgresql, sqlite in COLUMNS:
            op.execute(f"ALTER TABLE documents ADD COLUMN {name} {type_} "
                       f"GENERATED ALWAYS AS ({sqlite}) VIRTUAL")
        op.execute(f"CREATE INDEX {INDEX} ON documents (date) "
                   f"WHERE type = 'inspection' AND deleted = 0")


def downgrade():
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    names = [name for name, *_ in reversed(COLUMNS)]
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE documents "
                   + ", ".join(f"DROP COLUMN IF EXISTS {n}" for n in names))
    else:
        for name in names:
            op.execute(f"ALTER TABLE documents DROP COLUMN {name}")
