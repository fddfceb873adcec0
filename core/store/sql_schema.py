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

MIGRATIONS = Path(__file__).with_name("migrations")

JSON_BODY = sa.JSON().with_variant(JSONB(), "postgresql")

# The schema as the code reads it; the migrations are the source of truth for the database
# (a test checks that the two agree).
metadata = sa.MetaData()

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
    sa.Index("ix_documents_seq", "seq", unique=True),
    sa.Index("ix_documents_type", "type"),
    sa.Index("ix_documents_inspection_id", "inspection_id"),
    sa.Index("ix_documents_campaign_id", "campaign_id"),
    sa.Index("ix_documents_province_code", "province_code"),
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
