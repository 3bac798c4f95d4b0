"""When a worker claimed posting a new ticket to the staff group: a claim left by a stopped worker is released
by its age, so the question still reaches staff.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("staff_post_claimed_at", sa.DateTime(timezone=True), nullable=True))
    # 0 marked a claim before this revision: a post that never happened (a worker stopped mid-post) is posted.
    op.execute("UPDATE ticket SET staff_message_id = NULL WHERE staff_message_id = 0")


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("staff_post_claimed_at")
