"""`POST /v1/sessions/{id}/makeup`: linked make-up sessions for cancelled or absent ones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from engine.operations.lifecycle import transition
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent, Status
from rules.recurrence import EARLIEST
from scheduler.recurring import generate
from store.database import Database
from tests.support.auth import call, user_token
from tests.support.clock import ManualClock
from tests.support.factories import ACADEMY_ID, TEACHER_ID, scheduled_session, seed_world

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 2, 10, 0, tzinfo=UTC)
LATER = datetime(2025, 12, 9, 10, 0, tzinfo=UTC)
OTHER_TEACHER_ID = 6


@pytest.fixture(name="at_now", autouse=True)
def fixture_at_now(clock: ManualClock) -> None:
    clock.set(NOW)


async def given_session(
    database: Database,
    status: Status,
    *,
    session_type: SessionType = SessionType.QURAN_CIRCLE,
    students: tuple[int, ...] = (10, 11, 12),
) -> int:
    """A session of teacher 5 at START, moved to `status` through the lifecycle."""
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        await uow.users.upsert(
            OTHER_TEACHER_ID, now=NOW, academy_id=ACADEMY_ID, role="teacher", name="T2", email=None
        )
        session = await scheduled_session(
            uow, now=NOW, starts_at=START, session_type=session_type, students=students
        )
        path = {
            Status.SCHEDULED: [],
            Status.CANCELLED: [LifecycleEvent.CANCEL],
            Status.ABSENT: [LifecycleEvent.PREPARE, LifecycleEvent.MARK_ABSENT],
            Status.COMPLETED: [LifecycleEvent.PREPARE, LifecycleEvent.COMPLETE],
        }[status]
        for event in path:
            await transition(uow, session, event, at=NOW, actor="service")
        session_id = session.id
        await uow.commit()
    return session_id


class TestMakeup:
    async def test_a_cancelled_session_gets_an_unscheduled_linked_makeup(
        self, client: TestClient, database: Database
    ) -> None:
        """Without a body the make-up is UNSCHEDULED, a copy of type, title, duration,
        teacher and roster, marked as a make-up."""
        original = await given_session(database, Status.CANCELLED)

        status, makeup = await call(client, "POST", f"/v1/sessions/{original}/makeup")

        assert 201 == status
        assert {
            "status": "unscheduled",
            "type": "quran_circle",
            "title": "Hifz",
            "duration_minutes": 60,
            "is_makeup_session": True,
            "makeup_of_id": original,
            "scheduled_at": None,
        }.items() <= makeup.items()
        assert (TEACHER_ID, [10, 11, 12]) == (
            makeup["teacher"]["id"],
            [s["id"] for s in makeup["students"]],
        )
        assert makeup["id"] != original
        async with database.uow() as uow:
            row = await uow.sessions.get(makeup["id"])
            assert row is not None
            assert original == row.makeup_of_id

    async def test_an_absent_session_gets_a_makeup_scheduled_at_once(
        self, client: TestClient, database: Database
    ) -> None:
        """With `scheduled_at` the make-up is SCHEDULED then, with settings frozen."""
        original = await given_session(
            database,
            Status.ABSENT,
            session_type=SessionType.QURAN_INDIVIDUAL,
            students=(10,),
        )

        status, makeup = await call(
            client,
            "POST",
            f"/v1/sessions/{original}/makeup",
            json={"scheduled_at": "2025-12-09T10:00:00Z"},
        )

        assert (201, "scheduled", "2025-12-09T10:00:00Z") == (
            status,
            makeup["status"],
            makeup["scheduled_at"],
        )
        assert 10 == makeup["student"]["id"]
        async with database.uow() as uow:
            row = await uow.sessions.get(makeup["id"])
            assert row is not None and row.settings is not None
            assert LATER + timedelta(minutes=60) == row.ends_at

    async def test_both_histories_record_the_makeup(
        self, client: TestClient, database: Database
    ) -> None:
        """The make-up's history starts with `makeup_created` naming the original; the
        original's history gains a row naming the make-up."""
        original = await given_session(database, Status.CANCELLED)
        _, makeup = await call(client, "POST", f"/v1/sessions/{original}/makeup")

        _, new_history = await call(client, "GET", f"/v1/sessions/{makeup['id']}/history")
        _, old_history = await call(client, "GET", f"/v1/sessions/{original}/history")

        assert [("makeup_created", "service", {"status": "unscheduled"})] == [
            (e["event"], e["actor"], e["after"]) for e in new_history["data"]
        ]
        assert original == new_history["data"][0]["details"]["makeup_of_id"]
        assert ["schedule", "cancel", "makeup_created"] == [e["event"] for e in old_history["data"]]
        assert makeup["id"] == old_history["data"][-1]["details"]["makeup_session_id"]

    @pytest.mark.parametrize("status", [Status.SCHEDULED, Status.COMPLETED])
    async def test_only_cancelled_or_absent_sessions_get_one(
        self, client: TestClient, database: Database, status: Status
    ) -> None:
        """Any other status answers 409 naming the current status."""
        original = await given_session(database, status)

        code, answer = await call(client, "POST", f"/v1/sessions/{original}/makeup")

        assert (409, status.value) == (code, answer["error"]["details"]["current_status"])

    async def test_a_second_makeup_is_refused_until_the_first_is_cancelled(
        self, client: TestClient, database: Database
    ) -> None:
        """One live make-up per session: a second is 409; once the first is cancelled
        another may be made."""
        original = await given_session(database, Status.CANCELLED)
        _, first = await call(client, "POST", f"/v1/sessions/{original}/makeup")

        again, answer = await call(client, "POST", f"/v1/sessions/{original}/makeup")
        await call(client, "POST", f"/v1/sessions/{first['id']}/cancel", json={"reason": "ill"})
        after_cancel, _ = await call(client, "POST", f"/v1/sessions/{original}/makeup")

        assert (409, first["id"]) == (again, answer["error"]["details"]["makeup_session_id"])
        assert 201 == after_cancel

    async def test_a_makeup_overlapping_the_teachers_time_is_refused(
        self, client: TestClient, database: Database
    ) -> None:
        """`scheduled_at` inside another session of the teacher: 409 naming it."""
        original = await given_session(database, Status.CANCELLED)
        async with database.uow() as uow:
            busy = await scheduled_session(uow, now=NOW, starts_at=LATER)
            busy_id = busy.id
            await uow.commit()

        status, answer = await call(
            client,
            "POST",
            f"/v1/sessions/{original}/makeup",
            json={"scheduled_at": "2025-12-09T10:30:00Z"},
        )

        assert (409, busy_id) == (status, answer["error"]["details"]["conflicting_session_id"])

    async def test_a_makeup_in_the_past_is_refused(
        self, client: TestClient, database: Database
    ) -> None:
        """`scheduled_at` not after now: 422 naming it."""
        original = await given_session(database, Status.CANCELLED)

        status, answer = await call(
            client,
            "POST",
            f"/v1/sessions/{original}/makeup",
            json={"scheduled_at": "2025-11-30T10:00:00Z"},
        )

        assert (422, "scheduled_at") == (status, answer["error"]["details"][0]["field"])

    async def test_the_teacher_may_students_and_other_teachers_may_not(
        self, client: TestClient, database: Database
    ) -> None:
        """Its teacher 201; another teacher 403; a roster student 403."""
        original = await given_session(database, Status.CANCELLED)

        other, _ = await call(
            client,
            "POST",
            f"/v1/sessions/{original}/makeup",
            token=user_token(OTHER_TEACHER_ID, "teacher", ACADEMY_ID),
        )
        student, _ = await call(
            client,
            "POST",
            f"/v1/sessions/{original}/makeup",
            token=user_token(10, "student", ACADEMY_ID),
        )
        own, _ = await call(
            client,
            "POST",
            f"/v1/sessions/{original}/makeup",
            token=user_token(TEACHER_ID, "teacher", ACADEMY_ID),
        )

        assert (403, 403, 201) == (other, student, own)


class TestOutsideTheMonthlyLimit:
    async def test_a_makeup_neither_uses_nor_is_held_by_the_limit(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A circle limited to 2 a month gets its 2 September sessions; one is cancelled,
        its make-up is made in September anyway, and generation still counts 2 slots."""
        now = datetime(2025, 8, 30, tzinfo=UTC)
        clock.set(now)
        async with database.uow() as uow:
            await seed_world(uow, now)
            await uow.schedules.upsert(
                1,
                now=now,
                academy_id=ACADEMY_ID,
                type="quran_circle",
                title="Circle",
                teacher_id=TEACHER_ID,
                student_ids={"ids": [10, 11]},
                weekdays={"days": ["mon", "wed"]},
                start_time="18:00",
                duration_minutes=60,
                starts_on=date(2025, 9, 1),
                ends_on=date(2025, 9, 30),
                monthly_session_limit=2,
                generate_days_ahead=40,
            )
            await uow.commit()
        first = await generate(database, now)
        cancelled = first.generated[0].session_id
        await call(client, "POST", f"/v1/sessions/{cancelled}/cancel", json={"reason": "ill"})

        status, makeup = await call(
            client,
            "POST",
            f"/v1/sessions/{cancelled}/makeup",
            json={"scheduled_at": "2025-09-20T15:00:00Z"},
        )
        again = await generate(database, now + timedelta(days=1))
        async with database.uow() as uow:
            slots = len((await uow.schedules.slot_starts_since([1], EARLIEST))[1])

        assert (2, 201, True) == (len(first.generated), status, makeup["is_makeup_session"])
        assert ([], 2) == (again.generated, slots)
