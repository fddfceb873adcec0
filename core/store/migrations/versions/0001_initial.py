"""The HQ store's first schema: documents, conflicts, meta and the change-sequence counter.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration describes the schema as it was, not as the code is now.
JSON_BODY = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "documents",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("rev", sa.Text(), nullable=True),
        sa.Column("base_rev", sa.Text(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.Text(), nullable=True),
        sa.Column("device", sa.Text(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("inspection_id", sa.Text(), nullable=True),
        sa.Column("campaign_id", sa.Text(), nullable=True),
        sa.Column("province_code", sa.Text(), nullable=True),
        sa.Column("team", sa.Text(), nullable=True),
        sa.Column("body", JSON_BODY, nullable=False),
    )
    op.create_index("ix_documents_seq", "documents", ["seq"], unique=True)
    op.create_index("ix_documents_type", "documents", ["type"])
    op.create_index("ix_documents_inspection_id", "documents", ["inspection_id"])
    op.create_index("ix_documents_campaign_id", "documents", ["campaign_id"])
    op.create_index("ix_documents_province_code", "documents", ["province_code"])

    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("doc_id", sa.Text(), nullable=False),
        sa.Column("rev", sa.Text(), nullable=True),
        sa.Column("body", JSON_BODY, nullable=False),
        sa.Column("kept_at", sa.Text(), nullable=False),
    )
    op.create_index("ix_conflicts_doc_id", "conflicts", ["doc_id"])

    op.create_table(
        "meta",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("value", JSON_BODY, nullable=True),
    )

    # One row, id = 1: the last sequence number given. Writers bump it with
    # UPDATE ... RETURNING inside their transaction, which serialises them until commit.
    seq_counter = op.create_table(
        "seq_counter",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_seq_counter_single_row"),
    )
    op.bulk_insert(seq_counter, [{"id": 1, "value": 0}])


def downgrade():
    op.drop_table("seq_counter")
    op.drop_table("meta")
    op.drop_index("ix_conflicts_doc_id", table_name="conflicts")
    op.drop_table("conflicts")
    for name in ("province_code", "campaign_id", "inspection_id", "type", "seq"):
        op.drop_index(f"ix_documents_{name}", table_name="documents")
    op.drop_table("documents")
