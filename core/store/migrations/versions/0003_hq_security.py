"""HQ security: user accounts, sign-in attempts (lock-out and throttling) and the audit log.

The audit log is append-only: besides the code never changing a row, a trigger refuses
UPDATE and DELETE on both engines.

Revision ID: 0003_hq_security
Revises: 0002_hq_sync
Create Date: 2025-01-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_hq_security"
down_revision = "0002_hq_sync"
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON().with_variant(JSONB(), "postgresql")
TABLES = ("hq_users", "hq_login_attempts", "hq_audit")


def upgrade():
    bind = op.get_bind()
    # A rebuilt database (see 0002): tables left over from a dropped version table go first.
    existing = set(sa.inspect(bind).get_table_names())
    for name in TABLES:
        if name in existing:
            op.drop_table(name)

    op.create_table(
        "hq_users",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("provinces", JSON_VALUE, nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("session_generation", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", sa.Text(), nullable=False),
        sa.Column("disabled_at", sa.Text(), nullable=True),
        sa.Column("last_login_at", sa.Text(), nullable=True),
    )
    op.create_index("ix_hq_users_name", "hq_users", ["name"], unique=True)

    op.create_table(
        "hq_login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("ip", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
    )
    op.create_index("ix_hq_login_attempts_name_at", "hq_login_attempts", ["name", "at"])
    op.create_index("ix_hq_login_attempts_ip_at", "hq_login_attempts", ["ip", "at"])

    op.create_table(
        "hq_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("actor_kind", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("device_id", sa.Text(), nullable=True),
        sa.Column("ip", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("doc_type", sa.Text(), nullable=True),
        sa.Column("doc_id", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("detail", JSON_VALUE, nullable=True),
    )
    op.create_index("ix_hq_audit_at", "hq_audit", ["at"])

    if bind.dialect.name == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION hq_audit_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'hq_audit is append-only'; END; $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER hq_audit_append_only BEFORE UPDATE OR DELETE ON hq_audit
                      FOR EACH ROW EXECUTE FUNCTION hq_audit_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER hq_audit_no_{event.lower()} BEFORE {event} ON hq_audit
                           BEGIN SELECT RAISE(ABORT, 'hq_audit is append-only'); END""")


def downgrade():
    bind = op.get_bind()
    op.drop_index("ix_hq_audit_at", table_name="hq_audit")
    op.drop_table("hq_audit")
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hq_audit_append_only()")
    op.drop_index("ix_hq_login_attempts_ip_at", table_name="hq_login_attempts")
    op.drop_index("ix_hq_login_attempts_name_at", table_name="hq_login_attempts")
    op.drop_table("hq_login_attempts")
    op.drop_index("ix_hq_users_name", table_name="hq_users")
    op.drop_table("hq_users")
