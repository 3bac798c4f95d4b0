"""The schema of the first release (procedures, aliases, offices, query log, feedback, staff, audit, inbox).

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TEXT = sa.String()
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "procedure",
        sa.Column("code", sa.String(length=40), primary_key=True),
        sa.Column("name", TEXT, nullable=False),
        *(
            sa.Column(key, TEXT, nullable=False)
            for key in ("short_name", "field", "level", "agency", "where_to_file")
        ),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("processing_time", TEXT, nullable=False),
        sa.Column("fees", TEXT, nullable=False),
        sa.Column("online", TEXT, nullable=False),
        sa.Column("legal_basis", sa.JSON(), nullable=False),
        *(sa.Column(key, TEXT, nullable=False) for key in ("result", "source_url", "verified_on", "origin")),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_index("ix_procedure_field", "procedure", ["field"])
    op.create_index("ix_procedure_origin", "procedure", ["origin"])
    op.create_table(
        "alias",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "procedure_code", TEXT, sa.ForeignKey("procedure.code", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("text", TEXT, nullable=False),
        sa.UniqueConstraint("procedure_code", "text"),
    )
    op.create_index("ix_alias_procedure_code", "alias", ["procedure_code"])
    op.create_table(
        "office",
        sa.Column("slug", sa.String(length=40), primary_key=True),
        *(
            sa.Column(key, TEXT, nullable=False)
            for key in ("name", "address", "hours", "phone", "map_url", "province", "commune", "notes")
        ),
    )
    op.create_table(
        "querylog",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", TEXT, nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("top_code", TEXT, nullable=True),
        sa.Column("top_score", sa.Float(), nullable=True),
        sa.Column("facets", TEXT, nullable=False),
        sa.Column("office_slug", TEXT, nullable=True),
    )
    op.create_index("ix_querylog_created_at", "querylog", ["created_at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user_hash", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", TEXT, nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("question", TEXT, nullable=False),
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_table(
        "staffuser",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", TEXT, nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_staffuser_username", "staffuser", ["username"], unique=True)
    op.create_table(
        "auditlog",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target", TEXT, nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_auditlog_created_at", "auditlog", ["created_at"])
    op.create_table(
        "inboxstatus",
        sa.Column("text", sa.String(length=500), primary_key=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )


def downgrade() -> None:
    for table in ("inboxstatus", "auditlog", "staffuser", "feedback", "querylog", "office", "alias", "procedure"):
        op.drop_table(table)
