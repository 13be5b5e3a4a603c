"""the meeting's LiveKit room: its sid and CreateRoom's answer on the session (CONTRACT 5)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("meeting_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("meeting_data", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("meeting_data")
        batch.drop_column("meeting_id")
