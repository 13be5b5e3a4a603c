"""Each session type's own report fields (issue 16, item 2): they round-trip, and every
refusal names its field, in the single and the bulk report alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from rules.codes import SessionType
from store.database import Database
from tests.integration.api_world import START, call, make_session, seed_two_academies
from tests.integration.attendance_world import report

HOMEWORK = {"description": "p. 12, 1-9", "submitted_at": "2025-12-03T18:00:00Z", "grade": 8.5}


async def _session(database: Database, session_type: SessionType) -> int:
    await seed_two_academies(database)
    group = not session_type.value.endswith("_individual")
    async with database.uow() as uow:
        session = await make_session(
            uow,
            starts_at=START + timedelta(days=1),
            session_type=session_type,
            students=(10, 11) if group else (10,),
        )
        await uow.commit()
    return session.id


def _fields(body: dict) -> list[str]:
    return [d["field"] for d in body["error"]["details"]]


async def _put(client: TestClient, session_id: int, **fields: object) -> tuple[int, dict]:
    return await call(client, "PUT", f"/v1/sessions/{session_id}/reports/10", json=report(**fields))


async def _bulk(client: TestClient, session_id: int, *entries: dict) -> tuple[int, dict]:
    return await call(
        client,
        "PUT",
        f"/v1/sessions/{session_id}/reports",
        json={"reason": "end of lesson", "reports": list(entries)},
    )


class TestRoundTrip:
    async def test_an_academic_course_report_keeps_homework_outcomes_and_quiz(
        self, client: TestClient, database: Database
    ) -> None:
        session_id = await _session(database, SessionType.ACADEMIC_COURSE)
        status, body = await _put(
            client,
            session_id,
            session_grade=7.5,
            learning_outcomes=["fractions", "decimals"],
            homework=HOMEWORK,
            quiz_score=9,
        )
        assert 200 == status, body
        assert (7.5, ["fractions", "decimals"], HOMEWORK, 9.0) == (
            body["session_grade"],
            body["learning_outcomes"],
            body["homework"],
            body["quiz_score"],
        )
        assert (None, None, None) == (
            body["video_completion_percent"],
            body["exercises_completed"],
            body["papers_memorized_today"],
        )

    async def test_homework_may_be_set_and_not_yet_handed_in(
        self, client: TestClient, database: Database
    ) -> None:
        session_id = await _session(database, SessionType.ACADEMIC_INDIVIDUAL)
        status, body = await _put(client, session_id, homework={"description": "read ch. 2"})
        assert (200, {"description": "read ch. 2", "submitted_at": None, "grade": None}) == (
            status,
            body["homework"],
        )

    async def test_an_interactive_report_keeps_video_and_exercises(
        self, client: TestClient, database: Database
    ) -> None:
        session_id = await _session(database, SessionType.INTERACTIVE_COURSE)
        status, body = await _bulk(
            client,
            session_id,
            {
                "student_id": 10,
                "video_completion_percent": 87.5,
                "exercises_completed": 4,
                "exercises_total": 5,
            },
            {
                "student_id": 11,
                "video_completion_percent": 100,
                "exercises_completed": 5,
                "exercises_total": 5,
            },
        )
        assert 200 == status, body
        assert [(87.5, 4, 5), (100.0, 5, 5)] == [
            (r["video_completion_percent"], r["exercises_completed"], r["exercises_total"])
            for r in body["data"]
        ]


class TestRefusals:
    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"quiz_score": 10.5}, ["quiz_score"]),
            ({"quiz_score": -1}, ["quiz_score"]),
            ({"homework": {"grade": 11}}, ["homework.grade"]),
            ({"session_grade": -0.5}, ["session_grade"]),
        ],
        ids=["quiz-over", "quiz-under", "homework-grade", "grade-under"],
    )
    async def test_out_of_range(
        self, client: TestClient, database: Database, fields: dict, named: list[str]
    ) -> None:
        session_id = await _session(database, SessionType.ACADEMIC_COURSE)
        status, body = await _put(client, session_id, **fields)
        assert (422, named) == (status, _fields(body))

    async def test_video_completion_over_100_is_refused(
        self, client: TestClient, database: Database
    ) -> None:
        session_id = await _session(database, SessionType.INTERACTIVE_COURSE)
        status, body = await _put(client, session_id, video_completion_percent=100.5)
        assert (422, ["video_completion_percent"]) == (status, _fields(body))

    @pytest.mark.parametrize(
        ("fields", "named"),
        [
            ({"quiz_score": "9"}, ["quiz_score"]),
            ({"homework": {"submitted_at": 1700000000}}, ["homework.submitted_at"]),
            ({"homework": "do the sums"}, ["homework"]),
            ({"homework": {"pages": 3}}, ["homework.pages"]),
        ],
        ids=["quiz-text", "homework-time-number", "homework-text", "homework-unknown"],
    )
    async def test_wrong_type(
        self, client: TestClient, database: Database, fields: dict, named: list[str]
    ) -> None:
        session_id = await _session(database, SessionType.ACADEMIC_COURSE)
        status, body = await _put(client, session_id, **fields)
        assert (422, named) == (status, _fields(body))

    @pytest.mark.parametrize(
        ("outcomes", "named"),
        [
            ("fractions", ["learning_outcomes"]),
            (["fractions", 3], ["learning_outcomes.1"]),
            ([["nested"]], ["learning_outcomes.0"]),
        ],
        ids=["string", "number-item", "nested-list"],
    )
    async def test_learning_outcomes_must_be_a_list_of_strings(
        self, client: TestClient, database: Database, outcomes: object, named: list[str]
    ) -> None:
        session_id = await _session(database, SessionType.ACADEMIC_INDIVIDUAL)
        status, body = await _put(client, session_id, learning_outcomes=outcomes)
        assert (422, named) == (status, _fields(body))

    async def test_exercises_completed_over_their_total_is_refused(
        self, client: TestClient, database: Database
    ) -> None:
        session_id = await _session(database, SessionType.INTERACTIVE_COURSE)
        status, body = await _put(client, session_id, exercises_completed=6, exercises_total=5)
        assert (422, ["exercises_completed"]) == (status, _fields(body))
        status, body = await _put(client, session_id, exercises_completed=5, exercises_total=5)
        assert 200 == status, body

    async def test_another_types_fields_are_named(
        self, client: TestClient, database: Database
    ) -> None:
        """Quiz and homework are an academic course's; an interactive course's video
        and exercises are not an academic individual session's."""
        session_id = await _session(database, SessionType.ACADEMIC_INDIVIDUAL)
        status, body = await _put(
            client, session_id, quiz_score=5, video_completion_percent=50, homework=HOMEWORK
        )
        assert (422, ["quiz_score", "video_completion_percent"]) == (status, _fields(body))

    async def test_every_bad_field_of_every_bulk_entry_is_named(
        self, client: TestClient, database: Database
    ) -> None:
        session_id = await _session(database, SessionType.INTERACTIVE_COURSE)
        status, body = await _bulk(
            client,
            session_id,
            {
                "student_id": 10,
                "exercises_completed": 3,
                "exercises_total": 2,
                "video_completion_percent": 101,
            },
            {"student_id": 11, "learning_outcomes": "one", "quiz_score": 4},
        )
        assert 422 == status
        assert {
            "reports[0].exercises_completed",
            "reports[0].video_completion_percent",
            "reports[1].learning_outcomes",
            "reports[1].quiz_score",
        } == set(_fields(body))
