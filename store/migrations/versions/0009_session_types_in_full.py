"""the session types in full (issue 16): list outcomes, session numbers, course keys

Revision ID: 0009
Revises: 0008

- A report's `learning_outcomes` becomes a list of strings: an old string becomes a
  one-item list (an empty one an empty list).
- A course session's `lesson_number` becomes its `session_number`.
- `sessions.course_id` and `sessions.session_number` hold a course session's place in
  its course (copied from its fields; NULL on make-ups, which repeat their lesson), so
  a unique index keeps one session per number of a course.

Downgrading turns them back: a list into its items joined by newlines.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BATCH = 1000


def _rewrite(table: str, key: tuple[str, ...], column: str, marker: str, change: Any) -> None:
    """Apply `change` (a dict -> dict or None for unchanged) to the JSON `column` of
    every row whose text mentions `marker`, a batch at a time."""
    bind = op.get_bind()
    rows = sa.table(table, *(sa.column(k) for k in key), sa.column(column, sa.JSON))
    found = bind.execute(
        sa.select(*(rows.c[k] for k in key), rows.c[column]).where(
            sa.cast(rows.c[column], sa.Text).like(f'%"{marker}"%')
        )
    ).all()
    for start in range(0, len(found), _BATCH):
        for row in found[start : start + _BATCH]:
            value = row[-1]
            if isinstance(value, str):  # a driver that hands JSON back as text
                value = json.loads(value)
            changed = change(dict(value or {}))
            if changed is None:
                continue
            condition = sa.and_(*(rows.c[k] == row[i] for i, k in enumerate(key)))
            bind.execute(sa.update(rows).where(condition).values({column: changed}))


def _outcomes_to_list(fields: dict[str, Any]) -> dict[str, Any] | None:
    old = fields.get("learning_outcomes")
    if not isinstance(old, str):
        return None
    return {**fields, "learning_outcomes": [old] if old else []}


def _outcomes_to_text(fields: dict[str, Any]) -> dict[str, Any] | None:
    old = fields.get("learning_outcomes")
    if not isinstance(old, list):
        return None
    return {**fields, "learning_outcomes": "\n".join(str(item) for item in old)}


def _rename(old: str, new: str) -> Any:
    def change(extra: dict[str, Any]) -> dict[str, Any] | None:
        if old not in extra:
            return None
        value = extra.pop(old)
        extra.setdefault(new, value)
        return extra

    return change


def upgrade() -> None:
    _rewrite(
        "student_reports",
        ("session_id", "student_id"),
        "fields",
        "learning_outcomes",
        _outcomes_to_list,
    )
    _rewrite(
        "sessions", ("id",), "extra", "lesson_number", _rename("lesson_number", "session_number")
    )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("course_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("session_number", sa.Integer(), nullable=True))
        batch.create_index(
            "ix_sessions_academy_id_type_course_id_session_number",
            ["academy_id", "type", "course_id", "session_number"],
            unique=True,
        )
    # Old sessions have no course, so their numbers cannot collide: keep them anyway.
    _copy_numbers()


def _copy_numbers() -> None:
    bind = op.get_bind()
    sessions = sa.table(
        "sessions",
        sa.column("id"),
        sa.column("extra", sa.JSON),
        sa.column("is_makeup_session", sa.Boolean),
        sa.column("session_number", sa.Integer),
    )
    found = bind.execute(
        sa.select(sessions.c.id, sessions.c.extra).where(
            sa.cast(sessions.c.extra, sa.Text).like('%"session_number"%'),
            sa.not_(sessions.c.is_makeup_session),
        )
    ).all()
    for session_id, extra in found:
        if isinstance(extra, str):
            extra = json.loads(extra)
        number = (extra or {}).get("session_number")
        if isinstance(number, int):
            bind.execute(
                sa.update(sessions).where(sessions.c.id == session_id).values(session_number=number)
            )


def downgrade() -> None:
    op.drop_index("ix_sessions_academy_id_type_course_id_session_number", table_name="sessions")
    if op.get_bind().dialect.name == "sqlite":
        # Not batch mode: rebuilding `sessions` would drop it, and with it (ON DELETE
        # CASCADE) every roster, interval and report. SQLite 3.35+ drops a column itself.
        op.execute("ALTER TABLE sessions DROP COLUMN session_number")
        op.execute("ALTER TABLE sessions DROP COLUMN course_id")
    else:
        op.drop_column("sessions", "session_number")
        op.drop_column("sessions", "course_id")
    _rewrite(
        "sessions", ("id",), "extra", "session_number", _rename("session_number", "lesson_number")
    )
    _rewrite(
        "student_reports",
        ("session_id", "student_id"),
        "fields",
        "learning_outcomes",
        _outcomes_to_text,
    )
