"""The HQ store's schema as the code reads it, and Alembic configured from code.

The migrations in ``migrations/`` are the source of truth for the database (a test checks
that the two agree); ``fieldkit.core.store.sql`` re-exports these names.
"""

import functools
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

MIGRATIONS = Path(__file__).with_name("migrations")

JSON_BODY = sa.JSON().with_variant(JSONB(), "postgresql")

# The schema as the code reads it; the migrations are the source of truth for the database
# (a test checks that the two agree).
metadata = sa.MetaData()


class BodyField(sa.sql.expression.ColumnElement):
    """The SQL of a generated column read from ``body``, written per engine (PostgreSQL's as
    it reports the expression back, so that the schema check compares like with like)."""

    inherit_cache = True
    _traverse_internals = [("postgresql", InternalTraversal.dp_string),
                           ("sqlite", InternalTraversal.dp_string)]

    def __init__(self, postgresql, sqlite):
        self.postgresql, self.sqlite = postgresql, sqlite


@compiles(BodyField)
def _body_field_sql(element, compiler, **_kw):
    return element.postgresql if compiler.dialect.name == "postgresql" else element.sqlite


def _text_of(key):
    return BodyField(f"(body ->> '{key}'::text)", f"json_extract(body, '$.{key}')")


def _is_true(key):
    """True only for JSON ``true``: a generated column must never fail a write, so no cast."""
    return BodyField(f"(body @> '{{\"{key}\": true}}'::jsonb)",
                     f"coalesce(json_type(body, '$.{key}') = 'true', 0)")


def _text_at(parent, key):
    return BodyField(f"(body #>> '{{{parent},{key}}}'::text[])",
                     f"json_extract(body, '$.{parent}.{key}')")


def _generated(name, type_, sql):
    """A column the database computes from ``body`` on every write (migration 0004):
    STORED on PostgreSQL; on SQLite, which can add only VIRTUAL ones, computed when read.
    Each costs PostgreSQL some 4 µs per INSERT statement (it prepares the expressions anew
    for every statement): only what reports filter, join and group on."""
    return sa.Column(name, type_, sa.Computed(sql, persisted=True))


# Fields of the body the reports group and filter on, as columns (see core/reporting/sql.py):
# read for a million findings, and the inspection date index covers the rest.
GENERATED = (
    _generated("item", sa.Text, _text_of("item")),                  # finding
    _generated("value_text", sa.Text, _text_of("value")),           # finding: value as text
    _generated("flagged", sa.Boolean, _is_true("flagged")),         # finding
    _generated("status", sa.Text, _text_of("status")),              # inspection, recommendation
    _generated("date", sa.Text, _text_of("date")),                  # inspection: ISO date
    _generated("self_assessment", sa.Boolean, _is_true("self_assessment")),  # inspection
    _generated("pinned_checklist", sa.Text, _text_at("checklist", "id")),    # inspection
    _generated("pinned_version", sa.Text, _text_at("checklist", "version")),  # inspection
)

INSPECTION_FIELDS = ["id", "province_code", "campaign_id", "status", "self_assessment",
                     "pinned_checklist", "pinned_version"]

documents = sa.Table(
    "documents", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("type", sa.Text),
    sa.Column("rev", sa.Text),
    sa.Column("base_rev", sa.Text),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.Text),
    sa.Column("device", sa.Text),
    sa.Column("author", sa.Text),
    # Copied from the document's top-level fields of the same name, for filters and reports.
    sa.Column("inspection_id", sa.Text),
    sa.Column("campaign_id", sa.Text),
    sa.Column("province_code", sa.Text),
    sa.Column("team", sa.Text),
    sa.Column("body", JSON_BODY, nullable=False),
    *GENERATED,
    sa.Index("ix_documents_seq", "seq", unique=True),
    sa.Index("ix_documents_type", "type"),
    sa.Index("ix_documents_inspection_id", "inspection_id"),
    sa.Index("ix_documents_campaign_id", "campaign_id"),
    sa.Index("ix_documents_province_code", "province_code"),
    # The inspections a report covers, by date, with what scoring needs: a small index read
    # instead of a page of the table per inspection (migration 0004).
    sa.Index("ix_documents_inspection_date", "date",
             postgresql_include=INSPECTION_FIELDS,
             postgresql_where=sa.text("type = 'inspection' AND NOT deleted"),
             sqlite_where=sa.text("type = 'inspection' AND deleted = 0")),
)

conflicts = sa.Table(
    "conflicts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("doc_id", sa.Text, nullable=False),
    sa.Column("rev", sa.Text),
    sa.Column("body", JSON_BODY, nullable=False),
    sa.Column("kept_at", sa.Text, nullable=False),
    sa.Index("ix_conflicts_doc_id", "doc_id"),
)

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", JSON_BODY),
)

seq_counter = sa.Table(
    "seq_counter", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.CheckConstraint("id = 1", name="ck_seq_counter_single_row"),
)

EXTRACTED = ("inspection_id", "campaign_id", "province_code", "team")
# Document fields that have a text column: ``find`` filters on the column for string values.
_TEXT_COLUMNS = frozenset(
    ("id", "type", "rev", "base_rev", "updated_at", "device", "author") + EXTRACTED)


# --- Alembic, configured from code ---------------------------------------------------------

def alembic_config(url=None):
    """An Alembic ``Config`` for the store's migrations; no alembic.ini needed on disk."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        rendered = make_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


@functools.cache
def _script():
    return ScriptDirectory.from_config(alembic_config())


def head_revision():
    """The schema version this code writes (the newest migration)."""
    return _script().get_current_head()


def _known_revisions():
    return {script.revision for script in _script().walk_revisions()}


def _current_revision(connection):
    return MigrationContext.configure(connection).get_current_revision()
