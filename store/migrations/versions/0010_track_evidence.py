"""track evidence: the track sid and source of track_published / track_unpublished (issue 15)

Revision ID: 0010
Revises: 0009

Track events become evidence rows like joins and leaves (kinds `track_published`
and `track_unpublished`), so they are attached, replayed and rebuilt by the same
code; these two columns hold what only they carry. NULL on every other row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.add_column(sa.Column("track_sid", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("track_source", sa.String(length=24), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence") as batch:
        batch.drop_column("track_source")
        batch.drop_column("track_sid")
