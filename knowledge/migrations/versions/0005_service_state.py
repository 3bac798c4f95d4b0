"""The service's own state: channel OAuth tokens (Zalo OA), tickets for staff and the web outbox, state
shared by several workers (values, token buckets, leases).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channeltoken",
        sa.Column("channel", sa.String(length=20), primary_key=True),
        sa.Column("access_token", sa.String(), nullable=False),
        sa.Column("refresh_token", sa.String(), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_table(
        "ticket",
        sa.Column("code", sa.String(length=12), primary_key=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user_ref", sa.String(), nullable=False),
        sa.Column("user_hash", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("question", sa.String(), nullable=False),
        sa.Column("office_slug", sa.String(), nullable=True),
        sa.Column("considered", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("answer", sa.String(), nullable=False),
        sa.Column("answered_by", sa.String(length=64), nullable=False),
        sa.Column("answered_at", WHEN, nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("procedure_code", sa.String(), nullable=True),
        sa.Column("delivery", sa.String(length=12), nullable=False),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", WHEN, nullable=True),
        sa.Column("delivery_error", sa.String(), nullable=False),
        sa.Column("staff_message_id", sa.Integer(), nullable=True),
        sa.Column("purged_at", WHEN, nullable=True),
    )
    op.create_index("ix_ticket_status", "ticket", ["status"])
    op.create_index("ix_ticket_created_at", "ticket", ["created_at"])
    op.create_index("ix_ticket_staff_message_id", "ticket", ["staff_message_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_key", sa.String(length=80), nullable=False),
        sa.Column("html", sa.String(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("delivered_at", WHEN, nullable=True),
    )
    op.create_index("ix_outbox_session_key", "outbox", ["session_key"])
    op.create_table(
        "sharedstate",
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
    )
    op.create_index("ix_sharedstate_expires_at", "sharedstate", ["expires_at"])
    op.create_table(
        "ratebucket",
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
    )
    op.create_index("ix_ratebucket_expires_at", "ratebucket", ["expires_at"])
    op.create_table(
        "lease",
        sa.Column("name", sa.String(length=40), primary_key=True),
        sa.Column("holder", sa.String(length=80), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
    )


def downgrade() -> None:
    for table in ("lease", "ratebucket", "sharedstate", "outbox", "ticket", "channeltoken"):
        op.drop_table(table)
