"""verdict snapshots: a finished session's answer kept on its written verdicts (issue 12)

Revision ID: 0008
Revises: 0007

Each written verdict row may carry the rest of its user's entry in the attendance
answer (meeting figures, co-presence, the report's override), so a finished
session is read from its verdict rows alone. NULL means "not kept": rows written
before this revision, or whose session's intervals changed since; those sessions
are assessed from their evidence as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verdicts") as batch:
        batch.add_column(sa.Column("snapshot", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("verdicts") as batch:
        batch.drop_column("snapshot")
