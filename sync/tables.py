"""HQ-only tables of the sync layer: enrolled devices and enrollment codes.

Created by the migration ``0002_hq_sync`` (``core/store/migrations/versions``); these
``Table`` objects are how the code reads them. Documents, conflicts and metadata stay in the
store's own tables, reached only through the ``Store`` interface.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

JSON_VALUE = sa.JSON().with_variant(JSONB(), "postgresql")

metadata = sa.MetaData()

devices = sa.Table(
    "sync_devices", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("team", sa.Text, nullable=False),
    sa.Column("campaign_id", sa.Text),
    sa.Column("provinces", JSON_VALUE, nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False),
    # The bundle signing key (HMAC-SHA256). HQ must hold it in the clear to verify bundles;
    # it is not the token, which HQ keeps only as a hash.
    sa.Column("signing_key", sa.Text, nullable=False),
    sa.Column("code_id", sa.Text),
    sa.Column("enrolled_at", sa.Text, nullable=False),
    sa.Column("last_seen_at", sa.Text),
    sa.Column("revoked_at", sa.Text),
    sa.Index("ix_sync_devices_token_hash", "token_hash", unique=True),
)

enrollment_codes = sa.Table(
    "sync_enrollment_codes", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("team", sa.Text, nullable=False),
    sa.Column("campaign_id", sa.Text),
    sa.Column("provinces", JSON_VALUE, nullable=False),
    sa.Column("hq_url", sa.Text),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Text, nullable=False),
    sa.Column("used_at", sa.Text),
    sa.Column("device_id", sa.Text),
)
