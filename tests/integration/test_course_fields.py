"""Course sessions' own fields (issue 16, item 1): `course_id`, `session_number` unique
within a course, and an academic course's `materials`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import START, call, seed_two_academies
from tests.support.clock import ManualClock

MATERIALS = [
    {"title": "Worksheet", "url": "https://example.org/sheets/3.pdf"},
    {"title": "Slides", "url": "http://school.example/slides?lesson=3#start"},
]


def course(session_type: str = "academic_course", **changes: object) -> dict[str, object]:
    return {
        "academy_id": 1,
        "type": session_type,
        "title": "Algebra 3",
        "duration_minutes": 60,
        "teacher_id": 5,
        "student_ids": [10, 11],
        "course_id": 40,
        "session_number": 3,
        **changes,
    }


async def _create(client: TestClient, body: dict) -> tuple[int, dict]:
    return await call(client, "POST", "/v1/sessions", json=body)


def _fields(body: dict) -> list[str]:
    return [d["field"] for d in body["error"]["details"]]


class TestCourseFields:
    async def test_an_academic_course_session_carries_its_course_number_and_materials(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        status, made = await _create(client, course(materials=MATERIALS))
        assert 201 == status, made
        _, read = await call(client, "GET", f"/v1/sessions/{made['id']}")
        assert (40, 3, MATERIALS) == (read["course_id"], read["session_number"], read["materials"])
        assert "lesson_number" not in read

    async def test_an_interactive_course_session_carries_its_course_and_number(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        status, made = await _create(client, course("interactive_course"))
        assert (201, 40, 3) == (status, made["course_id"], made["session_number"])
        assert "materials" not in made
        refused = await _create(client, course("interactive_course", materials=MATERIALS))
        assert (422, ["materials"]) == (refused[0], _fields(refused[1]))

    async def test_a_duplicate_session_number_in_a_course_is_409(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        status, first = await _create(client, course())
        assert 201 == status
        status, body = await _create(client, course(title="Algebra 3 again"))
        assert (409, first["id"], 3, 40) == (
            status,
            body["error"]["details"]["session_id"],
            body["error"]["details"]["session_number"],
            body["error"]["details"]["course_id"],
        )

    async def test_the_number_is_unique_within_a_course_of_a_type_only(
        self, client: TestClient, database: Database
    ) -> None:
        """Number 3 of course 41, of an interactive course 40, and with no course."""
        await seed_two_academies(database)
        assert 201 == (await _create(client, course()))[0]
        others = [
            course(course_id=41),
            course("interactive_course"),
            course(course_id=None),
            course(course_id=None),
        ]
        assert [201, 201, 201, 201] == [(await _create(client, body))[0] for body in others]

    async def test_a_cancelled_session_gives_its_number_back(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        await seed_two_academies(database)
        _, first = await _create(client, course())
        cancelled = await call(
            client, "POST", f"/v1/sessions/{first['id']}/cancel", json={"reason": "ill"}
        )
        again = await _create(client, course())
        assert (200, 201, 3) == (cancelled[0], again[0], cancelled[1]["session_number"])

    async def test_a_repeated_request_with_its_external_id_is_not_a_duplicate(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        body = course(external_id="algebra-3")
        first, repeat = await _create(client, body), await _create(client, body)
        assert (201, 200, first[1]["id"]) == (first[0], repeat[0], repeat[1]["id"])

    @pytest.mark.parametrize(
        ("materials", "named"),
        [
            ([{"title": "x", "url": "ftp://example.org/a"}], ["materials.0.url"]),
            ([{"title": "x", "url": "javascript:alert(1)"}], ["materials.0.url"]),
            ([{"title": "x", "url": "https://"}], ["materials.0.url"]),
            ([{"title": "x", "url": "not a url"}], ["materials.0.url"]),
            ([{"title": "", "url": "https://example.org"}], ["materials.0.title"]),
            ([{"url": "https://example.org"}], ["materials.0.title"]),
            ({"title": "x", "url": "https://example.org"}, ["materials"]),
            (["https://example.org"], ["materials.0"]),
        ],
        ids=[
            "ftp",
            "javascript",
            "no-host",
            "words",
            "empty-title",
            "no-title",
            "object",
            "string-item",
        ],
    )
    async def test_bad_materials_are_named(
        self, client: TestClient, database: Database, materials: object, named: list[str]
    ) -> None:
        await seed_two_academies(database)
        status, body = await _create(client, course(materials=materials))
        assert (422, named) == (status, _fields(body))

    @pytest.mark.parametrize(
        ("changes", "named"),
        [
            ({"session_number": 0}, ["session_number"]),
            ({"session_number": "3"}, ["session_number"]),
            ({"course_id": 0}, ["course_id"]),
            ({"lesson_number": 3}, ["lesson_number"]),
        ],
        ids=["number-zero", "number-text", "course-zero", "old-name"],
    )
    async def test_bad_course_fields_are_named(
        self, client: TestClient, database: Database, changes: dict, named: list[str]
    ) -> None:
        await seed_two_academies(database)
        status, body = await _create(client, course(**changes))
        assert (422, named) == (status, _fields(body))

    async def test_a_make_up_repeats_its_lesson_number(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A make-up shows the number of the lesson it makes up, and takes none of the
        course's numbers (the original keeps its own)."""
        await seed_two_academies(database)
        _, first = await _create(client, course())
        await call(
            client,
            "POST",
            f"/v1/sessions/{first['id']}/schedule",
            json={"scheduled_at": (START + timedelta(days=1)).isoformat()},
        )
        await call(client, "POST", f"/v1/sessions/{first['id']}/cancel", json={"reason": "ill"})
        status, makeup = await call(client, "POST", f"/v1/sessions/{first['id']}/makeup", json={})
        again = await _create(client, course())
        assert (201, 40, 3, True) == (
            status,
            makeup["course_id"],
            makeup["session_number"],
            makeup["is_makeup_session"],
        )
        assert 201 == again[0]
