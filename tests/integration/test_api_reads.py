"""Reading back users, academies and a student's subscriptions (CONTRACT 5).

Who may read what is the role x academy matrix (`test_api_access`); here the
answers themselves and the refusals it does not spell out.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient

from rules.attendance import AttendanceStatus
from rules.charging import ChargeDecision, ChargeStatus
from store.database import Database
from tests.integration.api_world import NOW, call, seed_two_academies

ACADEMY = {"name": "Dar", "timezone": "Europe/Istanbul", "locale": "en"}
USER = {"academy_id": 1, "role": "student", "name": "Maryam", "email": "m@example.org"}


class TestGetAcademy:
    async def test_answers_the_academy_as_its_put_does(
        self, client: TestClient, database: Database
    ) -> None:
        """GET gives the very body PUT answered: name, time zone, locale, no rules."""
        await seed_two_academies(database)
        _, put = await call(client, "PUT", "/v1/academies/3", json=ACADEMY)
        status, got = await call(client, "GET", "/v1/academies/3")
        assert (200, put) == (status, got)
        assert "rules" not in got

    async def test_a_teacher_reads_its_own_academy(
        self, client: TestClient, database: Database
    ) -> None:
        """Any user reads its academy, for its time zone and locale."""
        await seed_two_academies(database)
        status, got = await call(client, "GET", "/v1/academies/1", role="teacher_own")
        assert (200, "Noor", "Africa/Cairo", "ar") == (
            status,
            got["name"],
            got["timezone"],
            got["locale"],
        )

    async def test_an_unknown_academy_is_404(self, client: TestClient, database: Database) -> None:
        """No academy 9: 404 in the error shape."""
        await seed_two_academies(database)
        status, body = await call(client, "GET", "/v1/academies/9")
        assert (404, "not_found") == (status, body["error"]["code"])


class TestGetUser:
    async def test_answers_the_user_as_its_put_does(
        self, client: TestClient, database: Database
    ) -> None:
        """GET gives the very body PUT answered."""
        await seed_two_academies(database)
        _, put = await call(client, "PUT", "/v1/users/30", json=USER)
        status, got = await call(client, "GET", "/v1/users/30")
        assert (200, put) == (status, got)

    async def test_a_student_reads_itself(self, client: TestClient, database: Database) -> None:
        """A student's token reads the student's own record."""
        await seed_two_academies(database)
        status, got = await call(client, "GET", "/v1/users/10", role="student_on")
        assert (200, 10, "student", "Student 10") == (
            status,
            got["id"],
            got["role"],
            got["name"],
        )

    async def test_a_teacher_reads_every_student_it_teaches_and_no_other(
        self, client: TestClient, database: Database
    ) -> None:
        """Teacher 5 teaches 10, 11 and 12 (the circle), not 13, and is not admin 1."""
        await seed_two_academies(database)
        statuses = {
            user_id: (await call(client, "GET", f"/v1/users/{user_id}", role="teacher_own"))[0]
            for user_id in (10, 11, 12, 13, 1, 6)
        }
        assert {10: 200, 11: 200, 12: 200, 13: 403, 1: 403, 6: 403} == statuses

    async def test_an_unknown_user_is_404(self, client: TestClient, database: Database) -> None:
        """No user 99: 404, also for an admin of the academy."""
        await seed_two_academies(database)
        status, body = await call(client, "GET", "/v1/users/99", role="admin_a")
        assert (404, "not_found") == (status, body["error"]["code"])


class TestGetUserSubscriptions:
    async def test_lists_each_subscription_as_its_own_get_does(
        self, client: TestClient, database: Database
    ) -> None:
        """Every subscription of the student, the earliest first, each with its usage,
        used and remaining sessions exactly as GET /v1/subscriptions/{id}; one page."""
        ids = await seed_two_academies(database)
        later = {
            "student_id": 10,
            "academy_id": 1,
            "kind": "academic",
            "total_sessions": 4,
            "starts_at": "2025-12-15T00:00:00Z",
            "ends_at": "2026-03-01T00:00:00Z",
        }
        assert 200 == (await call(client, "PUT", "/v1/subscriptions/300", json=later))[0]
        async with database.uow() as uow:
            present = AttendanceStatus.PRESENT
            for session_id in (ids.ready, ids.scheduled):
                await uow.charges.charge(
                    session_id,
                    ChargeDecision(10, ChargeStatus.CHARGED, "present", 110, present),
                    now=NOW + timedelta(minutes=session_id),
                )
            await uow.commit()
        status, got = await call(client, "GET", "/v1/users/10/subscriptions", role="student_on")
        singles = [(await call(client, "GET", f"/v1/subscriptions/{i}"))[1] for i in (110, 300)]
        assert (200, {"data": singles, "next_cursor": None}) == (status, got)
        assert [(2, 6), (0, 4)] == [
            (sub["used_sessions"], sub["remaining_sessions"]) for sub in got["data"]
        ]

    async def test_a_teacher_has_an_empty_list(
        self, client: TestClient, database: Database
    ) -> None:
        """A teacher has no subscriptions: 200 with no rows, not an error."""
        await seed_two_academies(database)
        status, got = await call(client, "GET", "/v1/users/5/subscriptions", role="teacher_own")
        assert (200, {"data": [], "next_cursor": None}) == (status, got)

    async def test_a_teacher_may_not_read_its_students_billing(
        self, client: TestClient, database: Database
    ) -> None:
        """A teacher reads its student's name but not the student's subscriptions."""
        await seed_two_academies(database)
        status, body = await call(client, "GET", "/v1/users/11/subscriptions", role="teacher_own")
        assert (403, "forbidden") == (status, body["error"]["code"])

    async def test_an_unknown_user_is_404(self, client: TestClient, database: Database) -> None:
        """No user 99: 404 rather than an empty list."""
        await seed_two_academies(database)
        status, body = await call(client, "GET", "/v1/users/99/subscriptions")
        assert (404, "not_found") == (status, body["error"]["code"])
