"""Migration 0009 carries old data into the session types' new fields (issue 16): a
database made at 0008 with `learning_outcomes` strings and `lesson_number` values
migrates, and they survive as one-item lists and `session_number`s."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from store.database import Database, alembic_config

AT = datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
STAMPS = {"created_at": AT, "updated_at": AT}


def _table(name: str, *columns: str, json_columns: tuple[str, ...] = ()) -> sa.TableClause:
    return sa.table(
        name,
        *(sa.column(c) for c in columns),
        *(sa.column(c, sa.JSON) for c in json_columns),
    )


ACADEMIES = _table(
    "academies",
    "id",
    "name",
    "timezone",
    "locale",
    "created_at",
    "updated_at",
    json_columns=("rules",),
)
USERS = _table("users", "id", "academy_id", "role", "name", "created_at", "updated_at")
SESSIONS = _table(
    "sessions",
    "id",
    "session_code",
    "academy_id",
    "type",
    "status",
    "title",
    "duration_minutes",
    "teacher_id",
    "subscription_counted",
    "is_makeup_session",
    "revision",
    "created_at",
    "updated_at",
    json_columns=("extra",),
)
REPORTS = _table(
    "student_reports",
    "session_id",
    "student_id",
    "created_at",
    "updated_at",
    json_columns=("fields",),
)


def _session(session_id: int, session_type: str, extra: dict[str, Any], **more: Any) -> dict:
    return {
        "id": session_id,
        "session_code": f"ASE-1-{session_id:06d}",
        "academy_id": 1,
        "type": session_type,
        "status": "completed",
        "title": f"Lesson {session_id}",
        "duration_minutes": 60,
        "teacher_id": 5,
        "subscription_counted": False,
        "is_makeup_session": False,
        "revision": 0,
        "extra": extra,
        **STAMPS,
        **more,
    }


def _old_world(connection: Connection) -> None:
    connection.execute(
        sa.insert(ACADEMIES).values(id=1, name="A", timezone="UTC", locale="en", rules={}, **STAMPS)
    )
    connection.execute(
        sa.insert(USERS),
        [
            {"id": 5, "academy_id": 1, "role": "teacher", "name": "T", **STAMPS},
            {"id": 10, "academy_id": 1, "role": "student", "name": "S", **STAMPS},
            {"id": 11, "academy_id": 1, "role": "student", "name": "R", **STAMPS},
        ],
    )
    connection.execute(
        sa.insert(SESSIONS),
        [
            _session(1, "academic_course", {"lesson_number": 3, "lesson_content": "ratios"}),
            _session(2, "interactive_course", {"lesson_number": 7}),
            _session(3, "academic_individual", {"subject": "maths"}),
            _session(4, "academic_course", {"lesson_number": 3}, is_makeup_session=True),
        ],
    )
    connection.execute(
        sa.insert(REPORTS),
        [
            {
                "session_id": 1,
                "student_id": 10,
                "fields": {"session_grade": 8.0, "learning_outcomes": "fractions, decimals"},
                **STAMPS,
            },
            {"session_id": 1, "student_id": 11, "fields": {"learning_outcomes": ""}, **STAMPS},
            {"session_id": 3, "student_id": 10, "fields": {"session_grade": 6.5}, **STAMPS},
        ],
    )


def _migrated(database: Database) -> Any:
    def run(connection: Connection) -> tuple[list[Any], list[Any]]:
        config = alembic_config(str(database.engine.url))
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
        command.upgrade(config, "0008")
        _old_world(connection)
        command.upgrade(config, "head")
        sessions = connection.execute(
            sa.text("SELECT id, extra, course_id, session_number FROM sessions ORDER BY id")
        ).all()
        reports = connection.execute(
            sa.text(
                "SELECT session_id, student_id, fields FROM student_reports"
                " ORDER BY session_id, student_id"
            )
        ).all()
        return [_decoded(r) for r in sessions], [_decoded(r) for r in reports]

    return run


def _decoded(row: Any) -> tuple[Any, ...]:
    return tuple(json.loads(v) if isinstance(v, str) and v[:1] == "{" else v for v in row)


class TestMigration0009:
    async def test_old_outcomes_and_lesson_numbers_survive_in_their_new_form(
        self, database: Database
    ) -> None:
        async with database.engine.begin() as connection:
            sessions, reports = await connection.run_sync(_migrated(database))
        assert [
            (1, {"session_number": 3, "lesson_content": "ratios"}, None, 3),
            (2, {"session_number": 7}, None, 7),
            (3, {"subject": "maths"}, None, None),
            (4, {"session_number": 3}, None, None),
        ] == sessions
        assert [
            (1, 10, {"session_grade": 8.0, "learning_outcomes": ["fractions, decimals"]}),
            (1, 11, {"learning_outcomes": []}),
            (3, 10, {"session_grade": 6.5}),
        ] == reports

    async def test_a_downgrade_gives_the_old_forms_back(self, database: Database) -> None:
        """Back at 0008, a list is its items joined by newlines and `session_number` is
        `lesson_number` again."""

        def run(connection: Connection) -> tuple[list[Any], list[Any]]:
            config = alembic_config(str(database.engine.url))
            config.attributes["connection"] = connection
            _migrated(database)(connection)
            connection.execute(
                sa.update(REPORTS)
                .where(REPORTS.c.session_id == 1, REPORTS.c.student_id == 10)
                .values(fields={"learning_outcomes": ["fractions", "decimals"]})
            )
            command.downgrade(config, "0008")
            sessions = connection.execute(sa.text("SELECT id, extra FROM sessions ORDER BY id"))
            reports = connection.execute(
                sa.text("SELECT fields FROM student_reports ORDER BY session_id, student_id")
            )
            found = [_decoded(r) for r in sessions], [_decoded(r) for r in reports]
            command.upgrade(config, "head")  # the next test's database is this one, emptied
            return found

        async with database.engine.begin() as connection:
            sessions, reports = await connection.run_sync(run)
        assert [
            (1, {"lesson_number": 3, "lesson_content": "ratios"}),
            (2, {"lesson_number": 7}),
            (3, {"subject": "maths"}),
            (4, {"lesson_number": 3}),
        ] == sessions
        assert [
            ({"learning_outcomes": "fractions\ndecimals"},),
            ({"learning_outcomes": ""},),
            ({"session_grade": 6.5},),
        ] == reports
