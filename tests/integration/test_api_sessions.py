"""Creating, reading and listing sessions over HTTP."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient

from store.database import Database
from store.schema import Evidence
from tests.integration.api_world import (
    NOW,
    START,
    call,
    make_session,
    seed_two_academies,
)
from tests.support.clock import ManualClock


def new_session(**changes: object) -> dict[str, object]:
    return {
        "academy_id": 1,
        "type": "quran_individual",
        "title": "Hifz: Al-Baqara",
        "duration_minutes": 45,
        "teacher_id": 5,
        "student_id": 10,
        **changes,
    }


def fields_of(body: dict) -> list[str]:
    return [d["field"] for d in body["error"]["details"]]


class TestCreate:
    async def test_an_individual_session_is_created_unscheduled_with_the_contract_shape(
        self, client: TestClient, database: Database
    ) -> None:
        """201 with the platform's session shape: `student`, status display, type fields."""
        await seed_two_academies(database)
        status, body = await call(
            client, "POST", "/v1/sessions", json=new_session(surah_number=2, juz_number=1)
        )
        assert 201 == status
        assert (
            "QSE-1-000005" == body["session_code"]
        )  # four Quran sessions were seeded in academy 1
        assert {
            "academy_id": 1,
            "type": "quran_individual",
            "status": "unscheduled",
            "title": "Hifz: Al-Baqara",
            "scheduled_at": None,
            "started_at": None,
            "ended_at": None,
            "duration_minutes": 45,
            "meeting_link": None,
            "meeting_room_name": None,
            "meeting_id": None,
            "meeting_expires_at": None,
            "meeting_data": None,
            "teacher": {"id": 5, "name": "Ahmed", "email": "t@example.org"},
            "student": {"id": 10, "name": "Student 10", "email": None},
            "participants_count": 0,
            "roster_count": 1,
            "attendance_status": "pending",
            "subscription_counted": False,
            "surah_number": 2,
            "juz_number": 1,
            "from_verse": None,
            "to_verse": None,
            "lesson_content": None,
            "created_at": "2025-12-01T09:00:00Z",
            "cancellation_reason": None,
            "cancelled_by": None,
            "cancelled_at": None,
            "is_makeup_session": False,
        }.items() <= body.items()
        assert "students" not in body
        assert {
            "value": "unscheduled",
            "label": "غير مجدولة",
            "label_en": "Unscheduled",
            "color": "gray",
            "icon": "ri-draft-line",
            "can_start": False,
            "can_cancel": True,
            "can_join": False,
        } == body["status_display"]

    async def test_a_group_session_takes_a_roster_and_course_fields(
        self, client: TestClient, database: Database
    ) -> None:
        """Group types carry `students` and their own prefix and sequence."""
        await seed_two_academies(database)
        status, body = await call(
            client,
            "POST",
            "/v1/sessions",
            json={
                "academy_id": 1,
                "type": "academic_course",
                "title": "Algebra 3",
                "duration_minutes": 90,
                "teacher_id": 5,
                "student_ids": [12, 10, 11],
                "session_number": 3,
            },
        )
        assert 201 == status
        assert ("ASE-1-000001", 0, 3, None, 3) == (
            body["session_code"],
            body["participants_count"],
            body["roster_count"],
            body["attendance_status"],
            body["session_number"],
        )
        assert [10, 11, 12] == [s["id"] for s in body["students"]]
        assert "student" not in body

    async def test_the_roster_shape_and_fields_of_another_type_are_named(
        self, client: TestClient, database: Database
    ) -> None:
        """An individual session takes `student_id`, not `student_ids`, nor course fields."""
        await seed_two_academies(database)
        status, body = await call(
            client,
            "POST",
            "/v1/sessions",
            json=new_session(student_id=None, student_ids=[10], session_number=1, surah_number=115),
        )
        assert 422 == status
        assert {"student_id", "student_ids", "session_number", "surah_number"} == set(
            fields_of(body)
        )

    async def test_an_unknown_type_is_named(self, client: TestClient) -> None:
        """The type decides everything else, so it is reported on its own."""
        status, body = await call(client, "POST", "/v1/sessions", json=new_session(type="yoga"))
        assert (422, ["type"]) == (status, fields_of(body))

    async def test_a_student_twice_on_a_roster_is_refused(
        self, client: TestClient, database: Database
    ) -> None:
        """Each student is on a roster once."""
        await seed_two_academies(database)
        body = new_session(type="quran_circle", student_id=None)
        body.pop("student_id")
        status, answer = await call(
            client, "POST", "/v1/sessions", json={**body, "student_ids": [10, 10]}
        )
        assert (422, ["student_ids"]) == (status, fields_of(answer))

    async def test_a_teacher_or_students_of_another_academy_are_not_found(
        self, client: TestClient, database: Database
    ) -> None:
        """People of academy 2 do not exist for academy 1's sessions."""
        await seed_two_academies(database)
        teacher = await call(client, "POST", "/v1/sessions", json=new_session(teacher_id=7))
        student = await call(client, "POST", "/v1/sessions", json=new_session(student_id=20))
        assert (404, {"field": "teacher_id"}) == (teacher[0], teacher[1]["error"]["details"])
        assert (404, "student_id") == (student[0], student[1]["error"]["details"]["field"])

    async def test_a_student_as_teacher_is_a_422(
        self, client: TestClient, database: Database
    ) -> None:
        """Roles matter: a student cannot teach."""
        await seed_two_academies(database)
        status, body = await call(client, "POST", "/v1/sessions", json=new_session(teacher_id=11))
        assert (422, ["teacher_id"]) == (status, fields_of(body))

    async def test_webhooks_that_came_before_the_session_are_adopted(
        self, client: TestClient, database: Database
    ) -> None:
        """Evidence for a room that matched no session is attached once the session exists."""
        await seed_two_academies(database)
        async with database.uow() as uow:
            await uow.evidence.add(
                Evidence(
                    event_id="EV_early",
                    source="webhook",
                    kind="joined",
                    room_name="QSE-1-000005",
                    room_sid="RM_1",
                    participant_sid="PA_1",
                    identity="10",
                    user_id=10,
                    at=NOW,
                    decisive=True,
                )
            )
            await uow.commit()
        status, body = await call(client, "POST", "/v1/sessions", json=new_session())
        async with database.uow() as uow:
            intervals = await uow.intervals.for_session(body["id"])
            assert (201, ["PA_1"]) == (status, [i.sid for i in intervals])


class TestGet:
    async def test_a_session_is_answered_by_id(
        self, client: TestClient, database: Database
    ) -> None:
        """The same shape as on creation, times with `Z`."""
        ids = await seed_two_academies(database)
        status, body = await call(client, "GET", f"/v1/sessions/{ids.ready}")
        assert (200, ids.ready, "ready") == (status, body["id"], body["status"])
        assert "2025-12-01T12:00:00Z" == body["scheduled_at"]
        assert body["status_display"]["can_join"] is True

    async def test_can_join_turns_off_ten_minutes_after_the_end(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """CONTRACT 4.1: `can_join` is false from E + 10 min on."""
        ids = await seed_two_academies(database)
        clock.set(START + timedelta(hours=3, minutes=10))
        _, body = await call(client, "GET", f"/v1/sessions/{ids.ready}")
        assert ("ready", False) == (body["status"], body["status_display"]["can_join"])

    async def test_an_unknown_session_is_404_and_a_non_numeric_id_too(
        self, client: TestClient
    ) -> None:
        """Ids are integers; anything else names no session."""
        assert 404 == (await call(client, "GET", "/v1/sessions/999"))[0]
        status, body = await call(client, "GET", "/v1/sessions/abc")
        assert (404, "not_found") == (status, body["error"]["code"])
        huge = await call(client, "GET", f"/v1/sessions/{2**70}")
        assert 404 == huge[0]


class TestList:
    async def test_filters_combine(self, client: TestClient, database: Database) -> None:
        """Status, type, teacher, student and academy all narrow the list."""
        ids = await seed_two_academies(database)
        _, ready = await call(client, "GET", "/v1/sessions?status=ready&academy_id=1")
        _, circles = await call(client, "GET", "/v1/sessions?type=quran_circle")
        _, of_11 = await call(client, "GET", "/v1/sessions?student_id=11")
        _, of_7 = await call(client, "GET", "/v1/sessions?teacher_id=7")
        assert [ids.ready, ids.circle] == [s["id"] for s in ready["data"]]
        assert [ids.circle] == [s["id"] for s in circles["data"]]
        assert [ids.circle] == [s["id"] for s in of_11["data"]]
        assert [ids.other_academy] == [s["id"] for s in of_7["data"]]

    async def test_sessions_are_ordered_by_start_unscheduled_last(
        self, client: TestClient, database: Database
    ) -> None:
        """(scheduled_at, id), with sessions without a time at the end."""
        ids = await seed_two_academies(database)
        status, body = await call(client, "GET", "/v1/sessions?academy_id=1")
        assert 200 == status
        assert [ids.scheduled, ids.ready, ids.circle, ids.unscheduled] == [
            s["id"] for s in body["data"]
        ]
        assert body["next_cursor"] is None

    async def test_cursor_paging_visits_every_session_once(
        self, client: TestClient, database: Database
    ) -> None:
        """Pages of two, following `next_cursor`, give the whole list in order."""
        await seed_two_academies(database)
        async with database.uow() as uow:
            for hour in (1, 1, 2, 3):  # two at the same time: the id breaks the tie
                await make_session(uow, starts_at=START + timedelta(days=1, hours=hour))
            await make_session(uow, starts_at=None)
            await uow.commit()
        _, everything = await call(client, "GET", "/v1/sessions?limit=200")
        seen, cursor = [], None
        while True:
            query = "/v1/sessions?limit=2" + (f"&cursor={cursor}" if cursor else "")
            _, page = await call(client, "GET", query)
            assert len(page["data"]) <= 2
            seen += [s["id"] for s in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [s["id"] for s in everything["data"]] == seen
        assert 10 == len(seen)

    async def test_scopes_follow_the_academy_clock(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """`today` is the academy's calendar day: 23:30 UTC is already tomorrow in Cairo."""
        ids = await seed_two_academies(database)
        async with database.uow() as uow:
            late = await make_session(uow, starts_at=START.replace(hour=22, minute=30))
            next_week = await make_session(uow, starts_at=START + timedelta(days=7))
            await uow.commit()
        clock.set(START + timedelta(hours=1))  # 11:00 UTC, Monday 13:00 in Cairo

        async def scope(name: str) -> list[int]:
            _, body = await call(client, "GET", f"/v1/sessions?academy_id=1&scope={name}")
            return [s["id"] for s in body["data"]]

        assert [ids.scheduled, ids.ready, ids.circle] == await scope("today")
        assert [ids.scheduled, ids.ready, ids.circle, late.id] == await scope("this_week")
        assert [ids.ready, ids.circle, late.id, next_week.id] == await scope("upcoming")
        assert [ids.scheduled] == await scope("past")

    async def test_from_and_to_bound_the_start(
        self, client: TestClient, database: Database
    ) -> None:
        """`from` is inclusive, `to` exclusive."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "GET",
            "/v1/sessions?academy_id=1&from=2025-12-01T12:00:00Z&to=2025-12-01T14:00:00Z",
        )
        assert (200, [ids.ready]) == (status, [s["id"] for s in body["data"]])

    async def test_bad_filters_are_each_named(self, client: TestClient) -> None:
        """Unknown values, bad numbers, naive times, forged cursors and unknown names."""
        status, body = await call(
            client,
            "GET",
            "/v1/sessions?status=done&limit=500&from=2025-12-01T10:00:00&cursor=xyz&colour=red",
        )
        assert 422 == status
        assert {"status", "limit", "from", "colour"} <= set(fields_of(body))
        status, body = await call(client, "GET", "/v1/sessions?cursor=bm9wZQ")
        assert (422, ["cursor"]) == (status, fields_of(body))
