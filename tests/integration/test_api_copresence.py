"""Co-presence with the teacher (CONTRACT 4.2a) in the attendance document, over HTTP."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import call, presence, seed_two_academies
from tests.integration.attendance_world import CIRCLE, S, finish
from tests.support.clock import ManualClock


def figures(student: dict) -> tuple[int, int]:
    return student["attended_seconds"], student["copresent_seconds"]


class TestCopresence:
    async def test_a_student_who_waited_alone_is_co_present_for_nothing(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """In an individual lesson the teacher never joined: attended 3600 s, co-present 0 s."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 10, S, S + timedelta(minutes=60))
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))

        _, body = await call(client, "GET", f"/v1/sessions/{ids.ready}/attendance")

        assert (3600, 0) == figures(body["students"][0])

    async def test_a_student_who_overlapped_the_teacher_for_half_the_lesson(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Teacher 0-30 min, student 10-50 min of 60: attended 2400 s, co-present 1200 s."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 5, S, S + timedelta(minutes=30))
        await presence(
            database, ids.ready, 10, S + timedelta(minutes=10), S + timedelta(minutes=50)
        )
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))

        _, body = await call(client, "GET", f"/v1/sessions/{ids.ready}/attendance")

        assert (2400, 1200) == figures(body["students"][0])

    async def test_a_running_lesson_counts_co_presence_up_to_now(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Both still in at 25 min, the student since 10 min: co-present 900 s so far."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 5, S, None)
        await presence(database, ids.ready, 10, S + timedelta(minutes=10), None)
        clock.set(S + timedelta(minutes=25))

        _, body = await call(client, "GET", f"/v1/sessions/{ids.ready}/attendance")

        assert (900, 900) == figures(body["students"][0])

    async def test_every_student_of_a_circle_has_its_own_co_presence(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Teacher 0-40 min; students 0-60, 30-60 and absent: 2400, 600 and 0 s together."""
        ids = await seed_two_academies(database)
        await presence(database, ids.circle, 5, CIRCLE, CIRCLE + timedelta(minutes=40))
        await presence(database, ids.circle, 10, CIRCLE, CIRCLE + timedelta(minutes=60))
        await presence(
            database,
            ids.circle,
            11,
            CIRCLE + timedelta(minutes=30),
            CIRCLE + timedelta(minutes=60),
        )
        await finish(client, clock, ids.circle, CIRCLE + timedelta(minutes=70))

        _, body = await call(client, "GET", f"/v1/sessions/{ids.circle}/attendance")

        assert {10: 2400, 11: 600, 12: 0} == {
            s["user_id"]: s["copresent_seconds"] for s in body["students"]
        }

    async def test_a_report_row_carries_the_co_presence_of_its_verdict(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A teacher report's answer shows the student's co-presence beside the verdict."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 5, S, S + timedelta(minutes=30))
        await presence(database, ids.ready, 10, S, S + timedelta(minutes=60))
        await finish(client, clock, ids.ready, S + timedelta(minutes=70))

        status, body = await call(
            client,
            "PUT",
            f"/v1/sessions/{ids.ready}/reports/10",
            role="teacher_own",
            json={"attendance_status": "present", "reason": "the teacher was in another room"},
        )

        assert (200, 1800) == (status, body["verdict"]["copresent_seconds"])
