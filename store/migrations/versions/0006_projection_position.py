"""the projector's tracking position over the inbox (issue 11)

Revision ID: 0006
Revises: 0005

Everything stored before this revision was derived inside its request, so the
position starts at the newest inbox row: nothing is projected twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projection_positions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_projection_positions"),
    )
    op.execute(
        "INSERT INTO projection_positions (name, position) "
        "SELECT 'presence', COALESCE(MAX(id), 0) FROM webhook_events"
    )


def downgrade() -> None:
    op.drop_table("projection_positions")
