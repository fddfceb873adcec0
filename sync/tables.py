"""HQ-only tables of the sync layer: enrolled devices, enrollment codes, the audit log.

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

# The audit log (migration ``0003_hq_security``): append-only, see ``sync/audit.py``.
audit_log = sa.Table(
    "hq_audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("actor_kind", sa.Text, nullable=False),
    sa.Column("actor", sa.Text),
    sa.Column("device_id", sa.Text),
    sa.Column("ip", sa.Text),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("doc_type", sa.Text),
    sa.Column("doc_id", sa.Text),
    sa.Column("outcome", sa.Text),
    sa.Column("detail", JSON_VALUE),
    sa.Index("ix_hq_audit_at", "at"),
)
