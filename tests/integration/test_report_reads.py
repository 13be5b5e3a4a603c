"""Reading reports back (issue 16, item 3): as written, with who wrote them and when,
under attendance's rights."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import call, seed_two_academies
from tests.integration.attendance_world import CIRCLE, report
from tests.support.clock import ManualClock

PAPERS = {"papers_memorized_today": 1.5, "recitation_quality": 8}


async def _write_two(client: TestClient, circle: int) -> dict:
    """Student 10's report by the teacher, student 11's by the platform for user 1."""
    status, first = await call(
        client,
        "PUT",
        f"/v1/sessions/{circle}/reports/10",
        "teacher_own",
        report(notes="steady", **PAPERS),
    )
    assert 200 == status, first
    status, _ = await call(
        client,
        "PUT",
        f"/v1/sessions/{circle}/reports",
        json={"reported_by": 1, "reports": [{"student_id": 11, "attendance_status": "absent"}]},
    )
    assert 200 == status
    return first


class TestReadingReportsBack:
    async def test_the_list_answers_each_report_as_written_by_student(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        ids = await seed_two_academies(database)
        clock.set(CIRCLE - timedelta(minutes=5))
        await _write_two(client, ids.circle)
        status, body = await call(client, "GET", f"/v1/sessions/{ids.circle}/reports")
        assert 200 == status
        assert None is body["next_cursor"]
        first, second = body["data"]
        assert (10, 5, "steady", 1.5, 8.0, None) == (
            first["student_id"],
            first["reported_by"],
            first["notes"],
            first["papers_memorized_today"],
            first["recitation_quality"],
            first["attendance_status"],
        )
        assert (11, 1, "absent") == (
            second["student_id"],
            second["reported_by"],
            second["attendance_status"],
        )
        written = (CIRCLE - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert {written} == {r[k] for r in body["data"] for k in ("created_at", "updated_at")}
        assert "verdict" not in first

    async def test_a_replaced_report_keeps_when_it_was_first_written(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        ids = await seed_two_academies(database)
        clock.set(CIRCLE - timedelta(minutes=5))
        await _write_two(client, ids.circle)
        clock.set(CIRCLE + timedelta(minutes=1))
        path = f"/v1/sessions/{ids.circle}/reports/10"
        status, _ = await call(client, "PUT", path, json=report(recitation_quality=9))
        assert 200 == status
        status, body = await call(client, "GET", path)
        assert (200, 9.0, None, None) == (
            status,
            body["recitation_quality"],
            body["papers_memorized_today"],
            body["reported_by"],
        )
        assert ("2025-12-01T13:55:00Z", "2025-12-01T14:01:00Z") == (
            body["created_at"],
            body["updated_at"],
        )

    async def test_one_report_is_the_same_as_its_entry_in_the_list(
        self, client: TestClient, database: Database
    ) -> None:
        ids = await seed_two_academies(database)
        await _write_two(client, ids.circle)
        _, listed = await call(client, "GET", f"/v1/sessions/{ids.circle}/reports")
        status, one = await call(client, "GET", f"/v1/sessions/{ids.circle}/reports/11")
        assert (200, listed["data"][1]) == (status, one)

    async def test_a_student_reads_only_its_own_report(
        self, client: TestClient, database: Database
    ) -> None:
        ids = await seed_two_academies(database)
        await _write_two(client, ids.circle)
        base = f"/v1/sessions/{ids.circle}/reports"
        _, listed = await call(client, "GET", base, "student_on")
        own = await call(client, "GET", f"{base}/10", "student_on")
        other = await call(client, "GET", f"{base}/11", "student_on")
        assert [10] == [r["student_id"] for r in listed["data"]]
        assert (200, 403) == (own[0], other[0])

    async def test_rights_are_attendances(self, client: TestClient, database: Database) -> None:
        ids = await seed_two_academies(database)
        await _write_two(client, ids.circle)
        path = f"/v1/sessions/{ids.circle}/reports/10"
        statuses = [
            (await call(client, "GET", path, role))[0]
            for role in ("admin_a", "teacher_own", "teacher_other", "student_off", "admin_b")
        ]
        assert [200, 200, 403, 403, 404] == statuses

    async def test_no_report_yet_and_off_the_roster_are_404(
        self, client: TestClient, database: Database
    ) -> None:
        ids = await seed_two_academies(database)
        await _write_two(client, ids.circle)
        base = f"/v1/sessions/{ids.circle}/reports"
        not_yet = await call(client, "GET", f"{base}/12")
        off = await call(client, "GET", f"{base}/13")
        empty = await call(client, "GET", f"/v1/sessions/{ids.ready}/reports")
        assert (404, 404) == (not_yet[0], off[0])
        assert (200, []) == (empty[0], empty[1]["data"])
