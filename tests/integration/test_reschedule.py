"""Rescheduling a session that has not begun (CONTRACT 4.1, SCHEDULED/READY -> SCHEDULED),
and every way it is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from ical.calendar_stream import IcsCalendarStream

from engine.operations.presence import recompute_intervals
from rules.lifecycle import Status
from store.database import Database
from store.schema import Evidence
from tests.integration.api_world import (
    START,
    call,
    make_session,
    presence,
    seed_two_academies,
    snapshot,
)
from tests.support.auth import auth
from tests.support.clock import ManualClock

LATER = "2025-12-03T16:00:00Z"  # a free slot of teacher 5, two days on


def move(to: str = LATER, reason: str = "the student travels") -> dict[str, str]:
    return {"scheduled_at": to, "reason": reason}


class TestReschedule:
    async def test_a_scheduled_session_takes_the_new_time_and_keeps_its_rules(
        self, client: TestClient, database: Database
    ) -> None:
        """New scheduled_at and ends_at; the settings frozen at scheduling are kept though
        the academy's changed since; the history keeps the old time, the new one and the
        reason, and the calendar revision moves on."""
        ids = await seed_two_academies(database)
        await call(
            client, "PUT", "/v1/academies/1/rules", json={"quran_individual": {"buffer_minutes": 3}}
        )
        async with database.uow() as uow:
            before = await uow.sessions.get(ids.scheduled)
            assert before is not None
            frozen, revision = dict(before.settings), before.revision
        status, body = await call(
            client, "POST", f"/v1/sessions/{ids.scheduled}/reschedule", "teacher_own", move()
        )
        assert (200, "scheduled", LATER) == (status, body["status"], body["scheduled_at"])
        async with database.uow() as uow:
            session = await uow.sessions.get(ids.scheduled)
            history = await uow.transitions.for_session(ids.scheduled)
            assert session is not None
            assert datetime(2025, 12, 3, 17, tzinfo=UTC) == session.ends_at
            assert frozen == session.settings
            assert revision + 1 == session.revision
            last = history[-1]
            assert ("scheduled", "scheduled", "reschedule", "user:5") == (
                last.from_status,
                last.to_status,
                last.event,
                last.actor,
            )
            assert {
                "from_scheduled_at": "2025-12-01T10:00:00Z",
                "scheduled_at": LATER,
                "reason": "the student travels",
            } == last.details

    async def test_the_history_endpoint_shows_the_move(
        self, client: TestClient, database: Database
    ) -> None:
        """GET …/history lists the reschedule with its details, like any transition."""
        ids = await seed_two_academies(database)
        await call(client, "POST", f"/v1/sessions/{ids.scheduled}/reschedule", json=move())
        status, body = await call(client, "GET", f"/v1/sessions/{ids.scheduled}/history")
        assert 200 == status
        entry = body["data"][-1]
        assert "reschedule" in str(entry)
        assert "2025-12-01T10:00:00Z" in str(entry) and LATER in str(entry)

    async def test_a_ready_session_goes_back_to_scheduled_and_gives_its_room_up(
        self, client: TestClient, database: Database
    ) -> None:
        """READY -> SCHEDULED: DeleteRoom queued, the meeting fields cleared."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client, "POST", f"/v1/sessions/{ids.ready}/reschedule", "admin_a", move()
        )
        assert (200, "scheduled") == (status, body["status"])
        assert (None, None, None, None) == (
            body["meeting_room_name"],
            body["meeting_link"],
            body["meeting_expires_at"],
            body["meeting_id"],
        )
        async with database.uow() as uow:
            ops = [(op.op, op.state) for op in await uow.rooms.for_session(ids.ready)]
        assert [("delete_room", "pending")] == ops

    async def test_someone_off_the_roster_in_the_room_does_not_hold_it(
        self, client: TestClient, database: Database
    ) -> None:
        """A student not on the roster, or an observer, joining early is no join of the
        roster: the session may still move."""
        ids = await seed_two_academies(database)
        await presence(database, ids.ready, 13, START, None)
        await _observer(database, ids.ready, START)
        status, _ = await call(client, "POST", f"/v1/sessions/{ids.ready}/reschedule", json=move())
        assert 200 == status


class TestRefusals:
    @pytest.mark.parametrize(
        "status",
        [Status.UNSCHEDULED, Status.ONGOING, Status.COMPLETED, Status.ABSENT, Status.CANCELLED],
    )
    async def test_a_session_not_scheduled_or_ready_is_a_409_naming_its_status(
        self, client: TestClient, database: Database, status: Status
    ) -> None:
        """Only SCHEDULED and READY sessions move; the answer names the status, and
        nothing changes."""
        await seed_two_academies(database)
        async with database.uow() as uow:
            session = await make_session(
                uow, status=status, starts_at=START + timedelta(days=1, hours=6)
            )
            await uow.commit()
        state = await snapshot(database)
        code, body = await call(
            client, "POST", f"/v1/sessions/{session.id}/reschedule", json=move()
        )
        assert (409, "illegal_transition", status.value) == (
            code,
            body["error"]["code"],
            body["error"]["details"]["current_status"],
        )
        assert state == await snapshot(database)

    @pytest.mark.parametrize("who", [10, 5])
    async def test_a_roster_join_before_preparation_is_a_409(
        self, client: TestClient, database: Database, who: int
    ) -> None:
        """A student, or the teacher, who came in early (before S − 15, so the session did
        not start) has joined: the session stays where it is."""
        ids = await seed_two_academies(database)
        await presence(database, ids.scheduled, who, START - timedelta(minutes=40), None)
        state = await snapshot(database)
        code, body = await call(
            client, "POST", f"/v1/sessions/{ids.scheduled}/reschedule", json=move()
        )
        assert (409, "scheduled") == (code, body["error"]["details"]["current_status"])
        assert "joined" in body["error"]["message"]
        assert state == await snapshot(database)

    async def test_a_roster_join_that_has_ended_still_counts(
        self, client: TestClient, database: Database
    ) -> None:
        """A student who came and went before the window has joined all the same."""
        ids = await seed_two_academies(database)
        early = START + timedelta(hours=2, minutes=-50)
        await presence(database, ids.ready, 10, early, early + timedelta(minutes=5))
        code, body = await call(client, "POST", f"/v1/sessions/{ids.ready}/reschedule", json=move())
        assert (409, "ready") == (code, body["error"]["details"]["current_status"])

    async def test_an_overlap_with_the_teachers_other_session_is_a_409(
        self, client: TestClient, database: Database
    ) -> None:
        """Teacher 5 teaches the circle 14:00-15:00; 14:30 collides, nothing changes."""
        ids = await seed_two_academies(database)
        state = await snapshot(database)
        code, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.ready}/reschedule",
            json=move("2025-12-01T14:30:00Z"),
        )
        assert (409, "ready", ids.circle) == (
            code,
            body["error"]["details"]["current_status"],
            body["error"]["details"]["conflicting_session_id"],
        )
        assert state == await snapshot(database)

    async def test_its_own_old_time_does_not_block_it(
        self, client: TestClient, database: Database
    ) -> None:
        """Moving half an hour later overlaps only the session itself: allowed."""
        ids = await seed_two_academies(database)
        code, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.scheduled}/reschedule",
            json=move("2025-12-01T10:30:00Z"),
        )
        assert (200, "2025-12-01T10:30:00Z") == (code, body["scheduled_at"])

    @pytest.mark.parametrize(
        "to", ["2025-12-01T08:59:59Z", "2025-12-01T09:00:00Z", "2024-01-01T00:00:00Z"]
    )
    async def test_a_time_not_in_the_future_is_a_422(
        self, client: TestClient, database: Database, clock: ManualClock, to: str
    ) -> None:
        """Now (09:00) or before is refused, naming `scheduled_at`; nothing changes."""
        ids = await seed_two_academies(database)
        clock.set(datetime(2025, 12, 1, 9, tzinfo=UTC))
        state = await snapshot(database)
        code, body = await call(
            client, "POST", f"/v1/sessions/{ids.scheduled}/reschedule", json=move(to)
        )
        assert (422, "validation_failed", [{"field": "scheduled_at"}]) == (
            code,
            body["error"]["code"],
            [{"field": d["field"]} for d in body["error"]["details"]],
        )
        assert state == await snapshot(database)

    @pytest.mark.parametrize(
        ("payload", "fields"),
        [
            ({"scheduled_at": LATER}, ["reason"]),
            ({"reason": "x"}, ["scheduled_at"]),
            ({}, ["scheduled_at", "reason"]),
            ({"scheduled_at": "2025-12-03T16:00:00", "reason": "x"}, ["scheduled_at"]),
            ({"scheduled_at": 1764777600, "reason": "x"}, ["scheduled_at"]),
            ({"scheduled_at": LATER, "reason": ""}, ["reason"]),
            ({"scheduled_at": LATER, "reason": "x", "when": "soon"}, ["when"]),
        ],
    )
    async def test_a_bad_body_is_a_422_naming_each_field(
        self, client: TestClient, database: Database, payload: dict[str, Any], fields: list[str]
    ) -> None:
        """Missing, naive, numeric, empty or unknown fields: 422 with each one named."""
        ids = await seed_two_academies(database)
        state = await snapshot(database)
        code, body = await call(
            client, "POST", f"/v1/sessions/{ids.scheduled}/reschedule", json=payload
        )
        assert (422, fields) == (code, [d["field"] for d in body["error"]["details"]])
        assert state == await snapshot(database)

    async def test_a_body_that_is_not_json_is_a_400(
        self, client: TestClient, database: Database
    ) -> None:
        ids = await seed_two_academies(database)
        response = await client.post(
            f"/v1/sessions/{ids.scheduled}/reschedule",
            data=b"{not json",
            headers={**auth(), "Content-Type": "application/json"},
        )
        assert 400 == response.status


class TestRights:
    @pytest.mark.parametrize(
        ("role", "expected"),
        [
            ("service", 200),
            ("admin_a", 200),
            ("teacher_own", 200),
            ("teacher_other", 403),
            ("student_on", 403),
            ("admin_b", 404),
            ("teacher_b", 404),
        ],
    )
    async def test_as_for_schedule_and_cancel(
        self, client: TestClient, database: Database, role: str, expected: int
    ) -> None:
        """Service, the academy's admin and the session's own teacher; another academy
        sees no such session; a student or another teacher is 403."""
        ids = await seed_two_academies(database)
        code, _ = await call(
            client, "POST", f"/v1/sessions/{ids.scheduled}/reschedule", role, move()
        )
        assert expected == code

    async def test_without_a_token_it_is_a_401(
        self, client: TestClient, database: Database
    ) -> None:
        ids = await seed_two_academies(database)
        response = await client.post(f"/v1/sessions/{ids.scheduled}/reschedule", json=move())
        assert 401 == response.status


class TestTheCalendar:
    async def test_the_feed_shows_the_new_time_with_a_higher_sequence(
        self, client: TestClient, database: Database
    ) -> None:
        """A subscriber's calendar moves the event (same UID, later SEQUENCE)."""
        ids = await seed_two_academies(database)
        _, token = await call(client, "POST", "/v1/users/10/calendar-token")
        before = await _event(client, token["token"], ids.scheduled)
        await call(client, "POST", f"/v1/sessions/{ids.scheduled}/reschedule", json=move())
        after = await _event(client, token["token"], ids.scheduled)
        assert datetime(2025, 12, 1, 10, tzinfo=UTC) == before.dtstart
        assert (datetime(2025, 12, 3, 16, tzinfo=UTC), datetime(2025, 12, 3, 17, tzinfo=UTC)) == (
            after.dtstart,
            after.dtend,
        )
        assert before.uid == after.uid
        assert after.sequence > before.sequence


async def _event(client: TestClient, token: str, session_id: int) -> Any:
    response = await client.get(f"/v1/calendar/{token}.ics")
    assert 200 == response.status
    calendar = IcsCalendarStream.calendar_from_ics(await response.text())
    _, session = await call(client, "GET", f"/v1/sessions/{session_id}")
    (event,) = [e for e in calendar.events if e.uid == f"{session['session_code']}@hudur"]
    return event


async def _observer(database: Database, session_id: int, at: datetime) -> None:
    """A participant whose metadata says observer: recorded, never decisive."""
    async with database.uow() as uow:
        session = await uow.sessions.get(session_id)
        assert session is not None
        await uow.evidence.add(
            Evidence(
                event_id="EV_observer",
                source="webhook",
                kind="joined",
                room_name=session.session_code,
                room_sid="RM_1",
                session_id=session_id,
                participant_sid="PA_observer",
                identity="10_observer",
                user_id=10,
                at=at,
                decisive=False,
            )
        )
        await recompute_intervals(uow, session_id)
        await uow.commit()


class TestTheDocument:
    async def test_openapi_names_the_route_its_body_and_its_errors(
        self, client: TestClient
    ) -> None:
        """/openapi.json documents the route with RescheduleIn and its refusals."""
        response = await client.get("/openapi.json")
        operation = (await response.json())["paths"]["/v1/sessions/{id}/reschedule"]["post"]
        assert {"$ref": "#/components/schemas/RescheduleIn"} == operation["requestBody"]["content"][
            "application/json"
        ]["schema"]
        assert {"200", "400", "401", "403", "404", "409", "413", "422", "503"} == set(
            operation["responses"]
        )
        assert ["service", "admin", "teacher"] == operation["x-hudur-roles"]
