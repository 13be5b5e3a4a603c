"""`GET /v1/students/{id}/progress` (issue 16, item 4): after a simulated term of weekly
Quran and academic lessons, the answer equals the sums computed here from the reports
the test wrote; the rights are attendance's; a fixed number of statements."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from rules.codes import SessionType
from rules.lifecycle import Status
from store.database import Database
from tests.integration.api_world import NOW, call, make_session, seed_two_academies
from tests.integration.test_read_queries import own_queries, statements_of
from tests.support.clock import ManualClock
from tests.support.statements import counted

TERM = datetime(2025, 9, 1, 16, 0, tzinfo=UTC)  # a Monday
YEAR = datetime(2024, 11, 4, 16, 0, tzinfo=UTC)  # 52 Mondays before NOW
WEEKS = 12
PATH = "/v1/students/10/progress"
# The term only: the seeded world's own lessons begin at NOW.
TERM_ONLY = f"{PATH}?to={NOW.strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _wire(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


async def _lessons(
    database: Database, session_type: SessionType, students: tuple[int, ...], offset: timedelta
) -> list[int]:
    async with database.uow() as uow:
        made = [
            await make_session(
                uow,
                starts_at=TERM + timedelta(weeks=week) + offset,
                status=Status.COMPLETED,
                session_type=session_type,
                students=students,
            )
            for week in range(WEEKS)
        ]
        await uow.commit()
    return [s.id for s in made]


async def _report(client: TestClient, session_id: int, **fields: Any) -> None:
    status, body = await call(
        client,
        "PUT",
        f"/v1/sessions/{session_id}/reports/10",
        json={"attendance_status": "present", **fields},
    )
    assert 200 == status, body


class TestATermAddsUp:
    async def test_progress_equals_the_sums_of_the_reports_written(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        await seed_two_academies(database)
        quran = await _lessons(database, SessionType.QURAN_INDIVIDUAL, (10,), timedelta())
        academic = await _lessons(
            database, SessionType.ACADEMIC_COURSE, (10, 11), timedelta(days=2)
        )
        draw = random.Random(16)
        papers, qualities = [], []
        for session_id in quran[:-1]:  # the last lesson has no report
            paper, quality = draw.randrange(0, 9) / 4, draw.randrange(0, 11)
            papers.append(paper)
            qualities.append(quality)
            await _report(
                client, session_id, papers_memorized_today=paper, recitation_quality=quality
            )
        grades, quizzes, homework = [], [], []
        for session_id in academic:
            grade = draw.randrange(0, 21) / 2
            grades.append(grade)
            fields: dict[str, Any] = {"session_grade": grade}
            if draw.random() < 0.6:
                fields["quiz_score"] = quiz = draw.randrange(0, 11)
                quizzes.append(quiz)
            if draw.random() < 0.7:
                submitted = draw.random() < 0.7
                marked = submitted and draw.random() < 0.8
                fields["homework"] = work = {
                    "description": "exercises",
                    "submitted_at": "2025-11-02T10:00:00Z" if submitted else None,
                    "grade": draw.randrange(0, 11) if marked else None,
                }
                homework.append(work)
            await _report(client, session_id, **fields)
        # The last Quran lesson missed, and a make-up of it set for the next day.
        await _report(client, quran[-1], attendance_status="absent")
        clock.set(TERM + timedelta(weeks=WEEKS))
        status, makeup = await call(
            client,
            "POST",
            f"/v1/sessions/{quran[-1]}/makeup",
            json={"scheduled_at": _wire(TERM + timedelta(weeks=WEEKS, days=1))},
        )
        assert 201 == status, makeup
        window = f"from={_wire(TERM)}&to={_wire(NOW)}"
        status, body = await call(client, "GET", f"{PATH}?{window}")
        assert 200 == status, body
        graded = [w["grade"] for w in homework if w["grade"] is not None]
        assert {
            "sessions": WEEKS + 1,
            "papers_memorized": round(sum(papers), 2),
            "average_recitation_quality": _mean(qualities),
            "makeups": 1,
        } == {k: v for k, v in body["quran"].items() if k != "attendance"}
        assert {
            "sessions": WEEKS,
            "average_grade": _mean(grades),
            "homework": {
                "given": len(homework),
                "submitted": len([w for w in homework if w["submitted_at"]]),
                "graded": len(graded),
                "average_grade": _mean(graded),
            },
            "quiz_average": _mean(quizzes),
        } == {k: v for k, v in body["academic"].items() if k != "attendance"}
        quran_row = body["quran"]["attendance"]
        assert (WEEKS + 1, WEEKS - 1, 1, 1) == (
            quran_row["sessions"],
            quran_row["present"],
            quran_row["absent"],
            quran_row["pending"],
        )
        assert WEEKS == body["academic"]["attendance"]["present"]
        assert 0 == body["interactive"]["sessions"]

    async def test_each_kinds_row_is_the_attendance_summary_of_its_lessons(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        quran = await _lessons(database, SessionType.QURAN_INDIVIDUAL, (10,), timedelta())
        await _report(client, quran[0], attendance_status="late")
        status, body = await call(client, "GET", f"{TERM_ONLY}&type=quran_individual")
        _, summary = await call(
            client,
            "GET",
            f"/v1/attendance/summary?student_id=10&type=quran_individual&to={_wire(NOW)}",
        )
        assert 200 == status
        assert summary["data"][0] == body["quran"]["attendance"]
        assert (None, None) == (body["academic"], body["interactive"])

    async def test_the_window_is_from_inclusive_to_exclusive(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        await _lessons(database, SessionType.QURAN_INDIVIDUAL, (10,), timedelta())
        third, sixth = TERM + timedelta(weeks=2), TERM + timedelta(weeks=5)
        _, body = await call(client, "GET", f"{PATH}?from={_wire(third)}&to={_wire(sixth)}")
        assert 3 == body["quran"]["sessions"]


class TestRefusalsAndRights:
    async def test_a_window_ending_before_it_starts_is_422(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        status, body = await call(
            client, "GET", f"{PATH}?from=2025-10-01T00:00:00Z&to=2025-09-01T00:00:00Z"
        )
        assert (422, "validation_failed") == (status, body["error"]["code"])

    async def test_an_unknown_type_and_a_bad_time_are_named(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        status, body = await call(client, "GET", f"{PATH}?type=quran&from=yesterday")
        assert (422, {"type", "from"}) == (
            status,
            {d["field"] for d in body["error"]["details"]},
        )

    async def test_rights_are_attendances(self, client: TestClient, database: Database) -> None:
        """Columns: service, admin, its teacher, another teacher, itself, another
        student, another academy's admin; and a teacher is no student (404)."""
        await seed_two_academies(database)
        await _lessons(database, SessionType.QURAN_INDIVIDUAL, (10,), timedelta())
        roles = ("service", "admin_a", "teacher_own", "teacher_other", "student_on")
        statuses = [(await call(client, "GET", PATH, role))[0] for role in roles]
        others = [
            (await call(client, "GET", PATH, "student_off"))[0],
            (await call(client, "GET", PATH, "admin_b"))[0],
            (await call(client, "GET", "/v1/students/5/progress"))[0],
        ]
        assert ([200, 200, 200, 403, 200], [403, 404, 404]) == (statuses, others)

    async def test_a_teacher_sees_only_its_own_lessons(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        await _lessons(database, SessionType.QURAN_INDIVIDUAL, (10,), timedelta())
        async with database.uow() as uow:
            await make_session(
                uow,
                starts_at=TERM + timedelta(days=3),
                status=Status.COMPLETED,
                teacher_id=6,
            )
            await uow.commit()
        own = await call(client, "GET", TERM_ONLY, "teacher_own")
        everyone = await call(client, "GET", TERM_ONLY)
        assert (WEEKS, WEEKS + 1) == (
            own[1]["quran"]["sessions"],
            everyone[1]["quran"]["sessions"],
        )


class TestStatements:
    async def test_a_term_costs_the_statements_of_one_lesson(
        self, client: TestClient, database: Database
    ) -> None:
        """A year of weekly lessons is read with as many statements as one."""
        await seed_two_academies(database)
        async with database.uow() as uow:
            first = await make_session(uow, starts_at=YEAR, status=Status.COMPLETED)
            await uow.commit()
        await _report(client, first.id, papers_memorized_today=1.0)
        path = TERM_ONLY
        one = own_queries(await statements_of(client, database, path))
        async with database.uow() as uow:
            for week in range(1, 52):
                await make_session(
                    uow, starts_at=YEAR + timedelta(weeks=week), status=Status.COMPLETED
                )
            await uow.commit()
        with counted(database) as statements:
            status, body = await call(client, "GET", path)
        assert (200, 52) == (status, body["quran"]["sessions"])
        assert len(one) == len(own_queries(statements))
        # The report's seven per chunk (track evidence among them), and the rest.
        assert len(one) <= 11
