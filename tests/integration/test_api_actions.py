"""Scheduling, cancelling, completing and joining sessions over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from aiohttp.test_utils import TestClient
from livekit import api as livekit

from rules.lifecycle import Status
from store.database import Database
from tests.integration.api_world import (
    START,
    call,
    make_session,
    presence,
    seed_two_academies,
)
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET
from tests.support.clock import ManualClock

TOMORROW = "2025-12-02T10:00:00Z"


class TestSchedule:
    async def test_scheduling_sets_the_window_freezes_the_rules_and_records_the_move(
        self, client: TestClient, database: Database
    ) -> None:
        """UNSCHEDULED -> SCHEDULED: times set, the academy's settings frozen, history written."""
        ids = await seed_two_academies(database)
        await call(
            client, "PUT", "/v1/academies/1/rules", json={"quran_individual": {"buffer_minutes": 5}}
        )
        status, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.unscheduled}/schedule",
            role="teacher_own",
            json={"scheduled_at": "2025-12-02T12:00:00+02:00"},
        )
        assert (200, "scheduled", TOMORROW) == (status, body["status"], body["scheduled_at"])
        async with database.uow() as uow:
            session = await uow.sessions.get(ids.unscheduled)
            history = await uow.transitions.for_session(ids.unscheduled)
            assert session is not None
            assert datetime(2025, 12, 2, 11, tzinfo=UTC) == session.ends_at
            assert 5 == session.settings["buffer_minutes"]
            assert [("unscheduled", "scheduled", "user:5")] == [
                (h.from_status, h.to_status, h.actor) for h in history
            ]

    async def test_an_overlapping_session_of_the_same_teacher_is_a_409(
        self, client: TestClient, database: Database
    ) -> None:
        """Teacher 5 already teaches 10:00-11:00 on Dec 1; 10:30 collides."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.unscheduled}/schedule",
            json={"scheduled_at": "2025-12-01T10:30:00Z"},
        )
        assert (409, "conflict") == (status, body["error"]["code"])
        assert {
            "current_status": "unscheduled",
            "conflicting_session_id": ids.scheduled,
        }.items() <= body["error"]["details"].items()

    async def test_back_to_back_sessions_do_not_overlap(
        self, client: TestClient, database: Database
    ) -> None:
        """A session may start when the previous one ends."""
        ids = await seed_two_academies(database)
        status, _ = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.unscheduled}/schedule",
            json={"scheduled_at": "2025-12-01T11:00:00Z"},
        )
        assert 200 == status

    async def test_a_cancelled_session_does_not_block_the_slot(
        self, client: TestClient, database: Database
    ) -> None:
        """Only non-cancelled sessions overlap."""
        ids = await seed_two_academies(database)
        await call(client, "POST", f"/v1/sessions/{ids.scheduled}/cancel", json={"reason": "ill"})
        status, _ = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.unscheduled}/schedule",
            json={"scheduled_at": "2025-12-01T10:00:00Z"},
        )
        assert 200 == status

    async def test_scheduling_twice_is_a_409_naming_the_status(
        self, client: TestClient, database: Database
    ) -> None:
        """Only an UNSCHEDULED session can be scheduled."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.scheduled}/schedule",
            json={"scheduled_at": TOMORROW},
        )
        assert (409, "scheduled") == (status, body["error"]["details"]["current_status"])

    async def test_a_time_without_a_zone_is_named(
        self, client: TestClient, database: Database
    ) -> None:
        """Times must say their zone; a naive one is ambiguous."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.unscheduled}/schedule",
            json={"scheduled_at": "2025-12-02T10:00:00"},
        )
        assert (422, "scheduled_at") == (status, body["error"]["details"][0]["field"])


class TestCancel:
    async def test_cancelling_records_reason_who_and_when_and_closes_the_room(
        self, client: TestClient, database: Database
    ) -> None:
        """A READY session with a room: reason kept, DeleteRoom queued, nothing charged."""
        ids = await seed_two_academies(database)
        async with database.uow() as uow:
            session = await uow.sessions.get(ids.ready)
            assert session is not None
            session.meeting_room_name = session.session_code
            await uow.commit()
        status, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.ready}/cancel",
            role="admin_a",
            json={"reason": "teacher ill"},
        )
        assert 200 == status
        assert ("cancelled", "teacher ill", 1, "2025-12-01T09:00:00Z") == (
            body["status"],
            body["cancellation_reason"],
            body["cancelled_by"],
            body["cancelled_at"],
        )
        async with database.uow() as uow:
            operations = await uow.rooms.for_session(ids.ready)
            ledger = await uow.charges.for_session(ids.ready)
            assert [("delete_room", "QSE-1-000003")] == [(o.op, o.room_name) for o in operations]
            assert {} == ledger

    async def test_cancelling_a_live_session_closes_open_intervals(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Whoever is in the room at the cancellation stops counting there."""
        ids = await seed_two_academies(database)
        starts = START + timedelta(hours=2)
        await presence(database, ids.ready, 10, starts, None)
        clock.set(starts + timedelta(minutes=20))
        await call(client, "POST", f"/v1/sessions/{ids.ready}/cancel", json={"reason": "storm"})
        clock.set(starts + timedelta(minutes=50))
        _, body = await call(client, "GET", f"/v1/sessions/{ids.ready}/attendance")
        student = body["students"][0]
        assert (1200, "2025-12-01T12:20:00Z") == (
            student["attended_seconds"],
            student["last_leave_at"],
        )
        assert "none" == student["charge"]["status"]

    async def test_the_service_may_name_who_cancelled(
        self, client: TestClient, database: Database
    ) -> None:
        """The platform acts for a person; a user token may only name itself."""
        ids = await seed_two_academies(database)
        _, by_service = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.scheduled}/cancel",
            json={"reason": "holiday", "cancelled_by": 1},
        )
        status, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.ready}/cancel",
            role="teacher_own",
            json={"reason": "x", "cancelled_by": 1},
        )
        assert 1 == by_service["cancelled_by"]
        assert (422, "cancelled_by") == (status, body["error"]["details"][0]["field"])

    async def test_a_cancel_without_a_reason_is_named(
        self, client: TestClient, database: Database
    ) -> None:
        """The reason is required and not empty."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client, "POST", f"/v1/sessions/{ids.ready}/cancel", json={"reason": ""}
        )
        assert (422, "reason") == (status, body["error"]["details"][0]["field"])

    async def test_a_finished_session_cannot_be_cancelled(
        self, client: TestClient, database: Database
    ) -> None:
        """`can_cancel` is false once COMPLETED: 409 with the current status."""
        ids = await seed_two_academies(database)
        await call(client, "POST", f"/v1/sessions/{ids.circle}/complete")
        status, body = await call(
            client, "POST", f"/v1/sessions/{ids.circle}/cancel", json={"reason": "late"}
        )
        assert (409, "completed") == (status, body["error"]["details"]["current_status"])


class TestComplete:
    async def test_the_teacher_ends_an_ongoing_session_and_it_is_charged(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """ONGOING -> COMPLETED now: ended_at set, verdict final, one ledger row."""
        ids = await seed_two_academies(database)
        starts = START + timedelta(hours=2)
        async with database.uow() as uow:
            session = await uow.sessions.get(ids.ready)
            assert session is not None
            session.status, session.started_at = Status.ONGOING.value, starts
            await uow.commit()
        await presence(database, ids.ready, 5, starts, None)
        await presence(database, ids.ready, 10, starts, None)
        clock.set(starts + timedelta(minutes=55))
        status, body = await call(
            client, "POST", f"/v1/sessions/{ids.ready}/complete", role="teacher_own"
        )
        assert (200, "completed", "2025-12-01T12:55:00Z", True) == (
            status,
            body["status"],
            body["ended_at"],
            body["subscription_counted"],
        )
        _, attendance = await call(client, "GET", f"/v1/sessions/{ids.ready}/attendance")
        assert {"status": "charged", "reason": "present", "subscription_id": 110} == attendance[
            "students"
        ][0]["charge"]

    async def test_an_individual_session_whose_student_never_came_ends_absent(
        self, client: TestClient, database: Database
    ) -> None:
        """READY -> ABSENT when the only student is absent; the no-show is charged."""
        ids = await seed_two_academies(database)
        status, body = await call(client, "POST", f"/v1/sessions/{ids.ready}/complete")
        assert (200, "absent") == (status, body["status"])

    async def test_a_scheduled_session_cannot_be_completed(
        self, client: TestClient, database: Database
    ) -> None:
        """Only READY or ONGOING sessions end: 409 with the current status."""
        ids = await seed_two_academies(database)
        status, body = await call(client, "POST", f"/v1/sessions/{ids.scheduled}/complete")
        assert (409, "illegal_transition", "scheduled") == (
            status,
            body["error"]["code"],
            body["error"]["details"]["current_status"],
        )


class TestJoinToken:
    async def test_a_roster_student_gets_a_livekit_token_for_the_room(
        self, client: TestClient, database: Database
    ) -> None:
        """identity = user id, room = session code, LiveKit-signed, valid to E + 10 min."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.ready}/join-token",
            role="student_on",
            json={"user_id": 10},
        )
        assert 200 == status
        assert ("QSE-1-000003", "10") == (body["room"], body["identity"])
        claims = livekit.TokenVerifier(LIVEKIT_KEY, LIVEKIT_SECRET).verify(body["token"])
        assert ("10", "QSE-1-000003", True) == (
            claims.identity,
            claims.video.room,
            claims.video.room_join,
        )
        expires = jwt.decode(body["token"], options={"verify_signature": False})["exp"]
        assert datetime.fromtimestamp(expires, UTC) == datetime.fromisoformat(body["expires_at"])
        assert body["url"] is None  # no LiveKit URL configured in tests

    async def test_the_teacher_gets_one_too(self, client: TestClient, database: Database) -> None:
        """The teacher is on every session it teaches."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.ready}/join-token",
            role="teacher_own",
            json={"user_id": 5},
        )
        assert (200, "5") == (status, body["identity"])

    async def test_someone_off_the_roster_is_403(
        self, client: TestClient, database: Database
    ) -> None:
        """Student 13 is in the academy but not on this session."""
        ids = await seed_two_academies(database)
        status, body = await call(
            client, "POST", f"/v1/sessions/{ids.ready}/join-token", json={"user_id": 13}
        )
        assert (403, "forbidden") == (status, body["error"]["code"])

    async def test_a_session_that_cannot_be_joined_is_409(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """SCHEDULED is not joinable yet; READY stops being joinable at E + 10 min."""
        ids = await seed_two_academies(database)
        scheduled = await call(
            client, "POST", f"/v1/sessions/{ids.scheduled}/join-token", json={"user_id": 10}
        )
        clock.set(START + timedelta(hours=3, minutes=10))
        late = await call(
            client, "POST", f"/v1/sessions/{ids.ready}/join-token", json={"user_id": 10}
        )
        assert (409, "scheduled") == (
            scheduled[0],
            scheduled[1]["error"]["details"]["current_status"],
        )
        assert (409, "ready") == (late[0], late[1]["error"]["details"]["current_status"])

    async def test_a_user_asks_only_for_its_own_token(
        self, client: TestClient, database: Database
    ) -> None:
        """A teacher cannot mint a token in its student's name."""
        ids = await seed_two_academies(database)
        status, _ = await call(
            client,
            "POST",
            f"/v1/sessions/{ids.ready}/join-token",
            role="teacher_own",
            json={"user_id": 10},
        )
        assert 403 == status

    async def test_a_group_session_admits_every_roster_student(
        self, client: TestClient, database: Database
    ) -> None:
        """Each student of a circle may join it."""
        ids = await seed_two_academies(database)
        async with database.uow() as uow:
            session = await make_session(uow, starts_at=START, status=Status.READY, students=(11,))
            await uow.commit()
        status, body = await call(
            client, "POST", f"/v1/sessions/{session.id}/join-token", json={"user_id": 11}
        )
        assert (200, "11") == (status, body["identity"])
        assert (
            200
            == (
                await call(
                    client, "POST", f"/v1/sessions/{ids.circle}/join-token", json={"user_id": 12}
                )
            )[0]
        )
