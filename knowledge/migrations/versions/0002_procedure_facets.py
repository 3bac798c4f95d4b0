"""Procedure facts a phone answer needs: special cases apart, online filing as data, staff-only notes;
the agencies an office receives dossiers for.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("procedure") as table:
        table.add_column(sa.Column("special_cases", sa.JSON(), nullable=False, server_default="[]"))
        table.add_column(sa.Column("online_level", sa.String(), nullable=False, server_default=""))
        table.add_column(sa.Column("notes", sa.String(), nullable=False, server_default=""))
    with op.batch_alter_table("office") as table:
        table.add_column(sa.Column("agencies", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("office") as table:
        table.drop_column("agencies")
    with op.batch_alter_table("procedure") as table:
        for column in ("notes", "online_level", "special_cases"):
            table.drop_column(column)
