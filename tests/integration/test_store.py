"""The store on real SQLite and real PostgreSQL: round-trips, uniqueness, concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from engine.operations.lifecycle import transition
from engine.operations.presence import recompute_intervals
from engine.operations.verdicts import finalise as finish_session
from rules import evidence as ev
from rules.attendance import AttendanceStatus
from rules.charging import ChargeDecision, ChargeStatus
from rules.codes import SessionType
from rules.errors import IllegalTransition
from rules.lifecycle import LifecycleEvent, Status
from store.database import Database
from store.schema import (
    AuditEntry,
    Charge,
    Evidence,
    RoomOperation,
    Schedule,
    ScheduleSlot,
    StudentReport,
    WebhookEvent,
)
from tests.support.factories import scheduled_session, seed_world

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)


def _decision(student_id: int = 10) -> ChargeDecision:
    return ChargeDecision(
        student_id, ChargeStatus.CHARGED, "present", 110, AttendanceStatus.PRESENT
    )


class TestRoundTrip:
    async def test_every_model_round_trips_with_aware_utc_times(self, database: Database) -> None:
        """What is written comes back equal, datetimes aware and in UTC."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            session = await scheduled_session(uow, now=NOW, starts_at=START)
            uow.session.add_all(
                [
                    WebhookEvent(
                        event_id="EV_1",
                        event="room_started",
                        room_name=session.session_code,
                        room_sid="RM_1",
                        occurred_at=START,
                        received_at=NOW,
                        body=b'{"x": 1}',
                        state="processed",
                        session_id=session.id,
                    ),
                    Evidence(
                        event_id="EV_2",
                        source="webhook",
                        kind="joined",
                        room_name=session.session_code,
                        room_sid="RM_1",
                        session_id=session.id,
                        participant_sid="PA_1",
                        identity="10_A",
                        user_id=10,
                        at=START,
                        joined_at=START,
                        decisive=True,
                    ),
                    StudentReport(
                        session_id=session.id,
                        student_id=10,
                        attendance_status="late",
                        actual_attendance_minutes=40,
                        participation_score=7.5,
                        notes="ok",
                        fields={"recitation_quality": 8},
                        reported_by=5,
                        created_at=NOW,
                        updated_at=NOW,
                    ),
                    AuditEntry(
                        session_id=session.id,
                        student_id=10,
                        kind="report",
                        actor="user:5",
                        at=NOW,
                        reason="fix",
                        before={"attendance_status": None},
                        after={"attendance_status": "late"},
                    ),
                    RoomOperation(
                        session_id=session.id,
                        op="create_room",
                        room_name=session.session_code,
                        state="pending",
                        attempts=0,
                        next_attempt_at=NOW,
                        created_at=NOW,
                        updated_at=NOW,
                    ),
                    Schedule(
                        id=3,
                        academy_id=1,
                        type="quran_circle",
                        title="Circle",
                        teacher_id=5,
                        student_ids={"ids": [10, 11]},
                        weekdays={"days": ["mon"]},
                        start_time="18:00",
                        duration_minutes=60,
                        starts_on=date(2025, 12, 1),
                        ends_on=None,
                        monthly_session_limit=8,
                        generate_days_ahead=14,
                        active=True,
                        created_at=NOW,
                        updated_at=NOW,
                    ),
                    ScheduleSlot(
                        schedule_id=3, slot_start=START, session_id=session.id, created_at=NOW
                    ),
                ]
            )
            await uow.charges.charge(session.id, _decision(), now=NOW)
            await transition(uow, session, LifecycleEvent.PREPARE, at=NOW, actor="sweeper")
            await uow.commit()
            session_id = session.id

        async with database.uow() as uow:
            session = await uow.sessions.get(session_id)
            assert session is not None
            assert (Status.READY.value, START, "QSE-1-000001") == (
                session.status,
                session.scheduled_at,
                session.session_code,
            )
            assert START + timedelta(hours=1) == session.ends_at
            assert [10] == await uow.sessions.roster(session_id)
            academy = await uow.academies.get(1)
            assert academy is not None and "Africa/Cairo" == academy.timezone
            inbox = await uow.inbox.all()
            assert [b'{"x": 1}'] == [e.body for e in inbox]
            assert UTC == inbox[0].occurred_at.tzinfo
            (evidence,) = await uow.evidence.for_session(session_id)
            assert isinstance(evidence, ev.ParticipantJoined)
            assert (START, "10_A", UTC) == (evidence.at, evidence.identity, evidence.at.tzinfo)
            report = await uow.reports.get(session_id, 10)
            assert report is not None and {"recitation_quality": 8} == report.fields
            (audit,) = await uow.audit.for_session(session_id)
            assert {"attendance_status": "late"} == audit.after
            (op,) = await uow.rooms.for_session(session_id)
            assert NOW == op.next_attempt_at
            schedule = await uow.session.get(Schedule, 3)
            assert schedule is not None and date(2025, 12, 1) == schedule.starts_on
            history = (await uow.transitions.for_session(session_id))[-1]
            assert ("scheduled", "ready", "sweeper") == (
                history.from_status,
                history.to_status,
                history.actor,
            )
            ledger = await uow.charges.for_session(session_id)
            assert ChargeStatus.CHARGED.value == ledger[10].status
            assert 1 == await uow.subscriptions.used(110)

    async def test_a_rolled_back_unit_of_work_leaves_nothing(self, database: Database) -> None:
        """Leaving the block without commit writes nothing."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
        async with database.uow() as uow:
            assert await uow.academies.get(1) is None

    async def test_upsert_updates_in_place(self, database: Database) -> None:
        """A second PUT of the same id changes the row, keeps created_at."""
        async with database.uow() as uow:
            await uow.academies.upsert(1, now=NOW, name="A", timezone="UTC", locale="en")
            await uow.commit()
        later = NOW + timedelta(hours=1)
        async with database.uow() as uow:
            academy = await uow.academies.upsert(
                1, now=later, name="B", timezone="Asia/Riyadh", locale="ar"
            )
            await uow.commit()
        assert ("B", "Asia/Riyadh", NOW, later) == (
            academy.name,
            academy.timezone,
            academy.created_at,
            academy.updated_at,
        )


class TestLedger:
    async def test_a_second_row_for_the_same_pair_is_refused(self, database: Database) -> None:
        """The unique key refuses a second charge of one (session, student)."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            session = await scheduled_session(uow, now=NOW, starts_at=START)
            assert await uow.charges.charge(session.id, _decision(), now=NOW)
            assert not await uow.charges.charge(session.id, _decision(), now=NOW)
            uow.session.add(
                Charge(
                    session_id=session.id,
                    student_id=10,
                    status="charged",
                    reason="present",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            with pytest.raises(IntegrityError):
                await uow.session.flush()

    async def test_concurrent_charges_of_one_pair_write_one_row(self, database: Database) -> None:
        """Twenty units of work charging the same pair at once leave exactly one row."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            session = await scheduled_session(uow, now=NOW, starts_at=START)
            await uow.commit()

        async def charge() -> bool:
            async with database.uow() as uow:
                wrote = await uow.charges.charge(session.id, _decision(), now=NOW)
                await uow.commit()
                return wrote

        results = await asyncio.gather(*(charge() for _ in range(20)))
        assert 1 == sum(results)
        async with database.uow() as uow:
            count = await uow.session.scalar(select(func.count()).select_from(Charge))
        assert 1 == count


class TestSessionCodes:
    async def test_codes_are_sequential_per_academy_and_prefix(self, database: Database) -> None:
        """QSE and ASE count separately; each starts at 000001."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            a = await scheduled_session(uow, now=NOW, starts_at=START)
            b = await scheduled_session(
                uow, now=NOW, starts_at=START, session_type=SessionType.QURAN_CIRCLE
            )
            c = await scheduled_session(
                uow, now=NOW, starts_at=START, session_type=SessionType.ACADEMIC_COURSE
            )
            d = await scheduled_session(
                uow, now=NOW, starts_at=START, session_type=SessionType.INTERACTIVE_COURSE
            )
            await uow.commit()
        assert ["QSE-1-000001", "QSE-1-000002", "ASE-1-000001", "ICS-1-000001"] == [
            s.session_code for s in (a, b, c, d)
        ]

    async def test_concurrent_creation_gives_distinct_gap_free_codes(
        self, database: Database
    ) -> None:
        """Forty sessions created at once get codes 1..40 exactly."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            await uow.commit()

        async def create() -> str:
            async with database.uow() as uow:
                session = await scheduled_session(uow, now=NOW, starts_at=START)
                await uow.commit()
                return session.session_code

        codes = await asyncio.gather(*(create() for _ in range(40)))
        assert [f"QSE-1-{n:06d}" for n in range(1, 41)] == sorted(codes)


class TestLifecycleOperations:
    async def test_an_illegal_transition_changes_nothing(self, database: Database) -> None:
        """Completing a cancelled session raises and records no history."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            cancelled = await scheduled_session(
                uow, now=NOW, starts_at=START, status=Status.CANCELLED
            )
            session_id = cancelled.id
            await uow.commit()
        async with database.uow() as uow:
            session = await uow.sessions.get(session_id, for_update=True)
            assert session is not None
            before = [t.event for t in await uow.transitions.for_session(session.id)]
            with pytest.raises(IllegalTransition):
                await finish_session(uow, session, at=NOW, actor="service")
            assert Status.CANCELLED.value == session.status
            after = [t.event for t in await uow.transitions.for_session(session.id)]
            assert ["schedule", "cancel"] == before == after

    async def test_finishing_closes_intervals_and_charges_once(self, database: Database) -> None:
        """A lesson attended in full completes, closes the open interval, charges one row."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            session = await scheduled_session(uow, now=NOW, starts_at=START, status=Status.ONGOING)
            session.meeting_room_name = session.session_code
            for event_id, sid, identity, user in (
                ("EV_t", "PA_t", "5", 5),
                ("EV_s", "PA_s", "10_M", 10),
            ):
                await uow.evidence.add(
                    Evidence(
                        event_id=event_id,
                        source="webhook",
                        kind="joined",
                        room_name=session.session_code,
                        room_sid="RM_1",
                        session_id=session.id,
                        participant_sid=sid,
                        identity=identity,
                        user_id=user,
                        at=START,
                        decisive=True,
                    )
                )
            await recompute_intervals(uow, session.id)
            end = START + timedelta(minutes=70)
            attendance = await finish_session(uow, session, at=end, actor="sweeper")
            await uow.commit()

        assert Status.COMPLETED.value == session.status
        assert (AttendanceStatus.PRESENT, 100.0) == (
            attendance.students[0].verdict.status,
            attendance.students[0].verdict.meeting.attendance_percentage,
        )
        async with database.uow() as uow:
            intervals = await uow.intervals.for_session(session.id)
            assert [end, end] == [i.left_at for i in intervals]
            ledger = await uow.charges.for_session(session.id)
            assert ("charged", "present", 110) == (
                ledger[10].status,
                ledger[10].reason,
                ledger[10].subscription_id,
            )
            assert ["delete_room"] == [op.op for op in await uow.rooms.for_session(session.id)]
            assert True is session.counts_for_teacher

    async def test_an_individual_no_show_is_absent_and_charged(self, database: Database) -> None:
        """The student never came, the teacher did: ABSENT, charged as a no-show."""
        async with database.uow() as uow:
            await seed_world(uow, NOW)
            session = await scheduled_session(uow, now=NOW, starts_at=START, status=Status.READY)
            await uow.evidence.add(
                Evidence(
                    event_id="EV_t",
                    source="webhook",
                    kind="joined",
                    room_name=session.session_code,
                    room_sid="RM_1",
                    session_id=session.id,
                    participant_sid="PA_t",
                    identity="5",
                    user_id=5,
                    at=START,
                    decisive=True,
                )
            )
            await finish_session(uow, session, at=START + timedelta(minutes=70), actor="sweeper")
            ledger = await uow.charges.for_session(session.id)
            await uow.commit()
        assert Status.ABSENT.value == session.status
        assert ("charged", "absent") == (ledger[10].status, ledger[10].reason)


class TestSqliteSetup:
    @pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
    async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(self, database: Database) -> None:
        """Concurrent readers and one writer need WAL and a busy timeout."""
        async with database.engine.connect() as conn:
            assert "wal" == (await conn.execute(text("PRAGMA journal_mode"))).scalar()
            assert 10_000 == (await conn.execute(text("PRAGMA busy_timeout"))).scalar()
