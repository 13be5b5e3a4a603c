"""The session's shape as the seed has it (CONTRACT 5): who attended, the roster,
the individual student's verdict, the meeting's fields, and the `upcoming` scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

import scheduler.rooms
from rules.codes import SessionType
from rules.lifecycle import Status
from store.database import Database
from tests.integration.api_world import START, call, make_session, presence, seed_two_academies
from tests.support.clock import ManualClock

CIRCLE_START = START + timedelta(hours=4)  # the world's circle, READY, 60 min, students 10-12
READY_START = START + timedelta(hours=2)  # the world's READY individual session


def iso(moment: object) -> str:
    return moment.isoformat().replace("+00:00", "Z")  # type: ignore[attr-defined]


async def sweep(client: TestClient, clock: ManualClock, moment: object) -> None:
    clock.set(moment)  # type: ignore[arg-type]
    status, body = await call(client, "POST", "/v1/sweeps", json={"as_of": iso(moment)})
    assert 200 == status, body


class TestParticipantsCount:
    async def test_counts_the_roster_students_who_attended_and_roster_count_the_roster(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """0 before anyone comes; 2 while students 10 and 11 are in; 1 once finished
        with 11 absent (10 min of 60) and 12 never there; `roster_count` stays 3."""
        ids = await seed_two_academies(database)
        clock.set(CIRCLE_START - timedelta(minutes=5))
        _, before = await call(client, "GET", f"/v1/sessions/{ids.circle}")
        await presence(database, ids.circle, 10, CIRCLE_START, CIRCLE_START + timedelta(hours=1))
        await presence(database, ids.circle, 11, CIRCLE_START, CIRCLE_START + timedelta(minutes=10))
        clock.set(CIRCLE_START + timedelta(minutes=30))
        _, during = await call(client, "GET", f"/v1/sessions/{ids.circle}")
        await sweep(client, clock, CIRCLE_START + timedelta(minutes=70))
        _, after = await call(client, "GET", f"/v1/sessions/{ids.circle}")
        assert [(0, 3), (2, 3), (1, 3)] == [
            (b["participants_count"], b["roster_count"]) for b in (before, during, after)
        ]
        assert "completed" == after["status"]

    async def test_lists_count_each_session_by_its_own_verdicts(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A page of sessions answers each one's own count, not its roster's size."""
        ids = await seed_two_academies(database)
        await presence(database, ids.circle, 12, CIRCLE_START, None)
        clock.set(CIRCLE_START + timedelta(minutes=5))
        _, page = await call(client, "GET", "/v1/sessions?academy_id=1")
        counts = {s["id"]: (s["participants_count"], s["roster_count"]) for s in page["data"]}
        assert {ids.circle: (1, 3), ids.ready: (0, 1)}.items() <= counts.items()


class TestAttendanceStatus:
    async def test_an_individual_session_answers_its_students_current_verdict(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """`pending` until it finishes, then the verdict: `present` for the whole hour."""
        ids = await seed_two_academies(database)
        clock.set(READY_START + timedelta(minutes=30))
        await presence(database, ids.ready, 10, READY_START, READY_START + timedelta(hours=1))
        _, during = await call(client, "GET", f"/v1/sessions/{ids.ready}")
        await sweep(client, clock, READY_START + timedelta(minutes=70))
        _, after = await call(client, "GET", f"/v1/sessions/{ids.ready}")
        assert [("pending", 1), ("present", 1)] == [
            (b["attendance_status"], b["participants_count"]) for b in (during, after)
        ]

    async def test_a_no_show_is_absent_and_counts_nobody(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Nobody came: ABSENT, `attendance_status` `absent`, `participants_count` 0."""
        ids = await seed_two_academies(database)
        await sweep(client, clock, READY_START + timedelta(minutes=70))
        _, body = await call(client, "GET", f"/v1/sessions/{ids.ready}")
        assert ("absent", "absent", 0, 1) == (
            body["status"],
            body["attendance_status"],
            body["participants_count"],
            body["roster_count"],
        )

    async def test_a_group_session_answers_null(
        self, client: TestClient, database: Database
    ) -> None:
        """Group verdicts are per student, in the attendance: the session says null."""
        ids = await seed_two_academies(database)
        _, body = await call(client, "GET", f"/v1/sessions/{ids.circle}")
        assert ("attendance_status", None) in body.items()


class TestNoLiveKit:
    async def test_a_prepared_session_has_no_meeting_link_and_the_reason_is_logged_once(
        self,
        client: TestClient,
        database: Database,
        clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """No HUDUR_LIVEKIT_URL: READY with `meeting_link` null (not a relative
        `/rooms/...` that leads nowhere), and one log line for the process."""
        monkeypatch.setattr(scheduler.rooms, "_no_link_said", False)
        ids = await seed_two_academies(database)
        async with database.uow() as uow:
            later = await make_session(uow, starts_at=START + timedelta(hours=6))
            await uow.commit()
        with capture_logs() as logs:
            await sweep(client, clock, START - timedelta(minutes=15))
            _, first = await call(client, "GET", f"/v1/sessions/{ids.scheduled}")
            await sweep(client, clock, START + timedelta(hours=5, minutes=45))
            _, second = await call(client, "GET", f"/v1/sessions/{later.id}")
        assert [("ready", None, code) for code in ("QSE-1-000002", later.session_code)] == [
            (b["status"], b["meeting_link"], b["meeting_room_name"]) for b in (first, second)
        ]
        assert 1 == sum(1 for line in logs if line["event"] == "meeting_link_unset")


class TestUpcomingAndTypes:
    async def test_upcoming_is_after_now_and_not_yet_begun(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """SCHEDULED or READY sessions starting after now; never a cancelled, ongoing,
        finished one, nor a READY one whose start has passed or is now."""
        await seed_two_academies(database)
        clock.set(START + timedelta(hours=2))  # the world's READY session starts now
        soon = START + timedelta(hours=3)
        async with database.uow() as uow:
            kept = [
                (await make_session(uow, starts_at=soon, status=Status.SCHEDULED)).id,
                (await make_session(uow, starts_at=soon, status=Status.READY)).id,
            ]
            for status in (Status.CANCELLED, Status.ONGOING, Status.COMPLETED, Status.ABSENT):
                await make_session(uow, starts_at=soon + timedelta(hours=1), status=status)
            await make_session(uow, starts_at=START + timedelta(hours=1), status=Status.READY)
            await uow.commit()
        _, body = await call(client, "GET", "/v1/sessions?academy_id=1&scope=upcoming&limit=200")
        circle = [s["id"] for s in body["data"] if s["type"] == "quran_circle"]
        assert [*kept, *circle] == [s["id"] for s in body["data"]]
        assert {"scheduled", "ready"} == {s["status"] for s in body["data"]}

    async def test_individual_and_group_select_every_type_of_that_shape(
        self, client: TestClient, database: Database
    ) -> None:
        """`type=individual` lists Quran and academic individual sessions, `type=group`
        circles and courses; a single type still selects only itself."""
        ids = await seed_two_academies(database)
        async with database.uow() as uow:
            academic = await make_session(
                uow, starts_at=START, session_type=SessionType.ACADEMIC_INDIVIDUAL
            )
            course = await make_session(
                uow,
                starts_at=START,
                session_type=SessionType.ACADEMIC_COURSE,
                students=(10, 11),
            )
            await uow.commit()

        async def listed(kind: str) -> set[int]:
            status, body = await call(client, "GET", f"/v1/sessions?academy_id=1&type={kind}")
            assert 200 == status, body
            return {s["id"] for s in body["data"]}

        assert {ids.unscheduled, ids.scheduled, ids.ready, academic.id} == await listed(
            "individual"
        )
        assert {ids.circle, course.id} == await listed("group")
        assert {course.id} == await listed("academic_course")
        status, body = await call(client, "GET", "/v1/sessions?type=solo")
        assert (422, "type") == (status, body["error"]["details"][0]["field"])
