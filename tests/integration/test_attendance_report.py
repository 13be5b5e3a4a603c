"""`GET /v1/attendance` and `GET /v1/attendance/summary` (CONTRACT 5): rows across
sessions, JSON and CSV alike, the summary from the same rows, filters, paging, rights."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from rules.lifecycle import Status
from store.database import Database
from tests.integration.api_world import (
    START,
    Sessions,
    call,
    headers_of,
    make_session,
    presence,
    seed_two_academies,
)
from tests.support.clock import ManualClock

COLUMNS = [
    "session_id",
    "session_code",
    "type",
    "scheduled_at",
    "user_id",
    "role",
    "attendance_status",
    "source",
    "attended_seconds",
    "attendance_percentage",
    "copresent_seconds",
    "engagement_score",
    "camera_seconds",
    "microphone_seconds",
    "screen_share_seconds",
    "first_join_at",
    "last_leave_at",
    "charge_status",
    "charge_reason",
]


async def held_day(client: TestClient, database: Database, clock: ManualClock) -> Sessions:
    """The two-academy world's day, held: the circle (14:00, students 10-12) with its
    teacher, 10 on time and 11 late; a report marks 12 present; a sweep at 16:00
    finishes everything that was due (the lessons nobody came to end absent); a
    cancelled and an unscheduled session stay out of every report."""
    ids = await seed_two_academies(database)
    circle_start = START + timedelta(hours=4)
    end = circle_start + timedelta(hours=1)
    await presence(database, ids.circle, 5, circle_start, end)
    await presence(database, ids.circle, 10, circle_start, end)
    await presence(database, ids.circle, 11, circle_start + timedelta(minutes=20), end)
    async with database.uow() as uow:
        cancelled = await make_session(uow, starts_at=START + timedelta(days=1))
        await uow.commit()
    await call(client, "POST", f"/v1/sessions/{cancelled.id}/cancel", json={"reason": "ill"})
    clock.set(START + timedelta(hours=6))
    status, _ = await call(client, "POST", "/v1/sweeps")
    assert 200 == status
    status, _ = await call(
        client,
        "PUT",
        f"/v1/sessions/{ids.circle}/reports/12",
        json={"attendance_status": "present", "reason": "was on the phone"},
    )
    assert 200 == status
    return ids


async def rows_of(client: TestClient, query: str = "", role: str = "service") -> list[dict]:
    """Every JSON row, following the cursor page after page."""
    rows: list[dict] = []
    cursor = None
    while True:
        q = query + (f"&cursor={cursor}" if cursor else "")
        status, body = await call(client, "GET", f"/v1/attendance?{q}", role)
        assert 200 == status, body
        rows.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


async def csv_of(
    client: TestClient, path: str = "/v1/attendance", role: str = "service", **headers: str
) -> tuple[Any, str]:
    response = await client.get(path, headers={**headers_of(role), **headers})
    assert 200 == response.status, await response.text()
    return response, (await response.read()).decode("utf-8")


def as_text(row: dict[str, Any]) -> dict[str, str]:
    """A JSON row as CSV writes it: null empty, numbers as Python prints them."""
    return {k: "" if v is None else str(v) for k, v in row.items()}


class TestRows:
    async def test_one_row_per_session_and_user_agreeing_with_each_session(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Each held session gives its teacher's row then its students' rows, with the
        verdict, figures and charge `GET …/attendance` answers for it."""
        ids = await held_day(client, database, clock)
        rows = await rows_of(client)
        sessions = sorted({r["session_id"] for r in rows})
        assert sorted([ids.scheduled, ids.ready, ids.circle, ids.other_academy]) == sessions
        for session_id in sessions:
            _, attendance = await call(client, "GET", f"/v1/sessions/{session_id}/attendance")
            mine = [r for r in rows if r["session_id"] == session_id]
            teacher = attendance["teacher"]
            assert (teacher["user_id"], "teacher", teacher["attendance_status"]) == (
                mine[0]["user_id"],
                mine[0]["role"],
                mine[0]["attendance_status"],
            )
            assert [
                (
                    s["user_id"],
                    s["attendance_status"],
                    s["source"],
                    s["attended_seconds"],
                    s["copresent_seconds"],
                    s["charge"]["status"],
                    s["charge"]["reason"],
                )
                for s in attendance["students"]
            ] == [
                (
                    r["user_id"],
                    r["attendance_status"],
                    r["source"],
                    r["attended_seconds"],
                    r["copresent_seconds"],
                    r["charge_status"],
                    r["charge_reason"],
                )
                for r in mine[1:]
            ]
        circle = {r["user_id"]: r for r in rows if r["session_id"] == ids.circle}
        assert ("present", "late", "present", "teacher_report") == (
            circle[10]["attendance_status"],
            circle[11]["attendance_status"],
            circle[12]["attendance_status"],
            circle[12]["source"],
        )
        assert COLUMNS == list(rows[0])

    async def test_csv_gives_the_same_rows_as_json(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """`?format=csv` and `Accept: text/csv` stream the very rows of the JSON pages,
        a header row first, CRLF line ends, UTF-8."""
        await held_day(client, database, clock)
        rows = await rows_of(client, "limit=2")
        response, text = await csv_of(client, "/v1/attendance?format=csv")
        _, by_accept = await csv_of(client, Accept="text/csv")
        assert ("text/csv", "utf-8") == (response.content_type, response.charset)
        assert text == by_accept
        assert text.startswith(",".join(COLUMNS) + "\r\n")
        parsed = list(csv.DictReader(io.StringIO(text, newline="")))
        assert [as_text(r) for r in rows] == parsed

    async def test_csv_of_nothing_is_its_header(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        _, text = await csv_of(client, "/v1/attendance?format=csv&status=late")
        assert ",".join(COLUMNS) + "\r\n" == text


class TestPaging:
    @pytest.mark.parametrize("limit", [1, 2, 3, 500])
    async def test_pages_hold_every_row_once_in_order(
        self, client: TestClient, database: Database, clock: ManualClock, limit: int
    ) -> None:
        """Whatever the page size, the pages put together are the one-page answer."""
        await held_day(client, database, clock)
        whole = await rows_of(client, "limit=500")
        assert whole == await rows_of(client, f"limit={limit}")
        keys = [
            (r["scheduled_at"], r["session_id"], r["role"] != "teacher", r["user_id"])
            for r in whole
        ]
        assert sorted(keys) == keys and len(set(keys)) == len(keys)


class TestFilters:
    async def test_each_filter_narrows_the_rows(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """student_id keeps that student's rows; teacher_id, type, status and the window
        keep the rows they name; all must hold."""
        ids = await held_day(client, database, clock)
        every = await rows_of(client)
        assert [r for r in every if r["user_id"] == 11 and r["role"] == "student"] == (
            await rows_of(client, "student_id=11")
        )
        assert [r for r in every if r["session_id"] != ids.other_academy] == await rows_of(
            client, "teacher_id=5"
        )
        assert [r for r in every if r["session_id"] == ids.circle] == await rows_of(
            client, "type=group"
        )
        assert [r for r in every if r["attendance_status"] in ("late", "absent")] == await rows_of(
            client, "status=late&status=absent"
        )
        window = "from=2025-12-01T12:00:00Z&to=2025-12-01T14:00:00Z"
        assert [r for r in every if r["session_id"] == ids.ready] == await rows_of(client, window)
        assert [r for r in every if r["session_id"] == ids.other_academy] == await rows_of(
            client, "academy_id=2"
        )

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("status=bogus", "status"),
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("from=2025-12-01T10:00:00", "from"),
            ("cursor=nonsense", "cursor"),
            ("student_id=0", "student_id"),
            ("type=lecture", "type"),
            ("format=xml", "format"),
            ("colour=blue", "colour"),
            ("limit=1&limit=2", "limit"),
        ],
    )
    async def test_a_bad_filter_is_a_422_naming_it(
        self, client: TestClient, database: Database, query: str, field: str
    ) -> None:
        await seed_two_academies(database)
        for path in ("/v1/attendance", "/v1/attendance/summary"):
            # The summary has no paging: `limit` and `cursor` are unknown to it, and named.
            status, body = await call(client, "GET", f"{path}?{query}")
            assert 422 == status, (path, body)
            assert field in [d["field"] for d in body["error"]["details"]]

    async def test_a_window_that_ends_before_it_begins_is_a_422(
        self, client: TestClient, database: Database
    ) -> None:
        await seed_two_academies(database)
        status, _ = await call(
            client, "GET", "/v1/attendance?from=2025-12-02T00:00:00Z&to=2025-12-01T00:00:00Z"
        )
        assert 422 == status


class TestRights:
    async def test_a_teacher_sees_its_own_sessions_and_a_student_its_own_rows(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """As `GET /v1/sessions` scopes: teacher 5 all of academy 1's, teacher 6 none,
        student 10 only its rows, admin B only academy B."""
        ids = await held_day(client, database, clock)
        every = await rows_of(client)
        academy_a = [r for r in every if r["session_id"] != ids.other_academy]
        assert academy_a == await rows_of(client, role="teacher_own")
        assert academy_a == await rows_of(client, role="admin_a")
        assert [] == await rows_of(client, role="teacher_other")
        assert [r for r in every if r["user_id"] == 10 and r["role"] == "student"] == (
            await rows_of(client, role="student_on")
        )
        assert [r for r in every if r["session_id"] == ids.other_academy] == await rows_of(
            client, role="admin_b"
        )

    @pytest.mark.parametrize(
        ("role", "query", "expected"),
        [
            ("teacher_other", "teacher_id=5", 403),
            ("student_on", "student_id=11", 403),
            ("admin_b", "academy_id=1", 404),
            ("teacher_own", "academy_id=2", 404),
        ],
    )
    async def test_asking_for_someone_elses_rows_is_refused(
        self, client: TestClient, database: Database, role: str, query: str, expected: int
    ) -> None:
        await seed_two_academies(database)
        for path in ("/v1/attendance", "/v1/attendance/summary"):
            status, _ = await call(client, "GET", f"{path}?{query}", role)
            assert expected == status

    async def test_without_a_token_it_is_a_401(self, client: TestClient) -> None:
        assert 401 == (await client.get("/v1/attendance")).status
        assert 401 == (await client.get("/v1/attendance/summary?format=csv")).status


class TestSummary:
    async def test_the_counts_are_those_of_the_rows(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Per student: sessions, each verdict's count, attended seconds, and the share
        of decided sessions not absent; CSV the same."""
        await held_day(client, database, clock)
        rows = [r for r in await rows_of(client) if r["role"] == "student"]
        status, body = await call(client, "GET", "/v1/attendance/summary")
        assert (200, None) == (status, body["next_cursor"])
        expected = []
        for student in sorted({r["user_id"] for r in rows}):
            mine = [r for r in rows if r["user_id"] == student]
            counts = {
                name: sum(r["attendance_status"] == name for r in mine)
                for name in ("present", "late", "left_early", "partial", "absent", "pending")
            }
            decided = len(mine) - counts["pending"]
            expected.append(
                {
                    "student_id": student,
                    "sessions": len(mine),
                    **counts,
                    "attended_seconds": sum(r["attended_seconds"] for r in mine),
                    "attendance_rate": round((decided - counts["absent"]) / decided, 2)
                    if decided
                    else None,
                }
            )
        assert expected == body["data"]
        by_student = {s["student_id"]: s for s in body["data"]}
        # Student 11 is on the circle only, late there: its one decided session attended.
        assert (1, 1, 1.0) == (
            by_student[11]["sessions"],
            by_student[11]["late"],
            by_student[11]["attendance_rate"],
        )
        _, text = await csv_of(client, "/v1/attendance/summary?format=csv")
        assert [as_text(s) for s in body["data"]] == list(csv.DictReader(io.StringIO(text)))

    async def test_the_summary_follows_the_filters(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A student's summary is its own row of the whole academy's."""
        await held_day(client, database, clock)
        _, whole = await call(client, "GET", "/v1/attendance/summary")
        _, own = await call(client, "GET", "/v1/attendance/summary", "student_on")
        assert [s for s in whole["data"] if s["student_id"] == 10] == own["data"]


async def test_cancelled_and_unscheduled_sessions_are_not_reported(
    client: TestClient, database: Database, clock: ManualClock
) -> None:
    """Only sessions that take place: nothing of a cancelled or unscheduled one."""
    ids = await held_day(client, database, clock)
    async with database.uow() as uow:
        statuses = {
            s.id: s.status
            for s in [await uow.sessions.get(i) for i in range(1, 10)]
            if s is not None
        }
    reported = {r["session_id"] for r in await rows_of(client)}
    left_out = {i for i, s in statuses.items() if s in (Status.CANCELLED, Status.UNSCHEDULED)}
    assert ids.unscheduled in left_out and len(left_out) == 2
    assert not reported & left_out
