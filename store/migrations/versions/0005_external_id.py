"""the platform's own id on a session, unique per academy, and its request's hash (CONTRACT 5)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("external_request_sha256", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_sessions_academy_id_external_id",
        "sessions",
        ["academy_id", "external_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_academy_id_external_id", table_name="sessions")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("external_request_sha256")
        batch.drop_column("external_id")
