"""Questions as citizens typed them, beside the normalised text (the staff inbox shows them as typed).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("querylog", "feedback"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("asked", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    for table in ("querylog", "feedback"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("asked")
