"""HQ sync tables: enrolled devices and one-time enrollment codes (owned by ``sync``).

Revision ID: 0002_hq_sync
Revises: 0001
Create Date: 2025-01-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_hq_sync"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON().with_variant(JSONB(), "postgresql")
TABLES = ("sync_devices", "sync_enrollment_codes")


def upgrade():
    # A database whose version table was dropped but whose sync tables were not (the store's
    # drop_all_for_tests drops only the tables it knows) is being rebuilt: start them afresh.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name in TABLES:
        if name in existing:
            op.drop_table(name)

    op.create_table(
        "sync_devices",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Text(), nullable=True),
        sa.Column("provinces", JSON_VALUE, nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("signing_key", sa.Text(), nullable=False),
        sa.Column("code_id", sa.Text(), nullable=True),
        sa.Column("enrolled_at", sa.Text(), nullable=False),
        sa.Column("last_seen_at", sa.Text(), nullable=True),
        sa.Column("revoked_at", sa.Text(), nullable=True),
    )
    op.create_index("ix_sync_devices_token_hash", "sync_devices", ["token_hash"], unique=True)

    op.create_table(
        "sync_enrollment_codes",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("team", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Text(), nullable=True),
        sa.Column("provinces", JSON_VALUE, nullable=False),
        sa.Column("hq_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Text(), nullable=False),
        sa.Column("used_at", sa.Text(), nullable=True),
        sa.Column("device_id", sa.Text(), nullable=True),
    )


def downgrade():
    op.drop_table("sync_enrollment_codes")
    op.drop_index("ix_sync_devices_token_hash", table_name="sync_devices")
    op.drop_table("sync_devices")
